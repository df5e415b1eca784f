"""One conformance suite for every backend: built-in (remote ones through offline stand-ins:
MockDWaveSampler, qiskit-aer) and user-registered ones.

A backend conforms when it declares a name and properties, returns candidate plans that
validate for a small problem within its time limit, fails only with the typed backend
errors, and serves through the failover executor.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/backend_fakes.py

import contextlib

from backend_fakes import PlanBackend, make_problem

from quantum_planner.backends import (
    Backend,
    BackendKind,
    BackendProperties,
    BreakerBoard,
    FailoverExecutor,
    InMemoryCounters,
    get_backend,
    list_backends,
    register_backend,
    unregister_backend,
)
from quantum_planner.backends.base import as_candidates, configuration_problem
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.config import Settings
from quantum_planner.errors import BackendError
from quantum_planner.health import probe_problem

USER_BACKEND = "user_conformance_example"
register_backend(PlanBackend(USER_BACKEND), replace=True)  # a user-registered backend


def _offline(name: str) -> Backend:
    """The backend, with remote services replaced by their offline stand-ins."""
    if name == "dwave":
        from dwave.system.testing import MockDWaveSampler

        from quantum_planner.backends.dwave import DWaveBackend

        return DWaveBackend(sampler=MockDWaveSampler(topology_type="pegasus", topology_shape=[6]))
    if name == "azure_quantum":
        from qiskit_aer import AerSimulator

        from quantum_planner.backends.azure import AzureQuantumBackend

        return AzureQuantumBackend(target=AerSimulator(seed_simulator=1))
    return get_backend(name)  # local solvers and ibm (qiskit-aer) need no stand-in


NAMES = list_backends()
TIME_LIMIT = 3.0
MARGIN = 2.0  # thread start, imports, first-call JIT


@pytest.fixture(scope="module", params=NAMES)
def backend(request) -> Backend:
    try:
        b = _offline(request.param)
    except ImportError as e:  # an optional extra (dwave, ibm, azure) is not installed
        pytest.skip(f"{request.param}: {e}")
    why = configuration_problem(b)
    if why:
        pytest.skip(f"{request.param}: {why}")
    return b


def test_suite_covers_builtin_and_user_backends():
    assert {"dwave", "ibm", "azure_quantum", USER_BACKEND} <= set(NAMES)


def test_declares_name_and_properties(backend):
    assert isinstance(backend, Backend)
    assert isinstance(backend.name, str) and backend.name
    props = backend.properties
    assert isinstance(props, BackendProperties)
    assert isinstance(props.kind, BackendKind)
    assert props.max_variables is None or props.max_variables > 0
    d = props.to_dict()
    assert d["kind"] in {"quantum", "quantum-inspired", "classical"}


def small_problem(backend: Backend):
    """The health probe's problem (a backend made for one class of problems names its own)."""
    own = getattr(backend, "probe_problem", None)
    return own() if callable(own) else probe_problem()


def check_time(backend: Backend, elapsed: float, allowed: float, limit: float) -> None:
    assert elapsed <= allowed, f"{backend.name} took {elapsed:.1f}s for a {limit}s limit"


def test_solves_a_small_problem_with_valid_candidates_in_time(backend):
    problem = small_problem(backend)
    t0 = time.monotonic()
    candidates = as_candidates(backend.solve(problem, time_limit=TIME_LIMIT, seed=1), backend.name)
    check_time(backend, time.monotonic() - t0, TIME_LIMIT + MARGIN, TIME_LIMIT)
    for sol in candidates:
        assert candidate_problems(problem, sol) == []
        assert set(sol.assignments) == {t.id for t in problem.tasks}


def test_fails_only_with_typed_errors_on_a_large_problem(backend):
    problem = make_problem(30, 4, seed=3)
    limit = 1.0
    t0 = time.monotonic()
    try:
        candidates = as_candidates(backend.solve(problem, time_limit=limit, seed=1), backend.name)
    except BackendError:
        pass  # refusing (too large, no embedding...) is conforming
    else:
        assert any(candidate_problems(problem, s) == [] for s in candidates)
    # the D-Wave path may spend up to half its limit on finding an embedding on top
    allowed = limit + MARGIN + (limit / 2 if backend.name == "dwave" else 0.0)
    check_time(backend, time.monotonic() - t0, allowed, limit)


def test_serves_through_the_failover_executor(backend):
    s = Settings(failover_last_resort=None)
    ex = FailoverExecutor(
        s,
        breakers=BreakerBoard(s),
        counters=InMemoryCounters(),
        alert=lambda *a, **k: None,
        resolve=lambda n: backend,
        enabled=lambda n: True,
    )
    sol = ex.solve(small_problem(backend), [backend.name], time_limit=TIME_LIMIT, seed=2)
    assert sol.backend_used == backend.name
    assert [a.outcome for a in sol.backends_tried] == ["success"]


def test_returns_early_when_stopped(backend):
    stop = threading.Event()
    stop.set()
    t0 = time.monotonic()
    with contextlib.suppress(BackendError):
        backend.solve(small_problem(backend), time_limit=30.0, seed=0, stop=stop)
    assert time.monotonic() - t0 < 5.0  # far less than the 30 s it was given


def teardown_module():
    unregister_backend(USER_BACKEND)
