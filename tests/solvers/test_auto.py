"""backend="auto": the documented choice for each kind of problem, and the exact LSA path."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from quantum_planner.errors import InfeasibleProblemError, SolverError
from quantum_planner.model import Agent, Problem, Task
from quantum_planner.solvers.assignment import AssignmentSolver
from quantum_planner.solvers.auto import SMALL_ASSIGNMENT_PAIRS, choose


def one_to_one(n: int, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    c = rng.integers(1, 100, size=(n, n))
    agents = [Agent(f"a{j}", capacity=1) for j in range(n)]
    tasks = [Task(f"t{i}", costs={f"a{j}": float(c[i, j]) for j in range(n)}) for i in range(n)]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def gap_like(n: int, m: int) -> Problem:
    agents = [Agent(f"a{j}", capacity=float(n)) for j in range(m)]
    tasks = [Task(f"t{i}", costs={f"a{j}": float((i * j) % 7) for j in range(m)}) for i in range(n)]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def test_one_to_one_goes_to_linear_sum_assignment() -> None:
    problem = one_to_one(30)
    chain, reason = choose(problem, 10)
    assert chain[0] == "assignment" and "linear_sum_assignment" in reason
    sol = AssignmentSolver().solve(problem, time_limit=1)
    c = np.array([[t.costs[f"a{j}"] for j in range(30)] for t in problem.tasks])
    r, k = linear_sum_assignment(c)
    assert sol.objectives["minimize_cost"] == pytest.approx(c[r, k].sum())
    assert sol.status == "optimal" and len(set(sol.assignments.values())) == 30


def test_assignment_solver_rejects_other_problems_and_infeasible() -> None:
    with pytest.raises(SolverError):
        AssignmentSolver().solve(gap_like(5, 2), time_limit=1)
    agents = [Agent("a", capacity=1)]
    tasks = [Task("x"), Task("y")]
    problem = Problem(agents=agents, tasks=tasks, objective="minimize_cost")
    with pytest.raises(InfeasibleProblemError):
        AssignmentSolver().solve(problem, time_limit=1)


def test_small_goes_to_cpsat_large_to_hybrid() -> None:
    chain, reason = choose(gap_like(20, 5), 10)
    assert chain == ["cpsat", "hybrid"] and "small" in reason
    n = SMALL_ASSIGNMENT_PAIRS // 5 + 10
    chain, reason = choose(gap_like(n, 5), 10)
    assert chain == ["hybrid", "cpsat"] and "hybrid" in reason


def test_scheduling_thresholds() -> None:
    agents = [Agent("m0"), Agent("m1")]
    small = [Task(f"t{i}", duration=2) for i in range(10)]
    chain, _ = choose(Problem(agents=agents, tasks=small, objective="minimize_makespan"), 5)
    assert chain[0] == "cpsat"
    big = [Task(f"t{i}", duration=2) for i in range(200)]
    chain, _ = choose(Problem(agents=agents, tasks=big, objective="minimize_makespan"), 5)
    assert chain[0] == "hybrid"
