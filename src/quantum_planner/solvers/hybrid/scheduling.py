"""Scheduling path of the hybrid solver (makespan objective or deadlines).

Start: the earliest-finish-time list schedule (:func:`~quantum_planner.solvers.shop.eft_schedule`),
or the warm start when it is better (or the start misses a deadline).

Improvement, when the problem is shop-like (makespan only, no capacities,
windows or optional tasks; flexible job shop): our critical-path tabu search
(:mod:`~quantum_planner.solvers.shop_tabu`) on one core, and CP-SAT's
scheduling model (one worker, warm-started from the start plan) on the other
for the first ``CPSAT_SHARE`` of the time (``CPSAT_MAX_S`` at most). CP-SAT
proves the small problems optimal in that time (which ends the solve); on the
others its single worker hardly improves on the start, so it then hands its
core to a second tabu search with another seed. The two searches share their
best plan through one :class:`~quantum_planner.solvers.anytime.Incumbent`
(each restart goes to the better one); progress reports come from that shared
plan and CP-SAT's better plans, and never go up. Other timed problems: CP-SAT
alone improves the start. The best plan of all is returned, with CP-SAT's bound.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from quantum_planner.disruption import BEST_FIRST, DisruptionTerms, choose
from quantum_planner.model import Solution
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import Schedule
from quantum_planner.solvers import shop
from quantum_planner.solvers.anytime import Incumbent
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.cpsat import CPSATSolver, relative_gap
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.hybrid.shop_disruption import fewest_reassignments
from quantum_planner.solvers.pullback import pull_back
from quantum_planner.solvers.shop import (
    complete,
    eft_schedule,
    in_view,
    respects_deadlines,
    shop_view,
    usable_warm_start,
)
from quantum_planner.solvers.shop_tabu import shop_incumbent, shop_tabu
from quantum_planner.validate import check

__all__ = ["CpsatBeside", "SchedulingOptions", "solve_scheduling"]

# share of the time (at most CPSAT_MAX_S seconds) CP-SAT keeps its core on shop-like
# problems before a second tabu search takes it over (it has proven the small ones by
# then; on the others its one worker hardly moves from the start plan)
CPSAT_SHARE = 0.25
CPSAT_MAX_S = 5.0
PULLBACK_SHARE = 0.15  # re-planning: of the time, for undoing reassignments of the pick
# re-planning a shop-like problem: of the time, for the fewest reassignments within the
# bound (.shop_disruption), then for the pull-back
KEEP_SHARE = 0.25
KEEP_PULLBACK_SHARE = 0.05

Plan = tuple[tuple[float, ...], dict[str, str], Schedule]  # (objective key, assignments, schedule)


@dataclass(frozen=True)
class SchedulingOptions:
    """What the scheduling path reads of the hybrid solver's options."""

    race_cpsat: bool = True  # CP-SAT improves the start beside the tabu search
    num_workers: int = 2  # cores: 2 lets a second search (or CP-SAT) run beside the first
    name: str = "hybrid"  # the backend name on the returned solution


def solve_scheduling(
    options: SchedulingOptions,
    comp: Compiled,
    deadline: float,
    seed: int,
    warm_start: Solution | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    t0: float,
    disruption: DisruptionTerms | None = None,
) -> tuple[Solution, dict[str, Any]]:
    """Start plan, then the race described in the module docstring; the plan and its stats.

    With ``disruption`` (re-planning) CP-SAT runs its disruption stage within its share,
    and the race leaves the last ``PULLBACK_SHARE`` of the time (``KEEP_SHARE +
    KEEP_PULLBACK_SHARE`` on shop-like problems) to :func:`replan_pick`.
    """
    end = deadline
    race = _Race(options, comp, deadline, seed, progress, stop, t0, disruption)
    if disruption is not None:
        share = KEEP_SHARE + KEEP_PULLBACK_SHARE if race.tabu_ok else PULLBACK_SHARE
        race.deadline = t0 + (1.0 - share) * (deadline - t0)
    # re-planning: the searches begin from their own start (a warm start near the old
    # plan holds them in its basin); the rule weighs the warm start at the end
    race.start(warm_start if disruption is None else None)
    race.launch()
    race.wait()
    sol, stats = race.result()
    if disruption is not None:
        sol = replan_pick(comp, race, sol, warm_start, disruption, end)
    return sol, stats


