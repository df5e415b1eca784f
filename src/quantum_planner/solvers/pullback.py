"""Pull a plan back toward a reference plan: undo reassignments one at a time.

Used by re-planning (:mod:`quantum_planner.replan.strategy`) on every candidate and
by the hybrid's scheduling path: for each task the plan moved off its reference
agent (cheapest to undo first), put it back, re-time the plan with the list
scheduler in a given task order, and keep the change when the plan stays valid and
the rule of :mod:`quantum_planner.disruption` prefers it (first objective within
the bound, less weighted disruption). One at a time, not a prefix of a sorted list:
one revert that breaks the plan does not block the ones after it.

Plans whose first objective is cost or priority and whose validity does not depend
on starts (no windows, horizon or end of availability) are checked incrementally
(capacity and the first objective per revert) and validated once at the end; other
plans are re-timed and validated per revert, until ``deadline``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from quantum_planner.disruption import DisruptionTerms, rule_key
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.objectives import objective_key
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution
from quantum_planner.validate import check

__all__ = ["pull_back", "reverts"]


def pull_back(
    problem: Problem,
    solution: Solution,
    terms: DisruptionTerms,
    bound: float,
    order: Sequence[str],
    *,
    deadline: float = float("inf"),
    backend: str = "pullback",
) -> Solution | None:
    """``solution`` with as many reassignments undone as the rule gains from (None: none).

    ``bound`` is the rule's bound on the first objective (minimised sense); ``order``
    ranks tasks for the list scheduler that re-times the plan (``insert`` mode).
    """
    todo = reverts(problem, solution, terms)
    if not todo:
        return None
    if _incremental(problem):
        fast = _untimed(problem, solution, terms, bound, todo, order, backend)
        if fast is not None or time.monotonic() >= deadline:
            return fast
    best = _finish(problem, dict(solution.assignments), order, backend)
    if best is None:
        return None
    best_key = _key(problem, best, terms, bound)
    improved = False
    for tid in todo:
        if time.monotonic() >= deadline:
            break
        assign = dict(best.assignments)
        assign[tid] = terms.reference[tid][0]
        sol = _finish(problem, assign, order, backend)
        if sol is None:
            continue
        key = _key(problem, sol, terms, bound)
        if key < best_key:
            best, best_key, improved = sol, key, True
    return best if improved else None


def reverts(problem: Problem, solution: Solution, terms: DisruptionTerms) -> list[str]:
    """Tasks ``solution`` moved off a reference agent that can still do them, cheapest first."""
    agents = {a.id: a for a in problem.agents}
    by_cost = problem.objectives[0] is Objective.MINIMIZE_COST
    out: list[tuple[float, str]] = []
    for tid, now in solution.assignments.items():
        ref = terms.reference.get(tid)
        if ref is None or ref[0] == now or ref[0] not in agents:
            continue
        task = problem.task(tid)
        if not problem.is_eligible(task, agents[ref[0]]):
            continue
        if by_cost:
            worse = task.cost_on(agents[ref[0]]) - task.cost_on(agents[now])
        else:
            worse = task.duration_on(ref[0]) - task.duration_on(now)
        out.append((worse, tid))
    return [t for _, t in sorted(out)]


def _incremental(problem: Problem) -> bool:
    """Whether a revert can be judged by capacity and a cost difference alone: the first
    objective is cost or priority and no start can make a plan invalid."""
    c = problem.constraints
    windows = c.time_windows and any(
        t.earliest_start or t.latest_finish is not None for t in problem.tasks
    )
    until = c.availability and any(a.available_until is not None for a in problem.agents)
    first = problem.objectives[0]
    return (
        first in (Objective.MINIMIZE_COST, Objective.MAXIMIZE_PRIORITY)
        and not windows
        and not until
        and problem.time_horizon is None
    )


def _untimed(
    problem: Problem,
    solution: Solution,
    terms: DisruptionTerms,
    bound: float,
    todo: list[str],
    order: Sequence[str],
    backend: str,
) -> Solution | None:
    """Reverts checked by capacity and first objective alone; one validation at the end."""
    assign = dict(solution.assignments)
    first = objective_key(problem, solution.objectives)[0]
    load = _loads(problem, assign)
    agents = {a.id: a for a in problem.agents}
    cap_on = problem.constraints.capacity_limit
    sense = problem.objectives[0]
    changed = False
    for tid in todo:
        task, old, new = problem.task(tid), assign[tid], terms.reference[tid][0]
        cap = agents[new].capacity
        if cap_on and cap is not None and load[new] + task.load_on(new) > cap + 1e-9:
            continue
        delta = 0.0
        if sense is Objective.MINIMIZE_COST:
            delta = task.cost_on(agents[new]) - task.cost_on(agents[old])
        if first + delta > bound:
            continue
        assign[tid] = new
        load[new] += task.load_on(new)
        load[old] -= task.load_on(old)
        first += delta
        changed = True
    if not changed:
        return None
    sol = _finish(problem, assign, order, backend)
    if sol is None or objective_key(problem, sol.objectives)[0] > bound:
        return None
    return sol


def _loads(problem: Problem, assign: Mapping[str, str]) -> dict[str, float]:
    load = {a.id: 0.0 for a in problem.agents}
    for tid, aid in assign.items():
        load[aid] += problem.task(tid).load_on(aid)
    return load


def _key(problem: Problem, sol: Solution, terms: DisruptionTerms, bound: float) -> tuple:
    okey = objective_key(problem, sol.objectives)
    return rule_key(okey[0], terms.cost(sol), okey, bound)


def _finish(
    problem: Problem, assign: Mapping[str, str], order: Sequence[str], backend: str
) -> Solution | None:
    """A validated plan from an assignment and a task order, or None if it is invalid."""
    schedule = build_schedule(problem, assign, order, insert=True)
    sol = check(problem, make_solution(problem, assign, schedule, backend=backend))
    return sol if sol.feasible else None
