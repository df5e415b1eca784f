"""Numba kernels for big assignment problems on the sparse pair form (CSR).

The dense kernels of :mod:`generalized_assignment` index ``(n, m)`` matrices;
at 1,000 agents x 50,000 tasks those are 400 MB each and every tabu
iteration scans all tasks. Here a problem is its eligible pairs only: row
``i`` (a task) is ``ptr[i]:ptr[i+1]``, ``col[q]`` the agent of pair ``q``
(increasing within a row; the virtual "undone" agent ``m`` last, for
optional tasks), ``W[q]`` its score weight, ``L[q]`` its load, ``D[q]`` its
duration (``balance_load``). A plan is ``slot[i]``, the pair task ``i`` uses.
Every kernel costs O(pairs) per pass, not O(tasks x agents).

* :func:`regret_greedy_sp`: the Martello-Toth regret heuristic (lazy heap,
  per-agent pairs by load), as :func:`generalized_assignment.regret_greedy`.
* :func:`repair_sp`: removes capacity overflow: moves off overloaded agents
  chosen by overflow removed, then cost, with a short tabu list so overflow
  can travel along a chain of full agents to one with room.
* :func:`lagrange_sp`: one evaluation of the Lagrangian relaxation (capacity
  priced by ``u``): each task's cheapest priced pair, the bound and the loads.
* :func:`descent_sp`: capacity-feasible improving moves for a list of tasks:
  shift (task to another agent), swap (two tasks exchange agents) and
  ejection chain (a task moves to a full agent, which passes one of its
  tasks on to an agent with room), best move per task.

Agents' task lists are doubly linked (``head``/``nxt``/``prv``): O(1) per
move, no ``(m, n)`` member matrix. Kernels are long on purpose (one native
loop each); like the other kernel files this one is exempt from the
~80-line function rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from quantum_planner.solvers.generalized_assignment import _heap_pop as _pop
from quantum_planner.solvers.generalized_assignment import _heap_push as _push

__all__ = [
    "agent_lists",
    "descent_sp",
    "find_pair",
    "lagrange_sp",
    "loads_sp",
    "regret_greedy_sp",
    "repair_sp",
    "score_sp",
    "slots_for",
]

_EPS = 1e-9


@njit(cache=True, nogil=True)
def find_pair(ptr: np.ndarray, col: np.ndarray, i: int, j: int) -> int:
    """The pair of task ``i`` on agent ``j`` (binary search in its row), -1 if not eligible."""
    lo = ptr[i]
    hi = ptr[i + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        c = col[mid]
        if c < j:
            lo = mid + 1
        elif c > j:
            hi = mid
        else:
            return mid
    return -1


@njit(cache=True, nogil=True)
def slots_for(ptr: np.ndarray, col: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """The pair of each task ``i`` on ``agents[i]`` (-1 where not eligible)."""
    out = np.empty(agents.size, np.int64)
    for i in range(agents.size):
        out[i] = find_pair(ptr, col, i, agents[i])
    return out


@njit(cache=True, nogil=True)
def score_sp(
    W: np.ndarray, D: np.ndarray, col: np.ndarray, beta: float, slot: np.ndarray, m: int
) -> float:
    """Score of plan ``slot`` (capacity ignored): sum of weights + beta x variance of busy time."""
    total = 0.0
    busy = np.zeros(m + 1)
    for i in range(slot.size):
        q = slot[i]
        total += W[q]
        busy[col[q]] += D[q]
    if beta != 0.0 and m > 0:
        s1 = 0.0
        s2 = 0.0
        for j in range(m):
            s1 += busy[j]
            s2 += busy[j] * busy[j]
        total += beta * (s2 / m - (s1 / m) ** 2)
    return total


@njit(cache=True, nogil=True)
def loads_sp(L: np.ndarray, col: np.ndarray, slot: np.ndarray, M: int) -> np.ndarray:
    """Per agent (virtual one included), the load plan ``slot`` puts on it."""
    used = np.zeros(M)
    for i in range(slot.size):
        used[col[slot[i]]] += L[slot[i]]
    return used


@njit(cache=True, nogil=True)
def agent_lists(col: np.ndarray, slot: np.ndarray, M: int) -> tuple:
    """Doubly linked task lists per agent: ``(head (M,), nxt (n,), prv (n,))``, -1 ends."""
    n = slot.size
    head = np.full(M, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    for i in range(n - 1, -1, -1):
        a = col[slot[i]]
        nxt[i] = head[a]
        if head[a] >= 0:
            prv[head[a]] = i
        head[a] = i
    return head, nxt, prv


@njit(cache=True, nogil=True)
def _unlink(i: int, a: int, head: np.ndarray, nxt: np.ndarray, prv: np.ndarray) -> None:
    if prv[i] >= 0:
        nxt[prv[i]] = nxt[i]
    else:
        head[a] = nxt[i]
    if nxt[i] >= 0:
        prv[nxt[i]] = prv[i]
    prv[i] = -1
    nxt[i] = -1


@njit(cache=True, nogil=True)
def _link(i: int, a: int, head: np.ndarray, nxt: np.ndarray, prv: np.ndarray) -> None:
    nxt[i] = head[a]
    prv[i] = -1
    if head[a] >= 0:
        prv[head[a]] = i
    head[a] = i


@njit(cache=True, nogil=True)
def _move(
    i: int, q: int, slot: np.ndarray, col: np.ndarray, L: np.ndarray, used: np.ndarray,
    head: np.ndarray, nxt: np.ndarray, prv: np.ndarray,
) -> None:  # fmt: skip
    """Task ``i`` to pair ``q``: loads and agent lists follow."""
    p = slot[i]
    a = col[p]
    j = col[q]
    used[a] -= L[p]
    used[j] += L[q]
    slot[i] = q
    if a != j:
        _unlink(i, a, head, nxt, prv)
        _link(i, j, head, nxt, prv)


@njit(cache=True, nogil=True)
def _top2(
    ptr: np.ndarray, col: np.ndarray, P: np.ndarray, L: np.ndarray, rem: np.ndarray, i: int
) -> tuple[int, float, float]:
    best = -1
    b1 = np.inf
    b2 = np.inf
    for q in range(ptr[i], ptr[i + 1]):
        w = P[q]
        if w == np.inf or L[q] > rem[col[q]] + _EPS:
            continue
        if w < b1:
            b2 = b1
            b1 = w
            best = q
        elif w < b2:
            b2 = w
    return best, b1, b2


@njit(cache=True, nogil=True)
def _rescore(
    ptr: np.ndarray, col: np.ndarray, P: np.ndarray, L: np.ndarray, rem: np.ndarray, i: int,
    best: np.ndarray, first: np.ndarray, second: np.ndarray, regret: np.ndarray,
    hkey: np.ndarray, htask: np.ndarray, size: int,
) -> int:  # fmt: skip
    """Task ``i``'s top two pairs that fit and its regret, pushed on the heap; the new size."""
    best[i], first[i], second[i] = _top2(ptr, col, P, L, rem, i)
    r = second[i] - first[i]
    regret[i] = 1e300 if r == np.inf else r
    if best[i] >= 0:
        size = _push(hkey, htask, size, regret[i], i)
    return size


