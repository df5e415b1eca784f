"""QUBO solvers: build the BQM, sample it with a dimod sampler, decode, repair, keep the best.

``SimulatedAnnealingQUBOSolver`` (name ``simulated_annealing``) uses
dwave-samplers' ``SimulatedAnnealingSampler`` and ``TabuQUBOSolver`` (``tabu``)
its ``TabuSampler``; both accept ``sampler=`` any :class:`dimod.Sampler`, so our
own samplers plug in. Penalties are adaptive: while the lowest-energy samples
break a constraint kind, that kind's weight is doubled and the BQM re-sampled.
Capacities are lagrangian by default (a multiplier and a quadratic weight per
agent, raised where samples overflow). The final weights are reported in
``Solution.penalties``.
"""

from __future__ import annotations

import threading
import time

_IMPORT_START = time.perf_counter()

from collections.abc import Mapping  # noqa: E402 - timed from here on
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import dimod  # noqa: E402
import numpy as np  # noqa: E402

from quantum_planner.disruption import BEST_FIRST, DisruptionTerms, choose  # noqa: E402
from quantum_planner.errors import BackendUnavailableError  # noqa: E402
from quantum_planner.formulation.bqm import QUBOBuilder  # noqa: E402
from quantum_planner.formulation.decode import best_of, decode  # noqa: E402
from quantum_planner.model import Problem, Solution  # noqa: E402
from quantum_planner.objectives import objective_key, primary_value  # noqa: E402
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution  # noqa: E402

__all__ = ["QUBOSolver", "SimulatedAnnealingQUBOSolver", "TabuQUBOSolver"]

# Importing dimod takes about a second. The planner imports this module inside the
# timed call of the first solve, so that solve counts the import against its limit.
_IMPORT_DONE = time.perf_counter()
_import_debt = [_IMPORT_DONE - _IMPORT_START]

#: largest BQM handed to dwave's TabuSampler, which copies it into a dense n x n float64
#: matrix (2 GiB here; 320 GB at the QUBO builder's 200,000-variable limit)
MAX_DENSE_VARIABLES = 16_384
_DECODE_TOP = 4  # decode this many distinct lowest-energy samples per chunk


