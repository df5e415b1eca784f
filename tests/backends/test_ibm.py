"""IBM path: QAOA with Qiskit on qiskit-aer."""

from __future__ import annotations

import dimod
import pytest
from backend_fakes import make_problem

pytest.importorskip("qiskit_aer", reason="needs the [ibm] extra")

from quantum_planner.backends.base import InvalidResultError
from quantum_planner.backends.ibm import IBMQAOABackend
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.backends.qaoa import bitstring_to_sample, cost_operator
from quantum_planner.backends.qubo import formulate
from quantum_planner.config import Settings
from quantum_planner.errors import BackendUnavailableError


def test_qaoa_on_aer_solves_a_ten_variable_problem_to_its_ground_state():
    problem = make_problem(5, 3, seed=0)
    f = formulate(problem)
    assert len(f.bqm.variables) == 10
    ground = dimod.ExactSolver().sample(f.bqm).first.energy
    backend = IBMQAOABackend(settings=Settings(ibm_maxiter=60, ibm_shots=2048))
    sols = backend.solve(problem, time_limit=30, seed=1)
    assert all(not candidate_problems(problem, s) for s in sols)
    md = sols[0].metadata
    assert md["qubits"] == 10 and md["device"] == "aer" and md["optimizer_evaluations"] > 5
    assert md["energy"] == pytest.approx(ground)  # the best sampled bitstring is optimal


def test_too_many_qubits_is_refused_with_the_size():
    problem = make_problem(12, 3, seed=0)
    n = len(formulate(problem).bqm.variables)
    with pytest.raises(BackendUnavailableError, match=f"needs {n} qubits") as e:
        IBMQAOABackend(max_qubits=16).solve(problem, time_limit=5)
    assert e.value.details["qubits"] == n


def test_cost_operator_matches_bqm_energies():
    bqm = dimod.BQM(
        {"a": 1.0, "b": -2.0, "c": 0.5}, {("a", "b"): 3.0, ("b", "c"): -1.0}, 0.0, "BINARY"
    )
    op, order, offset = cost_operator(bqm)
    import numpy as np

    diag = np.real(np.diag(op.to_matrix()))
    for k, value in enumerate(diag):
        bits = format(k, f"0{len(order)}b")  # qiskit: qubit 0 is the rightmost bit
        sample = bitstring_to_sample(bits, order)
        assert value + offset == pytest.approx(bqm.energy(sample))


def test_corrupted_counts_are_rejected():
    class Broken(IBMQAOABackend):
        def _counts_fn(self):
            return lambda circuit, shots: {"01": shots}  # too few bits

    with pytest.raises(InvalidResultError):
        Broken(settings=Settings(ibm_maxiter=5)).solve(make_problem(3, 2), time_limit=5)


def test_token_without_runtime_sdk_is_reported(monkeypatch):
    import importlib.util

    monkeypatch.setenv("QISKIT_IBM_TOKEN", "ibm-secret-token-123")
    backend = IBMQAOABackend(settings=Settings())
    why = backend.configuration_problem()
    if importlib.util.find_spec("qiskit_ibm_runtime") is None:
        assert "qiskit-ibm-runtime" in why and "ibm-secret-token-123" not in why
    else:
        assert why is None
    monkeypatch.delenv("QISKIT_IBM_TOKEN")
    assert backend.configuration_problem() is None  # Aer needs nothing
    assert "qiskit-aer" in backend.check_credentials()