@njit(cache=True, nogil=True)
def regret_greedy_sp(
    ptr: np.ndarray,
    col: np.ndarray,
    P: np.ndarray,
    L: np.ndarray,
    cap: np.ndarray,
    row: np.ndarray,
    tptr: np.ndarray,
    tpair: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """Regret greedy on priced weights ``P`` (inf: not allowed) for the tasks with ``active``.

    ``tptr``/``tpair``: the pairs of each agent, largest load first (when an
    agent's room shrinks only the pairs that no longer fit are looked at).
    Returns a slot per task (-1 for inactive ones); a task that fits nowhere
    gets its least-overflowing pair (the repair handles it). O(pairs log n).
    """
    n = ptr.size - 1
    M = cap.size
    rem = cap.copy()
    slot = np.full(n, -1, np.int64)
    best = np.full(n, -1, np.int64)
    first = np.full(n, np.inf)
    second = np.full(n, np.inf)
    regret = np.empty(n)
    lost = tptr[:M].copy()
    hkey = np.empty(n + tpair.size + 1)
    htask = np.empty(n + tpair.size + 1, np.int64)
    size = 0
    for i in range(n):
        if active[i]:
            size = _rescore(ptr, col, P, L, rem, i, best, first, second, regret, hkey, htask, size)
    while size > 0:
        k = hkey[0]
        pick = htask[0]
        size = _pop(hkey, htask, size)
        if slot[pick] >= 0 or best[pick] < 0 or k != regret[pick]:
            continue  # placed, fits nowhere, or a stale entry
        q = best[pick]
        j = col[q]
        slot[pick] = q
        rem[j] -= L[q]
        # only tasks that no longer fit on j, and had j among their top two, change
        while lost[j] < tptr[j + 1] and L[tpair[lost[j]]] > rem[j] + _EPS:
            p = tpair[lost[j]]
            lost[j] += 1
            i = row[p]
            if slot[i] >= 0 or not active[i] or not (best[i] == p or P[p] <= second[i]):
                continue
            size = _rescore(ptr, col, P, L, rem, i, best, first, second, regret, hkey, htask, size)
    for i in range(n):
        if active[i] and slot[i] < 0:
            bq = -1
            bo = np.inf
            for q in range(ptr[i], ptr[i + 1]):
                if P[q] == np.inf:
                    continue
                o = L[q] - rem[col[q]]
                if o < bo:
                    bo = o
                    bq = q
            if bq < 0:  # nothing allowed by P: any eligible pair
                bq = ptr[i]
            slot[i] = bq
            rem[col[bq]] -= L[bq]
    return slot


@njit(cache=True, nogil=True)
def _ov(u: float, c: float) -> float:
    return u - c if u > c else 0.0


@njit(cache=True, nogil=True)
def repair_sp(
    ptr: np.ndarray, col: np.ndarray, W: np.ndarray, L: np.ndarray, cap: np.ndarray,
    slot: np.ndarray, used: np.ndarray, head: np.ndarray, nxt: np.ndarray, prv: np.ndarray,
    max_iters: int, seed: int,
) -> float:  # fmt: skip
    """Move tasks off overloaded agents until none is (or ``max_iters``); the overflow left.

    Each step takes a random overloaded agent and, over its tasks and their
    other pairs, the move that lowers total overflow most, then costs least
    (ties at random). When every neighbour is full too the overflow moves on
    to one of them (no gain); the task may not return for a few steps (tabu),
    so the overflow travels along a chain until it reaches an agent with room.
    """
    np.random.seed(seed)
    M = cap.size
    n = slot.size
    tabu = np.zeros(W.size, np.int64)  # step until which pair q is forbidden
    tenure = 7
    total = 0.0
    for j in range(M):
        total += _ov(used[j], cap[j])
    over = np.empty(M, np.int64)
    it = 0
    while total > _EPS and it < max_iters:
        it += 1
        k = 0
        for j in range(M):
            if used[j] > cap[j] + _EPS:
                over[k] = j
                k += 1
        if k == 0:
            break
        a = over[np.random.randint(k)]
        bi = -1
        bq = -1
        bdov = np.inf
        bdw = np.inf
        ties = 0
        i = head[a]
        while i >= 0:
            p = slot[i]
            gain_a = _ov(used[a] - L[p], cap[a]) - _ov(used[a], cap[a])
            for q in range(ptr[i], ptr[i + 1]):
                j = col[q]
                if j == a or W[q] == np.inf or tabu[q] > it:
                    continue
                dov = gain_a + _ov(used[j] + L[q], cap[j]) - _ov(used[j], cap[j])
                dw = W[q] - W[p]
                if dov < bdov - _EPS or (dov <= bdov + _EPS and dw < bdw - _EPS):
                    bi, bq, bdov, bdw, ties = i, q, dov, dw, 1
                elif dov <= bdov + _EPS and dw <= bdw + _EPS:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bi, bq = i, q
            i = nxt[i]
        if bi < 0:
            continue  # everything tabu here: another agent next time
        p = slot[bi]
        _move(bi, bq, slot, col, L, used, head, nxt, prv)
        tabu[p] = it + tenure + np.random.randint(tenure)
        if it % 64 == 0 or total < 1e-3:
            total = 0.0
            for j in range(M):
                total += _ov(used[j], cap[j])
        else:
            total += bdov
    # what is left, float noise of the running loads aside
    total = 0.0
    for j in range(M):
        total += _ov(used[j], cap[j] + _EPS)
    _ = n
    return total


@njit(cache=True, nogil=True)
def lagrange_sp(
    ptr: np.ndarray, col: np.ndarray, W: np.ndarray, L: np.ndarray, u: np.ndarray,
    choice: np.ndarray, used: np.ndarray,
) -> float:  # fmt: skip
    """Each task's cheapest pair under ``W + u[col] L`` into ``choice``; their loads into
    ``used``; returns the sum of those priced weights (the bound is that minus ``u @ cap``)."""
    n = ptr.size - 1
    used[:] = 0.0
    total = 0.0
    for i in range(n):
        bq = -1
        bv = np.inf
        for q in range(ptr[i], ptr[i + 1]):
            v = W[q] + u[col[q]] * L[q]
            if v < bv:
                bv = v
                bq = q
        choice[i] = bq
        if bq >= 0:
            used[col[bq]] += L[bq]
            total += bv
    return total


@njit(cache=True, nogil=True)
def _var_delta(
    busy: np.ndarray, s1: float, s2: float, m: int, a: int, da: float, j: int, dj: float
) -> float:
    """Change of the busy-time variance when agent ``a`` gains ``da`` and ``j`` gains ``dj``."""
    t1 = s1
    t2 = s2
    if a < m:
        t1 += da
        t2 += (busy[a] + da) ** 2 - busy[a] ** 2
    if j < m:
        t1 += dj
        t2 += (busy[j] + dj) ** 2 - busy[j] ** 2
    return (t2 / m - (t1 / m) ** 2) - (s2 / m - (s1 / m) ** 2)


@njit(cache=True, nogil=True)
def descent_sp(
    ptr: np.ndarray, col: np.ndarray, W: np.ndarray, L: np.ndarray, D: np.ndarray,
    cap: np.ndarray, beta: float, m: int, slot: np.ndarray, used: np.ndarray,
    busy: np.ndarray, head: np.ndarray, nxt: np.ndarray, prv: np.ndarray,
    minw: np.ndarray, tasks: np.ndarray, chains: bool,
) -> float:  # fmt: skip
    """For each task of ``tasks`` in turn, its best improving capacity-feasible move; the
    total score change (<= 0).

    Moves: shift to another agent with room; swap with a task of an agent it
    may go to (whose current agent that task may do); with ``chains``, an
    ejection chain: the task goes to an agent without room for it, which
    passes one of its tasks on to an agent with room. ``minw[k]`` (task
    ``k``'s smallest weight) prunes swaps and chains that cannot gain.
    ``busy`` is each agent's busy time (for ``beta``, the balance weight).
    """
    s1 = 0.0
    s2 = 0.0
    for j in range(m):
        s1 += busy[j]
        s2 += busy[j] * busy[j]
    prune = beta == 0.0
    # per agent, an upper bound on what moving one of its tasks elsewhere can save
    # (its weight over its cheapest): a swap or chain through j gains at most that
    ex = np.zeros(cap.size)
    for k in range(slot.size):
        e = W[slot[k]] - minw[k]
        if e > ex[col[slot[k]]]:
            ex[col[slot[k]]] = e
    total = 0.0
    for t in range(tasks.size):
        i = tasks[t]
        p = slot[i]
        a = col[p]
        bd = -1e-9
        kind = 0
        bq = -1
        bk = -1
        bs = -1
        for q in range(ptr[i], ptr[i + 1]):
            j = col[q]
            if j == a or W[q] == np.inf:
                continue
            dw = W[q] - W[p]
            room_j = cap[j] - used[j]
            if L[q] <= room_j + _EPS:
                d = dw
                if beta != 0.0:
                    d += beta * _var_delta(busy, s1, s2, m, a, -D[p], j, D[q])
                if d < bd:
                    bd, kind, bq = d, 1, q
            # swaps and chains through the tasks of j
            if prune and dw - ex[j] >= bd:
                continue
            k = head[j]
            while k >= 0:
                pk = slot[k]
                nk = nxt[k]
                if prune and dw + minw[k] - W[pk] >= bd:
                    k = nk
                    continue
                r = find_pair(ptr, col, k, a)
                if r >= 0 and W[r] != np.inf:
                    d = dw + W[r] - W[pk]
                    if not prune:
                        d += beta * _var_delta(busy, s1, s2, m, a, D[r] - D[p], j, D[q] - D[pk])
                    if (
                        d < bd
                        and used[a] - L[p] + L[r] <= cap[a] + _EPS
                        and used[j] - L[pk] + L[q] <= cap[j] + _EPS
                    ):
                        bd, kind, bq, bk = d, 2, q, k
                if (
                    chains
                    and prune
                    and L[q] > room_j + _EPS
                    and used[j] - L[pk] + L[q] <= cap[j] + _EPS
                ):
                    # k leaves j for an agent h (not a, not j) with room
                    for s in range(ptr[k], ptr[k + 1]):
                        h = col[s]
                        if h in (j, a) or W[s] == np.inf:
                            continue
                        d = dw + W[s] - W[pk]
                        if d < bd and used[h] + L[s] <= cap[h] + _EPS:
                            bd, kind, bq, bk, bs = d, 3, q, k, s
                k = nk
        if kind == 0:
            continue
        total += bd
        # the tasks that move may now sit above their cheapest: the bounds follow
        j = col[bq]
        ex[j] = max(ex[j], W[bq] - minw[i])
        if kind == 2:
            r = find_pair(ptr, col, bk, a)
            ex[a] = max(ex[a], W[r] - minw[bk])
        elif kind == 3:
            ex[col[bs]] = max(ex[col[bs]], W[bs] - minw[bk])
        if kind == 1:
            j = col[bq]
            if beta != 0.0:
                s1, s2 = _busy_shift(busy, s1, s2, m, a, -D[p], j, D[bq])
            _move(i, bq, slot, col, L, used, head, nxt, prv)
        elif kind == 2:
            j = col[bq]
            pk = slot[bk]
            r = find_pair(ptr, col, bk, a)
            if beta != 0.0:
                s1, s2 = _busy_shift(busy, s1, s2, m, a, D[r] - D[p], j, D[bq] - D[pk])
            _move(i, bq, slot, col, L, used, head, nxt, prv)
            _move(bk, r, slot, col, L, used, head, nxt, prv)
        else:
            _move(bk, bs, slot, col, L, used, head, nxt, prv)
            _move(i, bq, slot, col, L, used, head, nxt, prv)
    return total


@njit(cache=True, nogil=True)
def _busy_shift(
    busy: np.ndarray, s1: float, s2: float, m: int, a: int, da: float, j: int, dj: float
) -> tuple:
    """Apply busy-time changes to agents ``a`` and ``j``; the new running sums."""
    for x, dx in ((a, da), (j, dj)):
        if x < m:
            s1 += dx
            s2 += (busy[x] + dx) ** 2 - busy[x] ** 2
        busy[x] += dx
    return s1, s2
