"""LP relaxation of the assignment model (HiGHS through scipy): a bound and a start.

The relaxation keeps the assignment and capacity rows and lets each
``x[i, j]`` be fractional in [0, 1]. Its optimum is a valid lower bound on any
plan's linear score (cost, -priority, or a lexicographic mix of them; it does
not cover ``balance_load`` or makespan). A basic optimal solution has at most
``m`` fractional tasks, so rounding it (integral tasks kept, fractional ones
placed by a regret greedy on the remaining capacity) gives a start that is
usually within a fraction of a percent of optimal on large instances; the
capacity duals ``u`` price the agents for the greedy (``W + u * L``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from quantum_planner.model import Problem, Solution
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import make_solution
from quantum_planner.solvers.dense_view import Compiled, compile_problem, linear_weights
from quantum_planner.solvers.generalized_assignment import regret_greedy

__all__ = [
    "LPProcess",
    "LPResult",
    "LPRoundingSolver",
    "lp_on_pairs",
    "lp_relaxation",
    "round_lp",
]


@dataclass
class LPResult:
    """Optimum of the relaxation: bound, fractional x (n, M), capacity duals (M,)."""

    bound: float
    x: np.ndarray
    duals: np.ndarray
    seconds: float
    status: str


def lp_on_pairs(
    row: np.ndarray,
    col: np.ndarray,
    weight: np.ndarray,
    load: np.ndarray,
    n: int,
    cap: np.ndarray,
    time_limit: float | None = None,
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The relaxation over the listed pairs (task ``row``, agent ``col``): ``(bound, x per
    pair, capacity duals (M,))``, or None if HiGHS fails. Its size is the number of pairs."""
    M = cap.size
    k = row.size
    cols = np.arange(k)
    a_eq = csr_matrix((np.ones(k), (row, cols)), shape=(n, k))
    capped = np.flatnonzero(np.isfinite(cap))
    row_of = np.full(M, -1)
    row_of[capped] = np.arange(capped.size)
    sel = row_of[col] >= 0
    a_ub = csr_matrix((load[sel], (row_of[col[sel]], cols[sel])), shape=(capped.size, k))
    options = {"presolve": True}
    if time_limit is not None:
        options["time_limit"] = max(0.1, float(time_limit))
    res = linprog(
        weight,
        A_ub=a_ub if capped.size else None,
        b_ub=cap[capped] if capped.size else None,
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0.0, 1.0),
        method="highs",
        options=options,
    )
    if res.status != 0 or res.x is None:
        return None
    duals = np.zeros(M)
    if capped.size and res.ineqlin is not None:
        duals[capped] = -np.asarray(res.ineqlin.marginals)  # marginals are <= 0 for <= rows
    return float(res.fun), np.asarray(res.x), duals


def lp_relaxation(
    W: np.ndarray, L: np.ndarray, cap: np.ndarray, time_limit: float | None = None
) -> LPResult | None:
    """Solve the relaxation for extended arrays (virtual column included); None if it fails."""
    t0 = time.perf_counter()
    n, M = W.shape
    ii, jj = np.nonzero(np.isfinite(W))
    got = lp_on_pairs(ii, jj, W[ii, jj], L[ii, jj], n, cap, time_limit)
    if got is None:
        return None
    bound, xv, duals = got
    x = np.zeros((n, M))
    x[ii, jj] = xv
    return LPResult(bound, x, duals, time.perf_counter() - t0, "optimal")


