"""Tabu search on the disjunctive graph for shop-like problems (flexible job shop).

The moves, their exact values and the tabu rules are described in
:mod:`shop_kernels` (the numba kernels); this module turns a plan into the
kernels' linked lists, runs them in chunks until the deadline (checking the
stop events between chunks) and shares the best plan of several searches
through an :class:`~quantum_planner.solvers.anytime.Incumbent`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.scheduling import Schedule
from quantum_planner.solvers.anytime import Incumbent, call_before
from quantum_planner.solvers.base import ProgressCallback, make_solution
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.shop import fixed_tasks
from quantum_planner.solvers.shop_kernels import heads, tabu_chunk

__all__ = ["shop_incumbent", "shop_tabu"]

TENURE = 6
OP_TENURE = 16
RESTART_AFTER = 2000
KICK = 10
MAX_CRIT = 12  # critical operations moved per iteration (a random sample beyond)


def _csr(lists: list[list[int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(n + 1, np.int64)
    for i, xs in enumerate(lists):
        ptr[i + 1] = ptr[i] + len(xs)
    idx = np.array([x for xs in lists for x in xs], dtype=np.int64)
    return ptr, idx


def shop_incumbent(
    comp: Compiled, t0: float, progress: ProgressCallback | None = None, value: float = np.inf
) -> Incumbent:
    """The best plan shared by shop tabu searches: (mach, mp, ms, head) arrays, as a plan."""

    def to_solution(plan: tuple[np.ndarray, ...]) -> Solution:
        return make_solution(
            comp.problem, *_plan(comp, plan[0], plan[1], plan[2]), backend="hybrid"
        )

    return Incumbent(t0, progress, to_solution, value=value)


def _graph(comp: Compiled, mask: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Durations (inf: not eligible, or off ``mask``), releases, fixed operations
    (:func:`~quantum_planner.solvers.shop.fixed_tasks`) and job predecessors/successors
    as CSR arrays: the kernels' graph."""
    n = comp.n
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    P = np.where(comp.elig if mask is None else comp.elig & mask, comp.dur, np.inf)
    R = np.where(comp.elig, comp.release, 0.0)
    return (P, R, fixed_tasks(comp), *_csr(comp.preds, n), *_csr(succ, n))


def _plan(
    comp: Compiled, mach: np.ndarray, mp: np.ndarray, ms: np.ndarray
) -> tuple[dict[str, str], Schedule]:
    """Assignments and semi-active schedule (every operation at its head) of a plan."""
    n = comp.n
    P, R, _, jp_ptr, jp_idx, js_ptr, js_idx = _graph(comp)
    r = np.empty(n)
    order = np.empty(n, np.int64)
    heads(n, P, R, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r, order)
    assign: dict[str, str] = {}
    sched: Schedule = {a: {} for a in comp.agent_ids}
    for i in range(n):
        a = comp.agent_ids[mach[i]]
        assign[comp.task_ids[i]] = a
        sched[a][comp.task_ids[i]] = (float(r[i]), float(r[i] + P[i, mach[i]]))
    return assign, sched


