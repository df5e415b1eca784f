"""Turn an assignment (task -> agent) into a timed schedule.

A *list scheduler*: tasks are taken in an order that respects precedence and
each starts as early as its agent, its prerequisites and its window allow
(semi-active schedule). With ``insert=True`` a task may also go into an idle
gap earlier on its agent's timeline, which shortens schedules with
precedence (used by job-shop style problems).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from quantum_planner.model import Problem

Schedule = dict[str, dict[str, tuple[float, float]]]


def precedence_order(
    problem: Problem, tasks: Sequence[str], rank: Mapping[str, float] | None = None
) -> list[str]:
    """``tasks`` sorted topologically; among ready tasks the lowest ``rank`` goes first."""
    wanted = set(tasks)
    rank = rank or {t: i for i, t in enumerate(tasks)}
    indeg = dict.fromkeys(tasks, 0)
    succ: dict[str, list[str]] = {t: [] for t in tasks}
    for t in tasks:
        for d in problem.prerequisites(t):
            if d in wanted:
                indeg[t] += 1
                succ[d].append(t)
    heap = [(rank.get(t, 0.0), i, t) for i, t in enumerate(tasks) if indeg[t] == 0]
    heapq.heapify(heap)
    pos = {t: i for i, t in enumerate(tasks)}
    out: list[str] = []
    while heap:
        _, _, t = heapq.heappop(heap)
        out.append(t)
        for s in succ[t]:
            indeg[s] -= 1
            if indeg[s] == 0:
                heapq.heappush(heap, (rank.get(s, 0.0), pos[s], s))
    return out


def build_schedule(
    problem: Problem,
    assignments: Mapping[str, str],
    order: Sequence[str] | None = None,
    *,
    insert: bool = False,
) -> Schedule:
    """Schedule the assigned tasks; ``order`` ranks tasks (default: problem order).

    Prerequisites that are not assigned are ignored here; the validator reports
    them. Deadlines are not enforced here either: a late task simply ends late.
    """
    tasks = [t for t in (order or [t.id for t in problem.tasks]) if t in assignments]
    if order is not None:
        ordered = set(tasks)  # once: rebuilding it per task made this quadratic
        tasks += [t.id for t in problem.tasks if t.id in assignments and t.id not in ordered]
    task_of, agent_of = problem.task, problem.agent
    cons = problem.constraints
    # without any precedence the order stays as given (the topological sort and the
    # per-task prerequisite lists cost seconds at 50,000 tasks)
    linked = cons.precedence_enabled and (
        bool(cons.extra_precedence) or any(task_of(t).dependencies for t in tasks)
    )
    seq = precedence_order(problem, tasks, {t: i for i, t in enumerate(tasks)}) if linked else tasks
    schedule: Schedule = {a.id: {} for a in problem.agents}
    ready = {a.id: 0.0 for a in problem.agents}
    busy: dict[str, list[tuple[float, float]]] = {a.id: [] for a in problem.agents}
    end_of: dict[str, float] = {}
    for tid in seq:
        aid = assignments[tid]
        task = task_of(tid)
        dur = task.durations.get(aid, task.duration)
        est, _ = problem.window_on(task, agent_of(aid))
        if linked:
            for d in problem.prerequisites(tid):
                e = end_of.get(d)
                if e is not None and e > est:
                    est = e
        start = max(est, ready[aid])
        if insert:
            start = _earliest_gap(busy[aid], est, dur, default=start)
        end = start + dur
        schedule[aid][tid] = (start, end)
        end_of[tid] = end
        if end > ready[aid]:
            ready[aid] = end
        if insert:
            _insert_interval(busy[aid], (start, end))
    return schedule


def _earliest_gap(
    intervals: list[tuple[float, float]], est: float, dur: float, *, default: float
) -> float:
    prev_end = 0.0
    for s, e in intervals:
        start = max(prev_end, est)
        if start + dur <= s:
            return start
        prev_end = max(prev_end, e)
    return max(prev_end, est, default if not intervals else prev_end)


def _insert_interval(intervals: list[tuple[float, float]], iv: tuple[float, float]) -> None:
    lo, hi = 0, len(intervals)
    while lo < hi:
        mid = (lo + hi) // 2
        if intervals[mid][0] < iv[0]:
            lo = mid + 1
        else:
            hi = mid
    intervals.insert(lo, iv)
