"""Disruption in the hybrid's own search: its assignment phase B and its scheduling pick."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from quantum_planner.disruption import (
    DisruptionTerms,
    DisruptionWeights,
    intervals,
    measure,
    tolerance_bound,
)
from quantum_planner.model import Problem
from quantum_planner.objectives import objective_key
from quantum_planner.replan import apply_changes, parse_changes
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution
from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.solvers.hybrid.disruption import DisruptionPhase, phase_b_applies
from quantum_planner.solvers.hybrid.scheduling import CpsatBeside
from quantum_planner.solvers.hybrid.shop_disruption import fewest_reassignments
from quantum_planner.solvers.lns import solve_agents_cpsat
from quantum_planner.solvers.lp import extended
from quantum_planner.validate import check, validate

from .problems import random_gap


def _more_capacity(p: Problem, factor: float) -> list[dict]:
    return [
        {"type": "update_agent", "agent": a.id, "capacity": a.capacity * factor} for a in p.agents
    ]


@pytest.fixture(scope="module")
def gap_change():
    """A 120 x 6 GAP planned to optimality, then every capacity 12% larger: the cost
    optimum moves away from the old plan while the old plan stays valid."""
    p = random_gap(120, 6, seed=11)
    base = CPSATSolver().solve(p, time_limit=8, seed=1)
    inp = apply_changes(p, base, parse_changes(_more_capacity(p, 1.12)))
    return p, base, inp


def _moved(inp, sol) -> int:
    return int(measure(inp.previous, intervals(sol), set(inp.previous))["reassigned"])


def test_phase_b_moves_fewer_tasks_within_the_bound(gap_change):
    _, base, inp = gap_change
    new = inp.problem
    terms = DisruptionTerms.of(inp.previous, DisruptionWeights())
    plain = HybridSolver().solve(new, time_limit=3, seed=2)
    hybrid = HybridSolver()
    sol = hybrid.solve(new, time_limit=3, seed=2, warm_start=base, disruption=terms)
    assert validate(new, sol) == []
    stats = hybrid.stats
    bound = stats["disruption_bound"]
    assert objective_key(new, sol.objectives)[0] <= bound + 1e-6
    assert stats["disruption_end"] <= stats["disruption_start"]
    assert stats["disruption_end"] == _moved(inp, sol)
    # the old plan is still valid and close to the new optimum: phase B keeps most of it
    assert _moved(inp, sol) < _moved(inp, plain)
    assert _moved(inp, sol) <= 0.5 * _moved(inp, plain)


def test_phase_b_applies_to_assignment_objectives_only():
    assert phase_b_applies(compile_problem(random_gap(10, 3, seed=1)))
    g = random_gap(10, 3, seed=1)
    for objective in ("minimize_makespan", ["minimize_cost", "balance_load"]):
        p = Problem(agents=g.agents, tasks=g.tasks, objective=objective)
        assert not phase_b_applies(compile_problem(p))


def _phase(problem, reference: dict[str, str]):
    comp = compile_problem(problem)
    W, L, _, cap, _ = extended(comp)
    terms = DisruptionTerms(reference={t: (a, 0.0) for t, a in reference.items()})
    return comp, DisruptionPhase(comp, W, L, cap, terms, seed=0)


def test_ejection_makes_room_for_a_task_to_go_home():
    """t0 belongs on a0, which is full with t1, a guest whose home agent is gone: one
    ejection (t1 elsewhere) then t0's revert; the plain greedy revert cannot do it."""
    p = Problem.model_validate(
        {
            "agents": [{"id": f"a{j}", "capacity": 1} for j in range(3)],
            "tasks": [{"id": f"t{i}", "costs": {"a0": 1, "a1": 1, "a2": 1}} for i in range(2)],
            "objective": "minimize_cost",
        }
    )
    _, phase = _phase(p, {"t0": "a0", "t1": "gone"})
    a = np.array([1, 0])  # t0 on a1, t1 on a0
    phase.bound = tolerance_bound(2.0, 0.01)
    assert (phase.greedy(a) == a).all()
    assert phase.disruption(a) == 2.0
    out = phase.eject(a)
    assert out[0] == 0 and out[1] in (1, 2)
    assert phase.feasible(out)
    assert phase.disruption(out) == 1.0  # t1 counts wherever it goes: its agent is gone