def replan_pick(
    comp: Compiled,
    race: _Race,
    sol: Solution,
    warm_start: Solution | None,
    terms: DisruptionTerms,
    end: float,
) -> Solution:
    """The rule's pick among the racers' plans and the warm start, pulled back toward the
    reference until ``end``: on shop-like problems by re-sequenced probes with tasks held
    on their old agents (:mod:`.shop_disruption`) while CP-SAT, on the other core, looks
    for less disruption within the bound (:class:`CpsatBeside`); then by single reverts
    (:mod:`..pullback`).
    """
    problem = comp.problem
    plans = [("race", sol), *race.plans()]
    if warm_start is not None and warm_start.assignments:
        warm = usable_warm_start(comp, warm_start)
        if warm is not None:
            plans.append(("warm", make_solution(problem, *warm, backend=race.options.name)))
    plans = [(n, check(problem, p)) for n, p in plans]
    _, best = choose(problem, plans, terms)
    best_first = min(objective_key(problem, p.objectives)[0] for _, p in plans)
    bound = terms.bound(best_first)
    # a proven makespan (small problems): CP-SAT's racer has run its disruption stage,
    # and the re-planning strategy's CP-SAT step, on both cores, does better with the
    # time than the probes (they lost to it on mk03, mk04, mk08 at 10 s)
    proven = sol.status == "optimal"
    if race.view is not None and best.feasible and not proven:
        rest = KEEP_PULLBACK_SHARE / (KEEP_PULLBACK_SHARE + KEEP_SHARE)
        until = end - rest * (end - time.perf_counter())
        beside = None
        if race.options.num_workers >= 2:  # the probes use one core; CP-SAT gets the other
            within = replace(terms, best_known=best_first)
            beside = CpsatBeside(comp, best, within, until, race.seed)
        probes: list[dict[str, float]] = []
        kept = fewest_reassignments(
            race.view, best, terms, bound, until, race.seed, race.stop, race.options.name, probes
        )
        race.stats["keep_probes"] = probes
        found = [("pick", best)]
        if kept is not None:
            found.append(("kept", kept))
        if beside is not None and (cp := beside.result()) is not None:
            found.append(("cpsat", cp))
            best_first = min(best_first, objective_key(problem, cp.objectives)[0])
            bound = terms.bound(best_first)
        name, best = choose(problem, found, terms)
        race.stats["keep_pick"] = name  # pick, kept (the probes) or cpsat (beside them)
    starts = {t: s for ts in best.schedule.values() for t, (s, _) in ts.items()}
    order = sorted(starts, key=starts.__getitem__)
    left = time.monotonic() + max(0.0, end - time.perf_counter())
    pulled = pull_back(problem, best, terms, bound, order, deadline=left, backend=race.options.name)
    if pulled is not None:
        _, best = choose(problem, [("pick", best), ("pulled", pulled)], terms)
        race.stats["pulled_back"] = True
    return best.model_copy(
        update={
            "lower_bound": sol.lower_bound,
            "metadata": {**sol.metadata, BEST_FIRST: best_first},
            "wall_time": time.perf_counter() - race.t0,
            "status": "feasible" if best.feasible else best.status,
            "gap": None,
        }
    )


class CpsatBeside:
    """CP-SAT on the core the probes leave idle: least disruption within the rule's bound
    (``terms.best_known``), hinted with the pick; stopped when the probes end."""

    def __init__(
        self, comp: Compiled, pick: Solution, terms: DisruptionTerms, until: float, seed: int
    ) -> None:
        self.problem = comp.problem
        self.stop = threading.Event()
        self.sol: Solution | None = None
        budget = until - time.perf_counter()

        def run() -> None:
            self.sol = CPSATSolver(num_workers=1, deterministic=False).solve(
                comp.problem,
                time_limit=max(0.05, budget),
                seed=seed,
                warm_start=pick,
                disruption=terms,
                stop=self.stop,
                compiled=comp,
            )

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self) -> Solution | None:
        """Its plan (None: none valid), once stopped."""
        self.stop.set()
        self.thread.join()
        if self.sol is None or not self.sol.assignments:
            return None
        sol = check(self.problem, self.sol)
        return sol if sol.feasible else None


