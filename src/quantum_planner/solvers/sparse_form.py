"""The assignment model on eligible pairs only, and the steps the big-problem search is made of.

:func:`sparse_extended` is :func:`lp.extended` without dense matrices: the
score weight, load and duration per eligible pair, the virtual "undone"
agent ``m`` appended to the rows of optional tasks, and the index arrays the
kernels of :mod:`sparse_gap` need. On top of the kernels: a priced regret
greedy with repair (:func:`greedy_plan`), Lagrangian prices by subgradient
steps (:func:`lagrangian`), and the rounding of an LP optimum
(:func:`round_pairs`). Each costs O(pairs) time and memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from quantum_planner.samplers._compile import Prepared, prepare
from quantum_planner.solvers.dense_view import Compiled, pair_weights
from quantum_planner.solvers.sparse_gap import (
    agent_lists,
    descent_sp,
    lagrange_sp,
    loads_sp,
    regret_greedy_sp,
    repair_sp,
    score_sp,
    slots_for,
)

__all__ = [
    "Lagrangian",
    "SparseForm",
    "greedy_plan",
    "lagrangian",
    "round_pairs",
    "sparse_extended",
]


@dataclass
class SparseForm:
    """Per eligible pair (virtual agent ``m`` included): weight, load, duration; CSR by task."""

    n: int
    m: int
    ptr: np.ndarray  # (n + 1,)
    col: np.ndarray  # (nnz,) agent, increasing within a row; m = undone
    row: np.ndarray  # (nnz,) task
    W: np.ndarray  # (nnz,) score weight
    L: np.ndarray  # (nnz,) load
    D: np.ndarray  # (nnz,) duration (balance_load)
    cap: np.ndarray  # (m + 1,) the virtual agent's is inf
    beta: float
    tptr: np.ndarray = field(init=False)  # (m + 2,) pairs of each agent ...
    tpair: np.ndarray = field(init=False)  # ... largest load first
    minw: np.ndarray = field(init=False)  # (n,) each task's smallest weight

    def __post_init__(self) -> None:
        M = self.m + 1
        order = np.lexsort((-self.L, self.col))
        self.tpair = order.astype(np.int64)
        self.tptr = np.zeros(M + 1, np.int64)
        np.cumsum(np.bincount(self.col, minlength=M), out=self.tptr[1:])
        self.minw = np.full(self.n, np.inf)
        full = np.flatnonzero(np.diff(self.ptr) > 0)
        if full.size:
            self.minw[full] = np.minimum.reduceat(self.W, self.ptr[full])

    @property
    def M(self) -> int:
        return self.m + 1

    def agents(self, slot: np.ndarray) -> np.ndarray:
        """The plan as an agent per task (``m``: undone)."""
        return self.col[slot]

    def score(self, slot: np.ndarray) -> float:
        return float(score_sp(self.W, self.D, self.col, self.beta, slot, self.m))

    def used(self, slot: np.ndarray) -> np.ndarray:
        return loads_sp(self.L, self.col, slot, self.M)

    def overflow(self, slot: np.ndarray) -> float:
        """Total load over capacity of plan ``slot`` (0: feasible; float noise ignored)."""
        over = self.used(slot) - self.cap
        return float(over[over > 1e-9].sum())

    def slots_of(self, agents: np.ndarray) -> np.ndarray | None:
        """An agent per task (``m``: undone) as slots; None if a pair is not eligible."""
        slot = slots_for(self.ptr, self.col, np.asarray(agents, dtype=np.int64))
        return None if (slot < 0).any() else slot


def sparse_extended(comp: Compiled) -> SparseForm:
    """The compiled problem's pairs with the score weights and the virtual agent appended."""
    w, w_un, beta = pair_weights(comp)
    n, m = comp.n, comp.m
    counts = np.diff(comp.ptr)
    opt = comp.optional.astype(np.int64)
    new_counts = counts + opt
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(new_counts, out=ptr[1:])
    nnz = int(ptr[-1])
    # old pair p of row i moves right by the number of optional rows before i
    shift = np.repeat(np.concatenate(([0], np.cumsum(opt)[:-1])) if n else opt, counts)
    pos = np.arange(comp.nnz, dtype=np.int64) + shift
    col = np.full(nnz, m, np.int64)
    W = np.zeros(nnz)
    L = np.zeros(nnz)
    D = np.zeros(nnz)
    col[pos], W[pos], L[pos], D[pos] = comp.col, w, comp.pload, comp.pdur
    virt = ptr[1:][comp.optional] - 1  # the last pair of an optional row
    W[virt] = w_un[comp.optional]
    row = np.repeat(np.arange(n, dtype=np.int64), new_counts)
    cap = np.append(comp.cap, np.inf)
    return SparseForm(n, m, ptr, col, row, W, L, D, cap, beta)


def greedy_plan(
    form: SparseForm, priced: np.ndarray, seed: int, repair_iters: int | None = None
) -> tuple[np.ndarray, float]:
    """Regret greedy on ``priced`` pair weights, then the overflow repair; (slot, overflow left)."""
    f = form
    slot = regret_greedy_sp(
        f.ptr, f.col, priced, f.L, f.cap, f.row, f.tptr, f.tpair, np.ones(f.n, dtype=np.bool_)
    )
    return repaired(f, slot, seed, repair_iters)


