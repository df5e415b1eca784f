"""CP-SAT backend: proves optimality on tiny problems (checked by brute force), obeys rules."""

from __future__ import annotations

import itertools
import threading

import pytest

from quantum_planner.model import Agent, Problem, Task, TimeWindowTask
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.cpsat import CPSATSolver, integer_scale
from quantum_planner.validate import validate


def gap_problem(seed: int = 0, n: int = 6, m: int = 3) -> Problem:
    """A tiny generalized assignment problem (costs, loads, capacities)."""
    import random

    rnd = random.Random(seed)
    agents = [Agent(f"a{j}", capacity=float(rnd.randint(4, 7))) for j in range(m)]
    tasks = [
        Task(
            f"t{i}",
            costs={f"a{j}": float(rnd.randint(1, 20)) for j in range(m)},
            loads={f"a{j}": float(rnd.randint(1, 4)) for j in range(m)},
        )
        for i in range(n)
    ]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def brute_force(problem: Problem) -> tuple[tuple[float, ...], dict[str, str]] | None:
    """Best lexicographic key over every assignment that respects capacity and eligibility."""
    best = None
    tasks = problem.tasks
    options = [[a.id for a in problem.eligible_agents(t)] for t in tasks]
    for combo in itertools.product(*options):
        assignments = {t.id: a for t, a in zip(tasks, combo, strict=True)}
        used: dict[str, float] = {}
        for t in tasks:
            a = assignments[t.id]
            used[a] = used.get(a, 0.0) + t.load_on(a)
        if any(
            problem.agent(a).capacity is not None and u > problem.agent(a).capacity + 1e-9
            for a, u in used.items()
        ):
            continue
        key = objective_key(
            problem, evaluate(problem, assignments, build_schedule(problem, assignments))
        )
        if best is None or key < best[0]:
            best = (key, assignments)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_proves_optimum_of_tiny_gap(seed: int) -> None:
    problem = gap_problem(seed)
    bf = brute_force(problem)
    sol = CPSATSolver().solve(problem, time_limit=10, seed=0)
    if bf is None:
        assert sol.status == "infeasible" and not sol.assignments
        return
    assert sol.status == "optimal"
    assert sol.objectives["minimize_cost"] == pytest.approx(bf[0][0])
    assert sol.lower_bound == pytest.approx(bf[0][0])
    assert sol.gap == 0.0
    assert validate(problem, sol) == []


def test_balance_load_is_exact_variance() -> None:
    agents = [Agent("a"), Agent("b")]
    tasks = [Task(f"t{i}", duration=d) for i, d in enumerate([3, 3, 2, 2, 1, 1])]
    problem = Problem(agents=agents, tasks=tasks, objective="balance_load")
    sol = CPSATSolver().solve(problem, time_limit=10)
    assert sol.status == "optimal"
    assert sol.objectives["balance_load"] == pytest.approx(0.0)  # 6 and 6


def test_lexicographic_priority_then_cost() -> None:
    # only two of three optional tasks fit; priority first, then the cheaper pair
    agents = [Agent("a", capacity=2)]
    tasks = [
        Task("x", priority=5, optional=True, costs={"a": 9}),
        Task("y", priority=5, optional=True, costs={"a": 1}),
        Task("z", priority=5, optional=True, costs={"a": 2}),
    ]
    problem = Problem(agents=agents, tasks=tasks, objective=["maximize_priority", "minimize_cost"])
    sol = CPSATSolver().solve(problem, time_limit=10)
    assert sol.status == "optimal"
    assert sorted(sol.assignments) == ["y", "z"]
    assert sol.objectives["minimize_cost"] == pytest.approx(3)


