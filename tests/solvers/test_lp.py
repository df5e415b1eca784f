"""LP relaxation: a valid bound (<= optimum) and a rounding start."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_planner.model import Agent, Problem, Task
from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.lp import (
    LPRoundingSolver,
    extended,
    lagrangian_prices,
    lp_relaxation,
    round_lp,
)
from quantum_planner.validate import validate


def small_gap(seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    n, m = 12, 3
    loads = rng.integers(2, 9, size=(n, m))
    costs = rng.integers(5, 30, size=(n, m))
    agents = [Agent(f"a{j}", capacity=float(loads[:, j].sum() // 2)) for j in range(m)]
    tasks = [
        Task(
            f"t{i}",
            costs={f"a{j}": float(costs[i, j]) for j in range(m)},
            loads={f"a{j}": float(loads[i, j]) for j in range(m)},
        )
        for i in range(n)
    ]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lp_and_lagrangian_bounds_below_optimum(seed: int) -> None:
    problem = small_gap(seed)
    comp = compile_problem(problem)
    W, L, _, cap, _ = extended(comp)
    lp = lp_relaxation(W, L, cap)
    assert lp is not None
    opt = CPSATSolver().solve(problem, time_limit=10)
    assert opt.status == "optimal"
    value = opt.objectives["minimize_cost"]
    assert lp.bound <= value + 1e-6
    _, lag = lagrangian_prices(W, L, cap, target=value)
    assert lag <= lp.bound + 1e-6  # the Lagrangian dual never beats the LP for the GAP
    # at most m fractional tasks in a basic solution
    assert (lp.x.max(axis=1) < 1 - 1e-6).sum() <= comp.m
    rounded = round_lp(lp, W, L, cap)
    assert rounded.shape == (comp.n,) and (rounded >= 0).all()


def test_rounding_solver_gives_a_plan_with_bound() -> None:
    problem = small_gap(5)
    sol = LPRoundingSolver().solve(problem, time_limit=5)
    assert sol.lower_bound is not None
    assert sol.lower_bound <= sol.objectives["minimize_cost"] + 1e-6
    assert set(sol.assignments) == {t.id for t in problem.tasks}
    assert all(v.constraint == "capacity_limit" for v in validate(problem, sol))


@pytest.mark.benchmarks
def test_lp_bound_below_optimum_on_gap1_instance1() -> None:
    from quantum_planner.instances import benchmarks_dir, best_known, load_instance

    if not (benchmarks_dir() / "gap").is_dir():
        pytest.skip("../shared/benchmarks is absent")
    problem = load_instance("gap", "gap1-1", direction="min")
    comp = compile_problem(problem)
    W, L, _, cap, _ = extended(comp)
    lp = lp_relaxation(W, L, cap)
    assert lp is not None
    optimum = best_known("gap", "min")["gap1-1"].value
    assert lp.bound <= optimum + 1e-6
    assert lp.bound >= 0.9 * optimum  # and it is a useful bound
