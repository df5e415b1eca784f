"""Large-neighbourhood step: re-optimise a few agents' tasks as a small QUBO.

A subproblem is a handful of agents and every task currently on them. Its
QUBO has one binary per eligible (task, agent) pair inside the subproblem and

* the tasks' costs, priced by Lagrangian multipliers ``lam[j] * load`` for
  capacity (start at 0),
* an exact one-hot penalty per task, ``A (1 - sum_j x_ij)^2``, with ``A``
  just above the task's own cost range so that every one-hot state beats
  every non-one-hot one (tuned per subproblem, not one global weight),
* for agents that overflowed in an earlier round, an augmented-Lagrangian
  term ``rho_j (load_j - cap_j)^2``.

The sample is decoded (each task takes its cheapest "on" agent, or its
cheapest agent if none is on), and if an agent overflows its multiplier and
``rho`` are raised and the QUBO re-sampled (adaptive penalties, at most
``rounds`` times). The decoded plan is accepted by the caller when it is
feasible and better. The sampler is any dimod sampler (our numba
``SimulatedAnnealingSampler`` when importable, else dwave-samplers').
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

__all__ = ["SubQUBOResult", "default_sampler", "solve_subproblem"]


def default_sampler() -> Any:
    """Our quantum-inspired SA sampler if present, else dwave-samplers' SA."""
    try:
        from quantum_planner.samplers import SimulatedAnnealingSampler  # type: ignore

        return SimulatedAnnealingSampler()
    except Exception:  # samplers package absent or failing to import
        from dwave.samplers import SimulatedAnnealingSampler as DWaveSA

        return DWaveSA()


@dataclass
class SubQUBOResult:
    """Outcome of one subproblem: new agents for ``tasks`` (or None), and how it went."""

    tasks: np.ndarray
    assign: np.ndarray | None
    rounds: int
    variables: int
    penalties: dict[str, float]


def solve_subproblem(
    W: np.ndarray,
    L: np.ndarray,
    cap: np.ndarray,
    assign: np.ndarray,
    agents: np.ndarray,
    sampler: Any,
    *,
    seed: int,
    rounds: int = 4,
    num_reads: int = 8,
    num_sweeps: int = 300,
) -> SubQUBOResult:
    """Re-assign the tasks of ``agents`` among ``agents``; capacity from the rest of the plan."""
    agents = np.asarray(agents, dtype=np.int64)
    tasks = np.flatnonzero(np.isin(assign, agents))
    in_sub = np.zeros(W.shape[1], dtype=bool)
    in_sub[agents] = True
    lam = np.zeros(W.shape[1])
    rho = np.zeros(W.shape[1])
    pairs = [(int(i), int(j)) for i in tasks for j in agents if np.isfinite(W[i, j])]
    if not pairs or tasks.size == 0:
        return SubQUBOResult(tasks, None, 0, 0, {})
    fin = W[np.isfinite(W)]
    scale = max(float(np.abs(fin).max()), 1.0) if fin.size else 1.0
    best: np.ndarray | None = None
    one_hot = 0.0
    r = 0
    for r in range(1, rounds + 1):
        bqm, one_hot = _build(W, L, cap, pairs, lam, rho)
        ss = sampler.sample(bqm, **_kwargs(sampler, num_reads, seed + r, num_sweeps))
        decoded = _decode(ss.first.sample, pairs, W, L, tasks, agents, lam)
        load = np.zeros(W.shape[1])
        np.add.at(load, decoded, L[tasks, decoded])
        over = np.where(in_sub, load - cap, 0.0)
        if (over <= 1e-9).all():
            best = decoded
            break
        # raise the violated multipliers (normalised by capacity) and their quadratic weight
        viol = over > 1e-9
        lam[viol] += scale * over[viol] / np.maximum(cap[viol], 1e-9)
        rho[viol] = np.maximum(rho[viol] * 2.0, scale / np.maximum(cap[viol], 1.0) ** 2)
    penalties = {
        "one_hot": float(one_hot),
        "lagrange_max": float(lam.max(initial=0.0)),
        "rho_max": float(rho.max(initial=0.0)),
    }
    return SubQUBOResult(tasks, best, r, len(pairs), penalties)


def _kwargs(sampler: Any, num_reads: int, seed: int, num_sweeps: int) -> dict[str, Any]:
    """The sampling options this sampler declares (dimod samplers list their parameters)."""
    wanted = {"num_reads": num_reads, "seed": seed, "num_sweeps": num_sweeps}
    params = getattr(sampler, "parameters", None)
    if not isinstance(params, dict):
        return {"num_reads": num_reads}
    return {k: v for k, v in wanted.items() if k in params}


def _build(
    W: np.ndarray,
    L: np.ndarray,
    cap: np.ndarray,
    pairs: list[tuple[int, int]],
    lam: np.ndarray,
    rho: np.ndarray,
) -> tuple[dimod.BinaryQuadraticModel, float]:
    """The subproblem's BQM over variables ``0..len(pairs)-1`` (built from numpy vectors)."""
    pi = np.array([p[0] for p in pairs], dtype=np.int64)
    pj = np.array([p[1] for p in pairs], dtype=np.int64)
    k = pi.size
    priced = W[pi, pj] + lam[pj] * L[pi, pj]
    # per-task constant shift keeps each task's argmin and shrinks the range
    order = np.lexsort((pj, pi))
    pi, pj, priced = pi[order], pj[order], priced[order]
    starts = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
    lo = np.minimum.reduceat(priced, starts)
    hi = np.maximum.reduceat(priced, starts)
    counts = np.diff(np.r_[starts, k])
    shifted = priced - np.repeat(lo, counts)
    # exact one-hot weight: above the largest spread of a task's priced costs
    a = 1.0 + float((hi - lo).max(initial=0.0))
    linear = shifted - a
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for s0, c in zip(starts, counts, strict=True):
        if c > 1:
            r, q = np.triu_indices(c, 1)
            rows.append(s0 + r)
            cols.append(s0 + q)
            vals.append(np.full(r.size, 2.0 * a))
    offset = a * starts.size
    for j in np.flatnonzero(rho > 0):
        members = np.flatnonzero(pj == j)
        if members.size == 0:
            continue
        li = L[pi[members], j]
        c = float(cap[j])
        linear[members] += rho[j] * (li * li - 2.0 * c * li)
        r, q = np.triu_indices(members.size, 1)
        rows.append(members[r])
        cols.append(members[q])
        vals.append(2.0 * rho[j] * li[r] * li[q])
        offset += rho[j] * c * c
    quad = (
        (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))
        if rows
        else (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    )
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(linear, quad, offset, "BINARY")
    pairs[:] = list(zip(pi.tolist(), pj.tolist(), strict=True))
    return bqm, a


def _decode(
    sample: dict,
    pairs: list[tuple[int, int]],
    W: np.ndarray,
    L: np.ndarray,
    tasks: np.ndarray,
    agents: np.ndarray,
    lam: np.ndarray,
) -> np.ndarray:
    on: dict[int, list[int]] = {}
    for v, (i, j) in enumerate(pairs):
        if sample.get(v, 0) == 1:
            on.setdefault(i, []).append(j)
    out = np.empty(tasks.size, dtype=np.int64)
    for k, i in enumerate(tasks):
        i = int(i)
        pool = on.get(i) or [int(j) for j in agents if np.isfinite(W[i, j])]
        out[k] = min(pool, key=lambda j, i=i: W[i, j] + lam[j] * L[i, j])
    return out
