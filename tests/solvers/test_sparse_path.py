"""The pairs-only (CSR) compiled form and the hybrid's big-problem assignment path."""

from __future__ import annotations

import time

import numpy as np
import pytest

from quantum_planner.model import Agent, Objective, Problem, Task
from quantum_planner.solvers.dense_view import Compiled, compile_problem
from quantum_planner.solvers.generalized_assignment import regret_greedy
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.solvers.hybrid import sparse as sparse_path
from quantum_planner.solvers.lp import extended, lp_on_pairs
from quantum_planner.solvers.sparse_form import (
    greedy_plan,
    lagrangian,
    repaired,
    sparse_extended,
)
from quantum_planner.solvers.sparse_gap import agent_lists, descent_sp, regret_greedy_sp
from quantum_planner.validate import validate


def skilled(n_agents: int, n_tasks: int, seed: int, slack: float = 1.15, **kw: object) -> Problem:
    """Agents with 2-3 of 8 skills; tasks needing 1-2 skills of some agent; per-agent costs."""
    rng = np.random.default_rng(seed)
    skills = [
        sorted(rng.choice(8, size=int(rng.integers(2, 4)), replace=False)) for _ in range(n_agents)
    ]
    rate = rng.uniform(1.0, 3.0, n_agents)
    tasks, expected = [], 0.0
    for t in range(n_tasks):
        own = skills[int(rng.integers(n_agents))]
        req = sorted(rng.choice(own, size=int(rng.integers(1, 3)), replace=False))
        elig = [a for a in range(n_agents) if set(req) <= set(skills[a])]
        base = float(rng.integers(1, 11))
        durs = {f"a{a}": round(base * rng.uniform(0.8, 1.2), 2) for a in elig}
        expected += float(np.mean(list(durs.values())))
        tasks.append(
            Task(
                id=f"t{t}",
                required_skills=[f"s{k}" for k in req],
                duration=base,
                durations=durs,
                costs={
                    a: round(rate[int(a[1:])] * d * rng.uniform(0.8, 1.2), 2)
                    for a, d in durs.items()
                },
                loads=dict(durs),
                load=base,
                optional=bool(kw.get("optional")) and t % 5 == 0,
                priority=float(1 + t % 4),
            )
        )
    caps = slack * expected / n_agents * rng.uniform(0.8, 1.2, n_agents)
    agents = [
        Agent(
            id=f"a{a}",
            skills=[f"s{k}" for k in skills[a]],
            capacity=round(float(caps[a]), 2),
            cost_rate=float(rate[a]),
        )
        for a in range(n_agents)
    ]
    objective = kw.get("objective", Objective.MINIMIZE_COST)
    return Problem(agents=agents, tasks=tasks, objective=objective)


def featured() -> Problem:
    """Skills, allowed agents, overrides (some for ineligible agents), windows, availability,
    capacity that rules pairs out, optional tasks, a horizon."""
    agents = [
        Agent(
            id=f"a{k}",
            skills=[f"s{k % 3}", "x"],
            capacity=float(6 + k) if k % 2 else None,
            available_from=float(k % 2),
            available_until=40.0 if k % 3 == 0 else None,
            cost_rate=1 + k / 10,
        )
        for k in range(6)
    ]
    tasks = []
    for i in range(40):
        kw: dict = {}
        if i % 5 == 0:
            kw["allowed_agents"] = ["a0", "a2", "a4"]
        if i % 7 == 0:
            kw.update(earliest_start=2.0, latest_finish=30.0)
        tasks.append(
            Task(
                id=f"t{i}",
                required_skills=[f"s{i % 3}"] if i % 4 else [],
                duration=1 + i % 5,
                load=1 + i % 3,
                durations={f"a{k}": 2.0 + k for k in range(0, 6, i % 3 + 1)},
                loads={"a1": 8.0, "a5": 3.0} if i % 2 else {},
                costs={"a2": 7.5} if i % 3 else {},
                optional=i % 6 == 0,
                priority=1 + i % 4,
            )
        )
    objective = [Objective.MAXIMIZE_PRIORITY, Objective.MINIMIZE_COST]
    return Problem(agents=agents, tasks=tasks, objective=objective, time_horizon=200.0)


