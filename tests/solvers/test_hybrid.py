"""Hybrid solver: feasible, no worse than its start, anytime (limit, stop), deterministic."""

from __future__ import annotations

import itertools
import threading
import time

import dimod
import numpy as np
import pytest

from quantum_planner.model import Agent, Problem, Task
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.generalized_assignment import regret_greedy, score
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.solvers.lp import extended
from quantum_planner.solvers.shop import eft_schedule
from quantum_planner.solvers.subqubo import solve_subproblem
from quantum_planner.validate import validate


def random_gap(n: int, m: int, seed: int, slack: float = 1.3) -> Problem:
    rng = np.random.default_rng(seed)
    loads = rng.integers(5, 26, size=(n, m))
    costs = rng.integers(10, 51, size=(n, m))
    cap = np.floor(slack * loads.mean(axis=0) * n / m)
    agents = [Agent(f"a{j}", capacity=float(cap[j])) for j in range(m)]
    tasks = [
        Task(
            f"t{i}",
            costs={f"a{j}": float(costs[i, j]) for j in range(m)},
            loads={f"a{j}": float(loads[i, j]) for j in range(m)},
        )
        for i in range(n)
    ]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def random_fjsp(jobs: int, machines: int, ops: int, seed: int, min_alts: int = 1) -> Problem:
    rng = np.random.default_rng(seed)
    agents = [Agent(f"m{k}") for k in range(machines)]
    tasks = []
    for j in range(jobs):
        for o in range(ops):
            size = int(rng.integers(min_alts, machines + 1))
            alts = rng.choice(machines, size=size, replace=False)
            tasks.append(
                Task(
                    f"j{j}o{o}",
                    durations={f"m{k}": float(rng.integers(1, 10)) for k in alts},
                    allowed_agents=[f"m{k}" for k in alts],
                    dependencies=[f"j{j}o{o - 1}"] if o else [],
                )
            )
    return Problem(agents=agents, tasks=tasks, objective="minimize_makespan")


def test_gap_feasible_and_not_worse_than_start() -> None:
    problem = random_gap(60, 6, seed=1)
    comp = compile_problem(problem)
    W, L, D, cap, beta = extended(comp)
    start = regret_greedy(W, L, cap)
    used = np.bincount(start, weights=L[np.arange(comp.n), start], minlength=comp.m + 1)
    sol = HybridSolver(max_iterations=3000).solve(problem, time_limit=20, seed=1)
    assert validate(problem, sol) == []
    assert sol.feasible
    if (used <= cap).all():
        assert sol.objectives["minimize_cost"] <= score(W, D, beta, start, comp.m) + 1e-9
    # the Lagrangian/LP bound is reported and below the value
    assert sol.lower_bound is not None
    assert sol.lower_bound <= sol.objectives["minimize_cost"] + 1e-6


def test_deterministic_per_seed() -> None:
    problem = random_gap(50, 5, seed=2)
    a = HybridSolver(max_iterations=1500).solve(problem, time_limit=30, seed=7)
    b = HybridSolver(max_iterations=1500).solve(problem, time_limit=30, seed=7)
    assert a.assignments == b.assignments


def test_honours_time_limit_and_stop() -> None:
    problem = random_gap(400, 20, seed=3, slack=1.1)
    # a first solve compiles the numba kernels (cached on disk afterwards)
    HybridSolver(max_iterations=20).solve(random_gap(20, 3, seed=0), time_limit=600)
    t0 = time.perf_counter()
    sol = HybridSolver().solve(problem, time_limit=1.0, seed=0)
    assert time.perf_counter() - t0 < 4.0  # margin: the 2 shared cores are often overloaded
    assert validate(problem, sol) == []
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.perf_counter()
    sol = HybridSolver().solve(problem, time_limit=30, seed=0, stop=stop)
    assert time.perf_counter() - t0 < 4.0
    assert sol.assignments and validate(problem, sol) == []


def test_progress_reports_improvements() -> None:
    problem = random_gap(120, 8, seed=4)
    seen = []
    HybridSolver(max_iterations=2000).solve(problem, time_limit=20, progress=seen.append)
    assert seen and all(p.best is not None for p in seen)
    bests = [p.best for p in seen]
    assert bests == sorted(bests, reverse=True)  # each report is an improvement


