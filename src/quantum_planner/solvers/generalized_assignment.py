"""Numba kernels for assignment problems (generalized-assignment type).

Each task's agent is one categorical variable ``assign[i]``; an extra virtual
agent (index ``m``) stands for "left undone" and is eligible only for optional
tasks. Two kernels:

* :func:`regret_greedy`: Martello-Toth style regret heuristic. Repeatedly
  assigns the task whose best and second-best *capacity-feasible* agents differ
  most. Top-two choices are cached and recomputed only for tasks whose cached
  choice just became full, so it runs in about O(n m + n^2).
* :func:`tabu_search`: shift and swap moves (a swap is the shortest ejection
  chain: task 1 ejects task 2, which moves into task 1's place) with a
  tabu list on (task, agent) pairs. Capacity is handled by an adaptive
  penalty (strategic oscillation): ``alpha * overflow`` is added to the
  objective, ``alpha`` grows while the current plan is infeasible and shrinks
  while it is feasible, so the search crosses the feasibility border from both
  sides. The best *feasible* plan is kept. The kernel runs a fixed number of
  iterations and keeps its state in arrays, so the caller can run it in chunks
  and check the clock and the stop event in between.

The score minimised is ``sum W[i, assign[i]] + beta * variance(busy)`` where
busy is each real agent's total duration (``balance_load``).

:func:`tabu_search` is one long numba kernel on purpose (one native loop over
moves and their deltas on shared scratch arrays); like the other kernel files
it is exempt from the ~80-line function rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["TabuState", "candidates", "regret_greedy", "score", "tabu_search"]


def candidates(priced: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` cheapest eligible agents of every task by ``priced`` (inf = ineligible)."""
    M = priced.shape[1]
    k = min(k, M)
    order = np.argsort(priced, axis=1, kind="stable")[:, :k]
    ok = np.isfinite(np.take_along_axis(priced, order, axis=1))
    return np.where(ok, order, -1).astype(np.int64)


@njit(cache=True)
def _variance(busy: np.ndarray, m: int) -> float:
    if m == 0:
        return 0.0
    s1 = 0.0
    s2 = 0.0
    for j in range(m):
        s1 += busy[j]
        s2 += busy[j] * busy[j]
    mean = s1 / m
    return s2 / m - mean * mean


@njit(cache=True)
def score(W: np.ndarray, D: np.ndarray, beta: float, assign: np.ndarray, m: int) -> float:
    """Objective of ``assign`` (ignores capacity)."""
    busy = np.zeros(m)
    total = 0.0
    for i in range(assign.shape[0]):
        a = assign[i]
        total += W[i, a]
        if a < m:
            busy[a] += D[i, a]
    if beta != 0.0:
        total += beta * _variance(busy, m)
    return total


@njit(cache=True)
def _top2(W: np.ndarray, L: np.ndarray, rem: np.ndarray, i: int) -> tuple[int, float, float]:
    best_j = -1
    b1 = np.inf
    b2 = np.inf
    for j in range(W.shape[1]):
        w = W[i, j]
        if w == np.inf or L[i, j] > rem[j] + 1e-9:
            continue
        if w < b1:
            b2 = b1
            b1 = w
            best_j = j
        elif w < b2:
            b2 = w
    return best_j, b1, b2


@njit(cache=True)
def _heap_push(key: np.ndarray, task: np.ndarray, size: int, k: float, i: int) -> int:
    """Push (k, i) on a max-heap of regrets (ties: lower task index first); the new size."""
    pos = size
    key[pos] = k
    task[pos] = i
    while pos > 0:
        up = (pos - 1) // 2
        if key[up] > key[pos] or (key[up] == key[pos] and task[up] < task[pos]):
            break
        key[up], key[pos] = key[pos], key[up]
        task[up], task[pos] = task[pos], task[up]
        pos = up
    return size + 1


@njit(cache=True)
def _heap_pop(key: np.ndarray, task: np.ndarray, size: int) -> int:
    """Remove the top of the heap (read it from ``key[0], task[0]`` first); the new size."""
    size -= 1
    key[0] = key[size]
    task[0] = task[size]
    pos = 0
    while True:
        top = pos
        for c in (2 * pos + 1, 2 * pos + 2):
            if c < size and (key[c] > key[top] or (key[c] == key[top] and task[c] < task[top])):
                top = c
        if top == pos:
            return size
        key[top], key[pos] = key[pos], key[top]
        task[top], task[pos] = task[pos], task[top]
        pos = top


