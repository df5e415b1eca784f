"""OR-Tools CP-SAT backend: exact solver for small problems, bound for every problem.

Two models, picked by whether time matters (:attr:`Compiled.timed`):

* **assignment** (no makespan objective, no deadline): one Boolean per eligible
  (task, agent) pair, exactly one per required task (at most one per optional
  task), capacity as a linear constraint on each agent's load. The plan is then
  timed by the list scheduler.
* **scheduling**: in addition, one optional interval per eligible pair sharing
  the task's start and end, no-overlap per agent, release/deadline per pair
  (time windows and availability), the horizon, precedence (a task is done only
  if its prerequisites are), and a makespan variable.

Objectives: cost and priority are linear; makespan is a max; ``balance_load``
(variance of busy time) is exact: ``m * sum(busy^2) - (sum busy)^2`` built from
product constraints. A lexicographic list is solved in stages: each stage fixes
the earlier objectives to no worse than the value found (equal when proven) and
gets an equal share of the remaining time.

CP-SAT needs integers: times, loads and costs are multiplied by the smallest
power of ten (up to 10^3) that makes them integral; if none does, durations
and loads are rounded up, capacities and deadlines down (the plan stays
feasible, the optimum may move by less than one unit in the last digit) and
costs rounded to the nearest unit. The real values are recomputed by
``make_solution``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from ortools.sat.python import cp_model

from quantum_planner.disruption import BEST_FIRST
from quantum_planner.model import Problem, Solution
from quantum_planner.objectives import evaluate
from quantum_planner.scheduling import Schedule
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.cpsat_disruption import DisruptionTerms, disruption_expr
from quantum_planner.solvers.cpsat_model import CPSATModel, integer_scale
from quantum_planner.solvers.dense_view import Compiled, compile_problem

__all__ = ["CPSATModel", "CPSATSolver", "DisruptionTerms", "integer_scale"]

# re-planning with a best-known first objective: that stage's share of the time
FIRST_STAGE_SHARE = 0.15


class _Stop(cp_model.CpSolverSolutionCallback):
    """Reports improvements and stops the search when the caller's event is set."""

    SOLUTION_EVERY = 0.5  # seconds between plans attached to progress reports

    def __init__(
        self,
        stop: threading.Event | None,
        report: ProgressCallback | None,
        t0: float,
        scale: float,
        model: Any = None,
    ):
        super().__init__()
        self._stop, self._report, self._t0, self._scale = stop, report, t0, scale
        self._model = model
        self._last_solution = -float("inf")
        self.first_time: float | None = None

    def on_solution_callback(self) -> None:
        now = time.perf_counter() - self._t0
        if self.first_time is None:
            self.first_time = now
        if self._report is not None:
            solution = None
            if self._model is not None and now - self._last_solution >= self.SOLUTION_EVERY:
                # the plan so far, for anytime callers (job API); the planner validates it
                self._last_solution = now
                self._model.read(self)
                solution = make_solution(
                    self._model.comp.problem, *self._model.plan(), backend="cpsat"
                )
            self._report(
                Progress(
                    elapsed=now,
                    best=self.ObjectiveValue() / self._scale,
                    message="cpsat: improved plan",
                    solution=solution,
                )
            )
        if self._stop is not None and self._stop.is_set():
            self.StopSearch()


def _solve_stoppable(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    cb: cp_model.CpSolverSolutionCallback | None,
    stop: threading.Event | None,
) -> int:
    """``solver.Solve`` that also ends soon after ``stop`` is set, even between solutions."""
    if stop is None:
        return solver.Solve(model, cb)
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.02):
            if stop.is_set():
                solver.StopSearch()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return solver.Solve(model, cb)
    finally:
        finished.set()
        watcher.join(timeout=1.0)