def round_lp(lp: LPResult, W: np.ndarray, L: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Integral tasks keep their agent; the rest go by regret on priced, remaining capacity."""
    n, _ = W.shape
    assign = np.full(n, -1, np.int64)
    whole = lp.x.max(axis=1) > 1.0 - 1e-6
    assign[whole] = lp.x[whole].argmax(axis=1)
    rem = cap.copy()
    np.subtract.at(rem, assign[whole], L[np.flatnonzero(whole), assign[whole]])
    frac = np.flatnonzero(~whole)
    if frac.size:
        priced = W[frac] + lp.duals[None, :] * L[frac]
        sub = regret_greedy(priced, L[frac], np.maximum(rem, 0.0))
        assign[frac] = sub
    return assign


def extended(comp: Compiled) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Arrays with the virtual "undone" agent appended: ``W, L, D, cap, beta``."""
    W, w_un, beta = linear_weights(comp)
    n, m = comp.n, comp.m
    # filled in place: no (n, m) temporaries (400 MB each at 50,000 tasks x 1,000 agents)
    W2 = np.empty((n, m + 1))
    W2[:, :m] = W
    del W
    W2[:, m] = np.where(comp.optional, w_un, np.inf)
    L2 = np.zeros((n, m + 1))
    np.copyto(L2[:, :m], comp.load, where=comp.elig)
    D2 = np.zeros((n, m + 1))
    np.copyto(D2[:, :m], comp.dur, where=comp.elig)
    cap2 = np.append(comp.cap, np.inf)
    return W2, L2, D2, cap2, beta


class LPRoundingSolver:
    """The LP-rounding start on its own (a cheap baseline the hybrid must beat)."""

    name = "lp_rounding"

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        progress: object | None = None,
        stop: object | None = None,
    ) -> Solution:
        t0 = time.perf_counter()
        comp = compile_problem(problem)
        W, L, _, cap, _ = extended(comp)
        lp = lp_relaxation(W, L, cap, time_limit)
        assign = round_lp(lp, W, L, cap) if lp is not None else regret_greedy(W, L, cap)
        assignments = {
            comp.task_ids[i]: comp.agent_ids[j] for i, j in enumerate(assign) if j < comp.m
        }
        return make_solution(
            problem,
            assignments,
            build_schedule(problem, assignments),
            backend=self.name,
            lower_bound=lp.bound if lp is not None else None,
            wall_time=time.perf_counter() - t0,
            seed=seed,
        )


def lagrangian_prices(
    W: np.ndarray,
    L: np.ndarray,
    cap: np.ndarray,
    target: float,
    iters: int = 150,
    time_limit: float = 0.5,
) -> tuple[np.ndarray, float]:
    """Capacity prices by subgradient ascent on the Lagrangian dual (Polyak steps).

    Relaxing capacity, each task takes its cheapest agent under ``W + u * L``;
    ``sum(min) - u @ cap`` is a lower bound for every ``u >= 0`` (for the GAP it
    tends to the LP bound). ``target`` is the value of a known plan. A few
    hundred vectorised steps take a fraction of a second at 100 x 2000 and give
    prices nearly as good as the LP duals, soon enough for the first plan.
    """
    t0 = time.perf_counter()
    n, M = W.shape
    capped = np.isfinite(cap)
    capv = np.where(capped, cap, 0.0)
    Wf = np.where(np.isfinite(W), W, 1e300)
    u = np.zeros(M)
    best_u, best_bound = u.copy(), -np.inf
    rows = np.arange(n)
    lam = 2.0
    stall = 0
    priced = np.empty_like(Wf)  # reused: no (n, M) temporaries per iteration
    for _ in range(iters):
        np.multiply(u[None, :], L, out=priced)
        priced += Wf
        j = priced.argmin(axis=1)
        bound = float(priced[rows, j].sum() - u @ capv)
        if bound > best_bound + 1e-9:
            best_bound, best_u = bound, u.copy()
            stall = 0
        else:
            stall += 1
            if stall >= 10:
                lam /= 2.0
                stall = 0
        used = np.bincount(j, weights=L[rows, j], minlength=M)
        g = np.where(capped, used - capv, 0.0)
        norm = float(g @ g)
        if norm <= 1e-12 or time.perf_counter() - t0 > time_limit:
            break
        if not np.isfinite(target) or target <= bound:
            # no (or a too low) estimate of the optimum: aim a little above the bound
            target = bound + 0.05 * max(abs(bound), 1.0)
        gap = max(target - bound, 1e-6 * max(abs(target), 1.0))
        u = np.maximum(0.0, u + lam * gap / norm * g)
    return best_u, best_bound


