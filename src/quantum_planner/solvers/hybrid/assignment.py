"""Assignment path of the hybrid solver (no makespan objective, no deadlines).

One :class:`AssignmentSearch` per solve, run as phases (see the package
docstring for what each does and why):

1. :meth:`~AssignmentSearch.start`: constructive starts (regret greedy on
   priced costs, Lagrangian prices), or the warm start.
2. :meth:`~AssignmentSearch.launch_helpers`: the LP relaxation (child process
   or synchronous) and the CP-SAT racer (thread) on the second core.
3. The loop, one tabu chunk at a time: :meth:`~AssignmentSearch.use_lp` (its
   rounding and duals once ready), :meth:`~AssignmentSearch.lns_phase` (start
   the k-agent LNS when its core is free, merge its gains, help it when the
   tabu search stalls), :meth:`~AssignmentSearch.tabu_chunk` and, when the
   search stalls, :meth:`~AssignmentSearch.stalled` (a QUBO subproblem, then a
   kicked restart).
4. :meth:`~AssignmentSearch.finish`: stop the helpers, take CP-SAT's plan
   when better, and build the solution with the bounds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.solvers.anytime import Incumbent, call_before
from quantum_planner.solvers.base import ProgressCallback, make_solution
from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.generalized_assignment import (
    TabuState,
    candidates,
    score,
    tabu_search,
)
from quantum_planner.solvers.hybrid.parts import (
    assignment_solution,
    carry_state,
    constructive_starts,
    from_solution,
    plan_from_vector,
    qubo_step,
    restart_state,
)
from quantum_planner.solvers.lns import AgentLNS
from quantum_planner.solvers.lp import LPProcess, LPResult, extended, lp_relaxation, round_lp
from quantum_planner.solvers.subqubo import default_sampler

__all__ = ["AssignmentOptions", "AssignmentSearch"]


@dataclass(frozen=True)
class AssignmentOptions:
    """The hybrid solver's options for assignment problems (meaning, defaults: ``HybridSolver``)."""

    sampler: Any
    use_lp: bool
    use_qubo: bool
    race_cpsat: bool
    num_workers: int
    max_iterations: int | None
    candidates_k: int
    chunk: int
    qubo_agents: int
    race_pairs: int
    stall_iterations: int
    kick: float
    qubo_share: float
    swap_samples: int | None
    use_lns: bool
    lns_agents: int | None
    lns_sub_time: float
    lns_qubo_every: int
    race_share: float
    lns_threads: int
    lns_main_after: float
    name: str