def test_pairs_are_exactly_the_eligible_pairs_with_the_models_values() -> None:
    problem = featured()
    comp = compile_problem(problem)
    seen = 0
    for i, task in enumerate(problem.tasks):
        row = comp.col[comp.ptr[i] : comp.ptr[i + 1]].tolist()
        assert row == sorted(row)
        expect = [j for j, a in enumerate(problem.agents) if problem.is_eligible(task, a)]
        assert row == expect, task.id
        for q, j in zip(range(comp.ptr[i], comp.ptr[i + 1]), row, strict=True):
            agent = problem.agents[j]
            lo, hi = problem.window_on(task, agent)
            assert comp.pdur[q] == task.duration_on(agent.id)
            assert comp.pload[q] == task.load_on(agent.id)
            assert comp.pcost[q] == pytest.approx(task.cost_on(agent))
            assert comp.prelease[q] == lo and comp.pdeadline[q] == (np.inf if hi is None else hi)
            seen += 1
    assert seen == comp.nnz > 0
    # the dense views agree with the pairs where eligible
    assert comp.elig.sum() == comp.nnz
    assert np.array_equal(comp.cost[comp.elig], comp.pcost)
    assert np.isinf(comp.cost[~comp.elig]).all()


def test_optional_tasks_get_the_virtual_agent_last_in_their_row() -> None:
    problem = featured()
    comp = compile_problem(problem)
    form = sparse_extended(comp)
    W, L, _, cap, _ = extended(comp)
    for i in range(comp.n):
        cols = form.col[form.ptr[i] : form.ptr[i + 1]]
        assert cols.tolist() == np.flatnonzero(np.isfinite(W[i])).tolist()
        assert np.array_equal(form.W[form.ptr[i] : form.ptr[i + 1]], W[i, cols])
        assert np.array_equal(form.L[form.ptr[i] : form.ptr[i + 1]], L[i, cols])
    assert np.array_equal(form.cap, cap)


@pytest.mark.parametrize("seed", range(4))
def test_sparse_regret_greedy_gives_the_dense_greedys_plan(seed: int) -> None:
    comp = compile_problem(skilled(12, 150, seed, slack=(0.9, 1.0, 1.2, 1.5)[seed]))
    form = sparse_extended(comp)
    W, L, _, cap, _ = extended(comp)
    active = np.ones(form.n, dtype=np.bool_)
    slot = regret_greedy_sp(
        form.ptr, form.col, form.W, form.L, form.cap, form.row, form.tptr, form.tpair, active
    )
    assert np.array_equal(form.agents(slot), regret_greedy(W, L, cap))


def test_repair_removes_the_overflow_of_a_greedy_plan() -> None:
    comp = compile_problem(skilled(30, 900, 3, slack=1.08))
    form = sparse_extended(comp)
    active = np.ones(form.n, dtype=np.bool_)
    # the unpriced greedy overfills the cheap agents
    raw = regret_greedy_sp(
        form.ptr, form.col, form.W, form.L, form.cap, form.row, form.tptr, form.tpair, active
    )
    assert form.overflow(raw) > 0
    slot, left = repaired(form, raw, seed=1)
    assert left == 0.0 and form.overflow(slot) == 0.0
    assert np.array_equal(form.row[slot], np.arange(form.n))  # each task on its own pair