def test_optional_tasks_and_priority() -> None:
    agents = [Agent("a", capacity=4), Agent("b", capacity=2)]
    tasks = [Task(f"t{i}", load=i % 3 + 1, priority=float(i + 1), optional=True) for i in range(6)]
    problem = Problem(agents=agents, tasks=tasks, objective="maximize_priority")
    sol = HybridSolver(max_iterations=500).solve(problem, time_limit=10)
    assert validate(problem, sol) == []
    # best: loads 1,2,3,1,2,3 with priorities 1..6 -> capacity 6 in total
    from quantum_planner.solvers.cpsat import CPSATSolver

    exact = CPSATSolver().solve(problem, time_limit=10)
    assert sol.objectives["maximize_priority"] == pytest.approx(
        exact.objectives["maximize_priority"]
    )


def test_balance_load_objective() -> None:
    agents = [Agent("a"), Agent("b"), Agent("c")]
    tasks = [Task(f"t{i}", duration=float(d)) for i, d in enumerate([5, 4, 3, 3, 2, 2, 1, 1, 3])]
    problem = Problem(agents=agents, tasks=tasks, objective="balance_load")
    sol = HybridSolver(max_iterations=500).solve(problem, time_limit=10)
    assert sol.objectives["balance_load"] == pytest.approx(0.0)  # 8 + 8 + 8


def test_fjsp_not_worse_than_list_schedule() -> None:
    problem = random_fjsp(6, 4, 4, seed=5)
    comp = compile_problem(problem)
    _, sched = eft_schedule(comp)
    start = max(e for ts in sched.values() for _, e in ts.values())
    sol = HybridSolver().solve(problem, time_limit=3, seed=0)
    assert validate(problem, sol) == []
    assert sol.makespan <= start + 1e-9
    assert sol.lower_bound is not None and sol.lower_bound <= sol.makespan + 1e-9


def test_fjsp_tabu_alone_improves_and_is_valid() -> None:
    from quantum_planner.solvers.shop_tabu import shop_tabu

    problem = random_fjsp(8, 4, 5, seed=6)
    comp = compile_problem(problem)
    a, s = eft_schedule(comp)
    start = max(e for ts in s.values() for _, e in ts.values())
    a2, s2, stats = shop_tabu(comp, a, s, time.perf_counter() + 600, 0, None, max_iterations=400)
    from quantum_planner.solvers.base import make_solution

    sol = make_solution(problem, a2, s2, backend="test")
    assert validate(problem, sol) == []
    assert sol.makespan <= start
    assert stats["iterations"] > 0


def test_shop_tabu_is_deterministic_and_its_value_exact() -> None:
    from quantum_planner.solvers.base import make_solution
    from quantum_planner.solvers.shop_tabu import shop_tabu

    problem = random_fjsp(10, 5, 5, seed=12)
    comp = compile_problem(problem)
    a, s = eft_schedule(comp)
    runs = [
        shop_tabu(comp, a, s, time.perf_counter() + 600, 3, None, max_iterations=600)
        for _ in range(2)
    ]
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    sol = make_solution(problem, runs[0][0], runs[0][1], backend="test")
    assert validate(problem, sol) == []
    # the kernel values moves exactly: its best is the returned plan's makespan
    assert sol.makespan == pytest.approx(runs[0][2]["best"])


def test_shop_tabu_starts_from_a_better_shared_plan() -> None:
    from quantum_planner.solvers.base import make_solution
    from quantum_planner.solvers.shop_tabu import shop_incumbent, shop_tabu

    problem = random_fjsp(10, 5, 5, seed=13)
    comp = compile_problem(problem)
    a, s = eft_schedule(comp)
    seen = []
    shared = shop_incumbent(comp, time.perf_counter(), seen.append)
    first = shop_tabu(
        comp, a, s, time.perf_counter() + 600, 0, None, max_iterations=400, shared=shared
    )
    assert seen and shared.value == pytest.approx(first[2]["best"])
    # no iterations of its own: the second search returns the shared plan
    a2, s2, _ = shop_tabu(
        comp, a, s, time.perf_counter() + 600, 1, None, max_iterations=0, shared=shared
    )
    sol = make_solution(problem, a2, s2, backend="test")
    assert validate(problem, sol) == []
    assert sol.makespan == pytest.approx(shared.value)