class QUBOSolver:
    """Sample a problem's QUBO with any dimod sampler (see the module docstring).

    Parameters
    ----------
    sampler:
        A :class:`dimod.Sampler`; default chosen by the subclass.
    num_reads:
        Reads per penalty round (fewer if the time limit runs out first).
    max_rounds:
        Penalty rounds (the first uses the automatic weights); up to four times as
        many while no sample has decoded to a feasible plan.
    penalty_growth:
        Factor applied to a violated kind's weight between rounds.
    chunk_reads:
        Reads per sampler call; the clock is checked between calls.
    builder_options:
        Keyword arguments for :class:`QUBOBuilder` (``penalties``, ``mode``,
        ``makespan``, ``time_slots``...); ``capacity`` defaults to ``"lagrangian"``
        here (multipliers raised where samples overflow, reported in
        ``Solution.penalties`` as ``capacity_lagrange_max`` / ``capacity_rho_max``).
    sampler_params:
        Extra keyword arguments for ``sampler.sample`` (those it accepts).
    """

    name = "qubo"
    _sampling_share = 0.6  # of the time limit; the rest is for decoding and start-up

    def __init__(
        self,
        sampler: dimod.Sampler | None = None,
        *,
        num_reads: int = 32,
        max_rounds: int = 5,
        penalty_growth: float = 2.0,
        chunk_reads: int = 4,
        builder_options: Mapping[str, Any] | None = None,
        sampler_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.sampler = sampler if sampler is not None else self._default_sampler()
        self.num_reads = max(1, int(num_reads))
        self.max_rounds = max(1, int(max_rounds))
        self.penalty_growth = float(penalty_growth)
        self.chunk_reads = max(1, int(chunk_reads))
        self._builder: QUBOBuilder | None = None  # the one being solved
        self.candidates: list[Solution] = []  # every plan the last solve decoded
        self._left = 0.0  # seconds left for sampling when the current chunk starts
        self._hard_deadline = float("inf")  # samplers that can be interrupted stop here
        self._stop: threading.Event | None = None
        # lagrangian capacities sample better than slack bits (docs/FORMULATION.md)
        self.builder_options = {"capacity": "lagrangian", **(builder_options or {})}
        self.sampler_params = dict(sampler_params or {})

    # -- hooks --------------------------------------------------------------------
    def _default_sampler(self) -> dimod.Sampler:
        return dimod.SimulatedAnnealingSampler()

    def _sample(
        self, bqm: dimod.BinaryQuadraticModel, reads: int, seed: int, seconds: float
    ) -> dimod.SampleSet:
        """One chunk of reads meant to take about ``seconds``."""
        params = self._params(reads, seed)
        return self.sampler.sample(bqm, **params)

    def _first_read_estimate(self, bqm: dimod.BinaryQuadraticModel) -> float:
        """Seconds one read is expected to take before any was measured (0: unknown)."""
        return 0.0

    def _params(self, reads: int, seed: int, **extra: Any) -> dict[str, Any]:
        accepted = getattr(self.sampler, "parameters", {}) or {}
        params: dict[str, Any] = {
            "num_reads": reads,
            "seed": seed,
            "interrupt_function": self._interrupted,
            **extra,
            **self.sampler_params,
        }
        return {k: v for k, v in params.items() if k in accepted}

    def _interrupted(self) -> bool:
        """For samplers that poll between reads: past the hard deadline, or stopped."""
        stopped = self._stop is not None and self._stop.is_set()
        return stopped or time.perf_counter() > self._hard_deadline

    # -- solve --------------------------------------------------------------------
    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
        disruption: DisruptionTerms | None = None,
    ) -> Solution:
        """Best plan found within ``time_limit`` seconds (see the class docstring).

        ``disruption`` (re-planning): the QUBO gets linear biases toward the reference
        plan (:class:`QUBOBuilder`'s ``disruption``) and the plan returned is the rule's
        pick (:mod:`quantum_planner.disruption`) among the decoded samples and the warm
        start.
        """
        t0 = time.perf_counter()
        if _import_debt[0] and t0 - _IMPORT_DONE < 1.0:  # the import was part of this call
            time_limit = max(time_limit * 0.3, time_limit - _import_debt[0])
        _import_debt[0] = 0.0
        # sampling stops at a share of the limit: decoding the last chunk, building the
        # Solution and (in the planner) importing the sampler must fit in the rest
        deadline = t0 + max(0.0, time_limit) * self._sampling_share
        self._hard_deadline = t0 + max(0.0, time_limit) * 0.8
        self._stop = stop
        rng = np.random.default_rng(seed)
        builder = QUBOBuilder(problem, **self.builder_options, disruption=disruption)
        self._builder = builder
        run = _Run(problem, builder, t0, time_limit, deadline, stop, progress, rng, disruption)
        if warm_start is not None and warm_start.assignments:
            run.candidates.append(
                decode(builder, builder.encode(warm_start.assignments, _starts(warm_start)))
            )
        rounds = 0
        # past max_rounds only while no feasible plan was found, up to 4x as many
        for rounds in range(1, 4 * self.max_rounds + 1):
            bqm = builder.bqm
            if bqm.num_variables == 0:  # nothing to decide (no tasks, or none fits)
                break
            worst_violation, over = self._round(run, bqm, rounds)
            out_of_time = (
                run.skipped is not None or time.perf_counter() >= deadline or run.stopped()
            )
            if not worst_violation or out_of_time:
                break
            if rounds >= self.max_rounds and any(c.feasible for c in run.candidates):
                break
            self._adapt_penalties(builder, worst_violation, over)
        return self._result(run, rounds, seed)

    def _round(
        self, run: _Run, bqm: dimod.BinaryQuadraticModel, rounds: int
    ) -> tuple[dict[str, float], np.ndarray | None]:
        """One penalty round of reads, in chunks; the worst violation per kind and overflow."""
        done = 0
        worst_violation: dict[str, float] = {}
        over: np.ndarray | None = None  # lagrangian capacity: overflow per agent
        while done < self.num_reads:
            left = run.deadline - time.perf_counter()
            if run.stopped() or (left <= 0 and run.candidates):
                break
            if run.per_read is None and self._first_read_estimate(bqm) > left:
                run.skipped = (
                    f"{self.name}: one read of this {bqm.num_variables}-variable BQM would "
                    f"take about {self._first_read_estimate(bqm):.1f}s, more than the "
                    f"{max(left, 0):.1f}s left"
                )
                break
            chunk = self._chunk_size(run, done, left)
            if chunk is None:
                break  # not even one more read fits
            ts = time.perf_counter()
            share = left * chunk / (self.num_reads - done)  # this chunk's part of the time
            self._left = left
            ss = self._sample(bqm, chunk, int(run.rng.integers(2**31 - 1)), max(share, 0.01))
            done += chunk
            run.reads_total += chunk
            over = self._decode_chunk(run, ss, worst_violation, over)
            # per read, sampling and decoding together: what the next chunk will cost
            run.per_read = (time.perf_counter() - ts) / chunk
            self._report(run, rounds)
        return worst_violation, over

    def _chunk_size(self, run: _Run, done: int, left: float) -> int | None:
        """Reads in the next sampler call; None when not even one more fits in ``left``.

        Fixed chunk sizes keep a seeded run reproducible; only a binding time limit
        shrinks a chunk. The very first call is one read: it measures what a read costs.
        """
        if run.per_read is None:
            return 1
        chunk = min(self.num_reads - done, self.chunk_reads)
        if run.per_read > 0:
            if run.candidates and run.per_read > left:
                return None
            chunk = max(1, min(chunk, int(left / run.per_read)))
        return chunk

    def _decode_chunk(
        self,
        run: _Run,
        ss: dimod.SampleSet,
        worst_violation: dict[str, float],
        over: np.ndarray | None,
    ) -> np.ndarray | None:
        """Decode the chunk's best distinct samples; record violations; the overflow so far."""
        builder = run.builder
        x = builder.x_matrix(ss)
        energies = np.asarray(ss.record.energy, dtype=float)
        order = np.argsort(energies, kind="stable")
        seen: set[bytes] = set()
        for r in order:
            key = x[r].tobytes()
            if key in seen:
                continue
            seen.add(key)
            run.candidates.append(decode(builder, x[r], backend=self.name))
            if len(seen) >= _DECODE_TOP:
                break
        for kind, amount in builder.violations(x[order[0]]).items():
            if amount > 0:
                worst_violation[kind] = max(worst_violation.get(kind, 0.0), amount)
        if builder.capacity_encoding == "lagrangian":
            o = builder.overflow(x[order[0]])
            over = o if over is None else np.maximum(over, o)
        return over

    def _report(self, run: _Run, rounds: int) -> None:
        """Progress with the best plan so far."""
        best = best_of(run.problem, run.candidates)
        if run.progress is None:
            return
        elapsed = time.perf_counter() - run.t0
        run.progress(
            Progress(
                elapsed=elapsed,
                best=primary_value(run.problem, best.objectives),
                fraction=min(1.0, elapsed / max(run.time_limit, 1e-9)),
                message=f"round {rounds}, {run.reads_total} reads",
                solution=best,
            )
        )

    def _adapt_penalties(
        self, builder: QUBOBuilder, worst_violation: dict[str, float], over: np.ndarray | None
    ) -> None:
        """Adaptive penalties: the sampler prefers breaking these kinds; make it dearer."""
        builder.set_penalties(
            {
                k: builder.penalties[k] * self.penalty_growth
                for k in worst_violation
                if k in builder.penalties
            }
        )
        if over is not None and over.any():
            _raise_multipliers(builder, over, self.penalty_growth)

    def _result(self, run: _Run, rounds: int, seed: int | None) -> Solution:
        """The best decoded plan as the solution (an empty, repaired plan if none)."""
        problem, builder = run.problem, run.builder
        if not run.candidates:  # nothing sampled (no time at all): an empty, repaired plan
            run.candidates.append(decode(builder, np.zeros(builder.n, dtype=np.int8)))
        best = best_of(problem, run.candidates)
        # every decoded plan of the solve (checked or not), for callers that want more
        # than the best: the trade-off sweeps and the diverse alternatives
        self.candidates = list(run.candidates)
        feasible = [(i, c) for i, c in enumerate(run.candidates) if c.feasible]
        extra: dict[str, float] = {}
        if run.disruption is not None and feasible:
            _, best = choose(problem, feasible, run.disruption)
            extra[BEST_FIRST] = min(objective_key(problem, c.objectives)[0] for _, c in feasible)
        return make_solution(
            problem,
            best.assignments,
            {a: dict(ts) for a, ts in best.schedule.items()},
            backend=self.name,
            feasible=best.feasible,
            violations=best.violations,
            status=best.status,
            penalties=_reported_penalties(builder),
            wall_time=time.perf_counter() - run.t0,
            seed=seed,
            metadata={
                "qubo": {
                    **builder.summary(),
                    "rounds": rounds,
                    "reads": run.reads_total,
                    "skipped": run.skipped,
                },
                **extra,
            },
        )