def test_descent_keeps_capacity_and_reports_its_exact_gain() -> None:
    comp = compile_problem(skilled(30, 900, 4))
    form = sparse_extended(comp)
    slot, left = greedy_plan(form, form.W + 2.0 * form.L, seed=0)
    assert left == 0.0
    before = form.score(slot)
    used = form.used(slot)
    busy = np.zeros(form.M)
    head, nxt, prv = agent_lists(form.col, slot, form.M)
    gain = descent_sp(
        form.ptr, form.col, form.W, form.L, form.D, form.cap, form.beta, form.m, slot, used, busy,
        head, nxt, prv, form.minw, np.arange(form.n), True,
    )  # fmt: skip
    assert gain < 0
    assert form.score(slot) == pytest.approx(before + gain)
    assert form.overflow(slot) == 0.0
    assert np.allclose(used, form.used(slot))
    # the agent lists still hold exactly each agent's tasks
    for j in range(form.M):
        members, k = [], head[j]
        while k >= 0:
            members.append(k)
            k = nxt[k]
        assert sorted(members) == np.flatnonzero(form.agents(slot) == j).tolist()


def test_lagrangian_bound_is_below_the_lp_bound_and_close_to_it() -> None:
    comp = compile_problem(skilled(40, 1200, 5))
    form = sparse_extended(comp)
    lp = lp_on_pairs(form.row, form.col, form.W, form.L, form.n, form.cap)
    assert lp is not None
    lag = lagrangian(form, np.inf, time_limit=5.0)
    assert lag.bound <= lp[0] + 1e-6 * abs(lp[0])
    assert lag.bound >= lp[0] * (1 - 0.005)


def test_sparse_path_plans_are_valid_and_near_the_lp_bound() -> None:
    problem = skilled(60, 3000, 6)
    comp = compile_problem(problem)
    form = sparse_extended(comp)
    lp = lp_on_pairs(form.row, form.col, form.W, form.L, form.n, form.cap)
    assert lp is not None
    t = time.perf_counter()
    sol = HybridSolver(sparse=True).solve(problem, time_limit=3.0, seed=2)
    assert time.perf_counter() - t < 3.0 + 2.0  # the limit plus kernel loading
    meta = sol.metadata["hybrid"]
    assert meta["path"] == "sparse" and meta["first_feasible_s"] is not None
    assert not validate(problem, sol)
    assert sol.objectives["minimize_cost"] <= lp[0] * 1.02
    assert sol.lower_bound is not None and sol.lower_bound <= lp[0] + 1e-6 * abs(lp[0])


def test_sparse_path_with_priorities_optional_tasks_and_a_warm_start() -> None:
    problem = skilled(
        20, 400, 7, optional=True, objective=[Objective.MAXIMIZE_PRIORITY, Objective.MINIMIZE_COST]
    )
    first = HybridSolver(sparse=True, max_iterations=2).solve(problem, time_limit=5.0, seed=1)
    assert not validate(problem, first)
    # every optional task that fits is done (priority comes first)
    done = {t.id for t in problem.tasks} - set(first.unassigned)
    assert len(done) >= 0.9 * len(problem.tasks)
    again = HybridSolver(sparse=True, max_iterations=0).solve(
        problem, time_limit=5.0, seed=1, warm_start=first
    )
    assert not validate(problem, again)
    assert again.objectives["maximize_priority"] >= first.objectives["maximize_priority"]


def test_sparse_path_balances_load() -> None:
    problem = skilled(10, 200, 8, objective=[Objective.BALANCE_LOAD])
    sol = HybridSolver(sparse=True).solve(problem, time_limit=1.0, seed=0)
    assert not validate(problem, sol)
    start = sol.metadata["hybrid"]["start_value"]
    assert sol.objectives["balance_load"] < start


def test_pairs_only_path_never_builds_a_dense_matrix(monkeypatch) -> None:
    # past SPARSE_CELLS (lowered here) the hybrid reads only the pairs
    monkeypatch.setattr(sparse_path, "SPARSE_CELLS", 100)

    def refuse(self: Compiled) -> np.ndarray:
        raise AssertionError("a dense (n, m) matrix was built")

    for name in ("elig", "dur", "load", "cost", "release", "deadline"):
        monkeypatch.setattr(Compiled, name, property(refuse))
    problem = skilled(15, 300, 9)
    sol = HybridSolver().solve(problem, time_limit=1.0, seed=0)
    assert sol.metadata["hybrid"]["path"] == "sparse"
    assert not validate(problem, sol)
