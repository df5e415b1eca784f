"""Parallel tempering (replica-exchange Monte Carlo) with an adaptive ladder."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import dimod
import numba
import numpy as np

from quantum_planner.samplers import _kernels
from quantum_planner.samplers._base import NumbaSampler
from quantum_planner.samplers._csr import default_beta_range, integer_form
from quantum_planner.samplers.simulated_annealing import (
    BUDGET_FILL,
    DEFAULT_SWEEPS,
    check_beta_range,
    is_finite_limit,
)

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

    Models whose biases are all integers (with small local fields, the same
    rule as :class:`SimulatedAnnealingSampler`) run on the integer kernel:
    int32 local fields, one table of acceptance thresholds per ladder
    position, integer energies for the swaps.

    Time-budgeted run: given a ``time_limit`` and no ``num_sweeps``, each
    read (default one per thread) runs rounds until its share of the time is
    spent, adapting the ladder during the first ``adapt_fraction`` of that
    time. The round count then depends on the machine's speed, so samples
    are reproducible from the seed only with a fixed ``num_sweeps``.

    Cluster moves: with ``cluster_moves=True`` each read runs two ladders
    and, after every round, one Houdayer cluster move between the two
    replicas at each of its coldest temperatures: the connected cluster of
    sites where they differ is flipped in both, which keeps their summed
    energy, so it is always accepted. It pays on sparse low-dimensional
    graphs (toroidal grids) and costs time on random graphs, where the
    cluster spans the graph.

    ``info`` holds each read's final ladder and swap acceptance rates, the
    kernel ('integer' or 'float') and the schedule ('time' or 'sweeps'),
    and with cluster moves their count and mean size.
    """

    _own_parameters = {
        "num_replicas": [],
        "num_sweeps": [],
        "beta_range": [],
        "adapt_fraction": [],
        "adapt_every": [],
        "cluster_moves": [],
        "cluster_fraction": [],
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
        num_sweeps: int | None = None,
        beta_range: tuple[float, float] | None = None,
        adapt_fraction: float = 0.25,
        adapt_every: int = 25,
        cluster_moves: bool = False,
        cluster_fraction: float = 0.5,
        **kwargs: Any,
    ) -> dimod.SampleSet:
        """Sample ``bqm`` by replica exchange.

        Args:
            num_reads, seed, initial_states, initial_states_generator, time_limit:
                as for :class:`SimulatedAnnealingSampler`.
            num_replicas: temperatures on the ladder (>= 2).
            num_sweeps: rounds; each round is one sweep of every replica
                followed by swap attempts. Default: with a finite
                ``time_limit`` rounds until the time is spent, else 1000.
            beta_range: (hot, cold); default derived from the biases.
            adapt_fraction: share of the rounds used to tune the ladder.
            adapt_every: rounds between ladder adjustments.
            cluster_moves: run two ladders per read and, after every round,
                one Houdayer cluster move between the two replicas at each of
                the coldest temperatures (twice the sweeps per round).
            cluster_fraction: share of the ladder, coldest first, that gets
                cluster moves (hotter replicas differ almost everywhere, so
                their clusters span the graph and swap little of use).
        """
        self.remove_unknown_kwargs(**kwargs)
        budgeted = num_sweeps is None and is_finite_limit(time_limit)
        if budgeted and num_reads is None and initial_states is None:
            num_reads = numba.get_num_threads()  # one ladder per thread
        run = self._parse(
            bqm, num_reads, seed, initial_states, initial_states_generator, time_limit
        )
        if run.csr.num_variables == 0:
            return self._empty(bqm, run)
        if num_sweeps is None:
            num_sweeps = DEFAULT_SWEEPS
        hot, cold = _ladder_ends(
            run.csr, num_replicas, num_sweeps, adapt_every, adapt_fraction, beta_range,
            cluster_fraction,
        )  # fmt: skip
        betas = np.geomspace(hot, cold, int(num_replicas))
        pairs = 2 if cluster_moves else 1
        csr = run.csr
        spins = run.spins
        m = int(num_replicas)
        check = run.check_every((csr.num_variables + csr.indices.shape[0]) * m * pairs) * m * pairs
        # each thread runs ceil(reads / threads) ladders one after another
        per_thread = -(-run.num_reads // numba.get_num_threads())
        timed = budgeted and bool(run.deadline_ns)
        ints = integer_form(csr)
        # integer biases: integer fields and per-temperature threshold tables
        h, data = (csr.h, csr.data) if ints is None else (ints.h, ints.data)
        above = 0.0 if ints is None else _kernels.update_above(ints.mean_degree)

        def args() -> tuple:
            window = run.window_ns(per_thread, BUDGET_FILL) if timed else 0
            return (
                h, csr.indptr, csr.indices, data, spins, betas, int(num_sweeps),
                int(adapt_fraction * num_sweeps), int(adapt_every), run.seeds, run.deadline_ns,
                check, _kernels.CLOCK_ID, window, int(adapt_fraction * window),
                -1 if ints is None else ints.max_field,
                above * csr.num_variables, pairs,
                round(cluster_fraction * m) if cluster_moves else 0, not np.any(csr.h),
            )  # fmt: skip

        rounds, cut, ladders, accepts, icm = run.call(_kernels.temper, args)
        info = {
            "beta_range": (float(hot), float(cold)),
            "ladders": ladders[:, ::-1].tolist(),  # hot to cold, one per read
            "swap_acceptance": accepts[:, ::-1].tolist(),
            "timed_out": bool(cut.any()),
            "kernel": "integer" if ints is not None else "float",
            "schedule": "time" if timed else "sweeps",
            **(_cluster_info(icm) if cluster_moves else {}),
        }
        return self._result(bqm, run, spins, info, num_sweeps=rounds)


def _ladder_ends(
    csr: Any,
    num_replicas: Any,
    num_sweeps: int,
    adapt_every: int,
    adapt_fraction: float,
    beta_range: tuple[float, float] | None,
    cluster_fraction: float,
) -> tuple[float, float]:
    """Check the ladder's arguments; the (hot, cold) ends of the ladder."""
    if not isinstance(num_replicas, Integral) or num_replicas < 2:
        raise ValueError(f"num_replicas must be an integer >= 2, got {num_replicas!r}")
    if num_sweeps < 1 or adapt_every < 1 or not 0.0 <= adapt_fraction <= 1.0:
        raise ValueError("num_sweeps and adapt_every must be >= 1, adapt_fraction in [0, 1]")
    if not 0.0 <= cluster_fraction <= 1.0:
        raise ValueError(f"cluster_fraction must be in [0, 1], got {cluster_fraction}")
    if beta_range is None:
        return default_beta_range(csr)
    # the ladder starts geometric: both ends above zero
    return check_beta_range(beta_range, "geometric")


def _cluster_info(icm: np.ndarray) -> dict[str, Any]:
    """Houdayer move count and mean cluster size, summed over the reads."""
    moves = int(icm[:, 0].sum())
    return {"cluster_moves": moves, "mean_cluster_size": float(icm[:, 1].sum()) / max(moves, 1)}
