"""Numba kernels shared by the samplers (compiled once, cached on disk).

Conventions: spins are int8 in {-1, +1}; the model is an Ising CSR
(``h, indptr, indices, data``, see ``_csr.py``); ``field[i] = h_i + sum_j J_ij s_j``
is kept up to date as spins flip, so one flip attempt costs O(1) and an accepted
flip O(degree). Every read has its own xorshift64 generator seeded from the
sampler seed and the read's index, so results do not depend on how many
threads run. ``deadline_ns`` is an absolute ``CLOCK_MONOTONIC`` time in
nanoseconds (0 means none) that the kernels check every ``check_every``
sweeps, so a time limit is honoured in the middle of a read too.

Why one file over the project's ~500-line module size: the kernels share inlined
helpers (generators, field updates, acceptance tables) that numba compiles into
each caller, and its on-disk cache is keyed by this file; splitting it would
duplicate those helpers or make every kernel depend on several cache entries. Long
kernels keep their hot loops in one function so the compiler sees each loop whole.
"""

from __future__ import annotations

import math
import time

import numba as nb
import numpy as np
from numba import prange, types

# clock_gettime is resolved by symbol name at link time, so the cached machine
# code stays valid across processes (a ctypes pointer would not).
_clock_gettime = types.ExternalFunction("clock_gettime", types.int32(types.int32, types.voidptr))
CLOCK_ID = int(getattr(time, "CLOCK_MONOTONIC", 1))

# Metropolis acceptance exp(-y) is read from a table of y in [0, ACCEPT_YMAX)
# with ACCEPT_BINS bins per unit (bin midpoints; relative error <= 0.4%); beyond
# ACCEPT_YMAX the probability (< 2e-9) is taken as 0. Thresholds are compared
# with the top 32 bits of a xorshift draw, so no exp/log/float draw per attempt.
ACCEPT_BINS = 128
ACCEPT_YMAX = 20

_U13 = np.uint64(13)
_U7 = np.uint64(7)
_U17 = np.uint64(17)
_U32 = np.uint64(32)
_U11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


def now_ns() -> int:
    """Python-side clock matching the kernels' (CLOCK_MONOTONIC nanoseconds)."""
    return time.clock_gettime_ns(CLOCK_ID)


