"""The hybrid quantum-inspired solver: constructive start, then large-neighbourhood search.

Assignment problems (no makespan objective, no deadlines; generalized
assignment is the benchmark):

1. **Start** (well under a second): regret greedy, then a short tabu repair so
   that a feasible plan exists early.
2. **LP relaxation** (HiGHS, :mod:`lp`) in a background thread: its optimum is
   the lower bound reported with the plan, its rounding a second start, and
   its capacity duals price the candidate agents of each task.
3. **Local search** (:mod:`gap_search`, numba, releases the GIL): shift and
   swap (2-ejection-chain) moves on each task's agent as one categorical
   variable, tabu list, capacity by an adaptive penalty.
4. **Race, then k-agent LNS** on the second core: CP-SAT on the whole problem for
   the first 10% of the limit (small problems get proven), then a thread
   (:mod:`lns`) that re-optimises all tasks of a few related agents exactly with
   CP-SAT, the rest fixed; gains are merged into the search's best plan. When the
   tabu search stalls, its own core solves such subproblems too.
5. **QUBO subproblems** (:mod:`subqubo`): a few agents and their tasks become a
   small QUBO with exact one-hot penalties and adaptive Lagrangian capacity
   terms, sampled by a quantum-inspired sampler, decoded, accepted when feasible
   and better. With the LNS they are every 4th LNS step, solved by CP-SAT too
   for comparison; without it (one worker, deterministic runs) the stalled
   search samples them and resumes from the decode.

Scheduling problems (makespan or deadlines; flexible job shop is the
benchmark): a list-scheduling start, then a tabu search on the critical path
(:mod:`shop`, :mod:`shop_tabu`) when the problem is shop-like; CP-SAT,
warm-started from the start plan, uses the other core for a short first phase
(proofs of small problems), then a second tabu search sharing the best plan.
The best plan of all wins.

Anytime: the best plan is kept throughout; ``progress`` is called on every
improvement (at most every 0.1 s), ``stop`` and ``time_limit`` are honoured
between kernel chunks (a chunk lasts a few milliseconds).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.scheduling import Schedule, build_schedule
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.compiled import Compiled, compile_problem
from quantum_planner.solvers.cpsat import relative_gap
from quantum_planner.solvers.gap_search import (
    TabuState,
    candidates,
    regret_greedy,
    score,
    tabu_search,
)
from quantum_planner.solvers.lns import AgentLNS
from quantum_planner.solvers.lp import (
    LPProcess,
    LPResult,
    extended,
    lagrangian_prices,
    lp_relaxation,
    repair_choice,
    round_lp,
)
from quantum_planner.solvers.subqubo import default_sampler, solve_subproblem

__all__ = ["HybridSolver"]


class _Anytime:
    """Best plan so far plus throttled progress reports (with the plan, when cheap)."""

    SOLUTION_EVERY = 0.5  # seconds between plans attached to reports (a schedule each)

    def __init__(
        self, t0: float, progress: ProgressCallback | None, comp: Compiled | None = None
    ) -> None:
        self.t0 = t0
        self.progress = progress
        self.comp = comp
        self.best_value = np.inf
        self.first_feasible: float | None = None
        self.last_report = -1.0
        self.last_solution = -np.inf
        self.history: list[tuple[float, float]] = []
        self.sources: dict[str, int] = {}  # improvements of the best plan, by source
        self.gains: dict[str, float] = {}  # and how much each source lowered the score

    def improved(
        self, value: float, message: str, force: bool = False, plan: np.ndarray | None = None
    ) -> None:
        now = time.perf_counter() - self.t0
        if self.first_feasible is None:
            self.first_feasible = now
        source = message.removeprefix("hybrid: ")
        self.sources[source] = self.sources.get(source, 0) + 1
        if np.isfinite(self.best_value):
            self.gains[source] = self.gains.get(source, 0.0) + float(self.best_value - value)
        self.best_value = value
        self.history.append((round(now, 3), float(value)))
        if self.progress is not None and (force or now - self.last_report >= 0.1):
            self.last_report = now
            solution = None
            due = force or now - self.last_solution >= self.SOLUTION_EVERY
            if plan is not None and self.comp is not None and due:
                self.last_solution = now
                solution = make_solution(
                    self.comp.problem, *plan_from_vector(self.comp, plan), backend="hybrid"
                )
            self.progress(
                Progress(elapsed=now, best=float(value), message=message, solution=solution)
            )


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
    ) -> Solution:
        t0 = time.perf_counter()
        deadline = t0 + max(0.05, time_limit)
        comp = compile_problem(problem)
        seed = 0 if seed is None else int(seed)
        if comp.timed:
            from quantum_planner.solvers.shop import solve_scheduling

            return solve_scheduling(self, comp, deadline, seed, warm_start, progress, stop, t0)
        return self._assignment(comp, deadline, seed, warm_start, progress, stop, t0)

    # ------------------------------------------------------- assignment path
    def _assignment(
        self,
        comp: Compiled,
        deadline: float,
        seed: int,
        warm_start: Solution | None,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
        t0: float,
    ) -> Solution:
        W, L, D, cap, beta = extended(comp)
        n, m = comp.n, comp.m
        any_time = _Anytime(t0, progress, comp)
        stats: dict[str, Any] = {
            "iterations": 0,
            "qubo_subproblems": 0,
            "qubo_accepted": 0,
            "qubo_feasible": 0,
        }
        deterministic = self.max_iterations is not None

        def feasible(a: np.ndarray) -> bool:
            used = np.zeros(m + 1)
            np.add.at(used, a, L[np.arange(n), a])
            return bool((used <= cap + 1e-9).all())

        start, search_start, prices, lag_bound = _starts(W, L, D, cap, beta, m, feasible)
        stats["lagrangian_bound"] = lag_bound
        if warm_start is not None:
            warm = _from_solution(comp, warm_start)
            if warm is not None and feasible(warm):
                start = warm
        best = start.copy()
        best_val = score(W, D, beta, best, m) if feasible(best) else np.inf
        if np.isfinite(best_val):
            any_time.improved(best_val, "hybrid: constructive start", force=True, plan=best)
        stats["start_value"] = float(best_val)

        # LP relaxation: synchronous when deterministic, else in a child process beside us
        lp_box: dict[str, LPResult | None] = {}
        lp_proc: LPProcess | None = None
        # short solves skip the LP process: forking and joining it costs more than the
        # Lagrangian bound it would improve on
        if self.use_lp and n > 0 and (deterministic or deadline - time.perf_counter() > 2.0):
            budget = max(0.1, 0.5 * (deadline - time.perf_counter()))
            if deterministic or self.num_workers < 2:
                lp_box["lp"] = lp_relaxation(W, L, cap, budget)
            else:
                lp_proc = LPProcess(W, L, cap, budget)

        # small problems: CP-SAT (one worker) races us on the other core, for the proof
        race: dict[str, Solution] = {}
        race_stop = threading.Event()
        race_thread: threading.Thread | None = None
        # k-agent LNS on the second core (linear scores only: CP-SAT subproblems are linear)
        lns_wanted = (
            self.use_lns
            and not deterministic
            and self.num_workers >= 2
            and beta == 0.0
            and m >= 2
            and n > 0
            and deadline - time.perf_counter() > 1.0
        )
        race_limit = deadline - time.perf_counter()
        if lns_wanted:
            # the racer proves small problems at once; past its share it would only keep
            # the core the LNS improves plans with
            race_limit = min(race_limit, max(1.0, self.race_share * (deadline - t0)))
        if (
            self.race_cpsat
            and not deterministic
            and self.num_workers >= 2
            and int(comp.elig.sum()) <= self.race_pairs
            and deadline - time.perf_counter() > 3.0  # building the model takes a while
        ):
            hint = None
            if np.isfinite(best_val):
                hint = make_solution(comp.problem, *plan_from_vector(comp, best), backend="hybrid")

            def run_cpsat() -> None:
                from quantum_planner.solvers.cpsat import CPSATSolver

                race["cpsat"] = CPSATSolver(num_workers=1).solve(
                    comp.problem,
                    time_limit=max(0.05, min(race_limit, deadline - time.perf_counter())),
                    seed=seed,
                    warm_start=hint,
                    stop=race_stop,
                    compiled=comp,
                )

            race_thread = threading.Thread(target=run_cpsat, daemon=True)
            race_thread.start()

        lp_used = False
        cand = candidates(W + prices[None, :] * L, self.candidates_k)
        lns: AgentLNS | None = None
        last_gain = time.perf_counter()  # last gain of the tabu search or absorbed LNS

        def absorb(lns: AgentLNS) -> np.ndarray | None:
            """Merge the LNS's pending improvements into the best plan; the plan if better."""
            merged, val = None, state.f[1] - 1e-9
            for plan in lns.merge(state.best):
                v = score(W, D, beta, plan, m)
                if v < val and feasible(plan):
                    merged, val = plan, v
            if merged is None:
                return None
            stats["lns_accepted"] = stats.get("lns_accepted", 0) + 1
            state.f[1] = val
            state.best[:] = merged
            any_time.improved(val, "hybrid: agent LNS", plan=merged)
            lns.publish(merged, val)
            return merged

        # the search starts near the relaxation's optimum (maybe slightly over capacity:
        # the penalty repairs it), which beats starting from the greedy plan
        state = TabuState(W, L, D, cap, search_start if warm_start is None else start)
        state.f[1] = best_val
        state.best[:] = best
        chunk_seed = seed
        iters_left = self.max_iterations if deterministic else None
        stall = 0
        qubo_time = 0.0
        qubo_longest = 0.0
        qubo_on = self.use_qubo and not lns_wanted  # with the LNS, QUBOs run in its thread
        sampler = None
        rng = np.random.default_rng(seed)
        while True:
            now = time.perf_counter()
            if now >= deadline or (stop is not None and stop.is_set()):
                break
            if iters_left is not None and iters_left <= 0:
                break
            if race_thread is not None and not race_thread.is_alive():
                done = race.get("cpsat")
                if done is not None and done.status in ("optimal", "infeasible"):
                    break  # proven: nothing left to search for
            if lp_proc is not None and not lp_proc.done:
                got = lp_proc.poll()
                if lp_proc.done:
                    lp_box["lp"] = got
            lp = lp_box.get("lp")
            if not lp_used and "lp" in lp_box:
                lp_used = True
                if lp is not None:
                    stats["lp_bound"] = lp.bound
                    stats["lp_seconds"] = round(lp.seconds, 3)
                    rounded = round_lp(lp, W, L, cap)
                    cand = candidates(W + lp.duals[None, :] * L, self.candidates_k)
                    val = score(W, D, beta, rounded, m)
                    stats["lp_rounding_value"] = float(val) if feasible(rounded) else None
                    carried = state.f.copy(), state.best.copy()
                    state = TabuState(W, L, D, cap, rounded)
                    state.f[:], state.best[:] = carried
                    if feasible(rounded) and val < state.f[1]:
                        state.f[1] = val
                        state.best[:] = rounded
                        any_time.improved(val, "hybrid: LP rounding", plan=rounded)
            core_free = (race_thread is None or not race_thread.is_alive()) and (
                # the LP child is niced: an LNS thread beside it would starve it (e801600:
                # 4 s alone). Wait for it, but not past a quarter of the limit: on a
                # loaded machine a niced LP may not finish at all
                lp_proc is None or lp_proc.done or now - t0 > 0.25 * (deadline - t0)
            )
            if lns_wanted and lns is None and core_free:
                lns = AgentLNS(
                    W, L, cap, m, cand, deadline, seed + 1,
                    k=self.lns_agents, sub_time=self.lns_sub_time,
                    qubo_every=self.lns_qubo_every if self.use_qubo else 0,
                    sampler=self.sampler or default_sampler(), qubo_agents=self.qubo_agents,
                    threads=self.lns_threads, stop=stop,
                )  # fmt: skip
                lns.start()
                qubo_on = False  # the LNS thread samples its QUBO subproblems itself
            if lns is not None and np.isfinite(state.f[1]):
                lns.publish(state.best, float(state.f[1]))
                before = state.best.copy()
                merged = absorb(lns)
                if merged is not None:
                    # the search keeps its trajectory and tabu memory: the changed tasks
                    # are moved in its current plan too (the penalty handles any overflow)
                    current = state.assign.copy()
                    changed = merged != before
                    current[changed] = merged[changed]
                    state = _carry(W, L, D, cap, state, current)
                    stall = 0
                    last_gain = time.perf_counter()
                elapsed = now - t0
                if now - last_gain > max(1.0, self.lns_main_after * elapsed):
                    # the tabu search has found nothing for a while: this core solves
                    # LNS subproblems too (between tabu chunks) until a gain
                    lns.step(rng)
                    stats["lns_main_steps"] = stats.get("lns_main_steps", 0) + 1
            steps = self.chunk if iters_left is None else min(self.chunk, iters_left)
            # swap samples: about 40,000 pair evaluations per iteration
            per_sample = max(1, self.candidates_k * n // max(m, 1))
            swaps = self.swap_samples or min(n, 400, max(10, 40_000 // per_sample))
            args = (
                W, L, D, cap, beta, m,
                state.assign, state.used, state.busy, state.tabu, state.best, state.f,
                cand, state.members, state.cnt, state.pos, steps, swaps, chunk_seed,
            )  # fmt: skip
            if not tabu_search.signatures:
                # first call in this process compiles the kernel (seconds, or a minute on
                # a loaded machine): do it in a thread so the time limit still holds
                safe = state.best.copy(), state.f.copy()
                out = call_before(deadline, tabu_search, args)
                if out is None:
                    # the thread still owns the old arrays: take fresh copies
                    state.best, state.f = safe
                    stats["compile_timeout"] = True
                    break
                improved = out
            else:
                improved = tabu_search(*args)
            chunk_seed = -1
            stats["iterations"] = int(state.f[2])
            if iters_left is not None:
                iters_left -= steps
            if improved:
                stall = 0
                last_gain = time.perf_counter()
                any_time.improved(float(state.f[1]), "hybrid: local search", plan=state.best)
            else:
                stall += 1
            # a stalled search gets a large-neighbourhood step from its best plan: a QUBO
            # subproblem (accepted when better), then a restart from that plan, kicked
            if stall * steps >= self.stall_iterations and np.isfinite(state.f[1]):
                stall = 0
                restart = state.best.copy()
                elapsed = time.perf_counter() - t0
                room = deadline - time.perf_counter() > 3.0 * max(0.3, qubo_longest)
                if qubo_on and m >= 2 and room and qubo_time <= self.qubo_share * elapsed:
                    tq = time.perf_counter()
                    # its own generator: a step cut off in its thread must not share ours
                    sub_rng = np.random.default_rng(int(rng.integers(2**62)))
                    step_args = (W, L, D, cap, beta, m, state.best, sampler, sub_rng, stats, cand)
                    if sampler is None:
                        # the first step may import and compile the sampler: bounded by the
                        # time limit; a sampler that is not ready in time is not used again
                        sampler = self.sampler or default_sampler()
                        step_args = (*step_args[:7], sampler, *step_args[8:])
                        out = call_before(deadline, self._qubo_step, step_args)
                    else:
                        out = self._qubo_step(*step_args)
                    if out is None:
                        stats["qubo_timeout"] = True
                        qubo_on = False
                    else:
                        val, plan = out
                        if plan is not None and val < state.f[1] - 1e-9:
                            stats["qubo_accepted"] += 1
                            state.f[1] = val
                            state.best[:] = plan
                            any_time.improved(val, "hybrid: QUBO subproblem", plan=plan)
                        if plan is not None:
                            restart = plan
                    took = time.perf_counter() - tq
                    qubo_time += took
                    qubo_longest = max(qubo_longest, took)
                state = _restart(W, L, D, cap, state, restart, cand, rng, self.kick)
                stats["restarts"] = stats.get("restarts", 0) + 1
        if lp_proc is not None:
            lp_proc.close()
        if lns is not None:
            lns.close()
            absorb(lns)
            stats.update(lns.stats)
        race_stop.set()
        if race_thread is not None:
            # a racer still building its model is left to finish on its own: it sees
            # race_stop as soon as its search starts and ends within milliseconds
            race_thread.join(timeout=0.2)
        cp_sol = race.get("cpsat")
        if cp_sol is not None and cp_sol.assignments:
            stats["cpsat_status"] = cp_sol.status
            cp_vec = _from_solution(comp, cp_sol)
            if cp_vec is not None and feasible(cp_vec):
                val = score(W, D, beta, cp_vec, m)
                if val < state.f[1] - 1e-9 or (cp_sol.status == "optimal" and val <= state.f[1]):
                    state.best[:] = cp_vec
                    state.f[1] = val
                    stats["winner"] = "cpsat"
            if cp_sol.status == "optimal":
                stats["proven_optimal"] = True
            if cp_sol.lower_bound is not None:
                stats["cpsat_bound"] = cp_sol.lower_bound
        if "lp_bound" not in stats and np.isfinite(lag_bound) and beta == 0.0:
            stats["lp_bound"] = lag_bound  # the Lagrangian bound is valid too
        best = state.best if np.isfinite(state.f[1]) else state.assign
        # the adaptive weights in force at the end, per constraint kind
        penalties = {"capacity_limit": float(state.f[0])}
        qp = stats.get("qubo_last_penalties")
        if qp:
            penalties["one_hot"] = qp["one_hot"]
            penalties["capacity_limit_qubo"] = qp["lagrange_max"]
        stats["penalties"] = penalties
        stats["first_feasible_s"] = any_time.first_feasible
        stats["history"] = any_time.history[-50:]
        stats["improvements_by_source"] = dict(any_time.sources)
        stats["gain_by_source"] = {k: round(v, 6) for k, v in any_time.gains.items()}
        self.stats = stats
        return self._assignment_solution(comp, best, stats, seed, t0, feasible(best))

    def _qubo_step(
        self,
        W: np.ndarray,
        L: np.ndarray,
        D: np.ndarray,
        cap: np.ndarray,
        beta: float,
        m: int,
        best: np.ndarray,
        sampler: Any,
        rng: np.random.Generator,
        stats: dict[str, Any],
        cand: np.ndarray,
    ) -> tuple[float, np.ndarray | None]:
        """One QUBO subproblem on the best plan: (score, decoded feasible plan or None).

        Reads ``best`` and never writes it, so a step cut off by the time limit in its
        thread cannot touch the plan being returned.
        """
        k = min(self.qubo_agents, m)
        # agents that share candidate tasks make a neighbourhood where moves are possible
        first = int(rng.integers(m))
        tasks_first = np.flatnonzero(best == first)
        pool = [first]
        if tasks_first.size:
            # the agents its tasks would most like to move to (candidate lists), noisy
            c = cand[tasks_first]
            counts = np.bincount(c[(c >= 0) & (c < m)].ravel(), minlength=m)[:m].astype(float)
            counts[first] = -1.0
            counts += rng.random(m) * 0.5
            pool += [int(j) for j in np.argsort(-counts)[: k - 1] if counts[j] > 0]
        agents = np.array(sorted(set(pool)), dtype=np.int64)
        stats["qubo_subproblems"] += 1
        res = solve_subproblem(W, L, cap, best, agents, sampler, seed=int(rng.integers(2**31 - 1)))
        stats["qubo_last_penalties"] = res.penalties
        if res.assign is None:
            return np.inf, None
        stats["qubo_feasible"] += 1
        cand_plan = best.copy()
        cand_plan[res.tasks] = res.assign
        return float(score(W, D, beta, cand_plan, m)), cand_plan

    def _assignment_solution(
        self,
        comp: Compiled,
        assign: np.ndarray,
        stats: dict[str, Any],
        seed: int,
        t0: float,
        is_feasible: bool,
    ) -> Solution:
        problem = comp.problem
        assignments = {
            comp.task_ids[i]: comp.agent_ids[j] for i, j in enumerate(assign) if j < comp.m
        }
        schedule = build_schedule(problem, assignments)
        sol = make_solution(
            problem,
            assignments,
            schedule,
            backend=self.name,
            status="feasible" if is_feasible else "unknown",
            feasible=is_feasible,
            wall_time=time.perf_counter() - t0,
            seed=seed,
            metadata={"hybrid": {k: v for k, v in stats.items() if k != "history"}},
            penalties=stats.get("penalties", {}),
        )
        bounds = [_primary_bound(problem, stats.get("lp_bound"))]
        if stats.get("cpsat_bound") is not None:
            bounds.append(float(stats["cpsat_bound"]))
        primary = problem.objectives[0]
        known = [b for b in bounds if b is not None]
        if known:
            # the tighter bound: largest for minimisation, smallest for maximisation
            bound = max(known) if primary.sense > 0 else min(known)
            value = sol.objectives[primary.value]
            sol.lower_bound = bound
            sol.gap = relative_gap(value, bound, primary.sense)
            if sol.gap is not None and sol.gap <= 1e-9 and is_feasible:
                sol.status = "optimal"
        if stats.get("proven_optimal") and is_feasible and stats.get("winner") == "cpsat":
            sol.status, sol.gap = "optimal", 0.0
        return sol


def call_before(deadline: float, fn: Any, args: tuple) -> Any:
    """``fn(*args)`` in a daemon thread; its result, or None if it is not done by ``deadline``.

    Used for the first call of a numba kernel, which includes its compilation.
    """
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    worker.start()
    worker.join(timeout=max(0.0, deadline - time.perf_counter()))
    return box[0] if box else None


def _restart(
    W: np.ndarray,
    L: np.ndarray,
    D: np.ndarray,
    cap: np.ndarray,
    state: TabuState,
    plan: np.ndarray,
    cand: np.ndarray,
    rng: np.random.Generator,
    kick: float,
) -> TabuState:
    """A fresh tabu state at ``plan`` with a ``kick`` fraction of tasks moved at random.

    The kicked tasks go to a random candidate agent (capacity may break; the
    penalty repairs it). The best plan, its score and the penalty weight carry over.
    """
    new_plan = plan.copy()
    n = new_plan.size
    k = max(2, int(kick * n)) if kick > 0 else 0
    for i in rng.choice(n, size=min(k, n), replace=False):
        opts = cand[i][cand[i] >= 0]
        if opts.size:
            new_plan[i] = opts[rng.integers(opts.size)]
    new = TabuState(W, L, D, cap, new_plan)
    new.f[:] = state.f
    new.best[:] = state.best
    return new


def _carry(
    W: np.ndarray, L: np.ndarray, D: np.ndarray, cap: np.ndarray, state: TabuState, plan: np.ndarray
) -> TabuState:
    """A tabu state at ``plan`` that keeps ``state``'s tabu list, weights and best plan."""
    new = TabuState(W, L, D, cap, plan)
    new.tabu[:] = state.tabu
    new.f[:] = state.f
    new.best[:] = state.best
    return new


def _starts(
    W: np.ndarray,
    L: np.ndarray,
    D: np.ndarray,
    cap: np.ndarray,
    beta: float,
    m: int,
    feasible: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Best constructive start, the search's start, the Lagrangian prices and bound.

    Starts: regret greedy on priced costs ``W + r L`` (r = mean cost / mean
    load, a load-aware desirability), the same on the Lagrangian prices, and
    the Lagrangian relaxation's own choice per task (may overflow; the search
    repairs it). Feasible beats infeasible, then the lower score wins. The search
    itself starts from the relaxation's choice (near the LP optimum).
    """
    fin = np.isfinite(W)
    n = W.shape[0]
    if n == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(W.shape[1]), 0.0
    lpos = L[fin]
    ratio = float(np.abs(W[fin]).mean() / max(lpos.mean(), 1e-9)) if lpos.size else 0.0
    # priced costs built in place (one (n, m+1) array, not three: 400 MB each at 50,000
    # x 1,000), +inf where ineligible
    priced = ratio * L
    priced += W
    priced[~fin] = np.inf
    first = regret_greedy(priced, L, cap)
    # Polyak target: the greedy plan's value (an estimate even when it overflows)
    target = score(W, D, beta, first, m)
    prices, bound = lagrangian_prices(W, L, cap, target)
    np.multiply(prices[None, :], L, out=priced)
    priced += W
    priced[~fin] = np.inf
    options = [first, regret_greedy(priced, L, cap)]
    relaxed = priced.argmin(axis=1).astype(np.int64)
    del priced
    repaired = repair_choice(relaxed, W, L, cap, prices)
    options.append(repaired)

    def key(a: np.ndarray) -> tuple[float, float]:
        used = np.zeros(W.shape[1])
        np.add.at(used, a, L[np.arange(n), a])
        return (float(np.maximum(used - cap, 0.0).sum()), float(score(W, D, beta, a, m)))

    return min(options, key=key), repaired, prices, bound


def _primary_bound(problem: Problem, lp_bound: float | None) -> float | None:
    """The LP bound in the primary objective's units, when the score is that objective alone."""
    if lp_bound is None or len(problem.objectives) != 1:
        return None
    obj = problem.objectives[0]
    if obj is Objective.MINIMIZE_COST:
        return float(lp_bound)
    if obj is Objective.MAXIMIZE_PRIORITY:
        return -float(lp_bound)  # the score is -priority: an upper bound on priority
    return None


def _from_solution(comp: Compiled, sol: Solution) -> np.ndarray | None:
    """A warm start as an assignment vector (None if it names unknown or ineligible pairs)."""
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    out = np.full(comp.n, comp.m, dtype=np.int64)
    for i, t in enumerate(comp.task_ids):
        a = sol.assignments.get(t)
        if a is None:
            if not comp.optional[i]:
                return None
            continue
        j = a_index.get(a)
        if j is None or not comp.elig[i, j]:
            return None
        out[i] = j
    return out


def plan_from_vector(comp: Compiled, assign: np.ndarray) -> tuple[dict[str, str], Schedule]:
    """Assignments and list schedule of an assignment vector (virtual agent = undone)."""
    assignments = {comp.task_ids[i]: comp.agent_ids[j] for i, j in enumerate(assign) if j < comp.m}
    return assignments, build_schedule(comp.problem, assignments)