@njit(cache=True)
def regret_greedy(W: np.ndarray, L: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Regret heuristic; tasks that fit nowhere go to the least-overloaded agent.

    Repeatedly assigns the task with the largest regret (second-best minus best
    weight among agents it still fits; ties: lower index) to its best agent.
    O((n m + nnz) log n): a lazy max-heap of regrets, and per agent its tasks
    by load descending, so when an agent's room shrinks only the tasks that no
    longer fit there are looked at (the plain scan was O(n^2): minutes at
    50,000 tasks).
    """
    n, M = W.shape
    rem = cap.copy()
    assign = np.full(n, -1, np.int64)
    best = np.full(n, -1, np.int64)
    second = np.full(n, np.inf)
    first = np.full(n, np.inf)
    # per agent: its eligible tasks by load, largest first; fit[j] = how many of them
    # no longer fit (rem only shrinks, so the pointer only moves forward)
    count = np.zeros(M + 1, np.int64)
    for i in range(n):
        for j in range(M):
            if W[i, j] != np.inf:
                count[j + 1] += 1
    start = np.cumsum(count)
    order = np.empty(start[M], np.int64)
    fill = start[:M].copy()
    for i in range(n):
        for j in range(M):
            if W[i, j] != np.inf:
                order[fill[j]] = i
                fill[j] += 1
    for j in range(M):
        seg = order[start[j] : start[j + 1]]
        loads = np.empty(seg.size)
        for k in range(seg.size):
            loads[k] = -L[seg[k], j]
        order[start[j] : start[j + 1]] = seg[np.argsort(loads, kind="mergesort")]
    lost = start[:M].copy()
    # every (re)computed regret is pushed; stale entries are skipped when popped
    hkey = np.empty(n + start[M] + 1)
    htask = np.empty(n + start[M] + 1, np.int64)
    size = 0
    regret = np.empty(n)
    for i in range(n):
        best[i], first[i], second[i] = _top2(W, L, rem, i)
        r = second[i] - first[i]
        regret[i] = 1e300 if r == np.inf else r
        if best[i] >= 0:
            size = _heap_push(hkey, htask, size, regret[i], i)
    while size > 0:
        k, pick = hkey[0], htask[0]
        size = _heap_pop(hkey, htask, size)
        if assign[pick] >= 0 or best[pick] < 0 or k != regret[pick]:
            continue  # assigned, fits nowhere, or a stale entry
        j = best[pick]
        assign[pick] = j
        rem[j] -= L[pick, j]
        # only tasks that no longer fit on j, and had j among their top two, change
        while lost[j] < start[j + 1] and L[order[lost[j]], j] > rem[j] + 1e-9:
            i = order[lost[j]]
            lost[j] += 1
            if assign[i] >= 0 or not (best[i] == j or W[i, j] <= second[i]):
                continue
            best[i], first[i], second[i] = _top2(W, L, rem, i)
            r = second[i] - first[i]
            regret[i] = 1e300 if r == np.inf else r
            if best[i] >= 0:
                size = _heap_push(hkey, htask, size, regret[i], i)
    for i in range(n):
        if assign[i] < 0:
            # nothing fits: least overflow among eligible agents (the search repairs it)
            bj = -1
            bo = np.inf
            for j in range(M):
                if W[i, j] == np.inf:
                    continue
                o = L[i, j] - rem[j]
                if o < bo:
                    bo = o
                    bj = j
            assign[i] = bj
            rem[bj] -= L[i, bj]
    return assign


class TabuState:
    """State of a tabu search carried between kernel calls (numpy arrays only)."""

    def __init__(
        self, W: np.ndarray, L: np.ndarray, D: np.ndarray, cap: np.ndarray, assign: np.ndarray
    ):
        n, M = W.shape
        self.assign = assign.astype(np.int64).copy()
        self.used = np.zeros(M)
        self.busy = np.zeros(M)
        for i in range(n):
            a = self.assign[i]
            self.used[a] += L[i, a]
            self.busy[a] += D[i, a]
        self.tabu = np.zeros((n, M), np.int64)
        # tasks of each agent (for swaps), kept in O(1) per move
        self.members = np.zeros((M, max(n, 1)), np.int64)
        self.cnt = np.zeros(M, np.int64)
        self.pos = np.zeros(n, np.int64)
        for i in range(n):
            a = self.assign[i]
            self.members[a, self.cnt[a]] = i
            self.pos[i] = self.cnt[a]
            self.cnt[a] += 1
        self.best = self.assign.copy()
        fin = W[np.isfinite(W)]
        spread = float(fin.max() - fin.min()) if fin.size else 1.0
        lpos = L[np.isfinite(W) & (L > 0)]
        mean_load = float(lpos.mean()) if lpos.size else 1.0
        # floats: [alpha, best_feasible_score, current_iteration, feasible_streak]
        self.f = np.array([max(spread, 1.0) / max(mean_load, 1e-9), np.inf, 0.0, 0.0])


@njit(cache=True, nogil=True)
def _mem_move(
    i: int, a: int, j: int, members: np.ndarray, cnt: np.ndarray, pos: np.ndarray
) -> None:
    """Move task ``i`` from agent ``a``'s member list to agent ``j``'s (O(1))."""
    k = pos[i]
    last = members[a, cnt[a] - 1]
    members[a, k] = last
    pos[last] = k
    cnt[a] -= 1
    members[j, cnt[j]] = i
    pos[i] = cnt[j]
    cnt[j] += 1


@njit(cache=True, nogil=True)
def _ov(u: float, c: float) -> float:
    return u - c if u > c else 0.0


@njit(cache=True, nogil=True)
def tabu_search(
    W: np.ndarray,
    L: np.ndarray,
    D: np.ndarray,
    cap: np.ndarray,
    beta: float,
    m: int,
    assign: np.ndarray,
    used: np.ndarray,
    busy: np.ndarray,
    tabu: np.ndarray,
    best: np.ndarray,
    f: np.ndarray,
    cand: np.ndarray,
    members: np.ndarray,
    cnt: np.ndarray,
    pos: np.ndarray,
    iters: int,
    swap_samples: int,
    seed: int,
) -> int:
    """Run ``iters`` tabu iterations in place; returns how many improved the best.

    Shift targets of task ``i`` are ``cand[i]`` (agents, cheapest first, -1 padded);
    a swap moves the sampled task only to one of its candidates, and exchanges it
    with any task there (``members``/``cnt``/``pos``: each agent's tasks).
    ``f`` holds ``[alpha, best_feasible_score, iteration, feasible_streak]``.
    Seeding happens only when ``seed >= 0`` (first chunk), so chunked runs
    continue one random stream.
    """
    if seed >= 0:
        np.random.seed(seed)
    n, M = W.shape
    alpha = f[0]
    best_score = f[1]
    it = int(f[2])
    streak = f[3]
    improved = 0
    cur = 0.0
    s1 = 0.0
    s2 = 0.0
    for i in range(n):
        cur += W[i, assign[i]]
    for j in range(m):
        s1 += busy[j]
        s2 += busy[j] * busy[j]
    tot_ov = 0.0
    for j in range(M):
        tot_ov += _ov(used[j], cap[j])
    var_now = (s2 / m - (s1 / m) ** 2) if m > 0 else 0.0
    tenure_base = 5 + int(np.sqrt(n) / 2)
    for _ in range(iters):
        it += 1
        bd = np.inf  # best penalised delta
        bk = 0  # 1 shift, 2 swap
        bi = -1
        bj = -1
        bi2 = -1
        bobj = 0.0
        bov = 0.0
        ties = 0
        # ---- shift moves
        for i in range(n):
            a = assign[i]
            wa = W[i, a]
            la = L[i, a]
            da = D[i, a]
            ov_a_new = _ov(used[a] - la, cap[a]) - _ov(used[a], cap[a])
            for c in range(cand.shape[1]):
                j = cand[i, c]
                if j < 0:
                    break
                wj = W[i, j]
                if j == a or wj == np.inf:
                    continue
                dov = ov_a_new + _ov(used[j] + L[i, j], cap[j]) - _ov(used[j], cap[j])
                dobj = wj - wa
                if beta != 0.0:
                    t1 = s1
                    t2 = s2
                    if a < m:
                        t1 -= da
                        t2 += (busy[a] - da) ** 2 - busy[a] ** 2
                    if j < m:
                        t1 += D[i, j]
                        t2 += (busy[j] + D[i, j]) ** 2 - busy[j] ** 2
                    dobj += beta * ((t2 / m - (t1 / m) ** 2) - var_now)
                d = dobj + alpha * dov
                # tabu unless it gives a new best feasible plan (aspiration)
                aspire = tot_ov + dov <= 1e-9 and cur + beta * var_now + dobj < best_score - 1e-9
                if tabu[i, j] > it and not aspire:
                    continue
                if d < bd - 1e-12:
                    bd = d
                    ties = 1
                    bk, bi, bj, bobj, bov = 1, i, j, dobj, dov
                elif d <= bd + 1e-12:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bk, bi, bj, bobj, bov = 1, i, j, dobj, dov
        # ---- swap moves (sampled first task, every second task)
        for _s in range(swap_samples):
            i1 = np.random.randint(n)
            a1 = assign[i1]
            for c2 in range(cand.shape[1]):
                a2 = cand[i1, c2]
                if a2 < 0:
                    break
                if a2 == a1 or tabu[i1, a2] > it:
                    continue
                for q2 in range(cnt[a2]):
                    i2 = members[a2, q2]
                    if W[i2, a1] == np.inf or tabu[i2, a1] > it:
                        continue
                    u1 = used[a1] - L[i1, a1] + L[i2, a1]
                    u2 = used[a2] - L[i2, a2] + L[i1, a2]
                    dov = (
                        _ov(u1, cap[a1])
                        - _ov(used[a1], cap[a1])
                        + _ov(u2, cap[a2])
                        - _ov(used[a2], cap[a2])
                    )
                    dobj = W[i1, a2] + W[i2, a1] - W[i1, a1] - W[i2, a2]
                    if beta != 0.0:
                        t1 = s1
                        t2 = s2
                        if a1 < m:
                            nb = busy[a1] - D[i1, a1] + D[i2, a1]
                            t1 += nb - busy[a1]
                            t2 += nb * nb - busy[a1] ** 2
                        if a2 < m:
                            nb = busy[a2] - D[i2, a2] + D[i1, a2]
                            t1 += nb - busy[a2]
                            t2 += nb * nb - busy[a2] ** 2
                        dobj += beta * ((t2 / m - (t1 / m) ** 2) - var_now)
                    d = dobj + alpha * dov
                    if d < bd - 1e-12:
                        bd = d
                        ties = 1
                        bk, bi, bj, bi2, bobj, bov = 2, i1, a2, i2, dobj, dov
        if bk == 0:
            break
        # ---- apply
        if bk == 1:
            i = bi
            a = assign[i]
            j = bj
            used[a] -= L[i, a]
            used[j] += L[i, j]
            if a < m:
                s1 -= D[i, a]
                s2 += (busy[a] - D[i, a]) ** 2 - busy[a] ** 2
            if j < m:
                s1 += D[i, j]
                s2 += (busy[j] + D[i, j]) ** 2 - busy[j] ** 2
            busy[a] -= D[i, a]
            busy[j] += D[i, j]
            assign[i] = j
            _mem_move(i, a, j, members, cnt, pos)
            cur += W[i, j] - W[i, a]
            tabu[i, a] = it + tenure_base + np.random.randint(tenure_base + 1)
        else:
            i1 = bi
            i2 = bi2
            a1 = assign[i1]
            a2 = assign[i2]
            used[a1] += L[i2, a1] - L[i1, a1]
            used[a2] += L[i1, a2] - L[i2, a2]
            for a, dn in ((a1, D[i2, a1] - D[i1, a1]), (a2, D[i1, a2] - D[i2, a2])):
                if a < m:
                    s1 += dn
                    s2 += (busy[a] + dn) ** 2 - busy[a] ** 2
                busy[a] += dn
            cur += W[i1, a2] + W[i2, a1] - W[i1, a1] - W[i2, a2]
            assign[i1] = a2
            assign[i2] = a1
            _mem_move(i1, a1, a2, members, cnt, pos)
            _mem_move(i2, a2, a1, members, cnt, pos)
            tabu[i1, a1] = it + tenure_base + np.random.randint(tenure_base + 1)
            tabu[i2, a2] = it + tenure_base + np.random.randint(tenure_base + 1)
        tot_ov += bov
        var_now = (s2 / m - (s1 / m) ** 2) if m > 0 else 0.0
        # float drift in tot_ov: recompute when near zero
        if tot_ov < 1e-6:
            tot_ov = 0.0
            for j in range(M):
                tot_ov += _ov(used[j], cap[j])
        feasible = tot_ov <= 1e-9
        if feasible:
            val = cur + beta * var_now
            if val < best_score - 1e-9:
                best_score = val
                best[:] = assign
                improved += 1
            streak = streak + 1 if streak >= 0 else 1
            if streak > 2 and alpha > 1e-6:
                alpha /= 1.05
        else:
            streak = streak - 1 if streak <= 0 else -1
            if streak < -2 and alpha < 1e12:
                alpha *= 1.05
        _ = bobj
    f[0] = alpha
    f[1] = best_score
    f[2] = it
    f[3] = streak
    return improved
