"""Parallel tempering (replica-exchange Monte Carlo) with an adaptive ladder."""

from __future__ import annotations

from typing import Any

import dimod
import numpy as np

from quantum_planner.samplers import _kernels
from quantum_planner.samplers._base import NumbaSampler
from quantum_planner.samplers._csr import default_beta_range

__all__ = ["ParallelTemperingSampler"]


class ParallelTemperingSampler(NumbaSampler):
    """Replica exchange over a ladder of inverse temperatures, numba-compiled.

    Each read runs ``num_replicas`` Metropolis chains at temperatures spread
    over ``beta_range`` (geometric at first). After every sweep of all
    replicas, neighbours on the ladder try to swap states with the usual
    acceptance ``min(1, exp((b_k - b_k+1)(E_k - E_k+1)))``. During the first
    ``adapt_fraction`` of the rounds the inner temperatures are respaced every
    ``adapt_every`` rounds so the swap acceptance evens out along the ladder.
    A read returns the lowest-energy state any of its replicas visited
    (polished by a greedy descent). The coldest replica starts at the read's
    initial state, the others at random states. Reads run in parallel.

    ``info`` holds each read's final ladder and swap acceptance rates.
    """

    _own_parameters = {
        "num_replicas": [],
        "num_sweeps": [],
        "beta_range": [],
        "adapt_fraction": [],
        "adapt_every": [],
    }

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        *,
        num_reads: int | None = None,
        seed: int | None = None,
        initial_states: Any = None,
        initial_states_generator: str = "random",
        time_limit: float | None = None,
        num_replicas: int = 16,
        num_sweeps: int = 1000,
        beta_range: tuple[float, float] | None = None,
        adapt_fraction: float = 0.25,
        adapt_every: int = 25,
        **kwargs: Any,
    ) -> dimod.SampleSet:
        """Sample ``bqm`` by replica exchange.

        Args:
            num_reads, seed, initial_states, initial_states_generator, time_limit:
                as for :class:`SimulatedAnnealingSampler`.
            num_replicas: temperatures on the ladder (>= 2).
            num_sweeps: rounds; each round is one sweep of every replica
                followed by swap attempts.
            beta_range: (hot, cold); default derived from the biases.
            adapt_fraction: share of the rounds used to tune the ladder.
            adapt_every: rounds between ladder adjustments.
        """
        self.remove_unknown_kwargs(**kwargs)
        run = self._parse(
            bqm, num_reads, seed, initial_states, initial_states_generator, time_limit
        )
        if run.csr.num_variables == 0:
            return self._empty(bqm, run)
        if num_replicas < 2:
            raise ValueError("num_replicas must be at least 2")
        if num_sweeps < 1 or adapt_every < 1 or not 0.0 <= adapt_fraction <= 1.0:
            raise ValueError("num_sweeps and adapt_every must be >= 1, adapt_fraction in [0, 1]")
        hot, cold = default_beta_range(run.csr) if beta_range is None else beta_range
        if not 0 < hot <= cold:
            raise ValueError(
                f"beta_range must be (hot, cold) with 0 < hot <= cold, got {(hot, cold)}"
            )
        betas = np.geomspace(hot, cold, int(num_replicas))
        csr = run.csr
        spins = run.spins
        work = (csr.num_variables + csr.indices.shape[0]) * int(num_replicas)
        rounds, cut, ladders, accepts = _kernels.temper(
            csr.h,
            csr.indptr,
            csr.indices,
            csr.data,
            spins,
            betas,
            int(num_sweeps),
            int(adapt_fraction * num_sweeps),
            int(adapt_every),
            run.seeds,
            run.deadline_ns,
            run.check_every(work) * int(num_replicas),
            _kernels.CLOCK_ID,
        )
        info = {
            "beta_range": (float(hot), float(cold)),
            "ladders": ladders[:, ::-1].tolist(),  # hot to cold, one per read
            "swap_acceptance": accepts[:, ::-1].tolist(),
            "timed_out": bool(cut.any()),
        }
        return self._result(bqm, run, spins, info, num_sweeps=rounds)