class AssignmentSearch:
    """One solve of an assignment problem: the incumbent, the tabu state and the helpers."""

    def __init__(
        self,
        opts: AssignmentOptions,
        comp: Compiled,
        deadline: float,
        seed: int,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
        t0: float,
    ) -> None:
        self.opts, self.comp, self.deadline, self.seed = opts, comp, deadline, seed
        self.stop, self.t0 = stop, t0
        self.W, self.L, self.D, self.cap, self.beta = extended(comp)
        self.n, self.m = comp.n, comp.m
        self.incumbent = Incumbent(t0, progress, self._to_solution)
        self.stats: dict[str, Any] = {
            "path": "dense",
            "iterations": 0,
            "qubo_subproblems": 0,
            "qubo_accepted": 0,
            "qubo_feasible": 0,
        }
        self.deterministic = opts.max_iterations is not None
        self.lp_box: dict[str, LPResult | None] = {}
        self.lp_proc: LPProcess | None = None
        self.lp_used = False
        self.race: dict[str, Solution] = {}
        self.race_stop = threading.Event()
        self.race_thread: threading.Thread | None = None
        self.lns: AgentLNS | None = None
        self.sampler: Any = None
        self.now = t0

    def run(self, warm_start: Solution | None) -> tuple[Solution, dict[str, Any]]:
        """All phases in order; the solution and the run's statistics."""
        self.start(warm_start)
        self.launch_helpers()
        self.init_search(warm_start)
        while self.running():
            self.use_lp()
            self.lns_phase()
            if not self.tabu_chunk():
                break
        return self.finish()

    # -------------------------------------------------------------- phases
    def feasible(self, a: np.ndarray) -> bool:
        """Whether plan ``a`` respects every capacity (the virtual agent has none)."""
        used = np.zeros(self.m + 1)
        np.add.at(used, a, self.L[np.arange(self.n), a])
        return bool((used <= self.cap + 1e-9).all())

    def score(self, a: np.ndarray) -> float:
        """The search's score of plan ``a`` (lower is better)."""
        return score(self.W, self.D, self.beta, a, self.m)

    def start(self, warm_start: Solution | None) -> None:
        """Constructive starts and prices; the warm start replaces them when feasible."""
        W, L, D, cap, beta = self.W, self.L, self.D, self.cap, self.beta
        start, self.search_start, self.prices, self.lag_bound = constructive_starts(
            W, L, D, cap, beta, self.m, self.feasible
        )
        self.stats["lagrangian_bound"] = self.lag_bound
        if warm_start is not None:
            warm = from_solution(self.comp, warm_start)
            if warm is not None and self.feasible(warm):
                start = warm
        self.start_plan = start
        self.best_val = self.score(start) if self.feasible(start) else np.inf
        if np.isfinite(self.best_val):
            self.incumbent.offer(self.best_val, (start,), "hybrid: constructive start", True)
        self.stats["start_value"] = float(self.best_val)

    def launch_helpers(self) -> None:
        """The LP relaxation and the CP-SAT racer; whether the k-agent LNS is wanted."""
        opts, deadline = self.opts, self.deadline
        # LP relaxation: synchronous when deterministic, else in a child process beside us;
        # short solves skip the LP process: forking and joining it costs more than the
        # Lagrangian bound it would improve on
        left = deadline - time.perf_counter()
        if opts.use_lp and self.n > 0 and (self.deterministic or left > 2.0):
            budget = max(0.1, 0.5 * (deadline - time.perf_counter()))
            if self.deterministic or opts.num_workers < 2:
                self.lp_box["lp"] = lp_relaxation(self.W, self.L, self.cap, budget)
            else:
                self.lp_proc = LPProcess(self.W, self.L, self.cap, budget)
        # k-agent LNS on the second core (linear scores only: CP-SAT subproblems are linear)
        self.lns_wanted = (
            opts.use_lns
            and not self.deterministic
            and opts.num_workers >= 2
            and self.beta == 0.0
            and self.m >= 2
            and self.n > 0
            and deadline - time.perf_counter() > 1.0
        )
        race_limit = deadline - time.perf_counter()
        if self.lns_wanted:
            # the racer proves small problems at once; past its share it would only keep
            # the core the LNS improves plans with
            race_limit = min(race_limit, max(1.0, opts.race_share * (deadline - self.t0)))
        if (
            opts.race_cpsat
            and not self.deterministic
            and opts.num_workers >= 2
            and int(self.comp.elig.sum()) <= opts.race_pairs
            and deadline - time.perf_counter() > 3.0  # building the model takes a while
        ):
            self._start_race(race_limit)

    def _start_race(self, race_limit: float) -> None:
        """Small problems: CP-SAT (one worker) races us on the other core, for the proof."""
        hint = None
        if np.isfinite(self.best_val):
            hint = self._to_solution((self.start_plan,))

        def run_cpsat() -> None:
            self.race["cpsat"] = CPSATSolver(num_workers=1).solve(
                self.comp.problem,
                time_limit=max(0.05, min(race_limit, self.deadline - time.perf_counter())),
                seed=self.seed,
                warm_start=hint,
                stop=self.race_stop,
                compiled=self.comp,
            )

        self.race_thread = threading.Thread(target=run_cpsat, daemon=True)
        self.race_thread.start()

    def init_search(self, warm_start: Solution | None) -> None:
        """The tabu state and the loop's counters.

        The search starts near the relaxation's optimum (maybe slightly over
        capacity: the penalty repairs it), which beats starting from the greedy plan.
        """
        W, L = self.W, self.L
        self.cand = candidates(W + self.prices[None, :] * L, self.opts.candidates_k)
        self.last_gain = time.perf_counter()  # last gain of the tabu search or absorbed LNS
        at = self.search_start if warm_start is None else self.start_plan
        self.state = TabuState(W, L, self.D, self.cap, at)
        self.state.f[1] = self.best_val
        self.state.best[:] = self.start_plan
        self.chunk_seed = self.seed
        self.iters_left = self.opts.max_iterations if self.deterministic else None
        self.stall = 0
        self.qubo_time = 0.0
        self.qubo_longest = 0.0
        self.qubo_on = self.opts.use_qubo and not self.lns_wanted  # else in the LNS thread
        self.rng = np.random.default_rng(self.seed)

    def running(self) -> bool:
        """False at the deadline, on stop, out of iterations, or once CP-SAT has proven."""
        self.now = time.perf_counter()
        if self.now >= self.deadline or (self.stop is not None and self.stop.is_set()):
            return False
        if self.iters_left is not None and self.iters_left <= 0:
            return False
        if self.race_thread is not None and not self.race_thread.is_alive():
            done = self.race.get("cpsat")
            if done is not None and done.status in ("optimal", "infeasible"):
                return False  # proven: nothing left to search for
        return True

    def use_lp(self) -> None:
        """Once the LP is done: its bound, its rounding as a plan, its duals as prices."""
        if self.lp_proc is not None and not self.lp_proc.done:
            got = self.lp_proc.poll()
            if self.lp_proc.done:
                self.lp_box["lp"] = got
        if self.lp_used or "lp" not in self.lp_box:
            return
        self.lp_used = True
        lp = self.lp_box["lp"]
        if lp is None:
            return
        W, L, cap = self.W, self.L, self.cap
        self.stats["lp_bound"] = lp.bound
        self.stats["lp_seconds"] = round(lp.seconds, 3)
        rounded = round_lp(lp, W, L, cap)
        self.cand = candidates(W + lp.duals[None, :] * L, self.opts.candidates_k)
        val = self.score(rounded)
        self.stats["lp_rounding_value"] = float(val) if self.feasible(rounded) else None
        carried = self.state.f.copy(), self.state.best.copy()
        self.state = TabuState(W, L, self.D, cap, rounded)
        self.state.f[:], self.state.best[:] = carried
        if self.feasible(rounded) and val < self.state.f[1]:
            self.state.f[1] = val
            self.state.best[:] = rounded
            self.incumbent.offer(val, (rounded,), "hybrid: LP rounding")

    def lns_phase(self) -> None:
        """Start the LNS when its core is free; merge its gains; help it when we stall."""
        opts, now = self.opts, self.now
        core_free = (self.race_thread is None or not self.race_thread.is_alive()) and (
            # the LP child is niced: an LNS thread beside it would starve it (e801600:
            # 4 s alone). Wait for it, but not past a quarter of the limit: on a
            # loaded machine a niced LP may not finish at all
            self.lp_proc is None
            or self.lp_proc.done
            or now - self.t0 > 0.25 * (self.deadline - self.t0)
        )
        if self.lns_wanted and self.lns is None and core_free:
            self.lns = AgentLNS(
                self.W, self.L, self.cap, self.m, self.cand, self.deadline, self.seed + 1,
                k=opts.lns_agents, sub_time=opts.lns_sub_time,
                qubo_every=opts.lns_qubo_every if opts.use_qubo else 0,
                sampler=opts.sampler or default_sampler(), qubo_agents=opts.qubo_agents,
                threads=opts.lns_threads, stop=self.stop,
            )  # fmt: skip
            self.lns.start()
            self.qubo_on = False  # the LNS thread samples its QUBO subproblems itself
        if self.lns is None or not np.isfinite(self.state.f[1]):
            return
        self.lns.publish(self.state.best, float(self.state.f[1]))
        before = self.state.best.copy()
        merged = self.absorb()
        if merged is not None:
            # the search keeps its trajectory and tabu memory: the changed tasks
            # are moved in its current plan too (the penalty handles any overflow)
            current = self.state.assign.copy()
            changed = merged != before
            current[changed] = merged[changed]
            self.state = carry_state(self.W, self.L, self.D, self.cap, self.state, current)
            self.stall = 0
            self.last_gain = time.perf_counter()
        if now - self.last_gain > max(1.0, opts.lns_main_after * (now - self.t0)):
            # the tabu search has found nothing for a while: this core solves
            # LNS subproblems too (between tabu chunks) until a gain
            self.lns.step(self.rng)
            self.stats["lns_main_steps"] = self.stats.get("lns_main_steps", 0) + 1

    def absorb(self) -> np.ndarray | None:
        """Merge the LNS's pending improvements into the best plan; the plan if better."""
        assert self.lns is not None
        state = self.state
        merged, val = None, state.f[1] - 1e-9
        for plan in self.lns.merge(state.best):
            v = self.score(plan)
            if v < val and self.feasible(plan):
                merged, val = plan, v
        if merged is None:
            return None
        self.stats["lns_accepted"] = self.stats.get("lns_accepted", 0) + 1
        state.f[1] = val
        state.best[:] = merged
        self.incumbent.offer(val, (merged,), "hybrid: agent LNS")
        self.lns.publish(merged, val)
        return merged

    def tabu_chunk(self) -> bool:
        """One chunk of the tabu kernel; False when its first call did not compile in time."""
        opts, state, n, m = self.opts, self.state, self.n, self.m
        steps = opts.chunk if self.iters_left is None else min(opts.chunk, self.iters_left)
        # swap samples: about 40,000 pair evaluations per iteration
        per_sample = max(1, opts.candidates_k * n // max(m, 1))
        swaps = opts.swap_samples or min(n, 400, max(10, 40_000 // per_sample))
        args = (
            self.W, self.L, self.D, self.cap, self.beta, m,
            state.assign, state.used, state.busy, state.tabu, state.best, state.f,
            self.cand, state.members, state.cnt, state.pos, steps, swaps, self.chunk_seed,
        )  # fmt: skip
        if not tabu_search.signatures:
            # first call in this process compiles the kernel (seconds, or a minute on
            # a loaded machine): do it in a thread so the time limit still holds
            safe = state.best.copy(), state.f.copy()
            improved = call_before(self.deadline, tabu_search, args)
            if improved is None:
                # the thread still owns the old arrays: take fresh copies
                state.best, state.f = safe
                self.stats["compile_timeout"] = True
                return False
        else:
            improved = tabu_search(*args)
        self.chunk_seed = -1
        self.stats["iterations"] = int(state.f[2])
        if self.iters_left is not None:
            self.iters_left -= steps
        if improved:
            self.stall = 0
            self.last_gain = time.perf_counter()
            self.incumbent.offer(float(state.f[1]), (state.best,), "hybrid: local search")
        else:
            self.stall += 1
        if self.stall * steps >= opts.stall_iterations and np.isfinite(state.f[1]):
            self.stalled()
        return True

    def stalled(self) -> None:
        """A stalled search: a QUBO subproblem from its best plan, then a kicked restart."""
        self.stall = 0
        restart = self.state.best.copy()
        elapsed = time.perf_counter() - self.t0
        room = self.deadline - time.perf_counter() > 3.0 * max(0.3, self.qubo_longest)
        qubo_due = self.qubo_time <= self.opts.qubo_share * elapsed
        if self.qubo_on and self.m >= 2 and room and qubo_due:
            plan = self._qubo()
            if plan is not None:
                restart = plan
        W, L, D, cap = self.W, self.L, self.D, self.cap
        self.state = restart_state(
            W, L, D, cap, self.state, restart, self.cand, self.rng, self.opts.kick
        )
        self.stats["restarts"] = self.stats.get("restarts", 0) + 1

    def _qubo(self) -> np.ndarray | None:
        """One QUBO subproblem (accepted when better); its decoded plan, if any."""
        tq = time.perf_counter()
        state = self.state
        # its own generator: a step cut off in its thread must not share ours
        sub_rng = np.random.default_rng(int(self.rng.integers(2**62)))
        arrays = (self.W, self.L, self.D, self.cap, self.beta, self.m)
        if self.sampler is None:
            # the first step may import and compile the sampler: bounded by the
            # time limit; a sampler that is not ready in time is not used again
            self.sampler = self.opts.sampler or default_sampler()
            step_args = (*arrays, state.best, self.sampler, sub_rng, self.stats, self.cand,
                         self.opts.qubo_agents)  # fmt: skip
            out = call_before(self.deadline, qubo_step, step_args)
        else:
            out = qubo_step(*arrays, state.best, self.sampler, sub_rng, self.stats, self.cand,
                            self.opts.qubo_agents)  # fmt: skip
        plan = None
        if out is None:
            self.stats["qubo_timeout"] = True
            self.qubo_on = False
        else:
            val, plan = out
            if plan is not None and val < state.f[1] - 1e-9:
                self.stats["qubo_accepted"] += 1
                state.f[1] = val
                state.best[:] = plan
                self.incumbent.offer(val, (plan,), "hybrid: QUBO subproblem")
        took = time.perf_counter() - tq
        self.qubo_time += took
        self.qubo_longest = max(self.qubo_longest, took)
        return plan

    def finish(self) -> tuple[Solution, dict[str, Any]]:
        """Stop the helpers, merge their plans, and build the solution with its bounds."""
        stats, state = self.stats, self.state
        if self.lp_proc is not None:
            self.lp_proc.close()
        if self.lns is not None:
            self.lns.close()
            self.absorb()
            stats.update(self.lns.stats)
        self.race_stop.set()
        if self.race_thread is not None:
            # a racer still building its model is left to finish on its own: it sees
            # race_stop as soon as its search starts and ends within milliseconds
            self.race_thread.join(timeout=0.2)
        self._merge_race()
        if "lp_bound" not in stats and np.isfinite(self.lag_bound) and self.beta == 0.0:
            stats["lp_bound"] = self.lag_bound  # the Lagrangian bound is valid too
        best = state.best if np.isfinite(state.f[1]) else state.assign
        # the adaptive weights in force at the end, per constraint kind
        penalties = {"capacity_limit": float(state.f[0])}
        qp = stats.get("qubo_last_penalties")
        if qp:
            penalties["one_hot"] = qp["one_hot"]
            penalties["capacity_limit_qubo"] = qp["lagrange_max"]
        stats["penalties"] = penalties
        inc = self.incumbent
        stats["first_feasible_s"] = inc.first_feasible
        stats["history"] = inc.history[-50:]
        stats["improvements_by_source"] = dict(inc.sources)
        stats["gain_by_source"] = {k: round(v, 6) for k, v in inc.gains.items()}
        sol = assignment_solution(
            self.comp, best, stats, self.seed, self.t0, self.feasible(best), self.opts.name
        )
        return sol, stats

    def _merge_race(self) -> None:
        """CP-SAT's plan replaces ours when better (or proven optimal and as good)."""
        cp_sol = self.race.get("cpsat")
        if cp_sol is None or not cp_sol.assignments:
            return
        stats, state = self.stats, self.state
        stats["cpsat_status"] = cp_sol.status
        cp_vec = from_solution(self.comp, cp_sol)
        if cp_vec is not None and self.feasible(cp_vec):
            val = self.score(cp_vec)
            if val < state.f[1] - 1e-9 or (cp_sol.status == "optimal" and val <= state.f[1]):
                state.best[:] = cp_vec
                state.f[1] = val
                stats["winner"] = "cpsat"
        if cp_sol.status == "optimal":
            stats["proven_optimal"] = True
        if cp_sol.lower_bound is not None:
            stats["cpsat_bound"] = cp_sol.lower_bound

    def _to_solution(self, plan: tuple[np.ndarray, ...]) -> Solution:
        """A plan (assignment vector) as a solution, for progress reports and hints."""
        comp = self.comp
        return make_solution(comp.problem, *plan_from_vector(comp, plan[0]), backend="hybrid")