@dataclass
class _Run:
    """One solve's state across penalty rounds and chunks."""

    problem: Problem
    builder: QUBOBuilder
    t0: float
    time_limit: float
    deadline: float  # sampling stops here
    stop: threading.Event | None
    progress: ProgressCallback | None
    rng: np.random.Generator
    disruption: DisruptionTerms | None = None  # re-planning: the rule picks the plan
    candidates: list[Solution] = field(default_factory=list)  # decoded plans
    reads_total: int = 0
    per_read: float | None = None  # seconds per read, sampling and decoding, measured
    skipped: str | None = None  # why sampling was skipped, if it was

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


class SimulatedAnnealingQUBOSolver(QUBOSolver):
    """QUBO + simulated annealing (dwave-samplers), sweeps sized to the time limit."""

    name = "simulated_annealing"

    def __init__(self, sampler: dimod.Sampler | None = None, *, num_sweeps: int = 1000, **kw: Any):
        super().__init__(sampler, **kw)
        self.num_sweeps = int(num_sweeps)
        self._sweep_time: float | None = None  # seconds per sweep per read, measured
        self._overhead = 0.0  # seconds per sampler call, measured

    def _default_sampler(self) -> dimod.Sampler:
        from dwave.samplers import SimulatedAnnealingSampler

        return SimulatedAnnealingSampler()

    def _sample(
        self, bqm: dimod.BinaryQuadraticModel, reads: int, seed: int, seconds: float
    ) -> dimod.SampleSet:
        sweeps = self.num_sweeps
        extra: dict[str, Any] = {}
        if self._builder is not None and "beta_range" not in self.sampler_params:
            extra["beta_range"] = self._builder.beta_range()
        if self._sweep_time is None:
            # probes: a 1-sweep read measures the per-call overhead, a 51-sweep read
            # the sweep itself (the overhead dominates small BQMs and would otherwise
            # shorten the anneal, and break reproducibility, for no reason)
            times = []
            for n in (1, 51, 1):  # the first call also warms up
                ts = time.perf_counter()
                self.sampler.sample(bqm, **self._params(1, seed, num_sweeps=n, **extra))
                times.append(time.perf_counter() - ts)
                if times[0] > 0.05 * self._left:
                    break  # probing a big BQM costs too much: estimate instead
            if len(times) == 3:
                self._overhead = times[2]
                self._sweep_time = max(times[1] - times[2], 0.0) / 50
            else:
                # measured on mk01 (5,860 variables, 1.08 M interactions): 11 ms a sweep
                self._overhead = times[0]
                self._sweep_time = 1e-8 * (bqm.num_interactions + bqm.num_variables)
        if self._sweep_time > 0:
            per_read = (seconds - self._overhead) / reads
            fit = per_read / self._sweep_time
            # rather fewer reads of a real anneal than many of a few sweeps: keep at
            # least 100 sweeps when one such read fits in the time left
            floor = min(sweeps, 100)
            if (self._left - self._overhead) / reads >= floor * self._sweep_time:
                fit = max(fit, floor)
            sweeps = int(min(sweeps, max(10, fit)))
        return self.sampler.sample(bqm, **self._params(reads, seed, num_sweeps=sweeps, **extra))

    def solve(self, problem: Problem, **kw: Any) -> Solution:  # type: ignore[override]
        self._sweep_time = None
        return super().solve(problem, **kw)