def test_fjsp_progress_never_worsens_and_limit_holds() -> None:
    problem = random_fjsp(20, 8, 8, seed=14)
    HybridSolver().solve(random_fjsp(4, 2, 2, seed=0), time_limit=5)  # compiles the kernels
    seen = []
    t0 = time.perf_counter()
    sol = HybridSolver().solve(problem, time_limit=2.0, seed=0, progress=seen.append)
    assert time.perf_counter() - t0 < 5.0  # margin: the 2 shared cores are often overloaded
    assert validate(problem, sol) == []
    values = [p.best for p in seen]
    assert values and all(b <= a + 1e-9 for a, b in itertools.pairwise(values))
    assert sol.makespan <= values[-1] + 1e-9
    for p in seen:
        if p.solution is not None:
            assert validate(problem, p.solution) == []
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t0 = time.perf_counter()
    sol = HybridSolver().solve(problem, time_limit=30, seed=0, stop=stop)
    assert time.perf_counter() - t0 < 5.0
    assert validate(problem, sol) == []


def test_fjsp_search_starts_from_a_better_warm_start() -> None:
    problem = random_fjsp(12, 5, 5, seed=15)
    good = HybridSolver().solve(problem, time_limit=2.0, seed=0)
    # no time to improve anything: the answer is the warm start (or better), never the
    # list schedule's worse plan
    sol = HybridSolver(race_cpsat=False).solve(problem, time_limit=0.05, warm_start=good)
    assert validate(problem, sol) == []
    assert sol.makespan <= good.makespan + 1e-9


def test_qubo_subproblem_respects_capacity() -> None:
    from dwave.samplers import SimulatedAnnealingSampler

    problem = random_gap(30, 3, seed=8, slack=1.2)
    comp = compile_problem(problem)
    W, L, _, cap, _ = extended(comp)
    assign = regret_greedy(W, L, cap)
    res = solve_subproblem(
        W, L, cap, assign, np.array([0, 1, 2]), SimulatedAnnealingSampler(), seed=3
    )
    assert res.variables > 0
    if res.assign is not None:
        new = assign.copy()
        new[res.tasks] = res.assign
        used = np.bincount(new, weights=L[np.arange(comp.n), new], minlength=comp.m + 1)
        assert (used <= cap + 1e-9).all()
    assert res.penalties["one_hot"] > 0


def test_accepts_any_dimod_sampler() -> None:
    problem = random_gap(40, 4, seed=9)
    sol = HybridSolver(sampler=dimod.SimulatedAnnealingSampler(), max_iterations=2000).solve(
        problem, time_limit=20
    )
    assert validate(problem, sol) == []
    stats = sol.metadata["hybrid"]
    assert stats["qubo_subproblems"] >= 1  # the stalled search did sample subproblems
    assert sol.penalties["one_hot"] > 0 and "capacity_limit" in sol.penalties


def test_scheduling_with_deadlines_and_capacity_is_valid() -> None:
    # the list schedule puts "long" first (longer tail) and misses the deadline of
    # "late"; that start must lose to the CP-SAT racer's feasible plan
    agents = [Agent("a", capacity=3)]
    tasks = [Task("long", duration=5), Task("late", duration=1, latest_finish=2)]
    problem = Problem(agents=agents, tasks=tasks, objective="minimize_makespan")
    comp = compile_problem(problem)
    _, sched = eft_schedule(comp)
    assert sched["a"]["late"][1] > 2  # the start really is infeasible
    sol = HybridSolver().solve(problem, time_limit=5, seed=0)
    assert validate(problem, sol) == []
    assert sol.interval_of("late")[1] <= 2


def test_kernel_swap_move_exchanges_two_tasks() -> None:
    from quantum_planner.solvers.generalized_assignment import TabuState, candidates, tabu_search

    # two full agents; only exchanging the tasks improves, a shift would overflow
    W = np.array([[5.0, 1.0, np.inf], [1.0, 5.0, np.inf]])
    L = np.ones((2, 3))
    L[:, 2] = 0.0
    D = np.ones((2, 3))
    cap = np.array([1.0, 1.0, np.inf])
    state = TabuState(W, L, D, cap, np.array([0, 1]))
    state.f[0] = 1e9  # overflow is prohibitive: one iteration must pick the swap
    state.f[1] = 10.0
    cand = candidates(W, 2)
    tabu_search(
        W, L, D, cap, 0.0, 2, state.assign, state.used, state.busy, state.tabu, state.best,
        state.f, cand, state.members, state.cnt, state.pos, 1, 2, 0,
    )  # fmt: skip
    assert list(state.assign) == [1, 0]
    assert state.f[1] == pytest.approx(2.0)


