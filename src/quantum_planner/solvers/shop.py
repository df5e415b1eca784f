"""List scheduling for timed problems, and the checks the hybrid's scheduling path uses.

*Earliest-finish-time list scheduling* (:func:`eft_schedule`): tasks are taken
in precedence order (ties by earliest release, then by the longest remaining
chain of successors); each goes to the eligible agent, with capacity left, on
which it would finish first, into the earliest idle gap that fits. It is the
start plan of :mod:`quantum_planner.solvers.hybrid.scheduling`, which then
improves it (:mod:`shop_tabu`, CP-SAT).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.scheduling import Schedule
from quantum_planner.solvers.dense_view import Compiled

__all__ = [
    "complete",
    "eft_schedule",
    "fixed_tasks",
    "in_view",
    "respects_deadlines",
    "shop_like",
    "shop_view",
    "tabu_bytes",
    "usable_warm_start",
]

# the tabu search keeps an n x (n + m + 1) int64 matrix (shop_tabu.py): 20 GB at 50,000
# tasks. Past this many bytes it is not started; the list schedule and CP-SAT go on
MAX_TABU_BYTES = 1 << 30


def tabu_bytes(comp: Compiled) -> int:
    """Bytes of the tabu search's n x (n + m + 1) int64 matrix for ``comp``."""
    return 8 * comp.n * (comp.n + comp.m + 1)


def _tail_lengths(comp: Compiled) -> np.ndarray:
    """Longest chain of shortest durations from each task to the end (priority rule)."""
    n = comp.n
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    dmin = np.where(comp.elig, comp.dur, np.inf).min(axis=1, initial=np.inf)
    dmin = np.where(np.isfinite(dmin), dmin, 0.0)
    order = _topo(comp)
    tail = np.zeros(n)
    for i in reversed(order):
        tail[i] = dmin[i] + max((tail[s] for s in succ[i]), default=0.0)
    return tail