def read_seeds(seed: int, num_reads: int) -> np.ndarray:
    """One nonzero 64-bit xorshift state per read (splitmix64 of seed and index)."""
    mask = (1 << 64) - 1
    out = np.empty(num_reads, dtype=np.uint64)
    for r in range(num_reads):
        z = (seed * 0x9E3779B97F4A7C15 + (r + 1) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[r] = z or 0x2545F4914F6CDD1D
    return out


@nb.njit(cache=True, inline="always")
def _xs(x):
    x ^= x << _U13
    x ^= x >> _U7
    x ^= x << _U17
    return x


@nb.njit(cache=True, inline="always")
def _uniform(x):
    return float(x >> _U11) * _INV53


@nb.njit(cache=True)
def _clock(buf, clock_id):
    _clock_gettime(clock_id, buf.ctypes.data)
    return buf[0] * 1000000000 + buf[1]


@nb.njit(cache=True)
def clock_ns(clock_id):
    """Kernel clock, exposed for tests."""
    return _clock(np.zeros(2, np.int64), clock_id)


@nb.njit(cache=True)
def _fields(h, indptr, indices, data, s, field):
    for i in range(h.shape[0]):
        acc = h[i]
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * s[indices[p]]
        field[i] = acc


@nb.njit(cache=True, inline="always")
def _energy(h, s, field):
    """Ising energy (offset excluded) from up-to-date local fields: each
    coupling is counted in two fields, hence half of sum s_i (h_i + f_i).
    2E is even for integer models, so the result is exact there."""
    e = 0.0
    for i in range(s.shape[0]):
        e += s[i] * (h[i] + field[i])
    return 0.5 * e


@nb.njit(cache=True, inline="always")
def _flip(indptr, indices, data, s, field, i):
    si = s[i]
    s[i] = -si
    c = 2.0 * si
    for p in range(indptr[i], indptr[i + 1]):
        field[indices[p]] -= c * data[p]


@nb.njit(cache=True, fastmath=True)
def _descend(indptr, indices, data, s, field, max_sweeps):
    """Greedy single-flip descent to a local minimum; returns the energy change."""
    n = s.shape[0]
    de_total = 0.0
    for _ in range(max_sweeps):
        moved = False
        for i in range(n):
            de = -2.0 * s[i] * field[i]
            if de < 0.0:
                de_total += de
                _flip(indptr, indices, data, s, field, i)
                moved = True
        if not moved:
            break
    return de_total


@nb.njit(cache=True, fastmath=True)
def _metropolis_sweep(indptr, indices, data, s, field, bscaled, x, table):
    """One sweep in fixed order at scaled inverse temperature ``bscaled``.

    ``bscaled`` is beta * ACCEPT_BINS. Returns (energy change, rng state).
    """
    n = s.shape[0]
    tn = table.shape[0]
    de_total = 0.0
    for i in range(n):
        si = s[i]
        de = -2.0 * si * field[i]
        if de > 0.0:
            y = de * bscaled
            if y >= tn:
                continue
            x = _xs(x)
            if (x >> _U32) >= table[np.uint32(y)]:
                continue
        de_total += de
        s[i] = -si
        c = 2.0 * si
        for p in range(indptr[i], indptr[i + 1]):
            field[indices[p]] -= c * data[p]
    return de_total, x


# --- simulated annealing -----------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _stage_beta(kind, schedule, k, num_betas):
    """Scaled beta of stage ``k``: kind 0 reads ``schedule``; 1 geometric and
    2 linear interpolate between schedule[0] and schedule[1] (no big arrays)."""
    if kind == 0:
        return schedule[k]
    if num_betas == 1:
        return schedule[1]
    return _beta_at(kind, schedule, k / (num_betas - 1))


@nb.njit(cache=True, inline="always")
def _beta_at(kind, schedule, frac):
    """Beta at fraction ``frac`` in [0, 1] of a geometric (1) or linear (2) anneal."""
    if kind == 1:
        return schedule[0] * (schedule[1] / schedule[0]) ** frac
    return schedule[0] + (schedule[1] - schedule[0]) * frac


@nb.njit(cache=True, inline="always")
def _fit_window(window, t0, deadline):
    """A read's time window, shrunk to end inside the call's deadline: a
    thread that starts late (its core busy) must still reach the cold end of
    its schedule, not be cut at a hot temperature by the deadline."""
    if deadline > 0:
        left = int(0.95 * (deadline - t0))
        if left < window:
            return max(left, 1)
    return window


@nb.njit(cache=True)
def _anneal_one(
    indptr, indices, data, s, field, kind, schedule, num_betas, sweeps_per_beta, x, table,
    deadline, check, buf, cid, window,
):  # fmt: skip
    sweeps = 0
    since = 0
    if window > 0:  # time-driven schedule (see anneal_int)
        t0 = _clock(buf, cid)
        window = _fit_window(window, t0, deadline)
        while True:
            now = _clock(buf, cid)
            if deadline > 0 and now >= deadline:
                return sweeps, True
            frac = (now - t0) / window
            if frac >= 1.0:
                return sweeps, False
            bs = _beta_at(kind, schedule, frac)
            for _ in range(check):
                _, x = _metropolis_sweep(indptr, indices, data, s, field, bs, x, table)
            sweeps += check
    for b in range(num_betas):
        bs = _stage_beta(kind, schedule, b, num_betas)
        for _ in range(sweeps_per_beta):
            _, x = _metropolis_sweep(indptr, indices, data, s, field, bs, x, table)
            sweeps += 1
            since += 1
            if deadline > 0 and since >= check:
                since = 0
                if _clock(buf, cid) >= deadline:
                    return sweeps, True
    return sweeps, False


@nb.njit(cache=True, parallel=True)
def anneal(
    h, indptr, indices, data, states, kind, schedule, num_betas, sweeps_per_beta, seeds,
    deadline, check, cid, window=0,
):  # fmt: skip
    """Simulated annealing of every row of ``states`` (in place).

    The schedule is ``num_betas`` stages of ``sweeps_per_beta`` sweeps; betas
    are scaled by ACCEPT_BINS (see :func:`_stage_beta` for ``kind``). Returns
    per read the sweeps done and whether the deadline cut it short (a cut read
    is finished by a greedy descent so it is a local minimum; so is every
    read of a geometric or linear schedule, ``kind`` 1 or 2). With
    ``window > 0`` (nanoseconds) the schedule runs on the clock instead: each
    read anneals for ``window`` ns from its own start, beta following the
    geometric/linear curve by elapsed time (``num_betas`` is then unused).
    """
    nreads, n = states.shape
    sweeps = np.zeros(nreads, np.int64)
    cut = np.zeros(nreads, np.bool_)
    table = _accept_table()
    for r in prange(nreads):
        s = states[r]
        field = np.empty(n)
        buf = np.zeros(2, np.int64)
        _fields(h, indptr, indices, data, s, field)
        if deadline > 0 and _clock(buf, cid) >= deadline:
            cut[r] = True
        else:
            sw, c = _anneal_one(
                indptr, indices, data, s, field, kind, schedule, num_betas, sweeps_per_beta,
                seeds[r], table, deadline, check, buf, cid, window,
            )  # fmt: skip
            sweeps[r] = sw
            cut[r] = c
        if cut[r] or window > 0 or kind != 0:
            _descend(indptr, indices, data, s, field, 1000)
    return sweeps, cut


# --- simulated annealing, integer models --------------------------------------------
#
# When every bias is an integer and the largest possible |local field| F is
# small (Gset: weights +-1, F = max degree), fields are int32 and a flip costs
# -2 s_i f_i, an even integer. Per temperature the acceptance thresholds
# thr[d] = exp(-2 beta d) * 2**32 for an uphill cost 2d, d = 1..F, are computed
# once (thr[0] = 2**32: downhill and level moves always pass), so an attempt is
# integer work with no exp and no float: one xorshift draw, a table load, a
# compare. Two variants of the sweep make the same decisions from the same
# draws (so the same trajectory): one runs the neighbour update for every
# attempt, scaled by the 0/1 outcome (no branch to mispredict), the other
# skips it for a rejected attempt. The first is cheaper while many flips are
# accepted (hot), the second once few are (cold); each sweep takes the
# variant the previous sweep's acceptance rate favours, the switch point
# growing with the degree (a longer update is worth skipping sooner).


def update_above(mean_degree: float) -> float:
    """Acceptance rate above which a sweep runs the branch-free update.

    Fitted on Gset (single thread, mean degree 5 to 48): the best switch
    points were ~0.1 at degree 5, ~0.3-0.4 at 12-20 and ~0.5 at 48.
    """
    return mean_degree / (mean_degree + 30.0)


@nb.njit(cache=True, inline="always")
def _int_thresholds(thr, beta):
    """thr[0] = 2**32; thr[d] = floor(exp(-2 beta d) * 2**32) for d >= 1."""
    thr[0] = np.uint64(4294967296)
    for d in range(1, thr.shape[0]):
        y = 2.0 * beta * d
        # beyond y = 23 the probability (< 1e-10) rounds to "never"
        thr[d] = np.uint64(math.floor(math.exp(-y) * 4294967296.0)) if y < 23.0 else np.uint64(0)


@nb.njit(cache=True, fastmath=True, boundscheck=False)
def _metropolis_sweep_int(indptr, indices, data, s, field, thr, x, always_update):
    """One fixed-order sweep of an integer model with thresholds ``thr``.

    With ``always_update`` the neighbour update runs for rejected attempts
    too (scaled by 0), else it is skipped. Returns (accepted flips, 0, rng
    state): annealing needs no energy, and not tracking it keeps the loop short.
    """
    if always_update:
        return _sweep_int_always(indptr, indices, data, s, field, thr, x, False)
    return _sweep_int_skip(indptr, indices, data, s, field, thr, x, False)


@nb.njit(cache=True, fastmath=True, boundscheck=False)
def _metropolis_sweep_int_de(indptr, indices, data, s, field, thr, x, always_update):
    """:func:`_metropolis_sweep_int` returning the sweep's energy change as
    well (for tempering's swaps): (accepted flips, energy change, rng state)."""
    if always_update:
        return _sweep_int_always(indptr, indices, data, s, field, thr, x, True)
    return _sweep_int_skip(indptr, indices, data, s, field, thr, x, True)


@nb.njit(cache=True, inline="always")
def _attempt_int(s, field, thr, x, i):
    """Metropolis decision for spin ``i``: (s_i, 1 if accepted else 0, rng state)."""
    si = np.int32(s[i])
    g = si * field[i]  # the flip costs -2 g
    k = -g if g < 0 else 0
    x = _xs(x)
    return si, np.int32((x >> _U32) < thr[np.uint32(k)]), x


@nb.njit(cache=True, fastmath=True, boundscheck=False, inline="always")
def _sweep_int_always(indptr, indices, data, s, field, thr, x, track):
    accepted = 0
    de = 0
    for i in range(s.shape[0]):
        si, ok, x = _attempt_int(s, field, thr, x, i)
        accepted += ok
        c = 2 * si * ok  # 2 s_i if accepted, else 0
        if track:  # a constant once inlined: no cost for annealing
            de -= c * field[i]  # a flip costs -2 s_i f_i
        s[i] = np.int8(si - c)
        for p in range(indptr[i], indptr[i + 1]):
            field[indices[p]] -= c * data[p]
    return accepted, de, x


@nb.njit(cache=True, fastmath=True, boundscheck=False, inline="always")
def _sweep_int_skip(indptr, indices, data, s, field, thr, x, track):
    accepted = 0
    de = 0
    for i in range(s.shape[0]):
        si, ok, x = _attempt_int(s, field, thr, x, i)
        if ok == 0:
            continue
        accepted += 1
        c = 2 * si
        if track:
            de -= c * field[i]
        s[i] = np.int8(-si)
        for p in range(indptr[i], indptr[i + 1]):
            field[indices[p]] -= c * data[p]
    return accepted, de, x


@nb.njit(cache=True, parallel=True, boundscheck=False)
def anneal_int(
    h, indptr, indices, data, states, kind, schedule, num_betas, sweeps_per_beta, seeds,
    deadline, check, cid, fmax, update_above, window=0,
):  # fmt: skip
    """:func:`anneal` for integer ``h``/``data`` (int32) with |field| <= ``fmax``.

    ``schedule`` holds unscaled betas; ``update_above`` is the acceptance
    rate above which a sweep takes the branch-free update
    (:func:`update_above`). Same results contract as :func:`anneal` (``window`` too).
    """
    nreads, n = states.shape
    sweeps = np.zeros(nreads, np.int64)
    cut = np.zeros(nreads, np.bool_)
    for r in prange(nreads):
        s = states[r]
        field = np.empty(n, np.int32)
        thr = np.zeros(fmax + 1, np.uint64)
        buf = np.zeros(2, np.int64)
        _fields(h, indptr, indices, data, s, field)
        x = seeds[r]
        done = 0
        since = 0
        acc = n  # accepted flips of the last sweep: picks the update variant
        limit = update_above * n
        stop = deadline > 0 and _clock(buf, cid) >= deadline
        if not stop and window > 0:
            # time-driven: beta follows the schedule by elapsed fraction of the
            # window, updated every ``check`` sweeps (~0.5 ms), so the anneal
            # ends at the cold end when the window closes whatever the load
            t0 = _clock(buf, cid)
            w = _fit_window(window, t0, deadline)
            while True:
                now = _clock(buf, cid)
                if deadline > 0 and now >= deadline:
                    stop = True
                    break
                frac = (now - t0) / w
                if frac >= 1.0:
                    break
                _int_thresholds(thr, _beta_at(kind, schedule, frac))
                for _ in range(check):
                    acc, _de, x = _metropolis_sweep_int(
                        indptr, indices, data, s, field, thr, x, acc > limit
                    )
                done += check
        elif not stop:
            for b in range(num_betas):
                _int_thresholds(thr, _stage_beta(kind, schedule, b, num_betas))
                for _ in range(sweeps_per_beta):
                    acc, _de, x = _metropolis_sweep_int(
                        indptr, indices, data, s, field, thr, x, acc > limit
                    )
                    done += 1
                    since += 1
                    if deadline > 0 and since >= check:
                        since = 0
                        if _clock(buf, cid) >= deadline:
                            stop = True
                            break
                if stop:
                    break
        sweeps[r] = done
        cut[r] = stop
        if stop or window > 0 or kind != 0:
            _descend(indptr, indices, data, s, field, 1000)
    return sweeps, cut


@nb.njit(cache=True)
def _accept_table():
    out = np.empty(ACCEPT_YMAX * ACCEPT_BINS, np.uint64)
    for k in range(out.shape[0]):
        out[k] = np.uint64(math.floor(math.exp(-(k + 0.5) / ACCEPT_BINS) * 4294967296.0))
    return out


# --- parallel tempering -------------------------------------------------------------


@nb.njit(cache=True)
def _adapt_ladder(betas, accept, tries):
    """Respace the inner betas so adjacent swap acceptance evens out.

    Intervals where swaps are accepted often widen, those where they are
    rejected shrink; both ends stay fixed.
    """
    m = betas.shape[0]
    if m < 3:
        return
    gaps = np.empty(m - 1)
    mean = 0.0
    for k in range(m - 1):
        a = accept[k] / max(tries[k], 1.0)
        gaps[k] = a
        mean += a
    mean /= m - 1
    total = 0.0
    for k in range(m - 1):
        w = (betas[k + 1] - betas[k]) * math.sqrt((gaps[k] + 0.02) / (mean + 0.02))
        gaps[k] = w
        total += w
    span = betas[m - 1] - betas[0]
    for k in range(m - 2):
        betas[k + 1] = betas[k] + gaps[k] * span / total


@nb.njit(cache=True, inline="always")
def _exchange(betas, energy, slot, accept, tries, x):
    """Replica exchange between neighbouring temperatures (``slot[k]`` is the
    replica at temperature k); returns the rng state."""
    for k in range(betas.shape[0] - 1):
        a = slot[k]
        b = slot[k + 1]
        arg = (betas[k + 1] - betas[k]) * (energy[b] - energy[a])
        tries[k] += 1.0
        ok = arg >= 0.0
        if not ok:
            x = _xs(x)
            ok = _uniform(x) < math.exp(arg)
        if ok:
            slot[k] = b
            slot[k + 1] = a
            accept[k] += 1.0
    return x


@nb.njit(cache=True, inline="always")
def _keep_best(spins, energy, slot, best, best_e):
    """Copy a replica below ``best_e`` into ``best``; returns the best energy."""
    for k in range(slot.shape[0] - 1, -1, -1):  # the coldest replica usually holds it
        rep = slot[k]
        if energy[rep] < best_e - 1e-9 * (1.0 + abs(best_e)):
            best_e = energy[rep]
            for i in range(best.shape[0]):
                best[i] = spins[rep, i]
    return best_e


@nb.njit(cache=True)
def _init_replicas(h, indptr, indices, data, init, spins, fields, energy, best, x):
    """Replica 0 starts at ``init`` (also the first ``best``), the others at
    random states; fills their fields and energies. Returns the rng state."""
    m, n = spins.shape
    for k in range(m):
        for i in range(n):
            spins[k, i] = init[i]
        if k > 0:
            for i in range(n):
                x = _xs(x)
                spins[k, i] = 1 if (x >> np.uint64(63)) else -1
        _fields(h, indptr, indices, data, spins[k], fields[k])
        energy[k] = _energy(h, spins[k], fields[k])
    for i in range(n):
        best[i] = spins[0, i]
    return x


@nb.njit(cache=True)
def _report_ladder(betas, accept, tries, ladder_out, accept_out):
    for k in range(betas.shape[0]):
        ladder_out[k] = betas[k]
    for k in range(betas.shape[0] - 1):
        accept_out[k] = accept[k] / max(tries[k], 1.0)


@nb.njit(cache=True, inline="always")
def _tick(done, since, check, deadline, window, t0, adapt_ns, adapt_rounds, adapting, buf, cid):
    """Loop control after a tempering round: (stop, cut short, since, adapting).

    The clock is read once ``since`` reaches ``check`` sweeps. With ``window``
    (ns) the run ends ``window`` after ``t0`` and adapts during ``adapt_ns``;
    without, the caller stops after its rounds and adapts during ``adapt_rounds``.
    """
    if since >= check and (window > 0 or deadline > 0):
        since = 0
        now = _clock(buf, cid)
        if deadline > 0 and now >= deadline:
            return True, True, since, adapting
        if window > 0:
            if now - t0 >= window:
                return True, False, since, adapting
            adapting = now - t0 < adapt_ns
    if window == 0:
        adapting = done <= adapt_rounds
    return False, False, since, adapting


@nb.njit(cache=True, fastmath=True, boundscheck=False)
def _houdayer(indptr, indices, data, a, b, fa, fb, mark, stamp, stack, x, tries):
    """One Houdayer (isoenergetic) cluster move between replicas ``a`` and ``b``
    at the same temperature: pick a site where they differ, grow the connected
    cluster of differing sites and flip it in both, which swaps that region
    between them. Their summed energy is unchanged (every bond leaving the
    cluster ends on a site where they agree), so the move needs no
    acceptance test. Returns (energy change of ``a``, of ``b``, cluster
    size, rng state); size 0 when ``tries`` random sites all agreed.
    ``mark``/``stamp`` give visited flags without clearing an n-array."""
    n = a.shape[0]
    seed_site = -1
    for _ in range(tries):
        x = _xs(x)
        i = np.int64((x >> _U11) % np.uint64(n))
        if a[i] != b[i]:
            seed_site = i
            break
    if seed_site < 0:
        return 0.0, 0.0, 0, x
    mark[seed_site] = stamp
    stack[0] = seed_site
    top = 1
    size = 0
    dea = 0.0
    deb = 0.0
    while top > 0:
        top -= 1
        i = stack[top]
        size += 1
        # flip i in both replicas, fields follow (neighbours flipped later see it)
        sa = a[i]
        dea -= 2.0 * sa * fa[i]
        deb -= 2.0 * (-sa) * fb[i]  # b[i] == -a[i] on the cluster
        a[i] = -sa
        b[i] = sa
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            fa[j] -= 2 * sa * data[p]
            fb[j] += 2 * sa * data[p]
            if mark[j] != stamp and a[j] != b[j]:
                mark[j] = stamp
                stack[top] = j
                top += 1
    return dea, deb, size, x


@nb.njit(cache=True, boundscheck=False)
def _align(a, b, fb):
    """Without linear biases E(s) = E(-s): flip ``b`` whole (its fields
    change sign, its energy does not) when it differs from ``a`` on more than
    half the sites, so a cluster move sees the smaller difference."""
    n = a.shape[0]
    differ = 0
    for i in range(n):
        differ += a[i] != b[i]
    if 2 * differ > n:
        for i in range(n):
            b[i] = -b[i]
            fb[i] = -fb[i]


@nb.njit(cache=True, boundscheck=False)
def _temper_one(
    h, indptr, indices, data, init, betas, rounds, adapt_rounds, adapt_every, x, deadline,
    check, cid, best, ladder_out, accept_out, window, adapt_ns, fields, table, thr, limit,
    pairs, icm_k, stats, symmetric,
):  # fmt: skip
    """One read's ladder (coldest first). ``fields`` (pairs * replicas x n) is
    float for the float kernel (acceptance ``table``) or int32 for the
    integer one, which ``thr`` (replicas x (F + 1) thresholds) selects; the
    float kernel passes a replicas x 0 ``thr``. With ``pairs == 2`` two
    ladders run side by side, each swapping within itself, and after every
    round the ``icm_k`` coldest temperatures get one Houdayer cluster move
    between the two replicas they hold (``stats``: moves made, summed cluster
    sizes, moves tried); with ``symmetric`` (no linear biases) the second
    replica is first flipped whole when that leaves fewer differing sites."""
    m = betas.shape[0]
    n = init.shape[0]
    integer = thr.shape[1] > 0
    spins = np.empty((pairs * m, n), np.int8)
    energy = np.zeros(pairs * m)  # exact for integer models (|E| < 2**53)
    x = _init_replicas(h, indptr, indices, data, init, spins, fields, energy, best, x)
    slot = np.empty((pairs, m), np.int64)  # slot[l, k] = replica of ladder l at temperature k
    for ell in range(pairs):
        for k in range(m):
            slot[ell, k] = ell * m + k
    acc = np.full((pairs, m), n, np.int64)  # last sweep's accepted flips (integer kernel)
    bs = betas * ACCEPT_BINS
    if integer:
        for k in range(m):
            _int_thresholds(thr[k], betas[k])
    accept = np.zeros(max(m - 1, 1))
    tries = np.zeros(max(m - 1, 1))
    best_e = energy[0]
    mark = np.zeros(n if pairs > 1 else 0, np.int64)
    stack = np.empty(n if pairs > 1 else 0, np.int64)
    buf = np.zeros(2, np.int64)
    t0 = _clock(buf, cid) if (window > 0 or deadline > 0) else 0
    if window > 0:
        fitted = _fit_window(window, t0, deadline)
        adapt_ns = adapt_ns * fitted // window  # the same share of a shorter window
        window = fitted
    done = 0
    since = 0
    cut = False
    adapting = adapt_rounds > 0 or (window > 0 and adapt_ns > 0)
    while window > 0 or done < rounds:
        for ell in range(pairs):
            for k in range(m):
                rep = slot[ell, k]
                if integer:
                    a, de, x = _metropolis_sweep_int_de(
                        indptr, indices, data, spins[rep], fields[rep], thr[k], x,
                        acc[ell, k] > limit,
                    )  # fmt: skip
                    acc[ell, k] = a
                else:
                    de, x = _metropolis_sweep(
                        indptr, indices, data, spins[rep], fields[rep], bs[k], x, table
                    )
                energy[rep] += de
            x = _exchange(betas, energy, slot[ell], accept, tries, x)
        if pairs > 1:
            for k in range(min(icm_k, m)):
                ra = slot[0, k]
                rb = slot[1, k]
                if symmetric:
                    _align(spins[ra], spins[rb], fields[rb])
                stats[2] += 1  # a fresh visited stamp
                dea, deb, size, x = _houdayer(
                    indptr, indices, data, spins[ra], spins[rb], fields[ra], fields[rb],
                    mark, stats[2], stack, x, 64,
                )  # fmt: skip
                energy[ra] += dea
                energy[rb] += deb
                stats[0] += size > 0
                stats[1] += size
        for ell in range(pairs):
            best_e = _keep_best(spins, energy, slot[ell], best, best_e)
        done += 1
        since += pairs * m
        stop, cut, since, adapting = _tick(
            done, since, check, deadline, window, t0, adapt_ns, adapt_rounds, adapting, buf, cid
        )
        if stop:
            break
        if adapting and done % adapt_every == 0:
            _adapt_ladder(betas, accept, tries)
            bs = betas * ACCEPT_BINS
            if integer:
                for k in range(m):
                    _int_thresholds(thr[k], betas[k])
            accept[:] = 0.0
            tries[:] = 0.0
    _report_ladder(betas, accept, tries, ladder_out, accept_out)
    return done, cut


@nb.njit(cache=True, parallel=True)
def temper(
    h, indptr, indices, data, states, betas0, rounds, adapt_rounds, adapt_every, seeds, deadline,
    check, cid, window=0, adapt_ns=0, fmax=-1, limit=0.0, pairs=1, icm_k=0, symmetric=False,
):  # fmt: skip
    """Replica-exchange Monte Carlo, one independent ladder per read.

    ``states[r]`` seeds the coldest replica of read ``r`` and receives the
    lowest-energy state that read saw (after a greedy descent). With
    ``fmax >= 0``, ``h``/``data`` are int32 with |field| <= ``fmax`` and the
    integer kernel runs (int32 fields, one threshold table per ladder
    position, recomputed when the ladder adapts; ``limit`` is the accepted
    flip count above which a sweep takes the branch-free update, see
    :func:`update_above`). With ``window > 0`` (ns) each read runs rounds
    for ``window`` ns from its own start instead of ``rounds`` rounds,
    adapting the ladder during its first ``adapt_ns`` ns. With ``pairs == 2``
    each read runs two ladders joined by Houdayer cluster moves at its
    ``icm_k`` coldest temperatures (see :func:`_temper_one`).
    """
    nreads, n = states.shape
    m = betas0.shape[0]
    table = _accept_table()
    done = np.zeros(nreads, np.int64)
    cut = np.zeros(nreads, np.bool_)
    ladders = np.zeros((nreads, m))
    accepts = np.zeros((nreads, max(m - 1, 1)))
    icm = np.zeros((nreads, 3), np.int64)  # cluster moves made, summed sizes, tried
    for r in prange(nreads):
        # one ladder per read, coldest first so replica 0 starts at the warm start
        betas = betas0[::-1].copy()
        best = np.empty(n, np.int8)
        fields = np.empty((pairs * m, n), h.dtype)
        thr = np.zeros((m, fmax + 1 if fmax >= 0 else 0), np.uint64)
        d, c = _temper_one(
            h, indptr, indices, data, states[r].copy(), betas, rounds, adapt_rounds,
            adapt_every, seeds[r], deadline, check, cid, best, ladders[r], accepts[r], window,
            adapt_ns, fields, table, thr, limit, pairs, icm_k, icm[r], symmetric,
        )  # fmt: skip
        done[r] = d
        cut[r] = c
        field = np.empty(n, h.dtype)
        _fields(h, indptr, indices, data, best, field)
        _descend(indptr, indices, data, best, field, 1000)
        for i in range(n):
            states[r, i] = best[i]
    return done, cut, ladders, accepts, icm


# --- population annealing -----------------------------------------------------------
#
# A population of replicas anneals together; at each temperature step every
# replica is reweighted by exp(-dbeta E) and the population is resampled
# (systematic resampling, in place: a replica drawn k times keeps its slot and
# overwrites k - 1 slots of replicas drawn 0 times). Each slot keeps its own
# random stream, so copies of one state diverge at once and the result does
# not depend on the number of threads.


@nb.njit(cache=True, inline="always")
def _copy_replica(spins, fields, energy, acc, src, dst):
    spins[dst] = spins[src]
    fields[dst] = fields[src]
    energy[dst] = energy[src]
    acc[dst] = acc[src]


@nb.njit(cache=True)
def _resample(spins, fields, energy, acc, dbeta, x, counts, dead):
    """Resample the population by weights exp(-dbeta E); returns the rng state."""
    m = energy.shape[0]
    emin = energy.min()
    w = np.exp(-dbeta * (energy - emin))
    scale = m / w.sum()
    x = _xs(x)
    pos = _uniform(x)
    c = 0.0
    for r in range(m):
        c += w[r] * scale
        k = 0
        while pos < c:
            k += 1
            pos += 1.0
        counts[r] = k
    nd = 0
    for r in range(m):
        if counts[r] == 0:
            dead[nd] = r
            nd += 1
    j = 0
    best = np.argmin(energy)
    for r in range(m):
        for _ in range(counts[r] - 1):
            if j == nd:  # rounding gave one copy too many
                break
            _copy_replica(spins, fields, energy, acc, r, dead[j])
            j += 1
    while j < nd:  # rounding gave one copy too few: the lowest energy fills in
        _copy_replica(spins, fields, energy, acc, best, dead[j])
        j += 1
    return x


@nb.njit(cache=True, parallel=True, boundscheck=False)
def _population_step(
    indptr, indices, data, spins, fields, energy, xs, acc, sweeps, thr, bs, table, limit,
    deadline, check, cid, stopped,
):  # fmt: skip
    """``sweeps`` sweeps of every replica at one temperature (integer kernel
    when ``thr`` is nonempty, else the float kernel at scaled beta ``bs``)."""
    integer = thr.shape[0] > 0
    for r in prange(spins.shape[0]):
        x = xs[r]
        buf = np.zeros(2, np.int64)
        since = 0
        for _ in range(sweeps):
            if integer:
                a, de, x = _metropolis_sweep_int_de(
                    indptr, indices, data, spins[r], fields[r], thr, x, acc[r] > limit
                )
                acc[r] = a
            else:
                de, x = _metropolis_sweep(indptr, indices, data, spins[r], fields[r], bs, x, table)
            energy[r] += de
            since += 1
            if deadline > 0 and since >= check:
                since = 0
                if _clock(buf, cid) >= deadline:
                    stopped[r] = True
                    break
        xs[r] = x


@nb.njit(cache=True, parallel=True)
def _descend_all(h, indptr, indices, data, spins, fields, energy):
    """Greedy descent of every replica; exact energies afterwards."""
    for r in prange(spins.shape[0]):
        _descend(indptr, indices, data, spins[r], fields[r], 1000)
        energy[r] = _energy(h, spins[r], fields[r])


@nb.njit(cache=True)
def population_anneal(
    h, indptr, indices, data, spins, kind, schedule, num_betas, sweeps_per_beta, seeds, x,
    deadline, check, cid, fmax=-1, limit=0.0, window=0,
):  # fmt: skip
    """Population annealing of the replicas ``spins`` (in place).

    ``num_betas`` steps of ``sweeps_per_beta`` sweeps per replica, beta
    following the geometric (``kind`` 1) or linear (2) curve between
    ``schedule[0]`` and ``schedule[1]`` (unscaled); the population is
    resampled before every step but the first. With ``window > 0`` (ns)
    beta follows the curve by elapsed time and steps run until the window
    closes. ``fmax >= 0`` selects the integer kernel (int32 ``h``/``data``,
    see :func:`anneal_int`). ``seeds`` holds one stream per replica, ``x``
    the resampling stream. Every replica ends with a greedy descent.
    Returns (steps done, cut by the deadline, energies, sweeps per replica).
    """
    m, n = spins.shape
    integer = fmax >= 0
    fields = np.empty((m, n), h.dtype)
    energy = np.zeros(m)
    for r in range(m):
        _fields(h, indptr, indices, data, spins[r], fields[r])
        energy[r] = _energy(h, spins[r], fields[r])
    thr = np.zeros(fmax + 1 if integer else 0, np.uint64)
    table = _accept_table()
    xs = seeds.copy()
    acc = np.full(m, n, np.int64)
    stopped = np.zeros(m, np.bool_)
    counts = np.zeros(m, np.int64)
    dead = np.zeros(m, np.int64)
    buf = np.zeros(2, np.int64)
    t0 = _clock(buf, cid) if (window > 0 or deadline > 0) else 0
    if window > 0:
        window = _fit_window(window, t0, deadline)
    steps = 0
    sweeps = 0
    cut = False
    prev = 0.0
    while True:
        if window > 0 or deadline > 0:
            now = _clock(buf, cid)
            if deadline > 0 and now >= deadline:
                cut = True
                break
        if window > 0:
            frac = (now - t0) / window
            if frac >= 1.0:
                break
            beta = _beta_at(kind, schedule, frac)
        else:
            if steps >= num_betas:
                break
            beta = _stage_beta(kind, schedule, steps, num_betas)
        if steps > 0 and beta > prev:
            x = _resample(spins, fields, energy, acc, beta - prev, x, counts, dead)
        prev = beta
        if integer:
            _int_thresholds(thr, beta)
        _population_step(
            indptr, indices, data, spins, fields, energy, xs, acc, sweeps_per_beta, thr,
            beta * ACCEPT_BINS, table, limit, deadline, check, cid, stopped,
        )  # fmt: skip
        steps += 1
        sweeps += sweeps_per_beta
        if stopped.any():
            cut = True
            break
    _descend_all(h, indptr, indices, data, spins, fields, energy)
    return steps, cut, energy, sweeps


# --- simulated bifurcation -----------------------------------------------------------


@nb.njit(cache=True, parallel=True)
def bifurcate(
    indptr, indices, data, xs, ys, steps, dt, c0, discrete, seeds, deadline, check, cid, descend
):  # fmt: skip
    """Ballistic or discrete simulated bifurcation (Goto et al. 2019/2021).

    ``data`` holds the couplings of the *maximised* form (``-J``). Each row of
    ``xs``/``ys`` is one agent (positions, momenta; updated in place). The
    pump ``a(t)`` rises linearly from 0 to 1; walls at |x| = 1 are inelastic.
    Returns the spins sign(x) (optionally after a greedy descent on ``J``)
    and the steps each agent ran.
    """
    agents, n = xs.shape
    out = np.empty((agents, n), np.int8)
    done = np.zeros(agents, np.int64)
    cut = np.zeros(agents, np.bool_)
    for r in prange(agents):
        x = xs[r]
        y = ys[r]
        force = np.empty(n)
        buf = np.zeros(2, np.int64)
        since = 0
        for t in range(steps):
            a = t / steps
            for i in range(n):
                acc = 0.0
                if discrete:
                    for p in range(indptr[i], indptr[i + 1]):
                        acc += data[p] * (1.0 if x[indices[p]] > 0.0 else -1.0)
                else:
                    for p in range(indptr[i], indptr[i + 1]):
                        acc += data[p] * x[indices[p]]
                force[i] = acc
            for i in range(n):
                y[i] += dt * (-(1.0 - a) * x[i] + c0 * force[i])
                x[i] += dt * y[i]
                if x[i] > 1.0:
                    x[i] = 1.0
                    y[i] = 0.0
                elif x[i] < -1.0:
                    x[i] = -1.0
                    y[i] = 0.0
            done[r] += 1
            since += 1
            if deadline > 0 and since >= check:
                since = 0
                if _clock(buf, cid) >= deadline:
                    cut[r] = True
                    break
        s = out[r]
        for i in range(n):
            s[i] = 1 if x[i] >= 0.0 else -1
        if descend:
            # descent on the minimised couplings J = -data
            field = np.empty(n)
            for i in range(n):
                acc = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    acc -= data[p] * s[indices[p]]
                field[i] = acc
            nd = -data
            _descend(indptr, indices, nd, s, field, 1000)
    return out, done, cut


# --- tabu search ----------------------------------------------------------------------


@nb.njit(cache=True)
def _tabu_one(h, indptr, indices, data, s, tenure, restarts, stall_limit, kick, x, deadline, cid):
    n = s.shape[0]
    field = np.empty(n)
    _fields(h, indptr, indices, data, s, field)
    de = np.empty(n)
    for i in range(n):
        de[i] = -2.0 * s[i] * field[i]
    e = _energy(h, s, field)
    best = s.copy()
    best_e = e
    run_best = e
    at_best = False
    tabu_until = np.zeros(n, np.int64)
    buf = np.zeros(2, np.int64)
    it = 0
    stall = 0
    restart = 0
    cut = False
    eps = 1e-9 * (1.0 + abs(e))
    while True:
        # choose the best non-tabu flip; a tabu flip only if it beats the best
        pick = -1
        pick_de = np.inf
        for i in range(n):
            d = de[i]
            if d < pick_de and (tabu_until[i] <= it or e + d < best_e - eps):
                pick = i
                pick_de = d
        if pick < 0:
            pick = it % n
            pick_de = de[pick]
        if at_best and pick_de > 0.0:
            for i in range(n):
                best[i] = s[i]
            at_best = False
        # flip: the picked variable's delta changes sign, neighbours' deltas shift
        si = s[pick]
        s[pick] = -si
        e += pick_de
        de[pick] = -pick_de
        c = 2.0 * si
        for p in range(indptr[pick], indptr[pick + 1]):
            j = indices[p]
            field[j] -= c * data[p]
            de[j] = -2.0 * s[j] * field[j]
        tabu_until[pick] = it + tenure
        it += 1
        if e < best_e - eps:
            best_e = e
            at_best = True
        if e < run_best - eps:
            run_best = e
            stall = 0
        else:
            stall += 1
        if (it & 255) == 0 and deadline > 0 and _clock(buf, cid) >= deadline:
            cut = True
            break
        if stall >= stall_limit:
            if at_best:
                for i in range(n):
                    best[i] = s[i]
                at_best = False
            restart += 1
            if restart >= restarts:
                break
            # restart from the best state with a random kick of ``kick`` flips
            for i in range(n):
                s[i] = best[i]
            for _ in range(kick):
                x = _xs(x)
                i = int(x % np.uint64(n))
                s[i] = -s[i]
            _fields(h, indptr, indices, data, s, field)
            e = 0.0
            for i in range(n):
                de[i] = -2.0 * s[i] * field[i]
                e += s[i] * (h[i] + field[i])
            e *= 0.5
            run_best = e
            stall = 0
            tabu_until[:] = 0
    if at_best:
        for i in range(n):
            best[i] = s[i]
    for i in range(n):
        s[i] = best[i]
    return it, cut


@nb.njit(cache=True, parallel=True)
def tabu(
    h, indptr, indices, data, states, tenure, restarts, stall_limit, kick, seeds, deadline, cid
):
    """One-flip tabu search with restarts on every row of ``states`` (in place)."""
    nreads = states.shape[0]
    its = np.zeros(nreads, np.int64)
    cut = np.zeros(nreads, np.bool_)
    for r in prange(nreads):
        it, c = _tabu_one(
            h,
            indptr,
            indices,
            data,
            states[r],
            tenure,
            restarts,
            stall_limit,
            kick,
            seeds[r],
            deadline,
            cid,
        )
        its[r] = it
        cut[r] = c
    return its, cut
