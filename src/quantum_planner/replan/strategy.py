"""Re-planning: a valid new plan close to the previous one, within one time limit.

Candidate plans are built for the changed problem (pins already hard
constraints, see :mod:`quantum_planner.replan.apply`):

1. **repair**: the previous plan kept wherever it is still valid; tasks that lost
   their agent and new tasks go to the eligible agent with the least work (or the
   cheapest, when cost is the first objective), making room by moving one task
   when every eligible agent is full; in an idle gap or at the end of the agent's
   timeline. Milliseconds even on thousands of tasks: the first valid re-plan.
2. **solve**: the planner's backend chain on the changed problem, warm-started
   from the repair (failover, breakers and validation as in any solve); skipped
   when the chain would start with CP-SAT anyway and step 3 finds a plan.
3. **cpsat-disruption**, where CP-SAT fits (backend ``auto``, ``cpsat`` or
   ``hybrid``, at most ``CPSAT_MAX_PAIRS`` task x agent pairs): CP-SAT hinted
   with the best plan so far, solving the first objective, then the least
   weighted disruption with that objective held within the tolerance, then the
   rest.
4. **relink**: the solve's plan with its reassignments undone, as many as keep
   the plan valid and its first objective within the tolerance, rescheduled in
   the previous plan's order (and in the solve's order).

The rule that picks among the candidates (docs/API.md, "Re-planning") is
lexicographic: valid first; then the first objective no worse than ``tolerance``
(relative, default 1%) beyond the best candidate's; then the least weighted
disruption (``reassign_weight`` x reassigned + ``shift_weight`` x start shift);
then the problem's own objectives in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from quantum_planner._version import __version__
from quantum_planner.errors import PlannerError
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.objectives import objective_key
from quantum_planner.replan.apply import ReplanInput, apply_changes
from quantum_planner.replan.changes import Change, parse_changes
from quantum_planner.replan.disruption import DisruptionWeights, measure
from quantum_planner.replan.disruption import intervals as _intervals
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution
from quantum_planner.solvers.base import ProgressCallback
from quantum_planner.solvers.cpsat import CPSATSolver, DisruptionTerms
from quantum_planner.validate import check

__all__ = ["Solves", "replan"]

SOLVE_SHARE = 0.55  # of the time left for the backend chain's solve, when CP-SAT follows
SOLVE_ALONE_SHARE = 0.85  # ... when it does not (the rest relinks)
CPSAT_SHARE = 0.9  # of the time left for CP-SAT's disruption-aware solve, where it runs
CPSAT_MAX_PAIRS = 20_000  # tasks x agents up to which that CP-SAT solve runs


class Solves(Protocol):
    """What re-planning needs of a planner: its time limit and its ``solve``."""

    time_limit: float

    def solve(self, problem: Problem, **kwargs: Any) -> Solution: ...


def replan(
    planner: Solves,
    problem: Problem,
    previous: Solution,
    changes: Sequence[Change | Mapping[str, Any]],
    *,
    freeze_until: float | None = None,
    disruption: DisruptionWeights | Mapping[str, float] | None = None,
    time_limit: float | None = None,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    previous_id: str | None = None,
) -> Solution:
    """A new plan for ``problem`` after ``changes``, disturbing ``previous`` little.

    Raises:
        ChangeError: a change cannot apply (the message names it); nothing is solved.
        InfeasibleProblemError: no valid plan keeps the pins and the changes.
    """
    t0 = time.monotonic()
    limit = planner.time_limit if time_limit is None else float(time_limit)
    weights = DisruptionWeights.parse(disruption)
    inp = apply_changes(problem, previous, parse_changes(changes), freeze_until=freeze_until)
    new = inp.problem
    candidates: dict[str, Solution] = {}
    repaired = repair(inp)
    first_valid = time.monotonic() - t0 if repaired is not None else None
    if repaired is not None:
        candidates["repair"] = repaired
    deadline = t0 + limit
    exact_first = _cpsat_first(planner, new, limit)
    solved = None
    if not exact_first:  # the backend chain first (the hybrid, a sampler...), then CP-SAT
        share = SOLVE_SHARE if _cpsat_sized(planner, new) else SOLVE_ALONE_SHARE
        solved = _solve(
            planner, new, repaired, deadline, seed, progress, stop, bool(candidates), share
        )
        if solved is not None:
            candidates["solve"] = solved
    if _cpsat_sized(planner, new) and not (stop is not None and stop.is_set()):
        share = CPSAT_SHARE * (deadline - time.monotonic())
        hint = solved or repaired
        exact = _cpsat_disruption(inp, weights, hint, share, seed, stop) if share > 0.1 else None
        if exact is not None:
            candidates["cpsat-disruption"] = exact
    if exact_first and "cpsat-disruption" not in candidates:
        solved = _solve(
            planner, new, repaired, deadline, seed, progress, stop, bool(candidates), 0.9
        )
        if solved is not None:
            candidates["solve"] = solved
    if solved is not None:
        bound = _bound(new, candidates.values(), weights.tolerance)
        candidates.update(relink(inp, solved, bound, deadline))
    name, best = choose(inp, candidates, weights)
    meta = {
        **best.metadata,
        "replan": {
            "candidate": name,
            "pins": {t: p.reason for t, p in inp.pins.items()},
            "added": inp.added_tasks,
            "removed": inp.removed_tasks,
            "tolerance": weights.tolerance,
            "first_valid_s": first_valid,  # when the repaired plan was ready (None: invalid)
        },
    }
    return best.model_copy(
        update={
            "disruption": measure(inp.previous, _intervals(best), set(inp.previous)),
            "previous_id": previous_id,
            "wall_time": time.monotonic() - t0,
            "metadata": meta,
            "seed": 0 if seed is None else seed,
            "version": __version__,
            "backends_tried": solved.backends_tried if solved is not None else [],
        }
    )


def _solve(
    planner: Solves,
    new: Problem,
    start: Solution | None,
    deadline: float,
    seed: int | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    have_plan: bool,
    share: float,
) -> Solution | None:
    budget = max(0.05, share * (deadline - time.monotonic()))
    try:
        return planner.solve(
            new, time_limit=budget, seed=seed, warm_start=start, progress=progress, stop=stop
        )
    except PlannerError:
        if have_plan:  # the repaired plan stands; the solve's failure is not the user's
            return None
        raise


def _finish(
    problem: Problem, assign: Mapping[str, str], order: Sequence[str], how: str
) -> Solution | None:
    """A checked plan from an assignment and a task order, or None if it is invalid."""
    schedule = build_schedule(problem, assign, order, insert=True)
    sol = check(problem, make_solution(problem, assign, schedule, backend=f"replan-{how}"))
    return sol if sol.feasible else None


def _previous_order(inp: ReplanInput) -> list[str]:
    """Pinned tasks by start (their slots are fixed), then kept tasks by previous start,
    then new tasks: each takes the earliest slot left, so kept tasks keep their order."""
    pinned = sorted(inp.pins, key=lambda t: inp.pins[t].start)
    known = sorted((t for t in inp.previous if t not in inp.pins), key=lambda t: inp.previous[t][1])
    seen = set(pinned) | set(known)
    return pinned + known + [t.id for t in inp.problem.tasks if t.id not in seen]


def _cpsat_first(planner: Solves, problem: Problem, limit: float) -> bool:
    """Whether the backend chain would start with CP-SAT anyway (then it runs alone)."""
    chain = getattr(planner, "chain", None)
    if chain is None or not _cpsat_sized(planner, problem):
        return False
    names, _ = chain(problem, limit)
    return bool(names) and names[0] == "cpsat"


def _cpsat_sized(planner: Solves, problem: Problem) -> bool:
    """Whether the disruption-aware CP-SAT solve runs: the backend allows it, size fits."""
    backend = getattr(planner, "backend", "auto")
    pairs = len(problem.tasks) * len(problem.agents)
    return backend in ("auto", "cpsat", "hybrid") and pairs <= CPSAT_MAX_PAIRS


def _cpsat_disruption(
    inp: ReplanInput,
    weights: DisruptionWeights,
    start: Solution | None,
    share: float,
    seed: int | None,
    stop: threading.Event | None,
) -> Solution | None:
    """CP-SAT: first objective within the tolerance, then least disruption, then the rest."""
    terms = DisruptionTerms(
        reference={t: (a, s) for t, (a, s, _) in inp.previous.items()},
        reassign_weight=weights.reassign_weight,
        shift_weight=weights.shift_weight,
        tolerance=weights.tolerance,
    )
    sol = CPSATSolver().solve(
        inp.problem,
        time_limit=max(0.1, share),
        seed=seed,
        warm_start=start,
        disruption=terms,
        stop=stop,
    )
    sol = check(inp.problem, sol.model_copy(update={"backend_used": "cpsat-disruption"}))
    return sol if sol.feasible and sol.assignments else None


# -- 1. repair ----------------------------------------------------------------------


def repair(inp: ReplanInput) -> Solution | None:
    """The previous plan kept where still valid, the rest placed greedily (None if invalid)."""
    p = inp.problem
    assign: dict[str, str] = {t: pin.agent for t, pin in inp.pins.items()}
    room = _Room(p, assign)
    for tid in _previous_order(inp):
        if tid in assign or tid not in inp.previous:
            continue
        aid = inp.previous[tid][0]
        if _can_do(p, tid, aid) and room.fits(tid, aid):
            room.take(tid, aid, assign)
    by_cost = p.objectives[0] is Objective.MINIMIZE_COST
    for tid in p.topological_order():
        if tid in assign:
            continue
        task = p.task(tid)
        options = [a for a in p.eligible_agents(task) if room.fits(tid, a.id)]
        if options:
            pick = min(options, key=task.cost_on if by_cost else room.busy_after(task))
            room.take(tid, pick.id, assign)
        elif not task.optional:  # every agent full: make room by moving one task away
            _eject(p, tid, assign, room, set(inp.pins))
    return _finish(p, assign, _previous_order(inp), "repair")


def _eject(p: Problem, tid: str, assign: dict[str, str], room: _Room, pinned: set[str]) -> bool:
    """Place ``tid`` on an eligible agent after moving one of its tasks to an agent with room.

    A one-step ejection chain: enough for the few tasks a change displaces on problems
    whose capacities are tight (generalized assignment); the solve does the rest.
    """
    on: dict[str, list[str]] = {}
    for t, a in assign.items():
        on.setdefault(a, []).append(t)
    for agent in p.eligible_agents(p.task(tid)):
        for other in on.get(agent.id, []):
            if other in pinned:
                continue
            room.drop(other, agent.id, assign)
            if room.fits(tid, agent.id):
                for b in p.eligible_agents(p.task(other)):
                    if b.id != agent.id and room.fits(other, b.id):
                        room.take(other, b.id, assign)
                        room.take(tid, agent.id, assign)
                        return True
            room.take(other, agent.id, assign)
    return False


def _can_do(p: Problem, tid: str, aid: str) -> bool:
    return p.has_agent(aid) and p.is_eligible(p.task(tid), p.agent(aid))


class _Room:
    """Capacity and busy time left on each agent while tasks are placed."""

    def __init__(self, problem: Problem, assign: Mapping[str, str]) -> None:
        self.p = problem
        self.load = {a.id: 0.0 for a in problem.agents}
        self.busy = {a.id: a.available_from for a in problem.agents}
        for tid, aid in assign.items():
            self._add(tid, aid)

    def _add(self, tid: str, aid: str) -> None:
        task = self.p.task(tid)
        self.load[aid] += task.load_on(aid)
        self.busy[aid] += task.duration_on(aid)

    def fits(self, tid: str, aid: str) -> bool:
        cap = self.p.agent(aid).capacity
        if cap is None or not self.p.constraints.capacity_limit:
            return True
        return self.load[aid] + self.p.task(tid).load_on(aid) <= cap + 1e-9

    def take(self, tid: str, aid: str, assign: dict[str, str]) -> None:
        assign[tid] = aid
        self._add(tid, aid)

    def drop(self, tid: str, aid: str, assign: dict[str, str]) -> None:
        del assign[tid]
        task = self.p.task(tid)
        self.load[aid] -= task.load_on(aid)
        self.busy[aid] -= task.duration_on(aid)

    def busy_after(self, task: Any) -> Callable[[Any], float]:
        return lambda a: self.busy[a.id] + task.duration_on(a.id)


# -- 3. relink ----------------------------------------------------------------------


def _bound(problem: Problem, plans: Any, tolerance: float) -> float:
    """The worst first-objective value (minimised sense) a chosen plan may have."""
    best = min(objective_key(problem, s.objectives)[0] for s in plans)
    return best + tolerance * abs(best) + 1e-9


def relink(
    inp: ReplanInput, solved: Solution, bound: float, deadline: float = float("inf")
) -> dict[str, Solution]:
    """The solve's plan moved back toward the previous one, within ``bound``.

    Undoes the cheapest reassignments first; a binary search finds how many can be
    undone with the plan still valid and within ``bound`` (stops at ``deadline``).
    """
    p = inp.problem
    reverts = _reverts(inp, solved)
    out: dict[str, Solution] = {}

    def within(k: int, order: list[str], how: str) -> Solution | None:
        assign = dict(solved.assignments)
        for tid in reverts[:k]:
            assign[tid] = inp.previous[tid][0]
        sol = _finish(p, assign, order, how)
        if sol is None or objective_key(p, sol.objectives)[0] > bound:
            return None
        return sol

    for how, order in (
        ("relink", _previous_order(inp)),
        ("relink-solved-order", _by_start(inp, solved)),
    ):
        lo, hi = 0, len(reverts)
        best = within(hi, order, how)
        if best is None:  # the largest number of reverts that still qualifies
            while lo <= hi and time.monotonic() < deadline:
                mid = (lo + hi) // 2
                sol = within(mid, order, how)
                if sol is not None:
                    best, lo = sol, mid + 1
                else:
                    hi = mid - 1
        if best is not None:
            out[how] = best
    return out


def _by_start(inp: ReplanInput, sol: Solution) -> list[str]:
    iv = _intervals(sol)
    pinned = sorted(inp.pins, key=lambda t: inp.pins[t].start)
    return pinned + sorted((t for t in iv if t not in inp.pins), key=lambda t: iv[t][1])


def _reverts(inp: ReplanInput, solved: Solution) -> list[str]:
    """Tasks the solve moved off their previous agent that could go back, cheapest first."""
    p = inp.problem
    room = _Room(p, solved.assignments)
    out = []
    for tid, (aid, _, _) in inp.previous.items():
        now = solved.assignments.get(tid)
        if now is None or now == aid or tid in inp.pins:
            continue
        task = p.task(tid)
        if not _can_do(p, tid, aid) or not room.fits(tid, aid):
            continue
        room.load[aid] += task.load_on(aid)
        room.load[now] -= task.load_on(now)
        out.append(tid)
    by_cost = p.objectives[0] is Objective.MINIMIZE_COST
    agents = {a.id: a for a in p.agents}

    def worsening(tid: str) -> float:
        task, old, now = p.task(tid), inp.previous[tid][0], solved.assignments[tid]
        if by_cost:
            return task.cost_on(agents[old]) - task.cost_on(agents[now])
        return task.duration_on(old) - task.duration_on(now)

    return sorted(out, key=worsening)


# -- choosing -----------------------------------------------------------------------


def choose(
    inp: ReplanInput, candidates: Mapping[str, Solution], weights: DisruptionWeights
) -> tuple[str, Solution]:
    """The candidate the documented rule prefers (see the module docstring)."""
    p = inp.problem
    bound = _bound(p, candidates.values(), weights.tolerance)
    common = set(inp.previous)

    def key(item: tuple[str, Solution]) -> tuple[Any, ...]:
        sol = item[1]
        d = weights.cost(measure(inp.previous, _intervals(sol), common))
        return (d, objective_key(p, sol.objectives))

    admissible = [
        (n, s) for n, s in candidates.items() if objective_key(p, s.objectives)[0] <= bound
    ]
    return min(admissible, key=key)
