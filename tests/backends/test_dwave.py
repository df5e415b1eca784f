"""D-Wave path offline: MockDWaveSampler (real Pegasus graph, real embedding, real chain breaks)."""

from __future__ import annotations

import dimod
import pytest
from backend_fakes import PlanBackend, make_problem

pytest.importorskip("dwave.system", reason="needs the [dwave] extra")

from dwave.system.testing import MockDWaveSampler

from quantum_planner.backends import BreakerBoard, FailoverExecutor, InMemoryCounters
from quantum_planner.backends.dwave import DWaveBackend, structure_key
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.backends.qubo import formulate
from quantum_planner.config import Settings
from quantum_planner.errors import BackendUnavailableError, CredentialsError


def mock(**kw):
    return MockDWaveSampler(topology_type="pegasus", topology_shape=[6], **kw)


def test_twenty_tasks_on_mock_qpu_report_embedding_and_chain_breaks():
    problem = make_problem(20, 3, seed=1)
    backend = DWaveBackend(sampler=mock(), settings=Settings(dwave_num_reads=50))
    sols = backend.solve(problem, time_limit=10, seed=1)
    assert sols and all(not candidate_problems(problem, s) for s in sols)
    md = sols[0].metadata
    n = len(formulate(problem).bqm.variables)
    assert md["logical_variables"] == n
    emb = md["embedding"]
    assert emb["physical_qubits"] >= n and emb["max_chain_length"] >= 2  # real chains
    assert 0.0 <= md["chain_break_fraction"] <= 1.0
    assert 0.0 <= md["mean_chain_break_fraction"] <= 1.0
    assert md["chain_strength"] > 0 and md["num_reads"] == 50
    assert md["topology"]["type"] == "pegasus"
    assert emb["cached"] is False
    again = backend.solve(problem, time_limit=10, seed=2)
    assert again[0].metadata["embedding"]["cached"] is True


def test_random_qpu_answers_break_chains_and_are_repaired():
    problem = make_problem(12, 3, seed=2)
    noisy = mock(substitute_sampler=dimod.RandomSampler())
    sols = DWaveBackend(sampler=noisy).solve(problem, time_limit=10, seed=0)
    md = sols[0].metadata
    assert md["mean_chain_break_fraction"] > 0  # random spins break chains
    assert all(not candidate_problems(problem, s) for s in sols)  # decode + repair


def test_embedding_cache_is_keyed_by_structure():
    a = formulate(make_problem(6, 2, seed=0)).bqm
    b = a.copy()
    b.scale(3.0)  # same structure, other biases
    c = formulate(make_problem(7, 2, seed=0)).bqm
    assert structure_key(a) == structure_key(b) != structure_key(c)


def test_no_embedding_fails_over():
    tiny = MockDWaveSampler(topology_type="chimera", topology_shape=[1, 1, 2])
    backend = DWaveBackend(sampler=tiny, embedding_timeout=0.5)
    with pytest.raises(BackendUnavailableError, match="no embedding"):
        backend.solve(make_problem(10, 3), time_limit=2)
    ex = FailoverExecutor(
        Settings(failover_last_resort=None),
        breakers=BreakerBoard(Settings()),
        counters=InMemoryCounters(),
        alert=lambda *a, **k: None,
        resolve={"dwave": backend, "fake_plan": PlanBackend()}.__getitem__,
        enabled=lambda n: True,
    )
    sol = ex.solve(make_problem(10, 3), ["dwave", "fake_plan"], time_limit=3)
    assert sol.backend_used == "fake_plan"
    assert "no embedding" in sol.backends_tried[0].reason


def test_large_model_needs_hybrid_which_is_not_offline():
    backend = DWaveBackend(sampler=mock(), settings=Settings(dwave_hybrid_min_variables=5))
    with pytest.raises(BackendUnavailableError, match="hybrid"):
        backend.solve(make_problem(10, 3), time_limit=2)