class TabuQUBOSolver(QUBOSolver):
    """QUBO + tabu search (dwave-samplers ``TabuSampler``).

    Each read stops after ``num_restarts`` restarts, or at its timeout (at most
    ``timeout_ms``, less when the time limit is near).
    """

    name = "tabu"
    _sampling_share = 0.5  # a tabu read cannot be interrupted: keep a wider margin

    def __init__(
        self,
        sampler: dimod.Sampler | None = None,
        *,
        timeout_ms: int = 2000,
        num_restarts: int = 4,
        **kw: Any,
    ):
        kw.setdefault("num_reads", 8)
        super().__init__(sampler, **kw)
        self.timeout_ms = int(timeout_ms)
        # a read ends after num_restarts restarts (reproducible) or at the timeout
        self.num_restarts = int(num_restarts)

    def _default_sampler(self) -> dimod.Sampler:
        from dwave.samplers import TabuSampler

        return TabuSampler()

    def _first_read_estimate(self, bqm: dimod.BinaryQuadraticModel) -> float:
        from dwave.samplers import TabuSampler

        if not isinstance(self.sampler, TabuSampler):
            return 0.0
        # TabuSampler converts the BQM to a dense matrix first: measured about
        # 7.7 s for 5,860 variables and 4.3-6.5 s for 4,712 on the development machine
        # (n^2 scaling; the factor is on the safe side)
        return 4e-7 * bqm.num_variables**2

    def _sample(
        self, bqm: dimod.BinaryQuadraticModel, reads: int, seed: int, seconds: float
    ) -> dimod.SampleSet:
        from dwave.samplers import TabuSampler

        n = bqm.num_variables
        if isinstance(self.sampler, TabuSampler) and n > MAX_DENSE_VARIABLES:
            # dwave's TabuSampler copies the BQM into a dense n x n float64 matrix
            raise BackendUnavailableError(
                f"{self.name}: the dwave-samplers TabuSampler would build a dense "
                f"{n} x {n} matrix ({8 * n * n / 2**30:.1f} GiB; limit "
                f"{MAX_DENSE_VARIABLES} variables); use the 'qubo' or 'simulated_annealing' "
                "solver (sparse), or 'hybrid'",
                backend=self.name,
                variables=n,
            )
        ms = max(5, min(self.timeout_ms, int(seconds * 1000 / reads)))
        params = self._params(reads, seed, timeout=ms, num_restarts=self.num_restarts)
        return self.sampler.sample(bqm, **params)


