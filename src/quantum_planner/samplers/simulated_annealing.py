"""Simulated annealing: single-spin-flip Metropolis on a CSR Ising model."""

from __future__ import annotations

import math
from typing import Any

import dimod
import numba
import numpy as np

from quantum_planner.samplers import _kernels
from quantum_planner.samplers._base import NumbaSampler
from quantum_planner.samplers._csr import anneal_beta_range, integer_form

__all__ = ["SimulatedAnnealingSampler", "check_beta_range", "is_finite_limit"]

#: share of the time left that a time-budgeted anneal plans to fill; the rest
#: covers the final descent, energies and building the SampleSet
BUDGET_FILL = 0.95
#: sweeps per read when neither ``num_sweeps`` nor a finite ``time_limit`` is given
DEFAULT_SWEEPS = 1000


def is_finite_limit(time_limit: Any) -> bool:
    """True for a finite number of seconds (the time-budgeted schedules' trigger)."""
    return isinstance(time_limit, int | float) and math.isfinite(time_limit)


def check_beta_range(beta_range: Any, schedule_type: str) -> tuple[float, float]:
    """Validate (hot, cold) for a 'geometric' or 'linear' schedule."""
    if schedule_type not in ("geometric", "linear"):
        raise ValueError(
            f"beta_schedule_type must be 'geometric', 'linear' or 'custom', got {schedule_type!r}"
        )
    try:
        hot, cold = (float(b) for b in beta_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"beta_range must be a (hot, cold) pair of numbers, got {beta_range!r}"
        ) from None
    if not (0 <= hot <= cold) or (schedule_type == "geometric" and hot <= 0):
        raise ValueError(
            f"beta_range must be (hot, cold) with 0 < hot <= cold, got {tuple(beta_range)!r}"
        )
    return hot, cold