def test_subproblem_caps_the_first_objective():
    p = random_gap(12, 3, seed=3, slack=2.0)
    comp, phase = _phase(p, {t.id: "a0" for t in p.tasks})
    opt = CPSATSolver().solve(p, time_limit=5, seed=1)
    start = np.array([comp.agent_ids.index(opt.assignments[t]) for t in comp.task_ids])
    W, L, cap = phase.W, phase.L, phase.cap
    agents = np.arange(3)
    cheapest = phase.first(start)
    for limit in (cheapest, cheapest + 15, cheapest + 1000):
        for price in (None, 5.0):
            sub = solve_agents_cpsat(
                W, L, cap, start, agents, 5.0, 0, lex=(phase.R, phase.P, limit, price)
            )
            assert sub.assign is not None
            cand = start.copy()
            cand[sub.tasks] = sub.assign
            assert phase.feasible(cand)
            assert phase.first(cand) <= limit + 1e-6
    # with all the room in the world, lexicographic disruption puts everything on a0
    sub = solve_agents_cpsat(W, L, cap, start, agents, 5.0, 0, lex=(phase.R, phase.P, 1e9, None))
    cand = start.copy()
    cand[sub.tasks] = sub.assign
    load = L[np.arange(comp.n), cand][cand == 0].sum()
    assert phase.disruption(cand) == pytest.approx(np.count_nonzero(cand != 0))
    assert load <= cap[0] + 1e-9


def test_scheduling_path_picks_by_the_rule_and_keeps_time():
    """A flexible shop whose durations changed: the hybrid with disruption stays valid,
    within the bound of its best racer, and no further from the old plan than without."""
    rng = np.random.default_rng(4)
    tasks = []
    for j in range(5):
        for o in range(4):
            alts = [f"m{k}" for k in rng.choice(3, size=2, replace=False)]
            tasks.append(
                {
                    "id": f"j{j}o{o}",
                    "durations": {m: float(rng.integers(1, 9)) for m in alts},
                    "allowed_agents": alts,
                    "dependencies": [f"j{j}o{o - 1}"] if o else [],
                }
            )
    p = Problem.model_validate(
        {"agents": [{"id": f"m{k}"} for k in range(3)], "tasks": tasks,
         "objective": "minimize_makespan"}
    )  # fmt: skip
    base = CPSATSolver().solve(p, time_limit=5, seed=1)
    changes = [{"type": "update_task", "task": "j0o1", "duration": 9.0}]
    inp = apply_changes(p, base, parse_changes(changes))
    terms = DisruptionTerms.of(inp.previous, DisruptionWeights())
    t0 = time.perf_counter()
    sol = HybridSolver().solve(inp.problem, time_limit=2, seed=1, warm_start=base,
                               disruption=terms)  # fmt: skip
    assert time.perf_counter() - t0 < 4.0
    assert validate(inp.problem, sol) == []
    plain = HybridSolver().solve(inp.problem, time_limit=2, seed=1)
    best = min(objective_key(inp.problem, s.objectives)[0] for s in (sol, plain))
    assert objective_key(inp.problem, sol.objectives)[0] <= tolerance_bound(best, 0.01) + 1.0
    assert terms.cost(sol) <= terms.cost(plain) + 1e-9


def _two_way_shop(jobs: int, ops: int, seed: int) -> Problem:
    """A flexible shop where every operation has two agents at the same duration."""
    rng = np.random.default_rng(seed)
    tasks = []
    for j in range(jobs):
        for o in range(ops):
            alts = [f"m{k}" for k in rng.choice(3, size=2, replace=False)]
            d = float(rng.integers(1, 9))
            tasks.append(
                {
                    "id": f"j{j}o{o}",
                    "durations": dict.fromkeys(alts, d),
                    "allowed_agents": alts,
                    "dependencies": [f"j{j}o{o - 1}"] if o else [],
                }
            )
    return Problem.model_validate(
        {"agents": [{"id": f"m{k}"} for k in range(3)], "tasks": tasks,
         "objective": "minimize_makespan"}
    )  # fmt: skip