def _topo(comp: Compiled) -> list[int]:
    n = comp.n
    indeg = np.array([len(p) for p in comp.preds])
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    ready = [i for i in range(n) if indeg[i] == 0]
    out: list[int] = []
    while ready:
        i = ready.pop()
        out.append(i)
        for s in succ[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    return out


def eft_schedule(comp: Compiled) -> tuple[dict[str, str], Schedule]:
    """Earliest-finish-time list schedule (optional tasks that fit nowhere are left out)."""
    import heapq

    n, m = comp.n, comp.m
    tail = _tail_lengths(comp)
    indeg = [len(p) for p in comp.preds]
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    rel_min = np.where(comp.elig, comp.release, np.inf).min(axis=1, initial=np.inf)
    heap = [(float(rel_min[i]), -float(tail[i]), i) for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    end = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    rem = comp.cap.copy()
    busy: list[list[tuple[float, float]]] = [[] for _ in range(m)]
    assign = np.full(n, -1)
    start = np.zeros(n)
    while heap:
        _, _, i = heapq.heappop(heap)
        est0 = max((end[p] for p in comp.preds[i] if done[p]), default=0.0)
        best = None
        for j in comp.options[i]:
            if comp.load[i, j] > rem[j] + 1e-9:
                continue
            d = comp.dur[i, j]
            s = _gap(busy[j], max(est0, comp.release[i, j]), d)
            key = (s + d > comp.deadline[i, j] + 1e-9, s + d, comp.cost[i, j])
            if best is None or key < best[0]:
                best = (key, int(j), s)
        if best is not None and not (comp.optional[i] and best[0][0]):
            _, j, s = best
            assign[i], start[i] = j, s
            end[i] = s + comp.dur[i, j]
            done[i] = True
            rem[j] -= comp.load[i, j]
            _insert(busy[j], (s, end[i]))
        for s2 in succ[i]:
            indeg[s2] -= 1
            if indeg[s2] == 0:
                heapq.heappush(heap, (float(rel_min[s2]), -float(tail[s2]), s2))
    assignments: dict[str, str] = {}
    schedule: Schedule = {a: {} for a in comp.agent_ids}
    for i in range(n):
        if assign[i] >= 0:
            a = comp.agent_ids[assign[i]]
            assignments[comp.task_ids[i]] = a
            schedule[a][comp.task_ids[i]] = (float(start[i]), float(end[i]))
    return assignments, schedule


def _gap(intervals: list[tuple[float, float]], est: float, dur: float) -> float:
    prev = 0.0
    for s, e in intervals:
        st = max(prev, est)
        if st + dur <= s + 1e-9:
            return st
        prev = max(prev, e)
    return max(prev, est)


def _insert(intervals: list[tuple[float, float]], iv: tuple[float, float]) -> None:
    k = 0
    while k < len(intervals) and intervals[k][0] < iv[0]:
        k += 1
    intervals.insert(k, iv)


def respects_deadlines(comp: Compiled, assignments: dict[str, str], schedule: Schedule) -> bool:
    """Every required task placed, and every placed task ends by its pair's deadline."""
    if not complete(comp, assignments):
        return False
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    for i, t in enumerate(comp.task_ids):
        a = assignments.get(t)
        if a is not None and schedule[a][t][1] > comp.deadline[i, a_index[a]] + 1e-9:
            return False
    return True


def usable_warm_start(
    comp: Compiled, warm: Solution | None
) -> tuple[dict[str, str], Schedule] | None:
    """A warm start's plan when it is complete, on eligible agents and meets every deadline.

    Precedence and agent overlaps are checked too: the tabu search orders each
    agent's tasks by the warm start's times and needs a plan without conflicts.
    """
    if warm is None or not warm.assignments or not complete(comp, warm.assignments):
        return None
    from quantum_planner.validate import validate

    if validate(comp.problem, warm):
        return None
    if not respects_deadlines(comp, warm.assignments, warm.schedule):
        return None
    return dict(warm.assignments), {a: dict(ts) for a, ts in warm.schedule.items()}


def complete(comp: Compiled, assignments: dict[str, str]) -> bool:
    return all(comp.optional[i] or t in assignments for i, t in enumerate(comp.task_ids))


def fixed_tasks(comp: Compiled) -> np.ndarray:
    """(n,) bool: tasks with one eligible agent and no slack in their window there (a
    pinned task: :mod:`quantum_planner.replan.apply` writes pins so). They must start
    exactly at their release."""
    if not comp.n:
        return np.zeros(0, dtype=bool)
    one = np.diff(comp.ptr) == 1
    slack = np.where(comp.elig, comp.deadline - comp.release - comp.dur, np.inf).min(axis=1)
    return one & (slack <= 1e-9)


def shop_like(comp: Compiled) -> bool:
    """Tabu on the disjunctive graph fits problems where only the makespan matters
    (:func:`shop_view`)."""
    return shop_view(comp) is not None


def shop_view(comp: Compiled) -> Compiled | None:
    """The problem as the shop tabu search sees it; None when it does not fit.

    It fits when the makespan is the only objective and there are no capacities or
    optional tasks. Releases (earliest starts) are allowed. Deadlines are allowed on
    fixed tasks (:func:`fixed_tasks`, e.g. pinned by a re-plan), whose prerequisites
    must be fixed too and end by their start, and which must start no later than any
    free task may: the search puts them first on their agents and never moves them or
    inserts before them, so each stays at its release. A free task's pairs that end
    by an agent's end of availability (an agent leaving) are left out of the view;
    every free task must keep one, and none may have a deadline of its own.
    """
    if not (
        comp.objectives == [comp.objectives[0]]
        and comp.objectives[0].value == "minimize_makespan"
        and not comp.optional.any()
        and not np.isfinite(comp.cap).any()
    ):
        return None
    fixed = fixed_tasks(comp)
    if np.isfinite(comp.task_deadline[~fixed]).any():
        return None
    keep = fixed[comp.row] | ~np.isfinite(comp.pdeadline)
    counts = np.bincount(comp.row[keep], minlength=comp.n)
    if (counts[~fixed] == 0).any():
        return None
    if fixed.any():
        start = np.where(comp.elig, comp.release, np.inf).min(axis=1)
        end = start + np.where(comp.elig, comp.dur, np.inf).min(axis=1)
        for i in np.flatnonzero(fixed):
            if any(not fixed[p] or end[p] > start[i] + 1e-9 for p in comp.preds[i]):
                return None
        # fixed first on each agent: a fixed task that starts after a free task may would
        # keep that task from the room before it (the search cannot tell); not so in a
        # re-plan with a freeze, where what is pinned began before anything else may
        free_start = comp.release[comp.elig & ~fixed[:, None]].min(initial=np.inf)
        if start[fixed].max() > free_start + 1e-9:
            return None
    if keep.all():
        return comp
    ptr = np.zeros(comp.n + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return replace(
        comp,
        ptr=ptr,
        col=comp.col[keep],
        pdur=comp.pdur[keep],
        pcost=comp.pcost[keep],
        pload=comp.pload[keep],
        prelease=comp.prelease[keep],
        pdeadline=comp.pdeadline[keep],
    )


def in_view(view: Compiled, assignments: dict[str, str]) -> bool:
    """Whether a plan's every (task, agent) pair is one of ``view``'s."""
    a_index = {a: j for j, a in enumerate(view.agent_ids)}
    return all(
        view.elig[i, a_index[assignments[t]]]
        for i, t in enumerate(view.task_ids)
        if t in assignments
    )
