"""The CP-SAT model of a compiled problem: assignment literals, optional intervals and
no-overlap per agent when the problem is timed, capacity, objective expressions on an
integer scale, hints, and the map from a solver's values back to a plan."""

from __future__ import annotations

import math

import numpy as np
from ortools.sat.python import cp_model

from quantum_planner.model import Objective, Solution
from quantum_planner.scheduling import Schedule, build_schedule
from quantum_planner.solvers.dense_view import Compiled

__all__ = ["CPSATModel", "integer_scale"]


def integer_scale(values: np.ndarray, max_power: int = 3) -> int:
    """Smallest 10^k (k <= max_power) turning every finite value into an integer."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    for k in range(max_power + 1):
        s = 10**k
        if v.size == 0 or np.allclose(v * s, np.round(v * s), atol=1e-6):
            return s
    return 10**max_power


class CPSATModel:
    """The CP-SAT model of one compiled problem, with the map back to a plan.

    :class:`~quantum_planner.solvers.cpsat.CPSATSolver` solves it in lexicographic
    stages; the trade-off sweeps of :mod:`quantum_planner.tradeoffs` solve it their own way.
    """

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
