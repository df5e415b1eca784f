"""The re-planning rule (quantum_planner.disruption) and the paths that apply it outside the
hybrid and the QUBO: pull-back, CP-SAT's bound from a best-known value, the solver plumbing."""

from __future__ import annotations

import pytest

from quantum_planner import QuantumTaskPlanner
from quantum_planner.disruption import (
    DisruptionTerms,
    DisruptionWeights,
    choose,
    intervals,
    rule_key,
    tolerance_bound,
)
from quantum_planner.objectives import objective_key
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution
from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.pullback import pull_back
from quantum_planner.solvers.registry import _EXTRA, register_solver
from quantum_planner.validate import check, validate

from .problems import random_gap


def _plan(problem, assign):
    sol = make_solution(problem, assign, build_schedule(problem, assign), backend="test")
    return check(problem, sol)


def _terms(reference_plan, **kw):
    return DisruptionTerms.of(intervals(reference_plan), DisruptionWeights(**kw))


def test_rule_key_orders_valid_then_bound_then_disruption_then_objectives():
    bound = tolerance_bound(100.0, 0.01)
    assert bound == pytest.approx(101.0)
    within_more_moves = rule_key(100.5, 3.0, (100.5,), bound)
    within_fewer_moves = rule_key(100.9, 1.0, (100.9,), bound)
    over_bound_no_moves = rule_key(101.5, 0.0, (101.5,), bound)
    invalid = rule_key(90.0, 0.0, (90.0,), bound, valid=False)
    ranked = sorted([invalid, over_bound_no_moves, within_more_moves, within_fewer_moves])
    assert ranked == [within_fewer_moves, within_more_moves, over_bound_no_moves, invalid]
    # equal disruption: the objectives decide
    assert rule_key(100.2, 1.0, (100.2,), bound) < rule_key(100.4, 1.0, (100.4,), bound)
    # a negative best (a maximised objective, negated) widens toward zero
    assert tolerance_bound(-200.0, 0.01) == pytest.approx(-198.0)


def test_choose_takes_least_disruption_within_tolerance_of_the_best():
    p = random_gap(12, 3, seed=4, slack=3.0)
    ids = [t.id for t in p.tasks]
    ref = _plan(p, {t: "a0" if i < 4 else "a1" if i < 8 else "a2" for i, t in enumerate(ids)})
    cheapest = _plan(p, {t.id: min(t.costs, key=t.costs.get) for t in p.tasks})
    assert cheapest.feasible and ref.feasible
    c_ref = objective_key(p, ref.objectives)[0]
    c_best = objective_key(p, cheapest.objectives)[0]
    assert c_best < c_ref
    # a tolerance that covers the reference plan's cost picks it (no moves) ...
    wide = _terms(ref, tolerance=(c_ref - c_best) / c_best + 0.01)
    assert choose(p, [("cheap", cheapest), ("ref", ref)], wide)[0] == "ref"
    # ... a tight one keeps the cheapest, however many tasks it moves
    tight = _terms(ref, tolerance=0.0)
    assert choose(p, [("cheap", cheapest), ("ref", ref)], tight)[0] == "cheap"
    # a best known from elsewhere tightens the bound for every plan compared
    known = DisruptionTerms(**{**wide.__dict__, "best_known": c_best - 50})
    assert known.bound(c_best) < wide.bound(c_best)


def test_pull_back_undoes_what_the_bound_allows_one_at_a_time():
    p = random_gap(30, 4, seed=2, slack=2.0)
    cheapest = {t.id: min(t.costs, key=t.costs.get) for t in p.tasks}
    ref_assign = dict(cheapest)
    moved = [t.id for t in p.tasks][:10]
    new_assign = dict(cheapest)
    for tid in moved:  # the new plan moved ten tasks to their dearest agent
        t = p.task(tid)
        new_assign[tid] = max(t.costs, key=t.costs.get)
    ref, new = _plan(p, ref_assign), _plan(p, new_assign)
    assert ref.feasible and new.feasible
    terms = _terms(ref)
    first = objective_key(p, new.objectives)[0]
    order = [t.id for t in p.tasks]
    # a bound at the new plan's own cost: every revert lowers the cost, all ten go back
    pulled = pull_back(p, new, terms, first, order)
    assert pulled is not None and validate(p, pulled) == []
    assert pulled.assignments == ref.assignments
    # a bound no plan reaches: over the bound the rule prefers the lower first objective,
    # and every revert here lowers it
    c_ref = objective_key(p, ref.objectives)[0]
    low = pull_back(p, new, terms, c_ref - 1, order)
    assert low is not None and objective_key(p, low.objectives)[0] < first


