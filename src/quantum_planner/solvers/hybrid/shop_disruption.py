"""Re-planning on the shop path: the fewest reassignments that keep the makespan within the bound.

The racers of :mod:`.scheduling` minimise the makespan alone, so their plans move
many tasks the old plan could have kept. This phase asks the tabu search
(:mod:`~quantum_planner.solvers.shop_tabu`) a narrower question: with the tasks
of the old plan held on their old agents, all but a *free* set (the search still
re-sequences every machine, and new or displaced tasks go anywhere), is there a
plan whose makespan is within the rule's bound?

Each attempt starts with nothing free. A probe that says no names what to free
next: a third of the held tasks on a critical path of its plan (their agents are
what holds the makespan up), those whose old agent is slowest for them first, or,
when none is held there, the next quarter of the pick's own reassignments. Once a
probe says yes, half (then a quarter...) of the freed tasks its plan moved, those
whose move saves least first, are held again while the answer stays yes. Until an
attempt grown from nothing free has said yes, every other attempt starts from the
pick instead (its moves free, within the bound by itself) and only holds again:
where many moves are needed, growing from nothing free takes more probes than
there is time for. A probe ends as soon as its makespan is within the bound, so a
yes costs little; a no gets ``1 / PROBES`` of the phase's time. Later attempts
(other draws of what to free) keep the plan of least weighted disruption; a yes
with nothing free ends the phase, since no plan reassigns fewer.
Re-sequencing is what the pull-back of :mod:`~quantum_planner.solvers.pullback`
(one revert at a time, re-timed in a fixed order) cannot do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from quantum_planner.disruption import DisruptionTerms
from quantum_planner.model import Solution
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import make_solution
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.shop import MAX_TABU_BYTES, shop_view, tabu_bytes
from quantum_planner.solvers.shop_tabu import shop_tabu
from quantum_planner.validate import check

__all__ = ["applies", "fewest_reassignments"]

MIN_PROBE_S = 0.05  # a probe shorter than this says nothing
PROBES = 8  # a probe that says no takes this share of the phase's time


def applies(comp: Compiled) -> bool:
    """Whether the hybrid's re-planning runs this phase on ``comp``: a shop-like problem
    whose tabu matrix fits."""
    return shop_view(comp) is not None and tabu_bytes(comp) <= MAX_TABU_BYTES


def fewest_reassignments(
    comp: Compiled,
    pick: Solution,
    terms: DisruptionTerms,
    bound: float,
    deadline: float,
    seed: int,
    stop: threading.Event | None = None,
    backend: str = "hybrid",
    log: list[dict[str, float]] | None = None,
) -> Solution | None:
    """A valid plan with makespan at most ``bound`` and less weighted disruption than
    ``pick``, the least the probes found by ``deadline`` (``time.perf_counter``); None:
    none found.

    ``comp`` is the tabu search's view of the problem
    (:func:`~quantum_planner.solvers.shop.shop_view`). ``log`` receives one entry per
    probe: how many tasks it freed, whether it reached the bound, its makespan and seconds.
    """
    n = comp.n
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    t_index = {t: i for i, t in enumerate(comp.task_ids)}
    ref = np.full(n, -1, np.int64)
    for tid, (aid, _) in terms.reference.items():
        i, j = t_index.get(tid), a_index.get(aid, -1)
        if i is not None and j >= 0 and comp.elig[i, j]:
            ref[i] = j  # the old agent can still do it: holding it there is allowed
    cur = np.array([a_index[pick.assignments[t]] for t in comp.task_ids], np.int64)
    start = dict(pick.assignments)
    for i in np.flatnonzero(~comp.elig[np.arange(n), cur]):
        # a pair the view leaves out (a leaving agent's): home, or the fastest it has
        j = ref[i] if ref[i] >= 0 else int(np.argmin(np.where(comp.elig[i], comp.dur[i], np.inf)))
        start[comp.task_ids[i]], cur[i] = comp.agent_ids[j], j
    moved = [i for i in range(n) if 0 <= ref[i] != cur[i]]
    if not moved:
        return None
    # how much slower each task is on its old agent than on its fastest
    fastest = np.where(comp.elig, comp.dur, np.inf).min(axis=1)
    slow = np.where(ref >= 0, comp.dur[np.arange(n), np.maximum(ref, 0)] - fastest, 0.0)
    # the moves that save the most processing time are freed first when the critical
    # path names none
    moved.sort(key=lambda i: comp.dur[i, cur[i]] - comp.dur[i, ref[i]])
    starts = {t: s for ts in pick.schedule.values() for t, (s, _) in ts.items()}
    order = sorted(starts, key=starts.__getitem__)
    span = max(MIN_PROBE_S, (deadline - time.perf_counter()) / PROBES)
    best: Solution | None = None
    best_cost = terms.cost(pick)
    probes = 0  # seeds the probes' searches

    def probe(free: set[int], until: float) -> tuple[bool, Solution]:
        mask = np.ones((n, comp.m), dtype=bool)
        assign = dict(start)
        for i in np.flatnonzero(ref >= 0):
            if i not in free:
                mask[i] = False
                mask[i, ref[i]] = True
                assign[comp.task_ids[i]] = comp.agent_ids[ref[i]]
        sched = build_schedule(comp.problem, assign, order, insert=True)
        t = time.perf_counter()
        a, s, _ = shop_tabu(
            comp, assign, sched, until, seed + probes, stop, mask=mask, target=bound
        )
        sol = check(comp.problem, make_solution(comp.problem, a, s, backend=backend))
        ok = sol.feasible and sol.makespan <= bound
        if log is not None:
            secs = round(time.perf_counter() - t, 3)
            log.append({"free": len(free), "ok": ok, "makespan": sol.makespan, "seconds": secs})
        return ok, sol

    def keep(sol: Solution) -> None:
        nonlocal best, best_cost
        cost = terms.cost(sol)
        if cost < best_cost:
            best, best_cost = sol, cost

    def run(free: set[int]) -> tuple[bool, Solution]:
        nonlocal probes
        probes += 1
        ok, sol = probe(free, min(deadline, time.perf_counter() + span))
        if ok:
            keep(sol)
        return ok, sol

    # attempts: one from everything held, freeing what holds the makespan up until a
    # probe is within the bound, then holding again the freed tasks that plan moved,
    # least useful first, while the bound holds; until one such attempt succeeds, every
    # other one starts from the pick and holds its moves again the same way
    rng = np.random.default_rng(seed)
    all_held: Solution | None = None  # the plan with nothing free, when it said no
    grown = False  # whether growing from nothing free has reached the bound yet
    attempt = 0
    while not _over(deadline, stop):
        attempt += 1
        if attempt % 2 == 0 and not grown:
            # growing found nothing: every other attempt goes down from the pick (its
            # moves free, within the bound by itself); where many moves are needed,
            # growing from nothing free takes more probes than the time has
            _hold_again(pick, set(moved), run, comp, ref, deadline, stop)
            continue
        free: set[int] = set()
        found: Solution | None = None
        while found is None and not _over(deadline, stop):
            if free or all_held is None:
                ok, sol = run(free)
                if ok:
                    found = sol
                    break
                if not free:
                    all_held = sol
            else:
                sol = all_held  # holding everything said no once: it says no again
            more = _to_free(comp, sol, ref, slow, free, moved, rng)
            if not more or len(free) + len(more) >= best_cost / max(terms.reassign_weight, 1e-9):
                break  # the pick (or the best so far) cannot be beaten this way
            free |= more
        if found is not None:
            if not free:
                # every task that can stay is held: no plan reassigns fewer, and the
                # start shifts are the strategy's CP-SAT step's to polish
                return best
            grown = True
            _hold_again(found, free, run, comp, ref, deadline, stop)
    return best


def _hold_again(
    sol: Solution,
    free: set[int],
    run: Callable[[set[int]], tuple[bool, Solution]],
    comp: Compiled,
    ref: np.ndarray,
    deadline: float,
    stop: threading.Event | None,
) -> None:
    """Hold again half (then a quarter...) of the freed tasks ``sol`` moved, those whose
    move saves least first, while a probe stays within the bound."""
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}

    def moved_now(plan: Solution) -> list[int]:
        now = [i for i in free if a_index[plan.assignments[comp.task_ids[i]]] != ref[i]]
        # least saving first: the likeliest to be held without losing the bound
        return sorted(
            now,
            key=lambda i: (
                comp.dur[i, ref[i]] - comp.dur[i, a_index[plan.assignments[comp.task_ids[i]]]]
            ),
        )

    cand = moved_now(sol)
    step = len(cand) // 2
    while step >= 1 and not _over(deadline, stop):
        held = set(cand[:step])
        ok, plan = run(free - held)
        if ok:
            free -= held
            cand = moved_now(plan)
            step = len(cand) // 2
        else:
            step //= 2


def _to_free(
    comp: Compiled,
    sol: Solution,
    ref: np.ndarray,
    slow: np.ndarray,
    free: set[int],
    moved: list[int],
    rng: np.random.Generator,
) -> set[int]:
    """A third of the held tasks on a critical path of ``sol``, those whose old agent is
    slowest against their fastest first (ties drawn at random); with none held there, the
    next quarter of ``moved`` (the pick's reassignments)."""
    crit = [i for i in _critical(comp, sol) if ref[i] >= 0 and i not in free]
    if crit:
        rank = np.lexsort((rng.random(len(crit)), -slow[crit]))
        return {crit[r] for r in rank[: max(1, -(-len(crit) // 3))]}
    rest = [i for i in moved if i not in free]
    return set(rest[: max(1, len(rest) // 4)])


def _critical(comp: Compiled, sol: Solution) -> list[int]:
    """Tasks of a longest path of ``sol``'s schedule (start + tail = makespan)."""
    t_index = {t: i for i, t in enumerate(comp.task_ids)}
    n = comp.n
    start, end = np.zeros(n), np.zeros(n)
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    for ts in sol.schedule.values():
        seq = sorted(ts, key=lambda t, ts=ts: ts[t])
        for a, b in pairwise(seq):
            succ[t_index[a]].append(t_index[b])
        for t, (s0, e0) in ts.items():
            start[t_index[t]], end[t_index[t]] = s0, e0
    tail = end - start  # from the task's start to the makespan along successors
    for i in np.argsort(-start, kind="stable"):  # successors start later
        for j in succ[i]:
            tail[i] = max(tail[i], end[i] - start[i] + tail[j])
    span = float((start + tail).max(initial=0.0))
    return [i for i in range(n) if start[i] + tail[i] >= span - 1e-9]


def _over(deadline: float, stop: threading.Event | None) -> bool:
    return time.perf_counter() >= deadline or (stop is not None and stop.is_set())