def shop_tabu(
    comp: Compiled,
    assignments: dict[str, str],
    schedule: Schedule,
    deadline: float,
    seed: int,
    stop: threading.Event | None,
    inner_stop: threading.Event | None = None,
    max_iterations: int | None = None,
    tenure: int | None = None,
    restart_after: int | None = None,
    kick: int | None = None,
    op_tenure: int | None = None,
    max_crit: int | None = None,
    shared: Incumbent | None = None,
    name: str = "hybrid: tabu search",
    mask: np.ndarray | None = None,
    target: float | None = None,
) -> tuple[dict[str, str], Schedule, dict[str, Any]]:
    """Improve a complete plan of a shop-like problem until ``deadline``; returns the best.

    ``comp`` is the problem's shop view (:func:`~quantum_planner.solvers.shop.shop_view`)
    and the plan uses its pairs only.

    ``mask`` ((n, m) bool) restricts the agents each task may move to (the plan given
    must respect it); the search ends early once its best makespan is at most ``target``.

    With ``shared`` (see :func:`shop_incumbent`), the search starts from the
    shared plan when that is better than the one given, and exchanges plans
    with it after every chunk (reports to its progress callback, as ``name``,
    included).
    """
    n = comp.n
    params = (
        TENURE if tenure is None else tenure,
        RESTART_AFTER if restart_after is None else restart_after,
        KICK if kick is None else kick,
        OP_TENURE if op_tenure is None else op_tenure,
        MAX_CRIT if max_crit is None else max_crit,
    )
    graph = _graph(comp, mask)
    P, R, fixed = graph[:3]
    plan = _linked_lists(comp, schedule, fixed)
    r = np.empty(n)
    order = np.empty(n, np.int64)
    if not heads(n, P, R, *plan[:3], *graph[3:], r, order):
        return assignments, schedule, {"error": "start plan has a cycle"}
    start_val = float((r + P[np.arange(n), plan[0]]).max(initial=0.0))
    if shared is not None:
        start_val = shared.take(start_val, plan)
    best = [x.copy() for x in plan]
    # tabu[v, u]: v may not go back right behind u (u >= n: the front of machine u - n)
    tabu = np.zeros((n, n + comp.m + 1), np.int64)
    f = np.array([start_val, 0.0, 0.0, 0.0])
    t0 = time.perf_counter()
    _run_chunks(graph, plan, best, tabu, f, params, deadline, seed, (stop, inner_stop),
                max_iterations, shared, name, target)  # fmt: skip
    out_assign, out_sched = _plan(comp, best[0], best[1], best[2])
    stats = {
        "start": start_val,
        "best": float(f[0]),
        "iterations": int(f[1]),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return out_assign, out_sched, stats


def _linked_lists(comp: Compiled, schedule: Schedule, fixed: np.ndarray) -> list[np.ndarray]:
    """A plan as the kernels' arrays: machine, machine predecessor/successor, machine heads.

    Each agent's tasks are ordered by their start (then end) in ``schedule``, its fixed
    (pinned) tasks first: the kernels never insert before them.
    """
    n, m = comp.n, comp.m
    t_index = {t: i for i, t in enumerate(comp.task_ids)}
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    mach = np.zeros(n, np.int64)
    mp = np.full(n, -1, np.int64)
    ms = np.full(n, -1, np.int64)
    head = np.full(m, -1, np.int64)
    for a, tasks in schedule.items():
        k = a_index[a]
        seq = sorted(tasks, key=lambda t, ts=tasks: (not fixed[t_index[t]], ts[t][0], ts[t][1]))
        prev = -1
        for t in seq:
            i = t_index[t]
            mach[i] = k
            mp[i] = prev
            if prev >= 0:
                ms[prev] = i
            else:
                head[k] = i
            prev = i
    return [mach, mp, ms, head]


def _run_chunks(
    graph: tuple[np.ndarray, ...],
    plan: list[np.ndarray],
    best: list[np.ndarray],
    tabu: np.ndarray,
    f: np.ndarray,
    params: tuple[int, int, int, int, int],
    deadline: float,
    seed: int,
    stops: tuple[threading.Event | None, threading.Event | None],
    max_iterations: int | None,
    shared: Incumbent | None,
    name: str,
    target: float | None = None,
) -> None:
    """Kernel chunks of 20 iterations until the deadline, a stop or the iteration budget.

    ``best`` is updated in place (replaced by its copy taken before the call when
    the kernel's first call, which compiles it, does not end by the deadline).
    """
    chunk_seed = seed
    left = max_iterations
    while time.perf_counter() < deadline:
        if any(s is not None and s.is_set() for s in stops):
            break
        if target is not None and f[0] <= target:
            break
        steps = 20 if left is None else min(20, left)
        if steps <= 0:
            break
        args = (*graph, *plan, *best, tabu, f, steps, chunk_seed, *params)
        if not tabu_chunk.signatures:
            # the first call compiles: keep the time limit even then
            safe = [b.copy() for b in best]
            if call_before(deadline, tabu_chunk, args) is None:
                best[:] = safe
                break
        else:
            tabu_chunk(*args)
        chunk_seed = -1
        if left is not None:
            left -= steps
        if shared is not None and not shared.offer(float(f[0]), best, name):
            f[0] = shared.take(float(f[0]), best)  # the next restart goes to the shared plan
