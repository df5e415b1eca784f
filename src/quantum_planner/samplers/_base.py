"""What every sampler of this package shares: input parsing, seeding, results."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import dimod
import numba
import numpy as np

from quantum_planner.samplers import _kernels
from quantum_planner.samplers._compile import prepare, spent
from quantum_planner.samplers._csr import IsingCSR, ising_csr_from_bqm

__all__ = ["NumbaSampler", "Run"]

_SEED_LIMIT = 2**32


@dataclass
class Run:
    """One call's parsed inputs in kernel form."""

    csr: IsingCSR
    spins: np.ndarray  # (num_reads, n) int8 in {-1, +1}, C-contiguous, bqm.variables order
    num_given: int  # how many rows came from the caller's initial_states
    seed: int
    seeds: np.ndarray  # one xorshift state per read
    deadline_ns: int  # 0 means no time limit
    start_ns: int
    compile_s: float = 0.0  # kernel compilation, outside the time limit
    cache_load_s: float = 0.0  # machine code loaded from numba's disk cache, outside too

    @property
    def num_reads(self) -> int:
        return int(self.spins.shape[0])

    def window_ns(self, rounds: int, fill: float) -> int:
        """Share ``fill`` of the time left, split over ``rounds`` (the budgeted schedules)."""
        return max(1, int(fill * (self.deadline_ns - _kernels.now_ns()) / max(1, rounds)))

    def call(self, kernel: Any, make_args: Callable[[], Sequence[Any]]) -> Any:
        """``kernel(*make_args())`` with compilation kept outside the time limit.

        A kernel not yet compiled in this process for these argument types is
        compiled (or loaded from numba's cache) first; the clock then moves on
        by the time that took: deadline and start shift, and the time is
        recorded in ``compile_s`` / ``cache_load_s``. ``make_args`` is called
        again after such a shift, so arguments read from the deadline see the
        new one.
        """
        args = make_args()
        ready = prepare(kernel, args)
        if ready.total_s:
            shift = int(ready.total_s * 1e9)
            self.compile_s += ready.compile_s
            self.cache_load_s += ready.load_s
            self.start_ns += shift
            if self.deadline_ns:
                self.deadline_ns += shift
            args = make_args()
        return kernel(*args)

    def check_every(self, work_per_sweep: int) -> int:
        """Sweeps between clock reads: roughly one read per 0.5 ms of work."""
        return max(1, 50_000 // max(1, work_per_sweep))

    def elapsed_s(self) -> float:
        return (_kernels.now_ns() - self.start_ns) / 1e9


class NumbaSampler(dimod.Sampler, dimod.Initialized):
    """Base of the numba samplers: common parameters, properties and plumbing."""

    #: sampler-specific parameters (name -> list of relevant properties)
    _own_parameters: dict[str, list[str]] = {}
    #: one line saying what runs in parallel
    _parallelism = "reads run in parallel, one per thread"

    @property
    def parameters(self) -> dict[str, list[str]]:
        return {
            "num_reads": [],
            "seed": [],
            "initial_states": [],
            "initial_states_generator": [],
            "time_limit": [],
            **self._own_parameters,
        }

    @property
    def properties(self) -> dict[str, Any]:
        return {
            "num_threads": numba.get_num_threads(),
            "parallelism": self._parallelism,
            "threading_layer": numba.config.THREADING_LAYER,
            "time_limit_checked_inside_reads": True,
        }

    # --- helpers for subclasses ---------------------------------------------------

    def _parse(
        self,
        bqm: dimod.BinaryQuadraticModel,
        num_reads: int | None,
        seed: int | None,
        initial_states: Any,
        initial_states_generator: str,
        time_limit: float | None,
    ) -> Run:
        start = _kernels.now_ns()
        if seed is None:
            seed = int(np.random.default_rng().integers(_SEED_LIMIT))
        elif not isinstance(seed, Integral) or not 0 <= seed < _SEED_LIMIT:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        seed = int(seed)
        deadline = 0
        if time_limit is not None:
            if not isinstance(time_limit, int | float) or not time_limit > 0:
                raise ValueError(
                    f"time_limit must be a positive number of seconds, got {time_limit!r}"
                )
            if math.isfinite(time_limit):
                deadline = start + int(time_limit * 1e9)
        before = spent()
        csr = ising_csr_from_bqm(bqm)
        # a kernel compiled (or loaded) for the conversion does not count against the limit
        prep = spent()
        prep_compile, prep_load = (prep.compile_s - before.compile_s, prep.load_s - before.load_s)
        shift = int((prep_compile + prep_load) * 1e9)
        start += shift
        if deadline:
            deadline += shift
        if initial_states is None and initial_states_generator == "random":
            # the common case, without dimod's SampleSet round trip (it computes
            # energies of states nobody reads): uniform random spins from the seed
            reads = 1 if num_reads is None else num_reads
            if not isinstance(reads, Integral) or reads < 1:
                raise ValueError(f"num_reads must be a positive integer, got {num_reads!r}")
            rng = np.random.default_rng(seed)
            spins = 2 * rng.integers(0, 2, (int(reads), csr.num_variables), dtype=np.int8) - 1
            given = 0
        else:
            spins = self._initial_spins(
                bqm, csr, num_reads, seed, initial_states, initial_states_generator
            )
            given = 0 if initial_states is None else len(dimod.as_samples(initial_states)[0])
        spins = np.ascontiguousarray(spins, dtype=np.int8)
        return Run(
            csr=csr,
            spins=spins,
            num_given=min(given, spins.shape[0]),
            seed=seed,
            seeds=_kernels.read_seeds(seed, spins.shape[0]),
            deadline_ns=deadline,
            start_ns=start,
            compile_s=prep_compile,
            cache_load_s=prep_load,
        )

    def _initial_spins(
        self,
        bqm: dimod.BinaryQuadraticModel,
        csr: IsingCSR,
        num_reads: int | None,
        seed: int,
        initial_states: Any,
        initial_states_generator: str,
    ) -> np.ndarray:
        """Initial states by dimod's rules, as spins in the CSR's variable order."""
        parsed = self.parse_initial_states(
            bqm,
            initial_states=initial_states,
            initial_states_generator=initial_states_generator,
            num_reads=num_reads,
            seed=seed,
        )
        init = parsed.initial_states
        arr = np.asarray(init.record.sample, dtype=np.int8)
        if list(init.variables) != list(csr.variables):
            position = {v: k for k, v in enumerate(init.variables)}
            arr = arr[:, [position[v] for v in csr.variables]]
        if bqm.vartype is dimod.BINARY:
            arr = (2 * arr - 1).astype(np.int8)
        return arr

    def _result(
        self,
        bqm: dimod.BinaryQuadraticModel,
        run: Run,
        spins: np.ndarray,
        info: dict[str, Any],
        **vectors: Any,
    ) -> dimod.SampleSet:
        """SampleSet in the BQM's vartype; energies come from ``bqm.energies``."""
        samples = spins if bqm.vartype is dimod.SPIN else (spins + 1) // 2
        info = {
            "seed": run.seed,
            "num_threads": numba.get_num_threads(),
            "sampling_time_s": run.elapsed_s(),
            "compile_seconds": run.compile_s,
            "cache_load_seconds": run.cache_load_s,
            **info,
        }
        # labels 0..n-1 in order are sorted already: skip dimod's sort of the
        # labels (a Python sort with a key, ~1 ms on 2,000 variables)
        presorted = bool(getattr(bqm.variables, "is_range", False))
        return dimod.SampleSet.from_samples_bqm(
            (np.asarray(samples, dtype=np.int8), run.csr.variables),
            bqm,
            info=info,
            sort_labels=not presorted,
            **vectors,
        )

    def _empty(self, bqm: dimod.BinaryQuadraticModel, run: Run) -> dimod.SampleSet:
        """Result for a model without variables: num_reads empty samples."""
        spins = np.zeros((run.num_reads, 0), dtype=np.int8)
        return self._result(bqm, run, spins, {"timed_out": False})