def repaired(
    form: SparseForm, slot: np.ndarray, seed: int, repair_iters: int | None = None
) -> tuple[np.ndarray, float]:
    """``slot`` (a copy) with the overflow repaired as far as it goes; (slot, overflow left)."""
    f = form
    slot = slot.copy()
    used = f.used(slot)
    if not (used > f.cap + 1e-9).any():
        return slot, 0.0
    head, nxt, prv = agent_lists(f.col, slot, f.M)
    iters = repair_iters if repair_iters is not None else 20 * f.m + 10_000
    left = repair_sp(f.ptr, f.col, f.W, f.L, f.cap, slot, used, head, nxt, prv, iters, seed)
    return slot, float(left)


@dataclass
class Lagrangian:
    """Capacity prices from subgradient steps: the best bound seen, its prices and choice."""

    prices: np.ndarray
    bound: float
    choice: np.ndarray
    iterations: int


def lagrangian(
    form: SparseForm,
    target: float,
    time_limit: float,
    iters: int = 400,
    start: np.ndarray | None = None,
) -> Lagrangian:
    """Subgradient ascent (Polyak steps towards ``target``, a plan's value) on the dual.

    Relaxing capacity, each task takes its cheapest pair under ``W + u L``;
    ``sum(min) - u @ cap`` is a lower bound for every ``u >= 0`` (for the GAP
    it tends to the LP bound). One step is one pass over the pairs.
    """
    f = form
    t0 = time.perf_counter()
    capped = np.isfinite(f.cap)
    capv = np.where(capped, f.cap, 0.0)
    u = np.zeros(f.M) if start is None else start.copy()
    choice = np.zeros(f.n, np.int64)
    used = np.zeros(f.M)
    best = Lagrangian(u.copy(), -np.inf, choice.copy(), 0)
    lam, stall = 2.0, 0
    for it in range(iters):
        bound = float(lagrange_sp(f.ptr, f.col, f.W, f.L, u, choice, used) - u @ capv)
        if bound > best.bound + 1e-9 * max(1.0, abs(bound)):
            best = Lagrangian(u.copy(), bound, choice.copy(), it + 1)
            stall = 0
        else:
            stall += 1
            if stall >= 10:
                lam, stall = lam / 2.0, 0
        g = np.where(capped, used - capv, 0.0)
        # a price may only fall while positive: the projected subgradient
        g[(u <= 0.0) & (g < 0.0)] = 0.0
        norm = float(g @ g)
        if norm <= 1e-12 or lam < 1e-6 or time.perf_counter() - t0 > time_limit:
            break
        if not np.isfinite(target) or target <= bound:
            target = bound + 0.02 * max(abs(bound), 1.0)
        u = np.maximum(0.0, u + lam * (target - bound) / norm * g)
    best.iterations = it + 1 if iters else 0
    return best


def round_pairs(
    form: SparseForm, x: np.ndarray, prices: np.ndarray, seed: int
) -> tuple[np.ndarray, float]:
    """An LP optimum ``x`` (per pair) rounded: integral tasks keep their pair, the rest go by
    regret greedy on prices over the room left, then the overflow repair."""
    f = form
    n = f.n
    slot = np.full(n, -1, np.int64)
    big = np.flatnonzero(x > 1.0 - 1e-6)
    slot[f.row[big]] = big
    rest = slot < 0
    used = np.zeros(f.M)
    np.add.at(used, f.col[big], f.L[big])
    rem = np.maximum(f.cap - used, 0.0)
    if rest.any():
        priced = f.W + prices[f.col] * f.L
        sub = regret_greedy_sp(f.ptr, f.col, priced, f.L, rem, f.row, f.tptr, f.tpair, rest)
        slot[rest] = sub[rest]
    return repaired(f, slot, seed)


def prepare_kernels() -> Prepared:
    """Compile (or load from the cache) every kernel this path calls, for the exact argument
    types of a solve; the seconds it took. Called before a solve's clock starts."""
    i8, f8 = np.zeros(2, np.int64), np.zeros(2)
    ptr, b1 = np.array([0, 1, 2], np.int64), np.ones(2, np.bool_)
    calls = [
        (regret_greedy_sp, (ptr, i8, f8, f8, f8, i8, ptr, i8, b1)),
        (repair_sp, (ptr, i8, f8, f8, f8, i8, f8, i8, i8, i8, 1, 0)),
        (lagrange_sp, (ptr, i8, f8, f8, f8, i8, f8)),
        (descent_sp, (ptr, i8, f8, f8, f8, f8, 0.0, 1, i8, f8, f8, i8, i8, i8, f8, i8, True)),
        (agent_lists, (i8, i8, 2)),
        (loads_sp, (f8, i8, i8, 2)),
        (score_sp, (f8, f8, i8, 0.0, i8, 1)),
        (slots_for, (ptr, i8, i8)),
    ]
    compile_s = load_s = 0.0
    for kernel, args in calls:
        got = prepare(kernel, args)
        compile_s += got.compile_s
        load_s += got.load_s
    return Prepared(compile_s, load_s)