def test_shop_tabu_keeps_releases_and_values_them_exactly() -> None:
    """Earliest starts are releases in the kernels: plans keep them, and the kernel's best
    is still the returned plan's makespan."""
    from quantum_planner.solvers.base import make_solution
    from quantum_planner.solvers.shop import shop_like
    from quantum_planner.solvers.shop_tabu import shop_tabu

    base = random_fjsp(8, 4, 5, seed=21)
    rng = np.random.default_rng(5)
    tasks = [
        t.model_copy(update={"earliest_start": float(rng.integers(0, 30))}) if i % 3 == 0 else t
        for i, t in enumerate(base.tasks)
    ]
    problem = Problem(agents=base.agents, tasks=tasks, objective="minimize_makespan")
    comp = compile_problem(problem)
    assert shop_like(comp)
    a, s = eft_schedule(comp)
    a2, s2, stats = shop_tabu(comp, a, s, time.perf_counter() + 600, 3, None, max_iterations=600)
    sol = make_solution(problem, a2, s2, backend="test")
    assert validate(problem, sol) == []
    assert sol.makespan == pytest.approx(stats["best"])
    assert stats["best"] < stats["start"]
    # some task waits for its release (else the test would not test releases)
    starts = {t: st for ts in s2.values() for t, (st, _) in ts.items()}
    assert any(t.earliest_start and starts[t.id] == t.earliest_start for t in tasks)


def test_frozen_replan_is_shop_like_and_the_tabu_keeps_its_pins() -> None:
    """After a freeze, pinned tasks (one agent, no slack) are fixed in the kernels: the
    search re-plans the rest around them and every pin holds."""
    from quantum_planner.replan import apply_changes, parse_changes
    from quantum_planner.solvers.base import make_solution
    from quantum_planner.solvers.cpsat import CPSATSolver
    from quantum_planner.solvers.shop import fixed_tasks, shop_view
    from quantum_planner.solvers.shop_tabu import shop_tabu

    # two agents or more per task: any agent can leave
    problem = random_fjsp(8, 4, 5, seed=6, min_alts=2)
    base = CPSATSolver().solve(problem, time_limit=5, seed=1)
    at = round(0.3 * base.makespan, 3)
    changes = [{"type": "remove_agent", "agent": "m1", "at": at}]
    inp = apply_changes(problem, base, parse_changes(changes), freeze_until=at)
    comp = shop_view(compile_problem(inp.problem))
    assert inp.pins and comp is not None
    # the leaving agent's pairs after the freeze are out of the view
    assert comp.nnz < compile_problem(inp.problem).nnz
    fixed = fixed_tasks(comp)
    assert {comp.task_ids[i] for i in np.flatnonzero(fixed)} == set(inp.pins)
    a, s = eft_schedule(comp)
    a2, s2, stats = shop_tabu(comp, a, s, time.perf_counter() + 600, 1, None, max_iterations=800)
    sol = make_solution(inp.problem, a2, s2, backend="test")
    assert validate(inp.problem, sol) == []
    for tid, pin in inp.pins.items():
        assert a2[tid] == pin.agent and s2[pin.agent][tid][0] == pytest.approx(pin.start)
    assert sol.makespan == pytest.approx(stats["best"])


def test_shop_like_refuses_a_pin_after_free_tasks_may_start() -> None:
    """A task pinned late (no freeze before it) would be put first on its agent by the
    search, holding free tasks back: not shop-like, CP-SAT schedules it."""
    from quantum_planner.solvers.shop import fixed_tasks, shop_like

    base = random_fjsp(4, 3, 3, seed=2)
    t0 = base.tasks[0]
    agent = t0.allowed_agents[0]
    late = t0.model_copy(
        update={
            "allowed_agents": [agent],
            "earliest_start": 50.0,
            "latest_finish": 50.0 + t0.duration_on(agent),
        }
    )
    problem = Problem(
        agents=base.agents, tasks=[late, *base.tasks[1:]], objective="minimize_makespan"
    )
    comp = compile_problem(problem)
    assert fixed_tasks(comp)[0] and fixed_tasks(comp).sum() == 1
    assert not shop_like(comp)
