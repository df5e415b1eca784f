"""The heuristic front fillers: weighted tabu sweeps (cost vs balance) and cheaper-agent
subsets (cost vs makespan) give valid, non-dominated interior points."""

from __future__ import annotations

import time

import numpy as np

from quantum_planner import Agent, Problem, Task
from quantum_planner.tradeoffs import pareto_front
from quantum_planner.tradeoffs.assignment_sweep import applies, assignment_sweep
from quantum_planner.tradeoffs.front import dominates
from quantum_planner.tradeoffs.shop_fill import cheapest_within
from quantum_planner.validate import validate


def _gap(n: int = 40, m: int = 4, seed: int = 3) -> Problem:
    """A GAP-like problem: capacities, per-agent costs and loads, busy time = load."""
    rng = np.random.default_rng(seed)
    agents = [Agent(f"a{j}", capacity=float(3 * n // m * 4)) for j in range(m)]
    tasks = []
    for i in range(n):
        loads = {f"a{j}": float(rng.integers(1, 10)) for j in range(m)}
        costs = {f"a{j}": float(rng.integers(5, 50)) for j in range(m)}
        tasks.append(Task(f"t{i}", loads=loads, durations=dict(loads), costs=costs))
    return Problem(agents=agents, tasks=tasks, objective=["minimize_cost", "balance_load"])


def test_weighted_sweep_fills_the_cost_balance_front_with_valid_plans() -> None:
    problem = _gap()
    names = ("minimize_cost", "balance_load")
    assert applies(problem, names)
    front = pareto_front(problem, list(names), time_limit=4, backend="hybrid")
    assert front.method == "hybrid-weighted" and not front.complete
    senses = (1, 1)
    for p in front.points:
        assert validate(problem, p.solution) == []
        assert not any(dominates(q.values, p.values, senses) for q in front.points)
    # the interior is filled: more than the two extremes
    assert len(front.points) >= 3


def test_weighted_sweep_runs_to_its_deadline_and_returns_valid_plans() -> None:
    problem = _gap(n=30, m=3, seed=5)
    t0 = time.monotonic()
    plans = assignment_sweep(problem, [], t0 + 1.5, 1.5, seed=1)
    took = time.monotonic() - t0
    assert plans and all(s.feasible and validate(problem, s) == [] for s in plans)
    assert 1.0 <= took <= 2.5  # anytime: uses the time, stops near it


def test_cheapest_within_restricts_agents_and_is_off_with_capacities() -> None:
    agents = [Agent("fast"), Agent("cheap")]
    tasks = [
        Task(f"t{i}", durations={"fast": 1.0, "cheap": 3.0}, costs={"fast": 5.0, "cheap": 2.0})
        for i in range(4)
    ]
    problem = Problem(agents=agents, tasks=tasks, objective=["minimize_cost", "minimize_makespan"])
    only = cheapest_within(problem, 0.0)
    assert only is not None
    assert all(t.allowed_agents == ["cheap"] for t in only.tasks)
    assert all(
        set(t.allowed_agents) == {"fast", "cheap"} for t in cheapest_within(problem, 2.0).tasks
    )
    assert cheapest_within(_gap(), 0.0) is None  # capacities: cheapest agents may not fit