def _every_task_moved(in_ref_order: bool):
    """A two-way shop, its CP-SAT plan ``ref``, and a pick that moved every task to its
    other agent (scheduled in ``ref``'s start order, or the default one)."""
    p = _two_way_shop(5, 4, seed=7)
    ref = CPSATSolver().solve(p, time_limit=5, seed=1)
    other = {t.id: next(a for a in t.allowed_agents if a != ref.assignments[t.id]) for t in p.tasks}
    order = None
    if in_ref_order:
        starts = {t: s for ts in ref.schedule.values() for t, (s, _) in ts.items()}
        order = sorted(starts, key=starts.__getitem__)
    pick = check(p, make_solution(p, other, build_schedule(p, other, order), backend="t"))
    return p, ref, pick, DisruptionTerms.of(intervals(ref), DisruptionWeights())


def test_fewest_reassignments_resequences_to_keep_the_old_agents():
    """The pick moved every task to its other agent; the old assignment, re-sequenced,
    reaches the old makespan, so the phase returns a plan that moves none."""
    p, ref, pick, terms = _every_task_moved(in_ref_order=True)
    comp = compile_problem(p)
    assert pick.feasible
    assert terms.cost(pick) >= len(p.tasks)
    bound = ref.makespan
    t0 = time.perf_counter()
    kept = fewest_reassignments(comp, pick, terms, bound, t0 + 2.0, seed=1)
    assert time.perf_counter() - t0 < 2.5
    assert kept is not None and validate(p, kept) == []
    assert kept.makespan <= bound + 1e-9
    assert kept.assignments == ref.assignments


def test_fewest_reassignments_gives_up_at_its_deadline():
    """A bound no plan reaches: every probe says no, and the phase ends by its deadline."""
    p, _, pick, terms = _every_task_moved(in_ref_order=False)
    t0 = time.perf_counter()
    out = fewest_reassignments(compile_problem(p), pick, terms, 1.0, t0 + 0.5, seed=1)
    assert out is None
    assert time.perf_counter() - t0 < 1.0


def test_fewest_reassignments_ends_when_nothing_needs_freeing():
    """Holding every old task reaches the bound at once: no plan reassigns fewer, so the
    phase stops after that one probe instead of spending its time on other draws."""
    p, ref, pick, terms = _every_task_moved(in_ref_order=False)
    log: list[dict[str, float]] = []
    t0 = time.perf_counter()
    kept = fewest_reassignments(
        compile_problem(p), pick, terms, pick.makespan + ref.makespan, t0 + 3.0, seed=1, log=log
    )
    assert kept is not None and kept.assignments == ref.assignments
    assert [(e["free"], e["ok"]) for e in log] == [(0, True)]
    assert time.perf_counter() - t0 < 1.0


def test_cpsat_beside_the_probes_moves_fewer_within_the_bound():
    """CP-SAT on the probes' idle core, hinted with a pick that moved every task and told
    the best makespan known: a valid plan within the bound that moves fewer tasks."""
    p, ref, pick, terms = _every_task_moved(in_ref_order=True)
    within = replace(terms, best_known=ref.makespan)
    t0 = time.perf_counter()
    beside = CpsatBeside(compile_problem(p), pick, within, t0 + 2.0, seed=1)
    beside.result()  # stops it at once
    assert time.perf_counter() - t0 < 1.5
    beside = CpsatBeside(compile_problem(p), pick, within, time.perf_counter() + 2.0, seed=1)
    time.sleep(1.5)
    out = beside.result()
    assert out is not None and validate(p, out) == []
    assert out.makespan <= within.bound(ref.makespan) + 1e-9
    assert terms.cost(out) < terms.cost(pick)
