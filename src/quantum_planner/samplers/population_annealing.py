"""Population annealing: simulated annealing of a resampled population of replicas."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import dimod
import numpy as np

from quantum_planner.samplers import _kernels
from quantum_planner.samplers._base import NumbaSampler
from quantum_planner.samplers._csr import anneal_beta_range, integer_form
from quantum_planner.samplers.simulated_annealing import (
    BUDGET_FILL,
    DEFAULT_SWEEPS,
    check_beta_range,
    is_finite_limit,
)

__all__ = ["PopulationAnnealingSampler", "default_population"]

#: the default population's spins and fields stay near this many entries
_POPULATION_CELLS = 20_000_000


def default_population(num_variables: int) -> int:
    """Replicas when ``population_size`` is not given: 200, fewer on models
    so large that 200 copies of the state would not fit comfortably in memory
    (at least 16)."""
    return int(min(200, max(16, _POPULATION_CELLS // max(1, num_variables))))


class PopulationAnnealingSampler(NumbaSampler):
    """Population annealing (Hukushima and Iba 2003; Machta 2010), numba-compiled.

    ``population_size`` replicas anneal together through the same schedule
    as :class:`~quantum_planner.samplers.SimulatedAnnealingSampler` (geometric
    or linear over ``beta_range``, ``num_sweeps_per_beta`` Metropolis sweeps
    per replica at each temperature). Before each temperature step the
    population is resampled: each replica is copied in proportion to
    ``exp(-(beta_new - beta_old) E)``, so low-energy states multiply and
    high-energy ones die out while the copies, each with its own random
    stream, explore apart. Where single anneals vary a lot from run to run
    this selection pays a little: on Gset G56, G59 and G60, 10 s calls found
    cuts 2-6 larger on average than SA's one long anneal per thread, and
    varied less (on G58 it was level to behind; ``benchmarks/README.md``).

    Replicas are swept in parallel (all threads work on the one population).
    The call returns the ``num_reads`` lowest-energy replicas of the final
    population, each finished by a greedy descent. ``initial_states`` seed the
    first replicas; the rest start random (``initial_states_generator``).

    Time-budgeted run: given a finite ``time_limit`` and no ``num_sweeps``,
    beta follows the schedule by elapsed time and steps run until the
    budget is spent; the step count then depends on the machine's speed, so
    samples are reproducible from the seed only with a fixed ``num_sweeps``.
    """

    _own_parameters = {
        "population_size": [],
        "beta_range": [],
        "num_sweeps": [],
        "num_sweeps_per_beta": [],
        "beta_schedule_type": ["beta_schedule_options"],
    }
    _parallelism = "the replicas of the population are swept in parallel"

    @property
    def properties(self) -> dict[str, Any]:
        return {**super().properties, "beta_schedule_options": ("geometric", "linear")}

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        *,
        num_reads: int | None = None,
        seed: int | None = None,
        initial_states: Any = None,
        initial_states_generator: str = "random",
        time_limit: float | None = None,
        population_size: int | None = None,
        beta_range: tuple[float, float] | None = None,
        num_sweeps: int | None = None,
        num_sweeps_per_beta: int = 10,
        beta_schedule_type: str = "geometric",
        **kwargs: Any,
    ) -> dimod.SampleSet:
        """Anneal a population of states of ``bqm`` (SPIN or BINARY).

        Args:
            num_reads: samples returned, the lowest-energy replicas at the end
                (default: number of initial states, or 1).
            seed: integer in [0, 2**32); same seed and arguments, same samples.
            initial_states: warm starts (dimod samples-like) for the first replicas.
            initial_states_generator: 'random', 'tile' or 'none' (dimod rules)
                for the replicas beyond the given initial states.
            time_limit: wall-clock bound in seconds for the whole call.
            population_size: replicas (default :func:`default_population`,
                at least ``num_reads`` and the number of initial states).
            beta_range: (hot, cold) inverse temperatures (default:
                :func:`~quantum_planner.samplers._csr.anneal_beta_range`).
            num_sweeps: sweeps per replica, a multiple of ``num_sweeps_per_beta``.
                Default: with a finite ``time_limit`` the time-budgeted run, else 1000
                (rounded up to a multiple of ``num_sweeps_per_beta``).
            num_sweeps_per_beta: sweeps per replica at each temperature.
            beta_schedule_type: 'geometric' or 'linear'.
        """
        self.remove_unknown_kwargs(**kwargs)
        budgeted = num_sweeps is None and is_finite_limit(time_limit)
        reads, population, num_sweeps = _sizes(
            bqm, num_reads, initial_states, initial_states_generator, population_size,
            num_sweeps, num_sweeps_per_beta,
        )  # fmt: skip
        run = self._parse(
            bqm, population, seed, initial_states, initial_states_generator, time_limit
        )
        if run.csr.num_variables == 0:
            return self._empty_reads(bqm, run, reads)
        csr = run.csr
        if beta_range is None:
            beta_range = anneal_beta_range(csr)
        ends = check_beta_range(beta_range, beta_schedule_type)
        kind = 1 if beta_schedule_type == "geometric" else 2
        spins = run.spins
        # clock reads inside a replica's step: about one per 0.5 ms of its work
        check = run.check_every(csr.num_variables + csr.indices.shape[0])
        timed = budgeted and bool(run.deadline_ns)
        ints = integer_form(csr)
        h, data = (csr.h, csr.data) if ints is None else (ints.h, ints.data)
        master = int(_kernels.read_seeds(run.seed ^ 0x5EED, 1)[0])
        steps, cut, energy, sweeps = run.call(_kernels.population_anneal, lambda: (
            h, csr.indptr, csr.indices, data, spins, kind, np.array(ends, dtype=np.float64),
            num_sweeps // num_sweeps_per_beta, num_sweeps_per_beta, run.seeds,
            np.uint64(master), run.deadline_ns, check, _kernels.CLOCK_ID,
            -1 if ints is None else ints.max_field,
            0.0 if ints is None else _kernels.update_above(ints.mean_degree) * csr.num_variables,
            run.window_ns(1, BUDGET_FILL) if timed else 0,
        ))  # fmt: skip
        keep = np.argsort(energy, kind="stable")[:reads]
        info = {
            "beta_range": ends,
            "beta_schedule_type": beta_schedule_type,
            "population_size": population,
            "num_steps": int(steps),
            "distinct_final_states": int(np.unique(spins, axis=0).shape[0]),
            "timed_out": bool(cut),
            "kernel": "integer" if ints is not None else "float",
            "schedule": "time" if timed else "sweeps",
        }
        num = np.full(reads, int(sweeps), dtype=np.int64)
        return self._result(bqm, run, spins[keep], info, num_sweeps=num)

    def _empty_reads(
        self, bqm: dimod.BinaryQuadraticModel, run: Any, reads: int
    ) -> dimod.SampleSet:
        """Result for a model without variables: ``reads`` empty samples."""
        spins = np.zeros((reads, 0), dtype=np.int8)
        return self._result(bqm, run, spins, {"timed_out": False})


def _sizes(
    bqm: dimod.BinaryQuadraticModel,
    num_reads: Any,
    initial_states: Any,
    initial_states_generator: str,
    population_size: Any,
    num_sweeps: int | None,
    num_sweeps_per_beta: Any,
) -> tuple[int, int, int]:
    """Check the size arguments: (reads returned, population, sweeps per replica)."""
    if num_reads is not None and (not isinstance(num_reads, Integral) or num_reads < 1):
        raise ValueError(f"num_reads must be a positive integer, got {num_reads!r}")
    given = 0 if initial_states is None else len(dimod.as_samples(initial_states)[0])
    reads = int(num_reads) if num_reads is not None else max(1, given)
    if population_size is None and given and initial_states_generator == "none":
        population = max(reads, given)  # no generator: exactly the given states
    elif population_size is None:
        population = max(reads, given, default_population(bqm.num_variables))
    else:
        if not isinstance(population_size, Integral) or population_size < 1:
            raise ValueError(f"population_size must be a positive integer, got {population_size!r}")
        if population_size < reads:
            raise ValueError(
                f"population_size ({population_size}) must be at least num_reads ({reads})"
            )
        population = int(population_size)
    if not isinstance(num_sweeps_per_beta, Integral) or num_sweeps_per_beta < 1:
        raise ValueError("num_sweeps_per_beta must be a positive integer")
    if num_sweeps is None:  # the default, rounded up to whole temperature steps
        num_sweeps = -(-DEFAULT_SWEEPS // num_sweeps_per_beta) * num_sweeps_per_beta
    if num_sweeps < num_sweeps_per_beta or num_sweeps % num_sweeps_per_beta:
        raise ValueError(
            "num_sweeps must be a positive multiple of num_sweeps_per_beta, got "
            f"{num_sweeps} and {num_sweeps_per_beta}"
        )
    return reads, population, num_sweeps