class LPProcess:
    """The LP relaxation in a forked child process, so it runs on the other core.

    scipy's HiGHS wrapper holds the GIL, so a thread would stall the search.
    Dense arrays ``W, L`` (``x`` comes back as an ``(n, M)`` matrix), or with
    ``pairs=(row, col, weight, load, n)`` the sparse form (``x`` per pair).
    ``poll()`` returns the :class:`LPResult` once it is there (None before, and
    None for good if the LP failed); ``close()`` ends the child.
    """

    def __init__(
        self,
        W: np.ndarray | None,
        L: np.ndarray | None,
        cap: np.ndarray,
        time_limit: float,
        *,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int] | None = None,
    ) -> None:
        import multiprocessing as mp

        self._dense: tuple[np.ndarray, np.ndarray, tuple[int, int]] | None = None
        if pairs is None:
            assert W is not None and L is not None
            ii, jj = np.nonzero(np.isfinite(W))
            pairs = (ii, jj, W[ii, jj], L[ii, jj], W.shape[0])
            self._dense = (ii, jj, W.shape)
        self._size = pairs[0].size
        ctx = mp.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_lp_child, args=(send, pairs, cap, time_limit), daemon=True)
        self._proc.start()
        send.close()
        self.done = False
        self.result: LPResult | None = None

    def poll(self) -> LPResult | None:
        if not self.done and self._recv.poll():
            try:
                msg = self._recv.recv()
            except (EOFError, OSError):
                msg = None
            self.done = True
            if msg is not None:
                bound, nz, vals, duals, secs = msg
                x = np.zeros(self._size)
                x[nz] = vals
                if self._dense is not None:
                    ii, jj, shape = self._dense
                    x, flat = np.zeros(shape), x
                    x[ii, jj] = flat
                self.result = LPResult(bound, x, duals, secs, "optimal")
            self.close()
        return self.result

    def close(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=1.0)
        self._recv.close()
        self.done = True


def _lp_child(conn: object, pairs: tuple, cap: np.ndarray, limit: float) -> None:
    import os

    os.nice(10)  # the search in the parent matters more than the bound
    t0 = time.perf_counter()
    row, col, weight, load, n = pairs
    res = lp_on_pairs(row, col, weight, load, n, cap, limit)
    if res is None:
        conn.send(None)  # type: ignore[attr-defined]
    else:
        bound, x, duals = res
        nz = np.flatnonzero(x > 1e-12)
        conn.send((bound, nz, x[nz], duals, time.perf_counter() - t0))  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]


def repair_choice(
    choice: np.ndarray, W: np.ndarray, L: np.ndarray, cap: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """Make a relaxed choice (each task at its cheapest priced agent) fit the capacities.

    On each overloaded agent the tasks that lose least by leaving (priced
    regret) leave until it fits; the evicted tasks are then placed by the
    regret greedy on the capacity that is left. The result stays close to the
    relaxation's optimum and is usually feasible.
    """
    n, M = W.shape
    assign = choice.astype(np.int64).copy()
    rows = np.arange(n)
    used = np.bincount(assign, weights=L[rows, assign], minlength=M)
    # built and masked in place (no (n, M) copies: 400 MB each at 50,000 x 1,000)
    priced = prices[None, :] * L
    priced += W
    priced[~np.isfinite(W)] = np.inf
    own = priced[rows, assign].copy()
    priced[rows, assign] = np.inf
    regret = priced.min(axis=1) - own
    priced[rows, assign] = own
    evicted: list[int] = []
    for j in np.flatnonzero(used > cap + 1e-9):
        on_j = np.flatnonzero(assign == j)
        for i in on_j[np.argsort(regret[on_j], kind="stable")]:
            if used[j] <= cap[j] + 1e-9:
                break
            used[j] -= L[i, j]
            evicted.append(int(i))
    if evicted:
        ev = np.array(evicted)
        assign[ev] = regret_greedy(priced[ev], L[ev], np.maximum(cap - used, 0.0))
    return assign
