"""Health probes: the tiny problems a backend must solve to count as healthy, and the probe call.

They live in the backends layer (not in :mod:`quantum_planner.health`) because backends
name their own probe problem (:meth:`SolverBackend.probe_problem`, the remote backends'
embedding checks); health only schedules and times the probes.
"""

from __future__ import annotations

import threading

from quantum_planner.backends.base import Backend, as_candidates
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.model import Agent, Problem, Task

__all__ = ["one_to_one_probe", "probe_problem", "run_probe"]


def probe_problem() -> Problem:
    """A tiny problem every backend should solve in milliseconds (3 tasks, 2 agents)."""
    return Problem(
        name="health-probe",
        agents=[Agent("p0", skills=["x"]), Agent("p1", skills=["x", "y"])],
        tasks=[
            Task("t0", required_skills=["x"], duration=1),
            Task("t1", required_skills=["y"], duration=2),
            Task("t2", required_skills=["x"], duration=1, dependencies=["t0"]),
        ],
    )


def one_to_one_probe() -> Problem:
    """A tiny one-to-one assignment problem (capacity 1, load 1, cost objective)."""
    return Problem(
        name="health-probe-one-to-one",
        agents=[Agent(f"p{i}", capacity=1, cost_rate=1 + i) for i in range(3)],
        tasks=[Task(f"t{j}", costs={"p0": 3 - j, "p1": 2, "p2": j + 1}) for j in range(2)],
        objective="minimize_cost",
        constraints={"precedence": False, "time_windows": False, "availability": False},
    )


def run_probe(backend: Backend, timeout: float, stop: threading.Event) -> None:
    """Probe ``backend`` once; raises when it is not healthy.

    Its own ``probe(timeout)`` when it has one, else a tiny solve (of its
    ``probe_problem()``, or :func:`probe_problem`) whose plan must validate.
    """
    custom = getattr(backend, "probe", None)
    if callable(custom):
        custom(timeout)
        return
    custom_problem = getattr(backend, "probe_problem", None)
    problem = custom_problem() if callable(custom_problem) else probe_problem()
    sols = as_candidates(
        backend.solve(problem, time_limit=min(0.5, max(0.05, timeout / 4)), seed=0, stop=stop),
        backend.name,
    )
    if not any(not candidate_problems(problem, s) for s in sols):
        raise ValueError("probe returned no valid plan")