class SimulatedAnnealingSampler(NumbaSampler):
    """Simulated annealing with incremental local fields, numba-compiled.

    Each read anneals from its initial state through ``num_sweeps`` sweeps
    (variables in fixed order), ``num_sweeps_per_beta`` at each inverse
    temperature of a geometric or linear schedule over ``beta_range``
    (default derived from the biases: the cold end like dwave-samplers, the
    hot end from the typical rather than the largest local field, see
    :func:`~quantum_planner.samplers._csr.anneal_beta_range`). Reads run in
    parallel; each has its own random stream, so a seed fixes the samples
    whatever the number of threads. ``time_limit`` (seconds) is checked
    inside the anneal; a read cut short is finished by a greedy descent, and
    so is every read of a geometric or linear schedule (its samples are local
    minima; a 'custom' schedule returns the state its last sweep left).

    Time-budgeted anneal: given a ``time_limit`` and no ``num_sweeps``, the
    schedule runs on the clock so the reads fill the budget: each read
    anneals for its share of the time (``num_reads`` default to the number
    of threads, so one long anneal per thread), beta following the
    geometric or linear curve by elapsed time, then a greedy descent. One
    long anneal finds lower energies than many short ones on large sparse
    models; the sweep count then depends on the machine's speed, so samples
    are reproducible from the seed only with a fixed ``num_sweeps``.

    Example:
        >>> import dimod
        >>> bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {("a", "b"): -2.0}, 0, "SPIN")
        >>> ss = SimulatedAnnealingSampler().sample(bqm, num_reads=4, seed=1)
        >>> float(ss.first.energy)
        -3.0
    """

    _own_parameters = {
        "beta_range": [],
        "num_sweeps": [],
        "num_sweeps_per_beta": [],
        "beta_schedule_type": ["beta_schedule_options"],
        "beta_schedule": [],
    }

    @property
    def properties(self) -> dict[str, Any]:
        return {**super().properties, "beta_schedule_options": ("geometric", "linear", "custom")}

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        *,
        num_reads: int | None = None,
        seed: int | None = None,
        initial_states: Any = None,
        initial_states_generator: str = "random",
        time_limit: float | None = None,
        beta_range: tuple[float, float] | None = None,
        num_sweeps: int | None = None,
        num_sweeps_per_beta: int = 1,
        beta_schedule_type: str = "geometric",
        beta_schedule: Any = None,
        **kwargs: Any,
    ) -> dimod.SampleSet:
        """Anneal ``num_reads`` states of ``bqm`` (SPIN or BINARY).

        Args:
            num_reads: number of samples (default: number of initial states, or 1;
                the number of threads for the time-budgeted anneal).
            seed: integer in [0, 2**32); same seed and arguments, same samples.
            initial_states: warm starts (dimod samples-like), one per read.
            initial_states_generator: 'random', 'tile' or 'none' (dimod rules)
                for reads beyond the given initial states.
            time_limit: wall-clock bound in seconds for the whole call.
            beta_range: (hot, cold) inverse temperatures (default:
                :func:`~quantum_planner.samplers._csr.anneal_beta_range`).
            num_sweeps: sweeps per read; a multiple of ``num_sweeps_per_beta``.
                Default: with a finite ``time_limit`` (and a geometric or
                linear schedule) the time-budgeted anneal, else 1000.
            num_sweeps_per_beta: sweeps at each temperature.
            beta_schedule_type: 'geometric', 'linear' or 'custom'.
            beta_schedule: the inverse temperatures, with 'custom'.
        """
        self.remove_unknown_kwargs(**kwargs)
        budgeted = (
            num_sweeps is None and beta_schedule_type != "custom" and is_finite_limit(time_limit)
        )
        if budgeted and num_reads is None and initial_states is None:
            num_reads = numba.get_num_threads()  # one long anneal per thread
        if num_sweeps is None:
            num_sweeps = DEFAULT_SWEEPS * num_sweeps_per_beta
        run = self._parse(
            bqm, num_reads, seed, initial_states, initial_states_generator, time_limit
        )
        if run.csr.num_variables == 0:
            return self._empty(bqm, run)
        kind, schedule, num_betas, ends = _schedule(
            run.csr, num_sweeps, num_sweeps_per_beta, beta_schedule_type, beta_schedule, beta_range
        )
        csr = run.csr
        spins = run.spins
        check = run.check_every(csr.num_variables + csr.indices.shape[0])
        ints = integer_form(csr)
        # each thread runs ceil(reads / threads) reads one after another
        rounds = -(-run.num_reads // numba.get_num_threads())
        timed = budgeted and bool(run.deadline_ns)

        def window() -> int:
            return run.window_ns(rounds, BUDGET_FILL) if timed else 0

        if ints is not None:
            # integer biases: exact integer kernel (see _kernels.anneal_int)
            sweeps, cut = run.call(_kernels.anneal_int, lambda: (
                ints.h, csr.indptr, csr.indices, ints.data, spins, kind,
                np.ascontiguousarray(schedule, dtype=np.float64), int(num_betas),
                int(num_sweeps_per_beta), run.seeds, run.deadline_ns, check, _kernels.CLOCK_ID,
                ints.max_field, _kernels.update_above(ints.mean_degree), window(),
            ))  # fmt: skip
        else:
            sweeps, cut = run.call(_kernels.anneal, lambda: (
                csr.h, csr.indptr, csr.indices, csr.data, spins, kind,
                np.ascontiguousarray(schedule * _kernels.ACCEPT_BINS), int(num_betas),
                int(num_sweeps_per_beta), run.seeds, run.deadline_ns, check, _kernels.CLOCK_ID,
                window(),
            ))  # fmt: skip
        info = {
            "beta_range": ends,
            "beta_schedule_type": beta_schedule_type,
            "timed_out": bool(cut.any()),
            "kernel": "integer" if ints is not None else "float",
            "schedule": "time" if timed else "sweeps",
        }
        return self._result(bqm, run, spins, info, num_sweeps=sweeps)


def _schedule(
    csr: Any,
    num_sweeps: int,
    num_sweeps_per_beta: int,
    beta_schedule_type: str,
    beta_schedule: Any,
    beta_range: tuple[float, float] | None,
) -> tuple[int, np.ndarray, int, tuple[float, float]]:
    """The kernel's schedule: (kind, betas or ends, number of betas, (hot, cold)).

    Kind 0 is a custom list of betas, 1 geometric and 2 linear between the ends.
    """
    if num_sweeps_per_beta < 1:
        raise ValueError("num_sweeps_per_beta must be a positive integer")
    if beta_schedule_type == "custom":
        if beta_schedule is None:
            raise ValueError("beta_schedule_type='custom' needs a beta_schedule")
        betas = np.asarray(beta_schedule, dtype=np.float64).ravel()
        if betas.size == 0 or np.any(betas < 0) or not np.all(np.isfinite(betas)):
            raise ValueError("beta_schedule must be a nonempty list of finite betas >= 0")
        kind, schedule, num_betas = 0, betas, betas.size
        ends = (float(betas[0]), float(betas[-1]))
    else:
        if beta_schedule is not None:
            raise ValueError("beta_schedule is only used with beta_schedule_type='custom'")
        if num_sweeps < num_sweeps_per_beta or num_sweeps % num_sweeps_per_beta:
            raise ValueError(
                "num_sweeps must be a positive multiple of num_sweeps_per_beta, got "
                f"{num_sweeps} and {num_sweeps_per_beta}"
            )
        if beta_range is None:
            beta_range = anneal_beta_range(csr)
        ends = check_beta_range(beta_range, beta_schedule_type)
        kind = 1 if beta_schedule_type == "geometric" else 2
        schedule, num_betas = np.array(ends), num_sweeps // num_sweeps_per_beta
    return kind, schedule, num_betas, ends
