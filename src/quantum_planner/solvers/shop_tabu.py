"""Tabu search on the disjunctive graph for shop-like problems (flexible job shop).

A plan is a machine (agent) per operation and an order per machine, kept as
linked lists. Heads ``r`` (earliest starts) and tails ``q`` (longest path to
the end after the operation) come from one topological pass each; the
makespan is the longest path.

Neighbourhood (Mastrolilli & Gambardella style): every operation on a
critical path is taken out of its machine and re-inserted on any eligible
machine (its own included) between two consecutive operations. Each
insertion is scored in O(1) by the length of the longest path through the
operation afterwards, ``max(head of job pred, end of new machine pred) + p +
max(tail of job succ, tail of new machine succ)``; the few best estimates are
evaluated exactly (a move that would create a cycle is skipped). Tabu: the
operation may not go back behind its old machine predecessor for a while.
Restarts from the best plan with a random shake when the search stalls.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from numba import njit

from quantum_planner.scheduling import Schedule
from quantum_planner.solvers.compiled import Compiled

__all__ = ["shop_tabu"]

NONE = -1


@njit(cache=True, nogil=True)
def _heads(
    n: int,
    P: np.ndarray,
    mach: np.ndarray,
    mp: np.ndarray,
    ms: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    r: np.ndarray,
    order: np.ndarray,
) -> bool:
    """Heads in ``r`` and a topological ``order``; False when the graph has a cycle."""
    indeg = np.empty(n, np.int64)
    for i in range(n):
        indeg[i] = jp_ptr[i + 1] - jp_ptr[i] + (1 if mp[i] >= 0 else 0)
        r[i] = 0.0
    top = 0
    stack = np.empty(n, np.int64)
    for i in range(n):
        if indeg[i] == 0:
            stack[top] = i
            top += 1
    cnt = 0
    while top > 0:
        top -= 1
        i = stack[top]
        order[cnt] = i
        cnt += 1
        e = r[i] + P[i, mach[i]]
        for k in range(js_ptr[i], js_ptr[i + 1]):
            s = js_idx[k]
            if e > r[s]:
                r[s] = e
            indeg[s] -= 1
            if indeg[s] == 0:
                stack[top] = s
                top += 1
        s = ms[i]
        if s >= 0:
            if e > r[s]:
                r[s] = e
            indeg[s] -= 1
            if indeg[s] == 0:
                stack[top] = s
                top += 1
    return cnt == n


@njit(cache=True, nogil=True)
def _tails(
    n: int,
    P: np.ndarray,
    mach: np.ndarray,
    ms: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    order: np.ndarray,
    q: np.ndarray,
) -> None:
    for k in range(n - 1, -1, -1):
        i = order[k]
        t = 0.0
        for e in range(js_ptr[i], js_ptr[i + 1]):
            s = js_idx[e]
            v = q[s] + P[s, mach[s]]
            if v > t:
                t = v
        s = ms[i]
        if s >= 0:
            v = q[s] + P[s, mach[s]]
            if v > t:
                t = v
        q[i] = t


@njit(cache=True, nogil=True)
def _unlink(v: int, mach: np.ndarray, mp: np.ndarray, ms: np.ndarray, head: np.ndarray) -> None:
    a = mp[v]
    b = ms[v]
    if a >= 0:
        ms[a] = b
    else:
        head[mach[v]] = b
    if b >= 0:
        mp[b] = a
    mp[v] = -1
    ms[v] = -1


@njit(cache=True, nogil=True)
def _link(
    v: int, k: int, u: int, mach: np.ndarray, mp: np.ndarray, ms: np.ndarray, head: np.ndarray
) -> None:
    """Insert ``v`` on machine ``k`` right after ``u`` (``u < 0``: at the front)."""
    mach[v] = k
    if u >= 0:
        w = ms[u]
        ms[u] = v
    else:
        w = head[k]
        head[k] = v
    mp[v] = u
    ms[v] = w
    if w >= 0:
        mp[w] = v


@njit(cache=True, nogil=True)
def _search(
    P: np.ndarray,
    jp_ptr: np.ndarray,
    jp_idx: np.ndarray,
    js_ptr: np.ndarray,
    js_idx: np.ndarray,
    mach: np.ndarray,
    mp: np.ndarray,
    ms: np.ndarray,
    head: np.ndarray,
    best_mach: np.ndarray,
    best_mp: np.ndarray,
    best_ms: np.ndarray,
    best_head: np.ndarray,
    tabu: np.ndarray,
    f: np.ndarray,
    iters: int,
    seed: int,
    n_exact: int,
    tenure_base: int,
    restart_after: int,
) -> int:
    """``iters`` tabu iterations in place; ``f = [best, iteration, stall]``.

    ``n_exact`` best-estimated moves are evaluated exactly per iteration; the
    tabu tenure is ``tenure_base`` plus a random part of the same size;
    ``restart_after`` iterations without a new best trigger a shaken restart.
    """
    if seed >= 0:
        np.random.seed(seed)
    n, m = P.shape
    r = np.empty(n)
    q = np.empty(n)
    order = np.empty(n, np.int64)
    r2 = np.empty(n)
    order2 = np.empty(n, np.int64)
    best = f[0]
    it = int(f[1])
    stall = int(f[2])
    improved = 0
    tenure = tenure_base
    max_c = 32768
    cv = np.empty(max_c, np.int64)
    ck = np.empty(max_c, np.int64)
    cu = np.empty(max_c, np.int64)
    ce = np.empty(max_c)
    oncrit = np.zeros(n, np.bool_)
    for _ in range(iters):
        it += 1
        _heads(n, P, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r, order)
        _tails(n, P, mach, ms, js_ptr, js_idx, order, q)
        cmax = 0.0
        for i in range(n):
            v = r[i] + P[i, mach[i]]
            if v > cmax:
                cmax = v
        # critical operations: r + p + q == cmax
        for i in range(n):
            oncrit[i] = abs(r[i] + P[i, mach[i]] + q[i] - cmax) < 1e-9
        nc = 0
        for v in range(n):
            if not oncrit[v]:
                continue
            # job-side bounds of v
            rj = 0.0
            for e in range(jp_ptr[v], jp_ptr[v + 1]):
                a = jp_idx[e]
                t = r[a] + P[a, mach[a]]
                if t > rj:
                    rj = t
            qj = 0.0
            for e in range(js_ptr[v], js_ptr[v + 1]):
                s = js_idx[e]
                t = q[s] + P[s, mach[s]]
                if t > qj:
                    qj = t
            for k in range(m):
                pk = P[v, k]
                if pk == np.inf:
                    continue
                u = -1
                w = head[k]
                while True:
                    if w == v:
                        w = ms[v]
                        continue
                    if not (u == mp[v] and k == mach[v]):  # not its current place
                        ru = r[u] + P[u, mach[u]] if u >= 0 else 0.0
                        qw = q[w] + P[w, mach[w]] if w >= 0 else 0.0
                        est = max(rj, ru) + pk + max(qj, qw)
                        if nc < max_c:
                            cv[nc] = v
                            ck[nc] = k
                            cu[nc] = u
                            ce[nc] = est + 1e-6 * np.random.random()
                            nc += 1
                    if w < 0:
                        break
                    u = w
                    w = ms[w]
        if nc == 0:
            break
        # exact evaluation of the best few estimates
        idx = np.argsort(ce[:nc])
        chosen = -1
        chosen_val = np.inf
        tried = 0
        for t in range(nc):
            c = idx[t]
            v = cv[c]
            k = ck[c]
            u = cu[c]
            old_k = mach[v]
            old_u = mp[v]
            _unlink(v, mach, mp, ms, head)
            _link(v, k, u, mach, mp, ms, head)
            ok = _heads(n, P, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r2, order2)
            val = np.inf
            if ok:
                val = 0.0
                for i in range(n):
                    e = r2[i] + P[i, mach[i]]
                    if e > val:
                        val = e
            _unlink(v, mach, mp, ms, head)
            _link(v, old_k, old_u, mach, mp, ms, head)
            if not ok:
                continue
            is_tabu = tabu[v, u + 1] > it
            if is_tabu and not val < best - 1e-9:
                continue
            tried += 1
            if val < chosen_val - 1e-9:
                chosen_val = val
                chosen = c
            if tried >= n_exact:
                break
        if chosen < 0:
            stall += 1
        else:
            v = cv[chosen]
            old_u = mp[v]
            _unlink(v, mach, mp, ms, head)
            _link(v, ck[chosen], cu[chosen], mach, mp, ms, head)
            tabu[v, old_u + 1] = it + tenure + np.random.randint(tenure)
            if chosen_val < best - 1e-9:
                best = chosen_val
                best_mach[:] = mach
                best_mp[:] = mp
                best_ms[:] = ms
                best_head[:] = head
                improved += 1
                stall = 0
            else:
                stall += 1
        if stall > restart_after:
            # restart from the best plan, shaken by a few random feasible moves
            mach[:] = best_mach
            mp[:] = best_mp
            ms[:] = best_ms
            head[:] = best_head
            for _s in range(3):
                v = np.random.randint(n)
                k = np.random.randint(m)
                if P[v, k] == np.inf:
                    continue
                old_k = mach[v]
                old_u = mp[v]
                _unlink(v, mach, mp, ms, head)
                u = head[k]
                steps = np.random.randint(n // m + 1)
                prev = -1
                while u >= 0 and steps > 0:
                    prev = u
                    u = ms[u]
                    steps -= 1
                _link(v, k, prev, mach, mp, ms, head)
                if not _heads(n, P, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r2, order2):
                    _unlink(v, mach, mp, ms, head)
                    _link(v, old_k, old_u, mach, mp, ms, head)
            stall = 0
    f[0] = best
    f[1] = it
    f[2] = stall
    return improved


def _csr(lists: list[list[int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(n + 1, np.int64)
    for i, xs in enumerate(lists):
        ptr[i + 1] = ptr[i] + len(xs)
    idx = np.array([x for xs in lists for x in xs], dtype=np.int64)
    return ptr, idx


def shop_tabu(
    comp: Compiled,
    assignments: dict[str, str],
    schedule: Schedule,
    deadline: float,
    seed: int,
    stop: threading.Event | None,
    inner_stop: threading.Event | None = None,
    max_iterations: int | None = None,
    n_exact: int = 3,
    tenure: int | None = None,
    restart_after: int | None = None,
) -> tuple[dict[str, str], Schedule, dict[str, Any]]:
    """Improve a complete plan of a shop-like problem until ``deadline``; returns the best."""
    n, m = comp.n, comp.m
    tenure = 4 + int(np.sqrt(n)) if tenure is None else tenure
    restart_after = 400 + 4 * n if restart_after is None else restart_after
    P = np.where(comp.elig, comp.dur, np.inf)
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    jp_ptr, jp_idx = _csr(comp.preds, n)
    js_ptr, js_idx = _csr(succ, n)
    t_index = {t: i for i, t in enumerate(comp.task_ids)}
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    mach = np.zeros(n, np.int64)
    mp = np.full(n, -1, np.int64)
    ms = np.full(n, -1, np.int64)
    head = np.full(m, -1, np.int64)
    for a, tasks in schedule.items():
        k = a_index[a]
        seq = sorted(tasks, key=lambda t, tasks=tasks: (tasks[t][0], tasks[t][1]))
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
    r = np.empty(n)
    order = np.empty(n, np.int64)
    if not _heads(n, P, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r, order):
        return assignments, schedule, {"error": "start plan has a cycle"}
    start_val = float((r + P[np.arange(n), mach]).max(initial=0.0))
    best = [mach.copy(), mp.copy(), ms.copy(), head.copy()]
    tabu = np.zeros((n, n + 1), np.int64)
    f = np.array([start_val, 0.0, 0.0])
    chunk_seed = seed
    left = max_iterations
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        if (stop is not None and stop.is_set()) or (inner_stop is not None and inner_stop.is_set()):
            break
        steps = 20 if left is None else min(20, left)
        if steps <= 0:
            break
        args = (
            P, jp_ptr, jp_idx, js_ptr, js_idx, mach, mp, ms, head,
            best[0], best[1], best[2], best[3], tabu, f, steps, chunk_seed,
            n_exact, tenure, restart_after,
        )  # fmt: skip
        if not _search.signatures:
            # the first call compiles: keep the time limit even then
            from quantum_planner.solvers.hybrid import call_before

            safe = [b.copy() for b in best]
            if call_before(deadline, _search, args) is None:
                best = safe
                break
        else:
            _search(*args)
        chunk_seed = -1
        if left is not None:
            left -= steps
    bm, bmp, bms, _bhead = best
    _heads(n, P, bm, bmp, bms, jp_ptr, jp_idx, js_ptr, js_idx, r, order)
    out_assign: dict[str, str] = {}
    out_sched: Schedule = {a: {} for a in comp.agent_ids}
    for i in range(n):
        a = comp.agent_ids[bm[i]]
        out_assign[comp.task_ids[i]] = a
        out_sched[a][comp.task_ids[i]] = (float(r[i]), float(r[i] + P[i, bm[i]]))
    stats = {
        "start": start_val,
        "best": float(f[0]),
        "iterations": int(f[1]),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return out_assign, out_sched, stats