def test_scheduling_constraints_hold() -> None:
    agents = [
        Agent("m1", skills=["weld"], available_from=1),
        Agent("m2", skills=["weld", "paint"], available_until=30),
    ]
    tasks = [
        Task("cut", duration=3, durations={"m1": 2}),
        Task("weld", required_skills=["weld"], duration=4, dependencies=["cut"]),
        TimeWindowTask("paint", required_skills=["paint"], duration=2, earliest_start=5,
                       latest_finish=12, dependencies=["weld"]),
        Task("pack", duration=1.5, dependencies=["paint"]),
    ]  # fmt: skip
    problem = Problem(agents=agents, tasks=tasks, objective="minimize_makespan", time_horizon=40)
    sol = CPSATSolver().solve(problem, time_limit=10)
    assert validate(problem, sol) == []
    assert sol.status == "optimal"
    # cut (2 on m1 from t=1) -> weld 4 -> paint >= 7 -> 9 -> pack 1.5
    assert sol.makespan == pytest.approx(10.5)
    assert sol.assignments["paint"] == "m2"


def test_flexible_job_shop_optimum_and_bound() -> None:
    agents = [Agent("m0"), Agent("m1")]
    tasks = [
        Task("j0o0", durations={"m0": 3, "m1": 5}, allowed_agents=["m0", "m1"]),
        Task("j0o1", durations={"m0": 2, "m1": 2}, dependencies=["j0o0"]),
        Task("j1o0", durations={"m0": 4, "m1": 2}),
        Task("j1o1", durations={"m0": 1, "m1": 3}, dependencies=["j1o0"]),
    ]
    problem = Problem(agents=agents, tasks=tasks, objective="minimize_makespan")
    sol = CPSATSolver().solve(problem, time_limit=10)
    assert validate(problem, sol) == []
    assert sol.status == "optimal" and sol.gap == 0.0
    # brute force over machine choices and orders via the list scheduler (tiny)
    best = min(
        evaluate(problem, a, build_schedule(problem, a, order, insert=True))["minimize_makespan"]
        for combo in itertools.product(["m0", "m1"], repeat=4)
        for a in [dict(zip([t.id for t in tasks], combo, strict=True))]
        for order in itertools.permutations([t.id for t in tasks])
    )
    assert sol.makespan == pytest.approx(best)


def test_optional_tasks_and_capacity() -> None:
    agents = [Agent("a", capacity=3)]
    tasks = [
        Task("big", load=3, priority=4, optional=True),
        Task("s1", load=1, priority=2, optional=True),
        Task("s2", load=1, priority=2, optional=True),
    ]
    problem = Problem(agents=agents, tasks=tasks, objective="maximize_priority")
    sol = CPSATSolver().solve(problem, time_limit=10)
    assert sol.objectives["maximize_priority"] == 4
    assert validate(problem, sol) == []


def test_infeasible_is_reported() -> None:
    agents = [Agent("a", capacity=1)]
    tasks = [Task("x"), Task("y")]
    problem = Problem(agents=agents, tasks=tasks, objective="minimize_cost")
    sol = CPSATSolver().solve(problem, time_limit=5)
    assert sol.status == "infeasible" and not sol.feasible and not sol.assignments


def test_integer_scaling() -> None:
    assert integer_scale([1.0, 2.0, 3.0]) == 1
    assert integer_scale([1.5, 2.25]) == 100
    assert integer_scale([1 / 3]) == 1000
    agents = [Agent("a"), Agent("b")]
    tasks = [Task("x", duration=1.25), Task("y", duration=0.5, dependencies=["x"])]
    problem = Problem(agents=agents, tasks=tasks, objective="minimize_makespan")
    sol = CPSATSolver().solve(problem, time_limit=5)
    assert sol.makespan == pytest.approx(1.75)
    assert validate(problem, sol) == []


def test_warm_start_hint_and_stop_event() -> None:
    problem = gap_problem(7, n=8, m=3)
    first = CPSATSolver().solve(problem, time_limit=5)
    stop = threading.Event()
    stop.set()
    again = CPSATSolver().solve(problem, time_limit=5, warm_start=first, stop=stop)
    assert again.assignments and validate(problem, again) == []
