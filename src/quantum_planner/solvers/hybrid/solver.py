"""``HybridSolver``: its options, and the dispatch to the assignment or scheduling path."""

from __future__ import annotations

import threading
import time
from dataclasses import fields
from typing import Any

from quantum_planner.disruption import BEST_FIRST, DisruptionTerms
from quantum_planner.model import Problem, Solution
from quantum_planner.solvers.base import ProgressCallback
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.hybrid.assignment import AssignmentOptions, AssignmentSearch
from quantum_planner.solvers.hybrid.disruption import (
    PHASE_A_SHARE,
    DisruptionPhase,
    phase_b_applies,
)
from quantum_planner.solvers.hybrid.parts import assignment_solution, from_solution
from quantum_planner.solvers.hybrid.scheduling import SchedulingOptions, solve_scheduling
from quantum_planner.solvers.hybrid.sparse import SparseSearch, use_sparse
from quantum_planner.solvers.lp import extended
from quantum_planner.solvers.sparse_form import prepare_kernels

__all__ = ["HybridSolver"]


class HybridSolver:
    """Constructive start + LP + tabu local search + QUBO large-neighbourhood steps."""

    name = "hybrid"

    def __init__(
        self,
        *,
        sampler: Any = None,
        use_lp: bool = True,
        use_qubo: bool = True,
        race_cpsat: bool = True,
        num_workers: int = 2,
        max_iterations: int | None = None,
        candidates_k: int = 10,
        chunk: int = 20,
        qubo_agents: int = 3,
        race_pairs: int = 20_000,
        stall_iterations: int = 500,
        kick: float = 0.01,
        qubo_share: float = 0.15,
        swap_samples: int | None = None,
        use_lns: bool = True,
        lns_agents: int | None = None,
        lns_sub_time: float = 2.0,
        lns_qubo_every: int = 4,
        race_share: float = 0.1,
        lns_threads: int = 1,
        lns_main_after: float = 0.1,
        sparse: bool | None = None,
    ) -> None:
        """``max_iterations`` bounds the local search (deterministic runs); time still caps it.

        ``num_workers`` > 1 lets the LP and CP-SAT run on another core beside the search.
        ``use_lns``: with a second core, a thread re-optimises all tasks of ``lns_agents``
        agents at a time with CP-SAT (:mod:`lns`; adaptive, None: about 120 tasks'
        worth); every ``lns_qubo_every``-th step is instead a small neighbourhood sampled
        as a QUBO and solved by CP-SAT for comparison (0: never). ``race_share``: the
        share of the time limit the full CP-SAT racer gets before the LNS takes its core.
        When the tabu search has not improved for ``lns_main_after`` of the elapsed time
        (at least 1 s), its own core solves LNS subproblems between its chunks as well.
        ``sparse``: assignment problems on the pairs-only path (:mod:`.sparse`); None
        (default) takes it past ``SPARSE_CELLS`` task x agent cells.
        """
        self.sampler = sampler
        self.use_lp = use_lp
        self.use_qubo = use_qubo
        self.race_cpsat = race_cpsat
        self.num_workers = num_workers
        self.max_iterations = max_iterations
        self.candidates_k = candidates_k
        self.chunk = chunk
        self.qubo_agents = qubo_agents
        self.race_pairs = race_pairs
        self.stall_iterations = stall_iterations
        self.kick = kick
        self.qubo_share = qubo_share
        self.swap_samples = swap_samples
        self.use_lns = use_lns
        self.lns_agents = lns_agents
        self.lns_sub_time = lns_sub_time
        self.lns_qubo_every = lns_qubo_every
        self.race_share = race_share
        self.lns_threads = lns_threads
        self.lns_main_after = lns_main_after
        self.sparse = sparse
        self.stats: dict[str, Any] = {}

    # ------------------------------------------------------------------ API
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
        """The best plan found by ``time_limit`` (or ``stop``); statistics in ``self.stats``.

        ``disruption`` (re-planning): plans are compared by the rule of
        :mod:`quantum_planner.disruption` against its reference plan. Assignment
        problems get a second search phase for it (:mod:`.disruption`); scheduling
        problems a CP-SAT racer with the disruption stage, the rule's pick among the
        racers' plans and reverts toward the reference (:mod:`.scheduling`).
        """
        t0 = time.perf_counter()
        deadline = t0 + max(0.05, time_limit)
        comp = compile_problem(problem)
        seed = 0 if seed is None else int(seed)
        if comp.timed:
            options = SchedulingOptions(self.race_cpsat, self.num_workers, self.name)
            sol, self.stats = solve_scheduling(
                options, comp, deadline, seed, warm_start, progress, stop, t0, disruption
            )
            return sol
        if use_sparse(comp) if self.sparse is None else self.sparse:
            # its kernels compile (or load) before the clock starts: the search gets its
            # whole limit (docs/SAMPLERS.md, the cold-start rule). Re-planning has no
            # disruption phase here (it needs the dense matrices this path avoids): the
            # strategy's repair and reverts bound the disruption of these plans
            ready = prepare_kernels()
            t0, deadline = t0 + ready.total_s, deadline + ready.total_s
            sparse = SparseSearch(
                self.assignment_options(), comp, deadline, seed, progress, stop, t0
            )
            sparse.stats.update(compile_seconds=ready.compile_s, cache_load_seconds=ready.load_s)
            sol, self.stats = sparse.run(warm_start)
            return sol
        phase_b = None
        if disruption is not None and phase_b_applies(comp):
            W, L, _, cap, _ = extended(comp)
            phase_b = DisruptionPhase(comp, W, L, cap, disruption, seed, self.num_workers)
        split = deadline if phase_b is None else t0 + PHASE_A_SHARE * (deadline - t0)
        search = AssignmentSearch(self.assignment_options(), comp, split, seed, progress, stop, t0)
        # re-planning: phase A searches from its own starts (near the LP optimum; a warm
        # start near the old plan holds the search in its basin) and phase B weighs the
        # warm start against its plan
        sol, self.stats = search.run(warm_start if phase_b is None else None)
        if phase_b is None:
            return sol
        plans = [from_solution(comp, sol)]
        if warm_start is not None:
            plans.append(from_solution(comp, warm_start))
        best = phase_b.run(plans, deadline, stop)
        self.stats.update(phase_b.stats)
        sol = assignment_solution(
            comp, best, self.stats, seed, t0, phase_b.feasible(best), self.name
        )
        if phase_b.best_first is not None:
            sol.metadata[BEST_FIRST] = phase_b.best_first
        return sol

    def assignment_options(self) -> AssignmentOptions:
        """The options the assignment path reads, as set on this solver."""
        return AssignmentOptions(
            **{f.name: getattr(self, f.name) for f in fields(AssignmentOptions)}
        )