def _raise_multipliers(builder: QUBOBuilder, over: np.ndarray, growth: float) -> None:
    """Subgradient step on the overflowing agents' multipliers; double their rho."""
    scale = float(builder.objective.local_field_bound(builder.n).max(initial=0.0)) or 1.0
    caps = np.array([a.capacity if a.capacity is not None else 1.0 for a in builder.problem.agents])
    caps = np.maximum(caps, 1e-9)
    viol = over > 1e-9
    lam, rho = builder.multipliers.copy(), builder.rho.copy()
    lam[viol] += scale * over[viol] / caps[viol]
    rho[viol] = np.maximum(rho[viol] * growth, scale / np.maximum(caps[viol], 1.0) ** 2)
    builder.set_multipliers(lam, rho)


def _reported_penalties(builder: QUBOBuilder) -> dict[str, float]:
    out = dict(builder.penalties)
    if builder.capacity_encoding == "lagrangian" and builder._lagrange_terms:
        out["capacity_lagrange_max"] = float(builder.multipliers.max(initial=0.0))
        out["capacity_rho_max"] = float(builder.rho.max(initial=0.0))
    return out


def _starts(solution: Solution) -> dict[str, float]:
    return {t: iv[0] for ts in solution.schedule.values() for t, iv in ts.items()}
