"""The classical heuristics: greedy construction and local search."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import random_problem

from quantum_planner import Agent, Problem, Task, TimeWindowTask
from quantum_planner.solvers.base import Solver
from quantum_planner.solvers.greedy import GreedySolver
from quantum_planner.solvers.local_search import LocalSearchSolver, Search
from quantum_planner.solvers.plan_evaluation import plan_key
from quantum_planner.solvers.registry import get_solver
from quantum_planner.validate import validate

SOLVERS = [GreedySolver(), LocalSearchSolver()]


def solve(solver, problem: Problem, **kw):
    return solver.solve(problem, time_limit=kw.pop("time_limit", 5.0), **kw)


def test_registry_names_and_protocol() -> None:
    for name in ("greedy", "local_search"):
        s = get_solver(name)
        assert s.name == name and isinstance(s, Solver)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.name)
def test_snippet_plan_is_valid_and_optimal(solver, snippet_problem: Problem) -> None:
    sol = solve(solver, snippet_problem)
    assert validate(snippet_problem, sol) == []
    assert sol.makespan == 6.0  # api (2) then ml (4) is the critical chain
    assert sol.backend_used == solver.name


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.name)
def test_team_example_is_feasible(solver, team_problem: Problem) -> None:
    sol = solve(solver, team_problem)
    if solver.name == "local_search":
        assert validate(team_problem, sol) == []
        assert sol.makespan <= 16.0


def test_local_search_never_worse_than_greedy(team_problem: Problem) -> None:
    g = solve(GreedySolver(), team_problem)
    ls = solve(LocalSearchSolver(), team_problem)
    assert plan_key(team_problem, ls.assignments, ls.schedule) <= plan_key(
        team_problem, g.assignments, g.schedule
    )


def test_minimize_cost_takes_cheapest_eligible_agent() -> None:
    p = Problem(
        agents=[Agent("dear", cost_rate=10), Agent("cheap", cost_rate=1, skills=["x"])],
        tasks=[Task("t1", duration=2), Task("t2", duration=3), Task("t3", costs={"dear": 0.5})],
        objective="minimize_cost",
    )
    for solver in SOLVERS:
        sol = solve(solver, p)
        assert sol.assignments == {"t1": "cheap", "t2": "cheap", "t3": "dear"}
        assert sol.objectives["minimize_cost"] == 2 + 3 + 0.5


def test_minimize_cost_respects_capacity_like_gap() -> None:
    # cheapest for both is a0, but a0 can carry only one of them
    p = Problem(
        agents=[Agent("a0", capacity=4), Agent("a1", capacity=4)],
        tasks=[
            Task("t0", load=3, costs={"a0": 1, "a1": 9}),
            Task("t1", load=3, costs={"a0": 1, "a1": 2}),
        ],
        objective="minimize_cost",
    )
    for solver in SOLVERS:
        sol = solve(solver, p)
        assert validate(p, sol) == []
        assert sol.assignments == {"t0": "a0", "t1": "a1"}


def test_balance_load_spreads_work() -> None:
    p = Problem(
        agents=[Agent(f"a{i}") for i in range(3)],
        tasks=[Task(f"t{j}", duration=2) for j in range(6)],
        objective="balance_load",
    )
    sol = solve(LocalSearchSolver(), p)
    assert sol.objectives["balance_load"] == 0.0
    assert sorted(list(sol.assignments.values()).count(a.id) for a in p.agents) == [2, 2, 2]


def test_maximize_priority_chooses_valuable_optional_tasks() -> None:
    # room for two of the three optional tasks: the plan keeps the two most valuable
    p = Problem(
        agents=[Agent("a", capacity=2)],
        tasks=[Task(f"o{p}", priority=p, optional=True) for p in (1, 7, 4)],
        objective="maximize_priority",
    )
    for solver in SOLVERS:
        sol = solve(solver, p)
        assert validate(p, sol) == []
        assert sorted(sol.assignments) == ["o4", "o7"] and sol.unassigned == ["o1"]


def test_optional_tasks_skipped_when_they_only_cost() -> None:
    p = Problem(
        agents=[Agent("a")],
        tasks=[Task("must", duration=2), Task("maybe", duration=5, optional=True)],
        objective="minimize_makespan",
    )
    sol = solve(LocalSearchSolver(), p)
    assert sol.assignments == {"must": "a"} and sol.makespan == 2


def test_optional_prerequisite_of_mandatory_task_is_done() -> None:
    p = Problem(
        agents=[Agent("a")],
        tasks=[Task("prep", optional=True), Task("main", dependencies=["prep"])],
    )
    for solver in SOLVERS:
        sol = solve(solver, p)
        assert validate(p, sol) == [] and set(sol.assignments) == {"prep", "main"}


def test_lexicographic_priority_then_makespan() -> None:
    p = Problem(
        agents=[Agent("a"), Agent("b")],
        tasks=[Task(f"o{j}", duration=j + 1, priority=1, optional=True) for j in range(4)],
        objective=["maximize_priority", "minimize_makespan"],
    )
    sol = solve(LocalSearchSolver(), p)
    assert sol.objectives["maximize_priority"] == 4  # all done first
    assert sol.makespan == 5  # then 1+4 | 2+3


def test_windows_availability_and_horizon_respected() -> None:
    p = Problem(
        agents=[Agent("early", available_until=6), Agent("late", available_from=4)],
        tasks=[
            TimeWindowTask("w", earliest_start=1, latest_finish=5, duration=3),
            Task("x", duration=3),
            Task("y", duration=2, dependencies=["w"]),
        ],
        time_horizon=10,
    )
    for solver in SOLVERS:
        sol = solve(solver, p)
        assert validate(p, sol) == [], sol.schedule
        start, _ = sol.interval_of("w")
        assert start >= 1


def test_local_search_repairs_a_late_plan() -> None:
    p = Problem(
        agents=[Agent("a"), Agent("b")],
        tasks=[
            Task("long", duration=5),
            TimeWindowTask("urgent", latest_finish=2, duration=2),
            Task("other", duration=1),
        ],
    )
    # start from the worst order: urgent after long on the same agent
    search = Search(p, {"long": "a", "urgent": "a", "other": "a"}, ["long", "other", "urgent"],
                     time.monotonic() + 5, None)  # fmt: skip
    assert search.key[0] > 0  # late
    LocalSearchSolver()._descend(search, __import__("random").Random(0))
    assert search.key[0] == 0


def test_same_seed_same_plan() -> None:
    p = random_problem(25, 4, seed=1)
    s1 = solve(LocalSearchSolver(), p, seed=7)
    s2 = solve(LocalSearchSolver(), p, seed=7)
    assert s1.assignments == s2.assignments and s1.schedule == s2.schedule


def test_time_limit_honoured() -> None:
    p = random_problem(150, 8, seed=2)
    t0 = time.monotonic()
    sol = solve(LocalSearchSolver(kicks=10_000), p, time_limit=0.5)
    assert time.monotonic() - t0 < 1.0
    assert validate(p, sol) == []


def test_stop_event_returns_best_so_far() -> None:
    p = random_problem(100, 6, seed=3)
    stop = threading.Event()
    stop.set()
    t0 = time.monotonic()
    sol = solve(LocalSearchSolver(), p, time_limit=30, stop=stop)
    assert time.monotonic() - t0 < 2.0 and len(sol.assignments) == 100


def test_progress_reported() -> None:
    seen = []
    solve(LocalSearchSolver(), random_problem(20, 3, seed=4), progress=seen.append)
    assert seen and seen[0].message == "greedy start" and seen[0].best is not None


def test_warm_start_is_kept_when_better() -> None:
    p = random_problem(30, 4, seed=5)
    good = solve(LocalSearchSolver(), p, seed=1)
    again = LocalSearchSolver(kicks=0, max_passes=0).solve(p, time_limit=5, warm_start=good)
    assert again.makespan <= good.makespan


def test_fast_evaluator_agrees_with_build_schedule_and_plan_key() -> None:
    import random

    from quantum_planner.scheduling import build_schedule
    from quantum_planner.solvers.plan_evaluation import PlanEvaluator

    rng = random.Random(0)
    p = random_problem(25, 4, seed=9, time_horizon=60)
    ev = PlanEvaluator(p)
    for i in range(60):
        insert = i % 2 == 1  # both list-scheduling modes
        assignments = {t.id: rng.choice(p.agents).id for t in p.tasks if rng.random() < 0.9}
        rank = {t: rng.random() for t in assignments}
        order = sorted(assignments, key=rank.get)
        schedule = build_schedule(p, assignments, order, insert=insert)
        assert ev.key(assignments, rank, insert=insert) == plan_key(p, assignments, schedule)
        seq = ev.sequence(assignments, rank)
        assert build_schedule(p, assignments, seq, insert=insert) == schedule


def test_additive_scores_agree_with_plan_key() -> None:
    """Where order cannot matter, O(1) move scores equal the full evaluation."""
    import random

    from quantum_planner.scheduling import build_schedule
    from quantum_planner.solvers.plan_evaluation import AdditivePlan, PlanEvaluator, timing_matters

    rng = random.Random(1)
    p = Problem(
        agents=[Agent(f"a{i}", capacity=rng.randint(2, 6), cost_rate=i + 1) for i in range(4)],
        tasks=[
            Task(f"t{j}", load=rng.randint(1, 3), duration=rng.randint(1, 5),
                 priority=rng.randint(0, 9), optional=j % 3 == 0)
            for j in range(12)
        ],
        objective=["balance_load", "minimize_cost", "maximize_priority"],
    )  # fmt: skip
    assert not timing_matters(p)
    ev = PlanEvaluator(p)
    st = AdditivePlan(p, {t.id: rng.choice(p.agents).id for t in p.tasks}, ev)
    for _ in range(200):
        t = rng.choice(p.tasks).id
        src = st.assign.get(t)
        dst = None if (t.endswith(("0", "3", "6", "9")) and rng.random() < 0.3) else (
            rng.choice(p.agents).id
        )  # fmt: skip
        if src == dst:
            continue
        change = [(t, src, dst)]
        key = st.score(change)
        st.apply(change, key)
        full = plan_key(p, st.assign, build_schedule(p, st.assign))
        assert key == full[:-1] and full[-1] == 0.0


def test_gap_like_problem_solved_to_optimum_fast() -> None:
    import itertools
    import random

    rng = random.Random(4)
    p = Problem(
        agents=[Agent(f"a{i}", capacity=9) for i in range(3)],
        tasks=[
            Task(f"t{j}", loads={f"a{i}": rng.randint(1, 5) for i in range(3)},
                 costs={f"a{i}": rng.randint(1, 20) for i in range(3)})
            for j in range(8)
        ],
        objective="minimize_cost",
    )  # fmt: skip
    best = min(
        sum(t.costs[a] for t, a in zip(p.tasks, choice, strict=True))
        for choice in itertools.product([a.id for a in p.agents], repeat=len(p.tasks))
        if all(
            sum(t.load_on(a) for t, x in zip(p.tasks, choice, strict=True) if x == a) <= 9
            for a in ("a0", "a1", "a2")
        )
    )
    sol = LocalSearchSolver().solve(p, time_limit=5, seed=0)
    assert validate(p, sol) == [] and sol.objectives["minimize_cost"] == best


def test_kicks_toggle_optional_tasks() -> None:
    # balance is best (0.25) only by doing the optional t2 AND moving two tasks:
    # a0 = {t2, t3} (7), a1 = {t0, t1, t4} (8); no single move reaches it
    p = Problem(
        agents=[Agent("a0", skills=["x"], capacity=2), Agent("a1", skills=["x", "y"])],
        tasks=[
            Task("t0", required_skills=["x"], duration=4),
            Task("t1", duration=2, dependencies=["t0"]),
            Task("t2", required_skills=["x"], duration=5, dependencies=["t1"], optional=True),
            Task("t3", required_skills=["x"], duration=2, dependencies=["t0"]),
            Task("t4", duration=2),
        ],
        objective="balance_load",
    )
    sol = LocalSearchSolver().solve(p, time_limit=5, seed=0)
    assert validate(p, sol) == [] and sol.objectives["balance_load"] == 0.25
