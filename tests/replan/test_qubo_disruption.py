"""Disruption on the QUBO path: linear biases toward the previous plan, and what they do."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_planner import QuantumTaskPlanner
from quantum_planner.disruption import DisruptionTerms, DisruptionWeights, intervals, measure
from quantum_planner.formulation.bqm import QUBOBuilder
from quantum_planner.model import Agent, Problem, Task
from quantum_planner.replan import apply_changes, parse_changes
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution
from quantum_planner.solvers.qubo_sampling import SimulatedAnnealingQUBOSolver
from quantum_planner.validate import validate

from .problems import interchangeable

PENALTIES = {"unassigned": 50.0, "capacity_limit": 50.0, "overlap": 50.0, "time_horizon": 50.0}


def _reference(problem: Problem, assign: dict[str, str]):
    return make_solution(problem, assign, build_schedule(problem, assign), backend="test")


def test_assignment_mode_biases_favour_the_previous_agent():
    p = Problem(
        agents=[Agent("a0", capacity=4.0), Agent("a1", capacity=4.0), Agent("a2", skills=["x"])],
        tasks=[
            Task("t0", costs={"a0": 3.0, "a1": 5.0, "a2": 9.0}),
            Task("t1", costs={"a0": 4.0, "a1": 2.0, "a2": 7.0}),
            Task("t2", costs={"a0": 6.0, "a1": 1.0}, allowed_agents=["a0", "a1"]),
            Task("t3", required_skills=["x"], costs={"a2": 2.0}),
        ],
        objective="minimize_cost",
    )
    # t0 was on a1, t1 on a0, t2 on an agent that is gone, t3 not in the previous plan
    terms = DisruptionTerms(
        reference={"t0": ("a1", 0.0), "t1": ("a0", 0.0), "t2": ("gone", 0.0)},
        reassign_weight=2.0,
    )
    plain = QUBOBuilder(p, penalties=PENALTIES, mode="assignment")
    biased = QUBOBuilder(p, penalties=PENALTIES, mode="assignment", disruption=terms)
    # lam: the first objective's weight times the median of what one variable changes it
    costs = [3.0, 5.0, 9.0, 4.0, 2.0, 7.0, 6.0, 1.0, 2.0]
    lam = plain.objective_weights["minimize_cost"] * float(np.median(costs))
    assert biased.disruption_scale == pytest.approx(lam)
    diff = {
        v: biased.bqm.linear[v] - plain.bqm.linear[v] for v in plain.bqm.variables if v[0] == "x"
    }
    expected = {v: 0.0 for v in diff}
    expected[("x", "t0", "a1")] = -2.0 * lam
    expected[("x", "t1", "a0")] = -2.0 * lam
    assert diff == pytest.approx(expected)
    # the offset makes the term zero for the previous plan: lam x weight per moved task
    assert biased.bqm.offset - plain.bqm.offset == pytest.approx(2 * 2.0 * lam)
    stay = {"t0": "a1", "t1": "a0", "t2": "a1", "t3": "a2"}
    move = {**stay, "t0": "a0"}
    e = {
        name: b.bqm.energy(b.encode(plan))
        for name, b, plan in [
            ("plain_stay", plain, stay),
            ("plain_move", plain, move),
            ("biased_stay", biased, stay),
            ("biased_move", biased, move),
        ]
    }
    assert e["biased_stay"] == pytest.approx(e["plain_stay"])
    assert e["biased_move"] - e["plain_move"] == pytest.approx(2.0 * lam)


def test_time_mode_biases_add_start_shift():
    p = Problem(
        agents=[Agent("a0"), Agent("a1")],
        tasks=[
            Task("t0", duration=1.0, latest_finish=4.0),
            Task("t1", duration=2.0, latest_finish=4.0),
        ],
        objective="minimize_makespan",
    )
    terms = DisruptionTerms(
        reference={"t0": ("a1", 2.0), "t1": ("a0", 0.0)}, reassign_weight=1.0, shift_weight=0.5
    )
    plain = QUBOBuilder(p, penalties=PENALTIES, mode="time")
    biased = QUBOBuilder(p, penalties=PENALTIES, mode="time", disruption=terms)
    assert biased.mode == "time" and biased.time_unit == 1.0
    lam = biased.disruption_scale
    assert lam > 0
    checked = 0
    for v in plain.bqm.variables:
        if v[0] != "x":
            continue
        _, t, a, k = v
        a0, s0 = terms.reference[t]
        want = lam * 0.5 * abs(k - s0) - (lam * 1.0 if a == a0 else 0.0)
        assert biased.bqm.linear[v] - plain.bqm.linear[v] == pytest.approx(want)
        checked += 1
    assert checked == plain.n_x > 4


def _moves(previous, sol, tasks) -> int:
    return int(measure(intervals(previous), intervals(sol), tasks)["reassigned"])


def test_biased_qubo_solve_stays_with_the_previous_plan():
    """Without a warm start, the biases alone keep tasks where they were: among equal
    optima the unbiased sampler lands anywhere."""
    p = interchangeable(8, 4, capacity=3)
    ref = _reference(p, {f"t{i}": f"a{i % 4}" for i in range(8)})
    terms = DisruptionTerms.of(intervals(ref), DisruptionWeights())
    with_bias = without = 0
    for seed in (1, 2, 3):
        a = SimulatedAnnealingQUBOSolver().solve(p, time_limit=1.5, seed=seed, disruption=terms)
        b = SimulatedAnnealingQUBOSolver().solve(p, time_limit=1.5, seed=seed)
        assert validate(p, a) == [] and validate(p, b) == []
        with_bias += _moves(ref, a, set(terms.reference))
        without += _moves(ref, b, set(terms.reference))
    assert with_bias < without
    assert with_bias <= 3


def test_replan_on_the_qubo_backend_moves_fewer_tasks_than_a_fresh_solve():
    p = interchangeable(8, 4, capacity=3)
    ref = _reference(p, {f"t{i}": f"a{i % 4}" for i in range(8)})
    changes = [{"type": "add_task", "task": {"id": "n0"}}]
    inp = apply_changes(p, ref, parse_changes(changes))
    planner = QuantumTaskPlanner(backend="simulated_annealing", time_limit=2)
    ours = fresh = 0
    for seed in (1, 2, 3):
        replanned = planner.replan(p, ref, changes, seed=seed, time_limit=2)
        again = planner.solve(inp.problem, seed=seed)
        assert validate(inp.problem, replanned) == [] and validate(inp.problem, again) == []
        ours += int(replanned.disruption["reassigned"])
        fresh += _moves(ref, again, set(inp.previous))
    assert ours < fresh
