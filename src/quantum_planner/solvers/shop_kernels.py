"""Numba kernels of the shop tabu search (:mod:`shop_tabu`) on the disjunctive graph.

A plan is a machine (agent) per operation and an order per machine, kept as
linked lists. Heads ``r`` (earliest starts) and tails ``q`` (longest path to
the end after the operation) come from one topological pass each; the
makespan is the longest path.

Neighbourhood (Mastrolilli & Gambardella 2000, with exact values): every
operation ``v`` on a critical path is taken out of its machine and
re-inserted on any eligible machine (its own included) between two
consecutive operations ``u`` and ``w``. Heads ``r-`` and tails ``q-`` of the
graph without ``v`` take one pass each (only the part of the topological
order after, resp. before, ``v`` changes); then the makespan after any
insertion is *exactly* ``max(C-, max(end of job pred, r-(u) + p(u), R(v, k)) +
p(v, k) + max(tail of job succ, q-(w) + p(w)))`` where ``C-`` is the makespan
without ``v`` and ``R(v, k)`` the release of ``v`` on ``k`` (a head never starts
before its release), as long as the insertion closes no cycle. Insertions that
might (a job successor of ``v`` could reach ``u``, or ``w`` a job predecessor,
judged by heads and tails) are skipped. Fixed operations (pinned) are never
moved, and nothing is inserted before one. Ties go to the shorter path through ``v``, then
at random.

When there are more than ``max_crit`` (:data:`shop_tabu.MAX_CRIT`) critical
operations, a random sample of about that many is moved in an iteration.

Tabu: ``v`` may not go back right behind its old machine predecessor for a
few iterations, and may not move at all for a while longer (plateaus of equal
makespan otherwise make the search cycle among a few operations). A
tabu move is made when it gives a new best plan. After ``restart_after``
iterations without a new best the search goes back to the best plan and makes
a few random moves from it.

The kernels are long loops on purpose: numba compiles each into one native
function, and the move evaluation in :func:`tabu_chunk` reuses its scratch
arrays across all candidate moves of an iteration; split into helpers it would
pass a dozen arrays per call in the innermost loop. Like the samplers' kernel
file, this module is exempt from the ~80-line function rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["heads", "link", "tabu_chunk", "tails", "unlink"]


@njit(cache=True, nogil=True)
def heads(
    n: int,
    P: np.ndarray,
    R: np.ndarray,
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
    """Heads in ``r`` and a topological ``order``; False when the graph has a cycle.

    ``R[i, k]``: the earliest start (release) of operation ``i`` on machine ``k``.
    """
    indeg = np.empty(n, np.int64)
    for i in range(n):
        indeg[i] = jp_ptr[i + 1] - jp_ptr[i] + (1 if mp[i] >= 0 else 0)
        r[i] = R[i, mach[i]]
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
def tails(
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
def unlink(v: int, mach: np.ndarray, mp: np.ndarray, ms: np.ndarray, head: np.ndarray) -> None:
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
def link(
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
def tabu_chunk(
    P: np.ndarray,
    R: np.ndarray,
    fixed: np.ndarray,
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
    tenure_base: int,
    restart_after: int,
    kick: int,
    op_tenure: int,
    max_crit: int,
) -> int:
    """``iters`` tabu iterations in place; ``f = [best, iteration, stall, kick moves left]``.

    ``R``: releases per (operation, machine), see :func:`heads`. ``fixed`` operations
    (pinned: one machine, a start that must not move) are never moved and nothing is
    inserted before them; the plan must put them first on their machines.

    Every insertion of every critical operation is valued exactly (see the
    module docstring); the best non-tabu one is made (a tabu one when it beats
    the best plan). The tabu tenure is ``tenure_base`` plus a random part of
    the same size; ``restart_after`` iterations without a new best send the
    search back to the best plan, followed by ``kick`` random moves. At most
    about ``max_crit`` critical operations (a random sample) are moved per iteration.
    """
    if seed >= 0:
        np.random.seed(seed)
    n, m = P.shape
    r = np.empty(n)
    q = np.empty(n)
    rm = np.empty(n)
    qm = np.empty(n)
    order = np.empty(n, np.int64)
    pos = np.empty(n, np.int64)
    pe = np.empty(n)
    pre = np.empty(n + 1)
    oncrit = np.zeros(n, np.bool_)
    best = f[0]
    it = int(f[1])
    stall = int(f[2])
    kick_left = int(f[3])
    improved = 0
    eps = 1e-9
    for step in range(iters + 1):
        heads(n, P, R, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r, order)
        cmax = 0.0
        for i in range(n):
            e = r[i] + P[i, mach[i]]
            if e > cmax:
                cmax = e
        if cmax < best - eps:
            best = cmax
            best_mach[:] = mach
            best_mp[:] = mp
            best_ms[:] = ms
            best_head[:] = head
            improved += 1
            stall = 0
        elif kick_left == 0:
            stall += 1
        if step == iters:
            break  # the last move's plan is recorded; the next call goes on from here
        it += 1
        if stall > restart_after:
            # back to the best plan; a few random moves lead the search elsewhere
            mach[:] = best_mach
            mp[:] = best_mp
            ms[:] = best_ms
            head[:] = best_head
            heads(n, P, R, mach, mp, ms, jp_ptr, jp_idx, js_ptr, js_idx, r, order)
            cmax = best
            stall = 0
            kick_left = kick
        tails(n, P, mach, ms, js_ptr, js_idx, order, q)
        for i in range(n):
            pe[i] = P[i, mach[i]]
        pre[0] = 0.0  # pre[t]: the latest end among the first t operations in order
        for t in range(n):
            i = order[t]
            pos[i] = t
            pre[t + 1] = max(pre[t], r[i] + pe[i])
        ncrit = 0
        for i in range(n):
            oncrit[i] = abs(r[i] + P[i, mach[i]] + q[i] - cmax) < 1e-7
            if oncrit[i]:
                ncrit += 1
        if ncrit > max_crit:
            # plateaus have many critical operations: a random sample of them makes
            # iterations several times cheaper, and more of them pay (mk10: 5x as many
            # iterations, best 198-200 instead of 200-205 in 10 s)
            keep = max_crit / ncrit
            for i in range(n):
                if oncrit[i] and np.random.random() >= keep:
                    oncrit[i] = False
        randomly = kick_left > 0
        ch_v = -1
        ch_k = -1
        ch_u = -1
        ch_val = np.inf
        ch_est = np.inf
        ties = 0
        tb_v = -1
        tb_k = -1
        tb_u = -1
        tb_val = np.inf
        seen = 0
        for v in range(n):
            if not oncrit[v] or fixed[v]:
                continue
            a = mp[v]
            b = ms[v]
            pv = pos[v]
            # heads and tails of the graph without v (its machine neighbours a -> b joined):
            # only the part of the topological order after v (heads), before v (tails) moves
            for t in range(pv):
                rm[order[t]] = r[order[t]]
            rm[v] = 0.0
            cm = pre[pv]  # the makespan without v: ends before v stay, the rest below
            for t in range(pv + 1, n):
                i = order[t]
                h = R[i, mach[i]]
                for e in range(jp_ptr[i], jp_ptr[i + 1]):
                    x = jp_idx[e]
                    if x != v:
                        y = rm[x] + pe[x]
                        if y > h:
                            h = y
                x = mp[i]
                if x == v:
                    x = a
                if x >= 0:
                    y = rm[x] + pe[x]
                    if y > h:
                        h = y
                rm[i] = h
                if h + pe[i] > cm:
                    cm = h + pe[i]
            for t in range(pv + 1, n):
                qm[order[t]] = q[order[t]]
            qm[v] = 0.0
            for t in range(pv - 1, -1, -1):
                i = order[t]
                h = 0.0
                for e in range(js_ptr[i], js_ptr[i + 1]):
                    x = js_idx[e]
                    if x != v:
                        y = qm[x] + pe[x]
                        if y > h:
                            h = y
                x = ms[i]
                if x == v:
                    x = b
                if x >= 0:
                    y = qm[x] + pe[x]
                    if y > h:
                        h = y
                qm[i] = h
            rj = 0.0
            for e in range(jp_ptr[v], jp_ptr[v + 1]):
                x = jp_idx[e]
                y = rm[x] + pe[x]
                if y > rj:
                    rj = y
            qj = 0.0
            for e in range(js_ptr[v], js_ptr[v + 1]):
                x = js_idx[e]
                y = qm[x] + pe[x]
                if y > qj:
                    qj = y
            for k in range(m):
                pk = P[v, k]
                if pk == np.inf:
                    continue
                u = -1
                w = head[k]
                while True:
                    if w == v:
                        w = b
                        continue
                    if not (k == mach[v] and u == a) and not (w >= 0 and fixed[w]):
                        # u -> v -> w closes a cycle only if a job successor x of v reaches
                        # u or w reaches a job predecessor; a path x ~> u needs head and
                        # tail both to leave room for it, so where either does not, it is safe
                        safe = True
                        if u >= 0:
                            for e in range(js_ptr[v], js_ptr[v + 1]):
                                x = js_idx[e]
                                if x == u or (
                                    rm[u] >= rm[x] + pe[x] - eps and qm[x] >= qm[u] + pe[u] - eps
                                ):
                                    safe = False
                        if w >= 0 and safe:
                            for e in range(jp_ptr[v], jp_ptr[v + 1]):
                                x = jp_idx[e]
                                if x == w or (
                                    rm[x] >= rm[w] + pe[w] - eps and qm[w] >= qm[x] + pe[x] - eps
                                ):
                                    safe = False
                        if safe:
                            ru = rm[u] + pe[u] if u >= 0 else 0.0
                            qw = qm[w] + pe[w] if w >= 0 else 0.0
                            est = max(rj, ru, R[v, k]) + pk + max(qj, qw)
                            val = max(cm, est)
                            if randomly:
                                seen += 1
                                if np.random.randint(seen) == 0:
                                    ch_v, ch_k, ch_u, ch_val = v, k, u, val
                            else:
                                tix = u if u >= 0 else n + k
                                if tabu[v, tix] > it or tabu[v, n + m] > it:
                                    if val < tb_val - eps:
                                        tb_v, tb_k, tb_u, tb_val = v, k, u, val
                                elif val < ch_val - eps or (
                                    val < ch_val + eps and est < ch_est - eps
                                ):
                                    ch_v, ch_k, ch_u, ch_val, ch_est = v, k, u, val, est
                                    ties = 1
                                elif val < ch_val + eps and est < ch_est + eps:
                                    ties += 1
                                    if np.random.randint(ties) == 0:
                                        ch_v, ch_k, ch_u = v, k, u
                    if w < 0:
                        break
                    u = w
                    w = ms[w]
        if tb_v >= 0 and tb_val < best - eps and tb_val < ch_val - eps:
            ch_v, ch_k, ch_u = tb_v, tb_k, tb_u  # aspiration: a tabu move to a new best
        elif ch_v < 0:
            ch_v, ch_k, ch_u = tb_v, tb_k, tb_u  # everything tabu: the best of those
        if ch_v < 0:
            break
        if randomly:
            kick_left -= 1
        old = mp[ch_v] if mp[ch_v] >= 0 else n + mach[ch_v]
        unlink(ch_v, mach, mp, ms, head)
        link(ch_v, ch_k, ch_u, mach, mp, ms, head)
        tabu[ch_v, old] = it + tenure_base + np.random.randint(tenure_base + 1)
        tabu[ch_v, n + m] = it + op_tenure
    f[0] = best
    f[1] = it
    f[2] = stall
    f[3] = kick_left
    return improved
