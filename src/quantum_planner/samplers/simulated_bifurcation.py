"""Simulated bifurcation (Goto et al., Sci. Adv. 2019 and 2021), many agents at once."""

from __future__ import annotations

import math
from typing import Any

import dimod
import numpy as np

from quantum_planner.samplers import _kernels
from quantum_planner.samplers._base import NumbaSampler
from quantum_planner.samplers._csr import IsingCSR

__all__ = ["SimulatedBifurcationSampler"]


def _with_ancilla(csr: IsingCSR) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """CSR of the couplings with each field ``h_i`` turned into a coupling to an
    extra spin (index n); sign(extra) then fixes the orientation of the rest."""
    n = csr.num_variables
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr).astype(np.int64))
    cols = csr.indices.astype(np.int64)
    vals = csr.data
    nz = np.flatnonzero(csr.h)
    m = n
    if nz.size:
        m = n + 1
        rows = np.concatenate([rows, nz, np.full(nz.size, n)])
        cols = np.concatenate([cols, np.full(nz.size, n), nz])
        vals = np.concatenate([vals, csr.h[nz], csr.h[nz]])
    order = np.lexsort((cols, rows))
    indptr = np.zeros(m + 1, dtype=np.uint32)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    return indptr, cols[order].astype(np.uint32), vals[order].astype(np.float64), m


class SimulatedBifurcationSampler(NumbaSampler):
    """Ballistic (bSB) or discrete (dSB) simulated bifurcation.

    Every read is one agent: positions ``x`` and momenta ``y`` of ``n``
    oscillators integrated by symplectic Euler,
    ``y += dt * (-(1 - a(t)) x + c0 * sum_j K_ij x_j)``, ``x += dt * y``, with
    ``K = -J`` (bSB) or ``x_j`` replaced by ``sign(x_j)`` (dSB), the pump
    ``a(t)`` rising linearly from 0 to 1 and inelastic walls at ``|x| = 1``.
    ``c0`` defaults to ``0.5 * sqrt(n - 1) / sqrt(sum_ij J_ij^2)`` (Goto et al.).
    Linear biases become couplings to one extra spin. Agents run in parallel
    (all reads at once). Spins are ``sign(x)``, by default polished by a greedy
    single-flip descent (``local_search=False`` returns the raw signs).
    A warm start sets ``x = 0.5 * s``.
    """

    _own_parameters = {
        "variant": ["variant_options"],
        "num_steps": [],
        "dt": [],
        "c0": [],
        "local_search": [],
    }
    _parallelism = "agents (reads) run in parallel, one per thread"

    @property
    def properties(self) -> dict[str, Any]:
        return {**super().properties, "variant_options": ("ballistic", "discrete")}

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        *,
        num_reads: int | None = None,
        seed: int | None = None,
        initial_states: Any = None,
        initial_states_generator: str = "random",
        time_limit: float | None = None,
        variant: str = "ballistic",
        num_steps: int = 1000,
        dt: float | None = None,
        c0: float | None = None,
        local_search: bool = True,
        **kwargs: Any,
    ) -> dimod.SampleSet:
        """Run ``num_reads`` agents of bSB or dSB on ``bqm``.

        Args:
            num_reads, seed, initial_states, initial_states_generator, time_limit:
                as for :class:`SimulatedAnnealingSampler`.
            variant: 'ballistic' (default) or 'discrete'. dSB finds the ground
                states of small random models more often, but on dense one-signed
                graphs (complete antiferromagnet, Gset G1) its sign force moves all
                positions in step and agents collapse to the aligned state.
            num_steps: time steps per agent.
            dt: time step; default ``min(1, 1 / sqrt(1 + c0 * max_i sum_j |J_ij|))``,
                inside the stability bound of the integrator.
            c0: coupling scale; default from the couplings.
            local_search: polish sign(x) by a greedy descent.
        """
        self.remove_unknown_kwargs(**kwargs)
        if variant not in ("ballistic", "discrete"):
            raise ValueError(f"variant must be 'ballistic' or 'discrete', got {variant!r}")
        if num_steps < 1:
            raise ValueError("num_steps must be >= 1")
        run = self._parse(
            bqm, num_reads, seed, initial_states, initial_states_generator, time_limit
        )
        csr = run.csr
        n = csr.num_variables
        if n == 0:
            return self._empty(bqm, run)
        indptr, indices, data, m = _with_ancilla(csr)
        # maximised form: K = -J
        k = -data
        c0, dt = _scales(indptr, k, m, c0, dt)
        xs, ys = _starts(run, m)
        out, steps, cut = run.call(
            _kernels.bifurcate,
            lambda: (
                indptr,
                indices,
                k,
                xs,
                ys,
                int(num_steps),
                float(dt),
                float(c0),
                variant == "discrete",
                run.seeds,
                run.deadline_ns,
                run.check_every(m + indices.shape[0]),
                _kernels.CLOCK_ID,
                bool(local_search),
            ),
        )
        spins = out[:, :n]
        if m > n:
            spins = spins * out[:, n : n + 1]  # undo a global flip of the extra spin
        info = {"variant": variant, "c0": float(c0), "dt": float(dt), "timed_out": bool(cut.any())}
        return self._result(bqm, run, np.ascontiguousarray(spins), info, num_steps=steps)


def _scales(
    indptr: np.ndarray, k: np.ndarray, m: int, c0: float | None, dt: float | None
) -> tuple[float, float]:
    """The coupling scale ``c0`` and time step ``dt``, defaults from the couplings ``k``."""
    if c0 is None:
        norm = math.sqrt(float(np.dot(k, k)))
        c0 = 0.5 * math.sqrt(max(m - 1, 1)) / norm if norm > 0 else 1.0
    if dt is None:
        # symplectic Euler is stable for dt * omega < 2; the fastest mode has
        # omega^2 <= 1 + c0 * (largest absolute row sum of J) (Gershgorin).
        # A fixed dt = 1 collapses agents on dense one-signed graphs (Gset
        # G1); dSB's sign force needed the margin of dt * omega <= 1 there.
        rows = np.repeat(np.arange(m), np.diff(indptr).astype(np.int64))
        rowsum = np.bincount(rows, weights=np.abs(k), minlength=m)
        dt = min(1.0, 1.0 / math.sqrt(1.0 + c0 * float(rowsum.max())))
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    return c0, dt


def _starts(run: Any, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial positions and momenta of every agent (``m`` oscillators, ancilla last)."""
    n = run.csr.num_variables
    rng = np.random.default_rng(run.seed)
    reads = run.num_reads
    xs = np.zeros((reads, m))
    ys = rng.uniform(-0.1, 0.1, size=(reads, m))
    # random starts: small positions oriented like the generated states;
    # warm starts: half-way to the given spins
    g = run.num_given
    xs[:, :n] = 0.1 * run.spins * rng.uniform(0.0, 1.0, size=(reads, n))
    xs[:g, :n] = 0.5 * run.spins[:g]
    ys[:g] = 0.0
    if m > n:
        xs[:, n] = 0.5  # the extra spin leans to +1 so warm starts keep their orientation
    return xs, ys
