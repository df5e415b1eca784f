"""k-agent LNS: exact subproblems, neighbourhoods, merging, and its use by the hybrid."""

from __future__ import annotations

import threading
import time

import numpy as np
from test_hybrid import random_gap

from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.generalized_assignment import candidates, regret_greedy, score
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.solvers.lns import AgentLNS, choose_agents, solve_agents_cpsat
from quantum_planner.solvers.lp import extended
from quantum_planner.validate import validate


def _arrays(n: int, m: int, seed: int, slack: float = 1.3):
    problem = random_gap(n, m, seed=seed, slack=slack)
    comp = compile_problem(problem)
    W, L, D, cap, beta = extended(comp)
    return problem, comp, W, L, D, cap, beta


def _loads(W: np.ndarray, L: np.ndarray, plan: np.ndarray) -> np.ndarray:
    return np.bincount(plan, weights=L[np.arange(plan.size), plan], minlength=W.shape[1])


def test_subproblem_is_feasible_and_no_worse() -> None:
    _, _, W, L, _, cap, _ = _arrays(60, 6, seed=3)
    plan = regret_greedy(W, L, cap)
    assert (_loads(W, L, plan) <= cap + 1e-9).all()
    agents = np.array([0, 2, 5])
    res = solve_agents_cpsat(W, L, cap, plan, agents, time_limit=5.0)
    assert res.assign is not None and res.optimal
    assert np.array_equal(res.tasks, np.flatnonzero(np.isin(plan, agents)))
    assert set(res.assign.tolist()) <= set(agents.tolist())
    new = plan.copy()
    new[res.tasks] = res.assign
    assert (_loads(W, L, new) <= cap + 1e-9).all()
    assert W[res.tasks, res.assign].sum() <= W[res.tasks, plan[res.tasks]].sum()


def test_whole_problem_as_one_neighbourhood_is_the_optimum() -> None:
    problem, comp, W, L, D, cap, beta = _arrays(24, 3, seed=5)
    plan = regret_greedy(W, L, cap)
    res = solve_agents_cpsat(W, L, cap, plan, np.arange(comp.m), time_limit=10.0)
    assert res.optimal and res.assign is not None
    new = plan.copy()
    new[res.tasks] = res.assign
    exact = CPSATSolver(num_workers=1).solve(problem, time_limit=10.0, seed=0)
    assert exact.status == "optimal"
    assert score(W, D, beta, new, comp.m) == exact.objectives["minimize_cost"]


def test_choose_agents_distinct_and_in_range() -> None:
    _, comp, W, L, _, cap, _ = _arrays(80, 10, seed=4)
    plan = regret_greedy(W, L, cap)
    cand = candidates(W, 4)
    rng = np.random.default_rng(0)
    for k in (1, 3, 10, 15):
        agents = choose_agents(plan, cand, comp.m, k, rng)
        assert agents.size == min(k, comp.m)
        assert np.unique(agents).size == agents.size
        assert agents.min() >= 0 and agents.max() < comp.m


def test_merge_applies_when_the_agents_tasks_are_unchanged_else_offers_candidates() -> None:
    _, comp, W, L, _, cap, _ = _arrays(40, 4, seed=6)
    base = regret_greedy(W, L, cap)
    lns = AgentLNS(W, L, cap, comp.m, candidates(W, 4), deadline=0.0, seed=0)
    agents = np.array([0, 1])
    tasks = np.flatnonzero(np.isin(base, agents))
    new = base[tasks][::-1].copy()  # any reassignment among the two agents
    # the caller's plan moved a task between agents 2 and 3 only: still applies
    moved = base.copy()
    other = np.flatnonzero(base == 2)[0]
    moved[other] = 3
    lns._offer(agents, tasks, new, base)
    [merged] = lns.merge(moved)
    assert np.array_equal(merged[tasks], new) and merged[other] == 3
    # the caller's plan moved a task onto agent 0: not applicable, the old base comes back
    onto = base.copy()
    onto[other] = 0
    lns._offer(agents, tasks, new, base)
    forced, whole = lns.merge(onto)
    assert np.array_equal(forced[tasks], new) and forced[other] == 0
    assert np.array_equal(whole[tasks], new) and whole[other] == base[other]
    assert lns.merge(onto) == []  # nothing pending any more


def test_hybrid_with_lns_is_valid_and_counts_sources() -> None:
    problem = random_gap(150, 15, seed=11, slack=1.1)
    from dwave.samplers import SimulatedAnnealingSampler

    # every second LNS step is a QUBO neighbourhood (a fast sampler: dimod's reference
    # one would take the whole limit)
    solver = HybridSolver(race_cpsat=False, lns_qubo_every=2, sampler=SimulatedAnnealingSampler())
    sol = solver.solve(problem, time_limit=4.0, seed=0)
    assert validate(problem, sol) == []
    stats = sol.metadata["hybrid"]
    assert stats["lns_subproblems"] >= 1
    assert stats["lns_qubo_subproblems"] >= 1  # the QUBO comparison ran on the same thread
    assert stats["lns_qubo_feasible"] <= stats["lns_qubo_subproblems"]
    by_source = solver.stats["improvements_by_source"]
    assert by_source.get("constructive start") == 1
    assert stats.get("lns_accepted", 0) == by_source.get("agent LNS", 0)
    assert sol.objectives["minimize_cost"] <= stats["start_value"]


def test_lns_off_when_deterministic_or_one_worker() -> None:
    problem = random_gap(60, 6, seed=2)
    for solver in (HybridSolver(max_iterations=200), HybridSolver(num_workers=1)):
        sol = solver.solve(problem, time_limit=2.0, seed=0)
        assert validate(problem, sol) == []
        assert "lns_subproblems" not in sol.metadata["hybrid"]


def test_subproblem_past_its_deadline_returns_no_plan() -> None:
    _, _, W, L, _, cap, _ = _arrays(60, 6, seed=3)
    plan = regret_greedy(W, L, cap)
    res = solve_agents_cpsat(
        W, L, cap, plan, np.array([0, 1]), time_limit=5.0, deadline=time.perf_counter() - 1.0
    )
    assert res.assign is None and not res.optimal


def test_stop_ends_the_lns_solve() -> None:
    # no racer: the LNS starts at once; by 1.5 s the main thread may be in a subproblem too
    problem = random_gap(400, 20, seed=3, slack=1.1)
    stop = threading.Event()
    threading.Timer(1.5, stop.set).start()
    solver = HybridSolver(race_cpsat=False)
    t0 = time.perf_counter()
    sol = solver.solve(problem, time_limit=60, seed=0, stop=stop)
    assert time.perf_counter() - t0 < 6.0  # far below the limit; margin for a loaded machine
    assert sol.assignments and validate(problem, sol) == []
    assert sol.metadata["hybrid"]["lns_subproblems"] >= 1