class CPSATSolver:
    """CP-SAT with both models above; fills ``lower_bound``, ``gap`` and ``status``."""

    name = "cpsat"

    def __init__(
        self,
        num_workers: int = 2,
        *,
        log: bool = False,
        relative_gap: float = 0.0,
        deterministic: bool = True,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.num_workers = num_workers
        # CP-SAT's parallel portfolio races threads, so two runs with one seed can return
        # different (equally good) plans; one worker keeps "same seed, same plan" (measured
        # faster than interleave_search on ft06/la01-la05, which also aborts in CP-SAT 9.15
        # when a hint meets an immediate stop). Benchmarks and the hybrid's racer use all.
        self.deterministic = deterministic
        self.log = log
        self.relative_gap = relative_gap
        self.params = dict(params or {})
        self.first_solution_time: float | None = None

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
        compiled: Compiled | None = None,
        disruption: DisruptionTerms | None = None,
    ) -> Solution:
        """Solve lexicographically; with ``disruption``, least disruption comes second.

        ``disruption`` (re-planning) adds a stage after the first objective: that
        objective may worsen by ``tolerance`` (relative) and the weighted disruption
        against ``reference`` is minimised, then the other objectives follow.
        """
        t0 = time.perf_counter()
        comp = compiled or compile_problem(problem)
        model = CPSATModel(comp)
        if warm_start is not None:
            model.hint(warm_start)
        objectives = comp.objectives
        statuses: list[int] = []
        lower: float | None = None
        values: list[float] = []
        self.first_solution_time = None
        stages = len(objectives) + (disruption is not None)
        for k, obj in enumerate(objectives):
            remaining = time_limit - (time.perf_counter() - t0)
            share = max(0.05, remaining / (stages - k))
            if k == 0 and disruption is not None and disruption.best_known is not None:
                # a caller that knows a better first objective sets the bound: this stage
                # only needs a plan within it, the time goes to the disruption stage
                share = max(0.05, FIRST_STAGE_SHARE * remaining)
            if stop is not None and stop.is_set() and values:
                break
            expr, scale = model.objective(obj)
            model.cp.ClearObjective()
            if obj.sense > 0:
                model.cp.Minimize(expr)
            else:
                model.cp.Maximize(expr)
            solver = self._solver(share, seed)
            cb = _Stop(stop, progress if k == 0 else None, t0, scale, model)
            status = _solve_stoppable(solver, model.cp, cb, stop)
            if k == 0 and cb.first_time is not None:
                self.first_solution_time = cb.first_time
            statuses.append(status)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                if k == 0:
                    return self._no_plan(problem, status, time.perf_counter() - t0, seed)
                break
            model.read(solver)
            value = solver.ObjectiveValue()
            if k == 0:
                lower = solver.BestObjectiveBound() / scale
            values.append(value / scale)
            # later stages may not worsen this objective by more than its level's
            # tolerance; when re-planning the first may, up to the rule's bound
            # (quantum_planner.disruption: tolerance above the better of this value and
            # the caller's best known)
            limit = value + obj.sense * abs(value) * comp.problem.tolerances[k]
            if k == 0 and disruption is not None:
                bound = obj.sense * disruption.bound(obj.sense * value / scale) * scale
                limit = max(limit, bound) if obj.sense > 0 else min(limit, bound)
            if obj.sense > 0:
                model.cp.Add(expr <= math.floor(limit + 1e-9))
            else:
                model.cp.Add(expr >= math.ceil(limit - 1e-9))
            model.hint_current()
            if k == 0 and disruption is not None:
                remaining = time_limit - (time.perf_counter() - t0)
                share = max(0.05, remaining / (stages - 1))
                self._disruption_stage(model, disruption, share, seed, stop)
        assignments, schedule = model.plan()
        proven = len(statuses) == len(objectives) and all(s == cp_model.OPTIMAL for s in statuses)
        sol = self._solution(
            comp, assignments, schedule, lower, proven, time.perf_counter() - t0, seed
        )
        if disruption is not None and values:  # the first stage's value (the rule's best)
            sol.metadata[BEST_FIRST] = objectives[0].sense * values[0]
        return sol

    # -------------------------------------------------------------- helpers
    def _solver(self, share: float, seed: int | None) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = share
        solver.parameters.num_workers = 1 if self.deterministic else max(1, self.num_workers)
        solver.parameters.random_seed = int(seed or 0) % (2**31)
        solver.parameters.log_search_progress = self.log
        if self.relative_gap:
            solver.parameters.relative_gap_limit = self.relative_gap
        for key, val in self.params.items():
            setattr(solver.parameters, key, val)
        return solver

    def _disruption_stage(
        self,
        model: CPSATModel,
        terms: DisruptionTerms,
        share: float,
        seed: int | None,
        stop: threading.Event | None,
    ) -> None:
        """Least disruption with the first objective held within its tolerance."""
        expr = disruption_expr(model, terms)
        model.cp.ClearObjective()
        model.cp.Minimize(expr)
        solver = self._solver(share, seed)
        status = _solve_stoppable(solver, model.cp, None, stop)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            model.read(solver)
            model.cp.Add(expr <= round(solver.ObjectiveValue()))
            model.hint_current()

    def _no_plan(self, problem: Problem, status: int, wall: float, seed: int | None) -> Solution:
        infeasible = status == cp_model.INFEASIBLE
        return make_solution(
            problem,
            {},
            {},
            backend=self.name,
            feasible=False,
            status="infeasible" if infeasible else "unknown",
            wall_time=wall,
            seed=seed,
            metadata={
                "cpsat_status": _STATUS_NAMES.get(status, str(status)),
                "reason": "proven infeasible" if infeasible else "no plan within the time limit",
            },
        )

    def _solution(
        self,
        comp: Compiled,
        assignments: dict[str, str],
        schedule: Schedule,
        lower: float | None,
        proven: bool,
        wall: float,
        seed: int | None,
    ) -> Solution:
        problem = comp.problem
        values = evaluate(problem, assignments, schedule)
        primary = problem.objectives[0]
        value = values[primary.value]
        gap = relative_gap(value, lower, primary.sense) if lower is not None else None
        if proven:
            gap = 0.0
        return make_solution(
            problem,
            assignments,
            schedule,
            backend=self.name,
            status="optimal" if proven else "feasible",
            lower_bound=lower,
            gap=gap,
            wall_time=wall,
            seed=seed,
            metadata={
                "first_solution_s": self.first_solution_time,
                "model": "scheduling" if comp.timed else "assignment",
            },
        )


_STATUS_NAMES = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


def relative_gap(value: float, bound: float | None, sense: int = 1) -> float | None:
    """``|value - bound| / max(|value|, 1e-9)``, 0 when they meet; None without bound."""
    if bound is None or not math.isfinite(bound):
        return None
    diff = (value - bound) * sense
    return max(0.0, diff) / max(abs(value), 1e-9)
