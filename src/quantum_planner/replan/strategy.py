"""Re-planning: a valid new plan close to the previous one, within one time limit.

Candidate plans are built for the changed problem (pins already hard
constraints, see :mod:`quantum_planner.replan.apply`):

1. **repair**: the previous plan kept wherever it is still valid; tasks that lost
   their agent and new tasks go to the eligible agent with the least work (or the
   cheapest, when cost is the first objective), making room by moving one task
   when every eligible agent is full; in an idle gap or at the end of the agent's
   timeline. Milliseconds even on thousands of tasks: the first valid re-plan.
2. **solve**: the planner's backend chain on the changed problem, warm-started
   from the repair and given the disruption terms, so the solvers that take them
   follow the rule themselves (CP-SAT's disruption stage, the hybrid's disruption
   phase, the QUBO's biases); failover, breakers and validation as in any solve.
   Skipped when the chain would start with CP-SAT anyway and step 3 finds a plan.
3. **cpsat-disruption**, where CP-SAT fits (backend ``auto``, ``cpsat`` or
   ``hybrid``, at most ``CPSAT_MAX_PAIRS`` task x agent pairs) and the hybrid's own
   disruption phase does not replace it (it does on assignment problems with cost or
   priority first, :mod:`quantum_planner.solvers.hybrid.disruption`; on shop-like
   ones, :mod:`quantum_planner.solvers.hybrid.shop_disruption`, the solve gets
   ``SOLVE_SHOP_SHARE`` and this step polishes its plan's start shifts): CP-SAT hinted
   with the rule's pick so far and told the best first objective known, solving
   the first objective, then the least weighted disruption within the bound, then
   the rest.
4. **relink**: the rule's pick so far with reassignments undone one at a time
   while the rule gains (:func:`quantum_planner.solvers.pullback.pull_back`),
   re-timed in the previous plan's order (``relink``) and in the pick's own order
   (``relink-solved-order``).

The rule that picks among the candidates is defined once, in
:mod:`quantum_planner.disruption` (docs/API.md, "Re-planning"): valid first; then
the first objective no worse than ``tolerance`` (relative, default 1%) beyond the
best candidate's; then the least weighted disruption (``reassign_weight`` x
reassigned + ``shift_weight`` x start shift); then the problem's own objectives in
order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from quantum_planner._version import __version__
from quantum_planner.disruption import BEST_FIRST, DisruptionTerms, DisruptionWeights, measure
from quantum_planner.disruption import choose as rule_choose
from quantum_planner.disruption import intervals as _intervals
from quantum_planner.errors import PlannerError
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.objectives import objective_key
from quantum_planner.replan.apply import ReplanInput, apply_changes
from quantum_planner.replan.changes import Change, parse_changes
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution
from quantum_planner.solvers.base import ProgressCallback
from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.hybrid import shop_disruption
from quantum_planner.solvers.hybrid.disruption import phase_b_applies
from quantum_planner.solvers.pullback import pull_back
from quantum_planner.validate import check

__all__ = ["Solves", "choose", "replan"]

SOLVE_SHARE = 0.7  # of the time left for the backend chain's solve, when CP-SAT follows
SOLVE_SHOP_SHARE = 0.85  # ... when the hybrid runs its shop disruption phase first
SOLVE_ALONE_SHARE = 0.95  # ... when it does not (the rest relinks)
CPSAT_SHARE = 0.85  # of the time left for CP-SAT's disruption-aware solve, where it runs
CPSAT_MAX_PAIRS = 20_000  # tasks x agents up to which that CP-SAT solve runs
RELINK_SHARE = 0.2  # of the time left, for relinking the solve's plan before CP-SAT


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
    terms = DisruptionTerms.of(inp.previous, weights)
    candidates: dict[str, Solution] = {}
    repaired = repair(inp)
    first_valid = time.monotonic() - t0 if repaired is not None else None
    if repaired is not None:
        candidates["repair"] = repaired
    run = _Run(planner, inp, terms, t0 + limit, seed, progress, stop)
    first = _first_backend(planner, new, limit)
    exact_first = first == "cpsat" and _cpsat_sized(planner, new)
    # the hybrid's own disruption phase on assignment problems replaces step 3; on
    # shop-like ones step 3 polishes its plan (start shifts, which its phase leaves)
    comp = compile_problem(new) if first == "hybrid" else None
    exact_after = _cpsat_sized(planner, new) and not (comp is not None and phase_b_applies(comp))
    shop_phase = comp is not None and shop_disruption.applies(comp)
    solved = None
    if not exact_first:  # the backend chain first (the hybrid, a sampler...), then CP-SAT
        share = SOLVE_SHARE if exact_after else SOLVE_ALONE_SHARE
        if exact_after and shop_phase:
            share = SOLVE_SHOP_SHARE
        solved = run.solve(repaired, bool(candidates), share)
        if solved is not None:
            candidates["solve"] = solved
    if exact_after and not run.stopped():
        if solved is not None:  # a hint with less disruption for CP-SAT
            until = time.monotonic() + RELINK_SHARE * (run.deadline - time.monotonic())
            candidates.update(relink(inp, candidates, terms, until, "solve"))
        exact = run.cpsat(candidates)
        if exact is not None:
            candidates["cpsat-disruption"] = exact
    if exact_first and "cpsat-disruption" not in candidates:
        solved = run.solve(repaired, bool(candidates), 0.9)
        if solved is not None:
            candidates["solve"] = solved
    candidates.update(relink(inp, candidates, terms, run.deadline))
    name, best = choose(inp, candidates, weights)
    meta = _replan_meta(inp, candidates, name, terms, first_valid)
    return best.model_copy(
        update={
            "disruption": measure(inp.previous, _intervals(best), set(inp.previous)),
            "previous_id": previous_id,
            "wall_time": time.monotonic() - t0,
            "metadata": {**best.metadata, "replan": meta},
            "seed": 0 if seed is None else seed,
            "version": __version__,
            "backends_tried": solved.backends_tried if solved is not None else [],
        }
    )


def _replan_meta(
    inp: ReplanInput,
    candidates: Mapping[str, Solution],
    name: str,
    terms: DisruptionTerms,
    first_valid: float | None,
) -> dict[str, Any]:
    """What ``metadata["replan"]`` says about a re-plan."""
    best_first = best_found(inp.problem, candidates.values())
    return {
        "candidate": name,
        "pins": {t: p.reason for t, p in inp.pins.items()},
        "added": inp.added_tasks,
        "removed": inp.removed_tasks,
        "tolerance": terms.tolerance,
        # the rule's bound on the first objective (minimised sense), and the best first
        # objective of the candidates it is measured from
        "best_first": best_first,
        "bound": terms.bound(best_first),
        "first_valid_s": first_valid,  # when the repaired plan was ready (None: invalid)
    }


class _Run:
    """One re-plan's solves: the backend chain's and CP-SAT's, within one deadline."""

    def __init__(
        self,
        planner: Solves,
        inp: ReplanInput,
        terms: DisruptionTerms,
        deadline: float,
        seed: int | None,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
    ) -> None:
        self.planner, self.inp, self.terms, self.deadline = planner, inp, terms, deadline
        self.seed, self.progress, self.stop = seed, progress, stop

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def solve(self, start: Solution | None, have_plan: bool, share: float) -> Solution | None:
        """The backend chain's plan, warm-started from ``start``, with the disruption terms."""
        budget = max(0.05, share * (self.deadline - time.monotonic()))
        try:
            return self.planner.solve(
                self.inp.problem,
                time_limit=budget,
                seed=self.seed,
                warm_start=start,
                progress=self.progress,
                stop=self.stop,
                disruption=self.terms,
                reserve=not have_plan,  # the repaired plan is the fallback
            )
        except PlannerError:
            if have_plan:  # the repaired plan stands; the solve's failure is not the user's
                return None
            raise

    def cpsat(self, candidates: Mapping[str, Solution]) -> Solution | None:
        """CP-SAT: first objective, least disruption within the rule's bound, the rest.

        Hinted with the rule's pick so far and told the best first objective known.
        """
        share = CPSAT_SHARE * (self.deadline - time.monotonic())
        if share <= 0.1:
            return None
        p = self.inp.problem
        hint = None
        best_known = None
        if candidates:
            hint = rule_choose(p, candidates.items(), self.terms)[1]
        solved = [s for n, s in candidates.items() if n != "repair"]
        if solved:  # a solve's value, not the repair's, is worth shortening CP-SAT's own for
            best_known = best_found(p, solved)
        terms = replace(self.terms, best_known=best_known)
        # both cores, as the hybrid's racer and a CP-SAT user with a hint would run it
        sol = CPSATSolver(num_workers=2, deterministic=False).solve(
            p,
            time_limit=max(0.1, share),
            seed=self.seed,
            warm_start=hint,
            disruption=terms,
            stop=self.stop,
        )
        sol = check(p, sol.model_copy(update={"backend_used": "cpsat-disruption"}))
        return sol if sol.feasible and sol.assignments else None


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


