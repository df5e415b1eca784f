"""Anytime progress: reports carry the best plan so far, and only plans that validate."""

from __future__ import annotations

import random

from quantum_planner import Agent, Problem, QuantumTaskPlanner, Task
from quantum_planner.planner import _validated_progress
from quantum_planner.solvers.base import Progress, make_solution
from quantum_planner.validate import validate


def gap(n: int, m: int, seed: int = 0) -> Problem:
    rnd = random.Random(seed)
    agents = [Agent(f"a{j}", capacity=float(n // m + 3)) for j in range(m)]
    tasks = [
        Task(
            f"t{i}",
            costs={f"a{j}": float(rnd.randint(5, 50)) for j in range(m)},
            loads={f"a{j}": float(rnd.randint(1, 2)) for j in range(m)},
        )
        for i in range(n)
    ]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def _reports(problem: Problem, backend: str, time_limit: float) -> list[Progress]:
    seen: list[Progress] = []
    QuantumTaskPlanner(backend=backend).solve(problem, time_limit=time_limit, progress=seen.append)
    return seen


def test_cpsat_reports_carry_valid_plans() -> None:
    problem = gap(12, 3, seed=1)
    plans = [p.solution for p in _reports(problem, "cpsat", 5) if p.solution is not None]
    assert plans, "CP-SAT's first improvement should carry its plan"
    for sol in plans:
        assert sol.feasible and validate(problem, sol) == []


def test_hybrid_reports_carry_valid_plans() -> None:
    # CP-SAT, racing inside the hybrid, proves this optimal in well under a second; the
    # generous limit only covers compiling the numba kernels on a cold cache (CI)
    problem = gap(120, 6, seed=2)
    plans = [p.solution for p in _reports(problem, "hybrid", 30) if p.solution is not None]
    assert plans, "the hybrid's constructive start should carry its plan"
    for sol in plans:
        assert sol.backend_used == "hybrid" and validate(problem, sol) == []


def test_an_invalid_plan_in_a_report_never_reaches_the_caller() -> None:
    problem = gap(4, 2)
    everything_on_a0 = {t.id: "a0" for t in problem.tasks}
    # a schedule that is not what the assignment says: the validator rejects it
    bad = make_solution(problem, everything_on_a0, {"a1": {"t0": (0.0, 1.0)}}, backend="x")
    got: list[Progress] = []
    report = _validated_progress(problem, got.append)
    assert report is not None
    report(Progress(elapsed=0.1, best=1.0, solution=bad))
    assert got and got[0].solution is None and got[0].best == 1.0