class _Race:
    """One scheduling solve: the start plan, the racers (threads) and their results."""

    def __init__(
        self,
        options: SchedulingOptions,
        comp: Compiled,
        deadline: float,
        seed: int,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
        t0: float,
        disruption: DisruptionTerms | None = None,
    ) -> None:
        self.disruption = disruption
        self.options = options
        self.comp = comp
        self.deadline = deadline
        self.seed = seed
        self.progress = progress
        self.stop = stop
        self.t0 = t0
        self.stats: dict[str, Any] = {}
        self.results: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []
        self.inner_stop = threading.Event()  # everything ends (deadline, caller, proof)
        self.cp_stop = threading.Event()  # CP-SAT alone ends (it yields its core)
        self.cp_thread: threading.Thread | None = None
        self.shared: Incumbent | None = None
        # the tabu search's view: the problem without the pairs it cannot time (a
        # leaving agent's, for free tasks); None: not shop-like
        self.view = shop_view(comp)
        need = shop.tabu_bytes(comp)
        if self.view is not None and need > shop.MAX_TABU_BYTES:
            self.view = None
            self.stats["tabu_skipped"] = f"its {need / 2**30:.1f} GiB matrix is over the limit"
        self.tabu_ok = self.view is not None

    def start(self, warm_start: Solution | None) -> None:
        """The list schedule, or the warm start when better; the plan the racers start from."""
        problem = self.comp.problem
        assignments, schedule = eft_schedule(self.view or self.comp)
        key = objective_key(problem, evaluate(problem, assignments, schedule))
        start_ok = respects_deadlines(self.comp, assignments, schedule)
        warm = usable_warm_start(self.comp, warm_start)
        if warm is not None and self.tabu_ok and not in_view(self.view, warm[0]):
            warm = None  # the searches start from it: only pairs they can time
        if warm is not None:
            w_key = objective_key(problem, evaluate(problem, *warm))
            if w_key < key or not start_ok:
                # a better (or the only feasible) warm start is where the searches begin
                assignments, schedule = warm
                key, start_ok = w_key, True
        self.assignments, self.schedule, self.key, self.start_ok = (
            assignments, schedule, key, start_ok,
        )  # fmt: skip
        # a start that misses a deadline or a required task loses to any feasible plan
        self.best: Plan = (key if start_ok else (math.inf,) * len(key), assignments, schedule)
        self.stats.update(start_value=key[0], start_feasible=start_ok)
        self.first = time.perf_counter() - self.t0
        if self.progress is not None and start_ok:
            report = Progress(elapsed=self.first, best=key[0], message="hybrid: list schedule")
            self.progress(report)
        self.seed_plan = warm_start
        if warm_start is None or not warm_start.assignments:
            self.seed_plan = make_solution(problem, assignments, schedule, backend="hybrid")

    def launch(self) -> None:
        """Start the tabu search (shop-like problems) and CP-SAT, each in a thread."""
        if self.tabu_ok:
            value = self.key[0] if self.start_ok else math.inf
            self.shared = shop_incumbent(self.view, self.t0, self.progress, value=value)
            self.threads.append(self._tabu_thread("tabu", self.seed, "hybrid: tabu"))
        if self.options.race_cpsat and self.deadline - time.perf_counter() > 0.05:
            self.cp_thread = threading.Thread(target=self._run_cpsat, daemon=True)
            self.threads.append(self.cp_thread)
        for t in self.threads:
            t.start()

    def _tabu_thread(self, name: str, seed: int, who: str) -> threading.Thread:
        def run() -> None:
            self.results[name] = shop_tabu(
                self.view, self.assignments, self.schedule, self.deadline, seed, self.stop,
                self.inner_stop, shared=self.shared, name=who,
            )  # fmt: skip

        return threading.Thread(target=run, daemon=True)

    def _cp_progress(self, p: Progress) -> None:
        # through the searches' shared plan: the reported value never goes up
        if self.shared is not None:
            self.shared.relay(p)
        elif self.progress is not None:
            self.progress(p)

    def _run_cpsat(self) -> None:
        workers = max(1, self.options.num_workers - (1 if self.tabu_ok else 0))
        limit = self.deadline - time.perf_counter()
        if self.disruption is not None and self.tabu_ok:
            # its stages (first objective, disruption) share its part of the time
            limit = min(CPSAT_MAX_S, CPSAT_SHARE * limit)
        sol = CPSATSolver(num_workers=workers, deterministic=False).solve(
            self.comp.problem,
            time_limit=max(0.05, limit),
            seed=self.seed,
            warm_start=self.seed_plan,
            stop=self.cp_stop,
            progress=self._cp_progress if self.progress is not None else None,
            disruption=self.disruption,
        )
        self.results["cpsat"] = sol
        if sol.status in ("optimal", "infeasible"):
            self.inner_stop.set()  # proven: the tabu search cannot do better

    def wait(self) -> None:
        """Until the deadline, the caller's stop, a proof, or every racer has finished.

        CP-SAT closes small problems quickly (a proof); on the others its single
        worker hardly moves from the start plan, so after a share of the time it
        hands its core to a second tabu search (another seed), which shares plans
        with the first.
        """
        second_at = time.perf_counter()
        if self.cp_thread is not None:
            second_at += min(CPSAT_MAX_S, CPSAT_SHARE * max(0.0, self.deadline - second_at))
        second = self.tabu_ok and self.options.num_workers >= 2
        while time.perf_counter() < self.deadline:
            if self.stop is not None and self.stop.is_set():
                break
            if self.inner_stop.is_set():
                break
            cp_alive = self.cp_thread is not None and self.cp_thread.is_alive()
            if second and (time.perf_counter() >= second_at or not cp_alive):
                second = False
                self.cp_stop.set()
                t2 = self._tabu_thread("tabu2", self.seed + 1, "hybrid: tabu (2)")
                self.threads.append(t2)
                t2.start()
            if not any(t.is_alive() for t in self.threads):
                break
            time.sleep(0.01)
        self.inner_stop.set()
        self.cp_stop.set()
        for t in self.threads:
            t.join(timeout=1.0)

    def plans(self) -> list[tuple[str, Solution]]:
        """Every racer's own final plan (for re-planning's rule), complete ones only."""
        problem, out = self.comp.problem, []
        cp_sol = self.results.get("cpsat")
        if cp_sol is not None and cp_sol.assignments and complete(self.comp, cp_sol.assignments):
            out.append(("cpsat", cp_sol))
        for name in ("tabu", "tabu2"):
            res = self.results.get(name)
            if res is not None:
                out.append((name, make_solution(problem, res[0], res[1], backend=name)))
        return out

    def result(self) -> tuple[Solution, dict[str, Any]]:
        """The best plan of all racers, with CP-SAT's bound and the gap to it."""
        problem = self.comp.problem
        lower, status = self._merge_cpsat()
        self._merge_tabu()
        best = self.best
        if not math.isfinite(best[0][0]):
            status = "unknown"  # neither racer found a plan that meets every deadline
        value = evaluate(problem, best[1], best[2])[problem.objectives[0].value]
        gap = None
        if lower is not None and math.isfinite(lower):
            gap = relative_gap(value, lower, problem.objectives[0].sense)
            if gap is not None and gap <= 1e-9:
                status = "optimal"
        if status == "optimal" and (gap is None or gap > 1e-9) and "cpsat" in self.results:
            # CP-SAT proved its own plan optimal; ours can only tie it
            gap = 0.0
        self.stats["first_feasible_s"] = self.first
        sol = make_solution(
            problem,
            best[1],
            best[2],
            backend=self.options.name,
            status=status,
            feasible=math.isfinite(best[0][0]),
            lower_bound=lower,
            gap=gap,
            wall_time=time.perf_counter() - self.t0,
            seed=self.seed,
            metadata={"hybrid": self.stats},
        )
        return sol, self.stats

    def _merge_cpsat(self) -> tuple[float | None, str]:
        """Take CP-SAT's plan when better; its lower bound and the status so far."""
        cp_sol = self.results.get("cpsat")
        if cp_sol is None:
            return None, "feasible"
        problem = self.comp.problem
        self.stats["cpsat_value"] = cp_sol.objectives.get(problem.objectives[0].value)
        if cp_sol.assignments or not self.best[1]:
            key = objective_key(problem, cp_sol.objectives)
            if cp_sol.feasible and key < self.best[0] and complete(self.comp, cp_sol.assignments):
                self.best = (key, dict(cp_sol.assignments), cp_sol.schedule)
        return cp_sol.lower_bound, "optimal" if cp_sol.status == "optimal" else "feasible"

    def _merge_tabu(self) -> None:
        """Take the tabu searches' plans where better."""
        problem = self.comp.problem
        for name in ("tabu", "tabu2"):
            tabu_res = self.results.get(name)
            if tabu_res is None:
                continue
            t_assign, t_sched, t_stats = tabu_res
            self.stats[name] = t_stats
            key = objective_key(problem, evaluate(problem, t_assign, t_sched))
            if key < self.best[0]:
                self.best = (key, t_assign, t_sched)