def test_pull_back_respects_the_bound_when_reverting_costs():
    p = random_gap(30, 4, seed=3, slack=2.0)
    cheapest = {t.id: min(t.costs, key=t.costs.get) for t in p.tasks}
    ref_assign = dict(cheapest)
    for tid in [t.id for t in p.tasks][:10]:  # the reference had ten tasks on dear agents
        t = p.task(tid)
        ref_assign[tid] = max(t.costs, key=t.costs.get)
    ref, new = _plan(p, ref_assign), _plan(p, cheapest)
    terms = _terms(ref)
    first = objective_key(p, new.objectives)[0]
    bound = first + 60  # room for some, not all, of the dearer reverts
    pulled = pull_back(p, new, terms, bound, [t.id for t in p.tasks])
    assert pulled is not None and validate(p, pulled) == []
    assert objective_key(p, pulled.objectives)[0] <= bound
    back = sum(pulled.assignments[t] == ref_assign[t] for t in ref_assign)
    assert sum(new.assignments[t] == ref_assign[t] for t in ref_assign) < back < len(ref_assign)


def test_cpsat_disruption_bound_follows_a_better_best_known():
    """CP-SAT's first objective stays within the tolerance of the caller's best known."""
    p = random_gap(24, 4, seed=5, slack=1.4)
    opt = CPSATSolver().solve(p, time_limit=5, seed=1)
    best = objective_key(p, opt.objectives)[0]
    ref = _plan(p, {t.id: "a0" if i % 2 else "a1" for i, t in enumerate(p.tasks)})
    terms = DisruptionTerms(
        reference={t: (a, s) for t, (a, s, _) in intervals(ref).items()},
        tolerance=0.05,
        best_known=best,
    )
    sol = CPSATSolver().solve(p, time_limit=5, seed=1, disruption=terms)
    assert validate(p, sol) == []
    assert objective_key(p, sol.objectives)[0] <= tolerance_bound(best, 0.05)
    # and it spent that tolerance on staying closer to the reference than the optimum does
    assert terms.cost(sol) <= terms.cost(opt)


def test_planner_solve_hands_disruption_to_solvers_that_take_it():
    seen = {}

    class Capture:
        name = "capture"

        def solve(self, problem, *, time_limit, seed=None, warm_start=None, progress=None,
                  stop=None, disruption=None):  # fmt: skip
            seen["disruption"] = disruption
            return CPSATSolver().solve(problem, time_limit=time_limit, seed=seed)

    register_solver("capture", Capture)
    try:
        p = random_gap(6, 2, seed=1, slack=2.0)
        terms = DisruptionTerms(reference={"t0": ("a0", 0.0)})
        planner = QuantumTaskPlanner(backend="capture", time_limit=2)
        assert planner.solve(p, disruption=terms).feasible
        assert seen["disruption"] is terms
        planner.solve(p)
        assert seen["disruption"] is None
    finally:
        _EXTRA.pop("capture", None)


def test_choose_counts_the_best_first_objective_solvers_report():
    """A solver that traded its best plan for less disruption reports that plan's value:
    the bound follows it, so a plan admissible against the candidates alone is not."""
    from quantum_planner.disruption import BEST_FIRST

    p = random_gap(12, 3, seed=4, slack=3.0)
    ids = [t.id for t in p.tasks]
    ref = _plan(p, {t: "a0" if i < 4 else "a1" if i < 8 else "a2" for i, t in enumerate(ids)})
    cheapest = _plan(p, {t.id: min(t.costs, key=t.costs.get) for t in p.tasks})
    c_ref = objective_key(p, ref.objectives)[0]
    c_best = objective_key(p, cheapest.objectives)[0]
    wide = _terms(ref, tolerance=(c_ref - c_best) / c_best + 0.01)
    assert choose(p, [("cheap", cheapest), ("ref", ref)], wide)[0] == "ref"
    reported = cheapest.model_copy(update={"metadata": {BEST_FIRST: c_best * 0.5}})
    assert choose(p, [("cheap", reported), ("ref", ref)], wide)[0] == "cheap"