def best_found(problem: Problem, plans: Iterable[Solution]) -> float:
    """The best first objective (minimised sense) of ``plans`` and of what their solvers
    report having found (``metadata[BEST_FIRST]``): the rule's "best found"."""
    values = []
    for s in plans:
        values.append(objective_key(problem, s.objectives)[0])
        if s.metadata.get(BEST_FIRST) is not None:
            values.append(float(s.metadata[BEST_FIRST]))
    return min(values)


def _first_backend(planner: Solves, problem: Problem, limit: float) -> str | None:
    """The backend the planner's chain starts with on ``problem`` (None: unknown)."""
    chain = getattr(planner, "chain", None)
    if chain is None:
        return None
    names, _ = chain(problem, limit)
    return names[0] if names else None


def _cpsat_sized(planner: Solves, problem: Problem) -> bool:
    """Whether the disruption-aware CP-SAT solve runs: the backend allows it, size fits."""
    backend = getattr(planner, "backend", "auto")
    pairs = len(problem.tasks) * len(problem.agents)
    return backend in ("auto", "cpsat", "hybrid") and pairs <= CPSAT_MAX_PAIRS


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


# -- 4. relink ----------------------------------------------------------------------


def relink(
    inp: ReplanInput,
    candidates: Mapping[str, Solution],
    terms: DisruptionTerms,
    deadline: float = float("inf"),
    only: str | None = None,
) -> dict[str, Solution]:
    """The rule's pick among ``candidates`` (or candidate ``only``) pulled back toward the
    previous plan, re-timed in the previous plan's order and in its own (stops at
    ``deadline``, monotonic time)."""
    p = inp.problem
    pool = {only: candidates[only]} if only else dict(candidates)
    pool.pop("repair", None)  # the repair already keeps every task it can
    if not pool:
        return {}
    bound = terms.bound(best_found(p, candidates.values()))
    _, pick = rule_choose(p, pool.items(), terms)
    out: dict[str, Solution] = {}
    for how, order in (
        ("relink", _previous_order(inp)),
        ("relink-solved-order", _by_start(inp, pick)),
    ):
        if time.monotonic() >= deadline:
            break
        sol = pull_back(p, pick, terms, bound, order, deadline=deadline, backend=f"replan-{how}")
        if sol is not None:
            out[how] = sol
    return out


def _by_start(inp: ReplanInput, sol: Solution) -> list[str]:
    iv = _intervals(sol)
    pinned = sorted(inp.pins, key=lambda t: inp.pins[t].start)
    return pinned + sorted((t for t in iv if t not in inp.pins), key=lambda t: iv[t][1])


# -- choosing -----------------------------------------------------------------------


def choose(
    inp: ReplanInput, candidates: Mapping[str, Solution], weights: DisruptionWeights
) -> tuple[str, Solution]:
    """The candidate the rule of :mod:`quantum_planner.disruption` prefers."""
    return rule_choose(inp.problem, candidates.items(), DisruptionTerms.of(inp.previous, weights))
