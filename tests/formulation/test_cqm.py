"""CQM export: feasible plans satisfy its constraints, infeasible ones do not."""

from __future__ import annotations

import io

import dimod
import pytest

from quantum_planner.formulation import QUBOBuilder
from quantum_planner.formulation.cqm import build_cqm, cqm_sample
from quantum_planner.model import Agent, Problem, Task, TimeWindowTask


def gap_like() -> Problem:
    agents = [Agent("a0", capacity=3), Agent("a1", capacity=2)]
    tasks = [
        Task("t0", loads={"a0": 2, "a1": 1}, costs={"a0": 1, "a1": 4}),
        Task("t1", loads={"a0": 1, "a1": 2}, costs={"a0": 3, "a1": 1}),
        Task("t2", loads={"a0": 1, "a1": 1}, costs={"a0": 2, "a1": 2}),
        Task("t3", optional=True, priority=2, loads={"a0": 1, "a1": 1}),
    ]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def test_feasible_plan_satisfies_cqm_and_infeasible_does_not():
    p = gap_like()
    b = QUBOBuilder(p)
    cqm = build_cqm(p, b)
    assert {"unassigned[t0]", "unassigned[t3]", "capacity_limit[a0]", "capacity_limit[a1]"} <= set(
        cqm.constraints
    )
    assert not any(v[0] == "slack" for v in cqm.variables)
    ok = cqm_sample(b, b.encode({"t0": "a0", "t1": "a1", "t2": "a0"}))
    assert cqm.check_feasible(ok)
    # objective = the plan's cost
    assert cqm.objective.energy(ok) == pytest.approx(1 + 1 + 2)
    over = cqm_sample(b, b.encode({"t0": "a0", "t1": "a0", "t2": "a0", "t3": "a0"}))  # load 5 > 3
    assert not cqm.check_feasible(over)
    assert cqm.constraints["capacity_limit[a0]"].lhs.energy(over) == 5
    missing = cqm_sample(b, b.encode({"t0": "a0", "t1": "a1"}))  # t2 unassigned
    assert not cqm.check_feasible(missing)
    twice = dict(ok)
    twice[("x", "t2", "a1")] = 1  # t2 on two agents
    assert not cqm.check_feasible(twice)


def test_time_indexed_cqm_precedence_and_busy():
    agents = [Agent("a0")]
    tasks = [
        Task("t0", duration=2),
        Task("t1", duration=1, dependencies=["t0"]),
        TimeWindowTask("t2", duration=1, earliest_start=0, latest_finish=5),
    ]
    p = Problem(agents=agents, tasks=tasks, objective="minimize_makespan", time_horizon=5)
    b = QUBOBuilder(p)
    cqm = build_cqm(p, b)
    assert b.mode == "time"
    good = cqm_sample(b, b.encode({t.id: "a0" for t in tasks}, {"t0": 0, "t1": 2, "t2": 3}))
    assert cqm.check_feasible(good)
    clash = cqm_sample(b, b.encode({t.id: "a0" for t in tasks}, {"t0": 0, "t1": 2, "t2": 1}))
    assert not cqm.check_feasible(clash)  # t2 overlaps t0
    early = cqm_sample(b, b.encode({t.id: "a0" for t in tasks}, {"t0": 1, "t1": 0, "t2": 3}))
    assert not cqm.check_feasible(early)  # t1 before its prerequisite


def test_exact_makespan_cqm():
    agents = [Agent("a0"), Agent("a1")]
    tasks = [Task("t0", duration=2), Task("t1", duration=3), Task("t2", duration=1)]
    p = Problem(agents=agents, tasks=tasks, objective="minimize_makespan")
    b = QUBOBuilder(p, makespan="exact")
    cqm = build_cqm(p, b)
    plan = {"t0": "a0", "t1": "a0", "t2": "a1"}
    s = cqm_sample(b, b.encode(plan))
    assert cqm.check_feasible(s)
    assert cqm.objective.energy(s) == pytest.approx(5.0)  # the makespan
    # claiming a smaller makespan (the lower bound 3) than the plan's breaks a constraint
    low = dict(s)
    for v in low:
        if v[0] == "makespan":
            low[v] = 0
    assert not cqm.check_feasible(low)


def test_cqm_serialises():
    p = gap_like()
    cqm = build_cqm(p)
    buf = io.BytesIO(cqm.to_file().read())
    back = dimod.ConstrainedQuadraticModel.from_file(buf)
    assert set(back.constraints) == set(cqm.constraints)
    assert set(back.variables) == set(cqm.variables)


def test_cqm_optional_prerequisite_done():
    agents = [Agent("a0")]
    tasks = [Task("t0", optional=True), Task("t1", dependencies=["t0"])]
    p = Problem(agents=agents, tasks=tasks, objective="minimize_cost")
    b = QUBOBuilder(p)
    cqm = build_cqm(p, b)
    assert "precedence[t1,t0,done]" in cqm.constraints
    assert cqm.check_feasible(cqm_sample(b, b.encode({"t0": "a0", "t1": "a0"})))
    assert not cqm.check_feasible(cqm_sample(b, b.encode({"t1": "a0"})))


def test_cqm_optimum_is_the_brute_force_optimum():
    # ExactCQMSolver enumerates every state; its best feasible one is the true optimum
    from quantum_planner.formulation import decode
    from quantum_planner.objectives import objective_key

    p = gap_like()
    b = QUBOBuilder(p)
    cqm = build_cqm(p, b)
    ss = dimod.ExactCQMSolver().sample_cqm(cqm).filter(lambda d: d.is_feasible)
    best = ss.first.sample
    sol = decode(b, {**best}, do_repair=False)
    assert sol.feasible
    # brute force: every task to one agent (t3 optional: also undone)
    import itertools

    from quantum_planner.objectives import evaluate
    from quantum_planner.scheduling import build_schedule

    keys = []
    for combo in itertools.product(["a0", "a1"], ["a0", "a1"], ["a0", "a1"], ["a0", "a1", None]):
        plan = {f"t{j}": a for j, a in enumerate(combo) if a is not None}
        loads = {"a0": 0.0, "a1": 0.0}
        for t, a in plan.items():
            loads[a] += p.task(t).load_on(a)
        if loads["a0"] <= 3 and loads["a1"] <= 2:
            keys.append(objective_key(p, evaluate(p, plan, build_schedule(p, plan))))
    assert objective_key(p, sol.objectives) == min(keys)
