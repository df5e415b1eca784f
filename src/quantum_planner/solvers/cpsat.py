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

import numpy as np
from ortools.sat.python import cp_model

from quantum_planner.disruption import BEST_FIRST
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import Schedule, build_schedule
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.cpsat_disruption import DisruptionTerms, disruption_expr
from quantum_planner.solvers.dense_view import Compiled, compile_problem

__all__ = ["CPSATSolver", "DisruptionTerms", "integer_scale"]

# re-planning with a best-known first objective: that stage's share of the time
FIRST_STAGE_SHARE = 0.15


def integer_scale(values: np.ndarray, max_power: int = 3) -> int:
    """Smallest 10^k (k <= max_power) turning every finite value into an integer."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    for k in range(max_power + 1):
        s = 10**k
        if v.size == 0 or np.allclose(v * s, np.round(v * s), atol=1e-6):
            return s
    return 10**max_power


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
        model = _Model(comp)
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
            # later stages may not worsen this objective; when re-planning the first may,
            # up to the rule's bound (quantum_planner.disruption: tolerance above the
            # better of this value and the caller's best known)
            limit = value
            if k == 0 and disruption is not None:
                limit = obj.sense * disruption.bound(obj.sense * value / scale) * scale
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
        model: _Model,
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


class _Model:
    """The CP-SAT model of one compiled problem, with the map back to a plan."""

    def __init__(self, comp: Compiled) -> None:
        self.comp = comp
        cp = self.cp = cp_model.CpModel()
        n, m = comp.n, comp.m
        elig = comp.elig
        timed = comp.timed
        self.tscale = integer_scale(
            np.concatenate(
                [
                    comp.dur[elig],
                    comp.release[elig],
                    comp.deadline[elig],
                    [comp.problem.time_horizon or 0.0],
                ]
            )
        )
        ts = self.tscale
        self.lscale = integer_scale(np.concatenate([comp.load[elig], comp.cap]))
        self.cscale = integer_scale(comp.cost[elig])
        self.idur = np.ceil(comp.dur * ts - 1e-9).astype(np.int64)
        self.x: dict[tuple[int, int], cp_model.IntVar] = {}
        for i in range(n):
            row = []
            for j in comp.options[i]:
                v = cp.NewBoolVar(f"x_{i}_{j}")
                self.x[i, int(j)] = v
                row.append(v)
            if comp.optional[i]:
                cp.Add(sum(row) <= 1)
            else:
                cp.AddExactlyOne(row)
        self.present = [sum(self.x[i, int(j)] for j in comp.options[i]) for i in range(n)]
        # capacity
        by_agent: list[list[int]] = [[] for _ in range(m)]
        for i, j in self.x:
            by_agent[j].append(i)
        self.by_agent = by_agent
        for j in range(m):
            if math.isfinite(comp.cap[j]) and by_agent[j]:
                ls = self.lscale
                terms = [math.ceil(comp.load[i, j] * ls - 1e-9) * self.x[i, j] for i in by_agent[j]]
                cp.Add(sum(terms) <= math.floor(comp.cap[j] * ls + 1e-9))
        self.start: list[cp_model.IntVar] = []
        self.end: list[cp_model.IntVar] = []
        self.makespan: cp_model.IntVar | None = None
        if timed:
            self._schedule_model()
        self._values: dict[tuple[int, int], bool] = {}
        self._starts: list[int] = []
        self._cache: dict[Objective, tuple[cp_model.LinearExprT, float]] = {}

    def _schedule_model(self) -> None:
        comp, cp, ts = self.comp, self.cp, self.tscale
        n = comp.n
        elig = comp.elig
        dmax = np.where(elig, self.idur, 0).max(axis=1, initial=0)
        rel = np.ceil(np.where(elig, comp.release, 0.0) * ts - 1e-9).astype(np.int64)
        horizon = comp.problem.time_horizon
        if horizon is None:
            hmax = int(rel.max(initial=0) + dmax.sum())
        else:
            hmax = math.floor(horizon * ts + 1e-9)
        hmax = max(hmax, 0)
        self.makespan_bound = hmax
        for i in range(n):
            s = cp.NewIntVar(0, hmax, f"s_{i}")
            e = cp.NewIntVar(0, hmax, f"e_{i}")
            self.start.append(s)
            self.end.append(e)
        intervals: list[list[cp_model.IntervalVar]] = [[] for _ in range(comp.m)]
        for (i, j), x in self.x.items():
            d = int(self.idur[i, j])
            iv = cp.NewOptionalIntervalVar(self.start[i], d, self.end[i], x, f"iv_{i}_{j}")
            intervals[j].append(iv)
            if rel[i, j] > 0:
                cp.Add(self.start[i] >= int(rel[i, j])).OnlyEnforceIf(x)
            dl = comp.deadline[i, j]
            if math.isfinite(dl):
                cp.Add(self.end[i] <= math.floor(dl * ts + 1e-9)).OnlyEnforceIf(x)
        for j in range(comp.m):
            if len(intervals[j]) > 1:
                cp.AddNoOverlap(intervals[j])
        for i in range(n):
            for p in comp.preds[i]:
                cp.Add(self.start[i] >= self.end[p])
                if comp.optional[i] and comp.optional[p]:
                    cp.Add(self.present[i] <= self.present[p])
                elif comp.optional[p]:
                    cp.Add(self.present[p] == 1)
        self.makespan = cp.NewIntVar(0, hmax, "makespan")
        for i in range(n):
            if comp.optional[i]:
                # an absent task's end is free; only present tasks count towards the makespan
                b = cp.NewBoolVar(f"p_{i}")
                cp.Add(self.present[i] == 1).OnlyEnforceIf(b)
                cp.Add(self.present[i] == 0).OnlyEnforceIf(b.Not())
                cp.Add(self.makespan >= self.end[i]).OnlyEnforceIf(b)
            else:
                cp.Add(self.makespan >= self.end[i])

    # -------------------------------------------------------- objectives
    def objective(self, obj: Objective) -> tuple[cp_model.LinearExprT, float]:
        """CP-SAT expression of ``obj`` and the factor from real units to it."""
        if obj in self._cache:
            return self._cache[obj]
        comp, cp = self.comp, self.cp
        if obj is Objective.MINIMIZE_COST:
            cs = self.cscale
            expr = sum(round(comp.cost[i, j] * cs) * x for (i, j), x in self.x.items())
            out = (expr, float(cs))
        elif obj is Objective.MAXIMIZE_PRIORITY:
            ps = integer_scale(comp.prio)
            expr = sum(round(comp.prio[i] * ps) * x for (i, j), x in self.x.items())
            out = (expr, float(ps))
        elif obj is Objective.MINIMIZE_MAKESPAN:
            if self.makespan is None:
                # assignment model: the list scheduler runs each agent's tasks back to back
                # from 0, so the makespan is the largest busy time
                self.makespan = cp.NewIntVar(0, int(self.idur.max(initial=0) * self.comp.n), "ms")
                for j, tasks in enumerate(self.by_agent):
                    cp.Add(self.makespan >= sum(int(self.idur[i, j]) * self.x[i, j] for i in tasks))
            out = (self.makespan, float(self.tscale))
        else:  # balance_load: exact variance * m^2 = m * sum busy^2 - (sum busy)^2
            m = comp.m
            ub = int(self.idur.max(initial=0) * comp.n) + 1
            sq_terms = []
            busy_all = []
            for j, tasks in enumerate(self.by_agent):
                b = cp.NewIntVar(0, ub, f"busy_{j}")
                cp.Add(b == sum(int(self.idur[i, j]) * self.x[i, j] for i in tasks))
                sq = cp.NewIntVar(0, ub * ub, f"busy2_{j}")
                cp.AddMultiplicationEquality(sq, [b, b])
                sq_terms.append(sq)
                busy_all.append(b)
            total = cp.NewIntVar(0, ub * max(m, 1), "busy_total")
            cp.Add(total == sum(busy_all))
            tot2 = cp.NewIntVar(0, (ub * max(m, 1)) ** 2, "busy_total2")
            cp.AddMultiplicationEquality(tot2, [total, total])
            expr = m * sum(sq_terms) - tot2
            out = (expr, float(m * m * self.tscale**2))
        self._cache[obj] = out
        return out

    # ------------------------------------------------------ hints / read
    def hint(self, warm: Solution) -> None:
        comp = self.comp
        t_index = {t: i for i, t in enumerate(comp.task_ids)}
        a_index = {a: j for j, a in enumerate(comp.agent_ids)}
        chosen = {
            (t_index[t], a_index[a])
            for t, a in warm.assignments.items()
            if t in t_index and a in a_index
        }
        for key, x in self.x.items():
            self.cp.AddHint(x, key in chosen)
        if self.start:
            for t, a in warm.assignments.items():
                iv = warm.schedule.get(a, {}).get(t)
                if iv is not None and t in t_index:
                    i = t_index[t]
                    self.cp.AddHint(self.start[i], round(iv[0] * self.tscale))

    def read(self, solver: cp_model.CpSolver | cp_model.CpSolverSolutionCallback) -> None:
        self._values = {k: bool(solver.Value(x)) for k, x in self.x.items()}
        self._starts = [int(solver.Value(s)) for s in self.start]

    def hint_current(self) -> None:
        self.cp.ClearHints()
        for k, x in self.x.items():
            self.cp.AddHint(x, self._values.get(k, False))
        for i, s in enumerate(self.start):
            self.cp.AddHint(s, self._starts[i])

    def plan(self) -> tuple[dict[str, str], Schedule]:
        comp = self.comp
        assignments = {
            comp.task_ids[i]: comp.agent_ids[j] for (i, j), on in self._values.items() if on
        }
        if not comp.timed:
            return assignments, build_schedule(comp.problem, assignments)
        schedule: Schedule = {a: {} for a in comp.agent_ids}
        for (i, j), on in self._values.items():
            if on:
                st = self._starts[i] / self.tscale
                schedule[comp.agent_ids[j]][comp.task_ids[i]] = (st, st + float(comp.dur[i, j]))
        return assignments, schedule


def plan_key(problem: Problem, assignments: Mapping[str, str], schedule: Schedule) -> tuple:
    """Lexicographic key (to minimise) of a plan."""
    return objective_key(problem, evaluate(problem, assignments, schedule))