def test_hybrid_path_with_injected_leap_sampler():
    # stands in for LeapHybridSampler: same sample(bqm, time_limit=...) interface
    class Hybrid:
        def __init__(self):
            self.calls = []

        def sample(self, bqm, time_limit, label):
            self.calls.append(time_limit)
            from dwave.samplers import SimulatedAnnealingSampler

            return SimulatedAnnealingSampler().sample(bqm, num_reads=20, seed=1)

    hybrid = Hybrid()
    backend = DWaveBackend(sampler=mock(), hybrid_sampler=hybrid, mode="hybrid")
    problem = make_problem(15, 3)
    sols = backend.solve(problem, time_limit=1)
    assert hybrid.calls == [3.0]  # Leap's minimum time limit
    assert sols[0].metadata["device"] == "leap_hybrid_hybrid"
    assert not candidate_problems(problem, sols[0])


def test_unconfigured_without_token(monkeypatch):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    backend = DWaveBackend(settings=Settings())
    assert "DWAVE_API_TOKEN" in backend.configuration_problem()
    assert DWaveBackend(settings=Settings(dwave_mock=True)).configuration_problem() is None


def test_credentials_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    f = tmp_path / "creds.env"
    f.write_text("# quantum credentials\nDWAVE_API_TOKEN=DEV-0123456789abcdef\n")
    backend = DWaveBackend(settings=Settings(credentials_file=str(f)))
    assert backend.configuration_problem() is None


def test_auth_errors_become_credentials_errors_with_token_masked(monkeypatch):
    from dwave.cloud.exceptions import SolverAuthenticationError

    monkeypatch.setenv("DWAVE_API_TOKEN", "DEV-0123456789abcdef")

    class Rejecting(MockDWaveSampler):
        def sample(self, bqm, **kw):
            raise SolverAuthenticationError("token DEV-0123456789abcdef is invalid")

    backend = DWaveBackend(sampler=Rejecting(topology_type="pegasus", topology_shape=[6]))
    with pytest.raises(CredentialsError) as e:
        backend.solve(make_problem(5, 2), time_limit=2)
    assert "0123456789abcdef" not in str(e.value)


def test_uncoupled_variables_get_their_own_qubit():
    # capacities add slack bits; some variables then have no coupler at all
    from quantum_planner.model import Agent, Problem, Task

    problem = Problem(
        agents=[Agent("a1", skills=["py"], capacity=3), Agent("a2", skills=["js"], capacity=2)],
        tasks=[Task("api", required_skills=["py"], duration=2), Task("ui", required_skills=["js"])],
    )
    bqm = formulate(problem).bqm
    coupled = {v for e in bqm.quadratic for v in e}
    assert set(bqm.variables) - coupled  # the case under test
    sols = DWaveBackend(sampler=mock()).solve(problem, time_limit=5, seed=0)
    assert not candidate_problems(problem, sols[0])
    assert sols[0].metadata["embedding"]["physical_qubits"] >= len(bqm.variables)


def test_corrupted_samples_fail_over():
    from quantum_planner.backends.base import InvalidResultError

    class Garbage:  # a hybrid service answering with non-binary values
        def sample(self, bqm, time_limit, label):
            return dimod.SampleSet.from_samples(
                [dict.fromkeys(bqm.variables, 3)], vartype="INTEGER", energy=[0.0]
            )

    backend = DWaveBackend(sampler=mock(), hybrid_sampler=Garbage(), mode="hybrid")
    with pytest.raises(InvalidResultError, match="non-binary"):
        backend.solve(make_problem(6, 2), time_limit=1)
    ex = FailoverExecutor(
        Settings(failover_last_resort=None),
        breakers=BreakerBoard(Settings()),
        counters=InMemoryCounters(),
        alert=lambda *a, **k: None,
        resolve={"dwave": backend, "fake_plan": PlanBackend()}.__getitem__,
        enabled=lambda n: True,
    )
    sol = ex.solve(make_problem(6, 2), ["dwave", "fake_plan"], time_limit=3)
    assert sol.backend_used == "fake_plan"
    assert sol.backends_tried[0].outcome == "invalid"
