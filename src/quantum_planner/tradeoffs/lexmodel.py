"""One CP-SAT model of a problem, solved many times under changing objective bounds.

The epsilon-constraint sweep and the no-good alternatives both solve the same
model again and again: minimise one objective, then the next with the first
held, under upper bounds on some objectives, with the last plan as hint. Each
objective ``k`` becomes an integer expression ``e_k`` to minimise (maximised
objectives negated) and a bound variable ``u_k`` with ``e_k <= u_k``; changing
a bound is changing ``u_k``'s domain, so nothing is rebuilt between solves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.solution import make_solution
from quantum_planner.solvers.cpsat_model import CPSATModel
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.tradeoffs.hints import add_hints, aux_values, var_index
from quantum_planner.tradeoffs.spec import DISRUPTION, disruption
from quantum_planner.validate import check

__all__ = ["Found", "LexModel"]

_FREE = 2**50  # "no bound": far above any objective expression of a model that fits in memory


@dataclass(frozen=True)
class Found:
    """A plan found by :meth:`LexModel.lexmin`: its minimised integer values, checked plan."""

    ints: tuple[int, ...]
    solution: Solution
    proven: bool  # every stage closed (OPTIMAL)


class LexModel:
    """The CP-SAT model of ``problem`` with one bounded expression per named objective."""

    def __init__(
        self,
        problem: Problem,
        names: Sequence[str],
        previous: Solution | None = None,
        *,
        workers: int = 1,
        seed: int = 0,
    ) -> None:
        self.problem = problem
        self.names = tuple(names)
        self.workers, self.seed = workers, seed
        self.model = CPSATModel(compile_problem(problem))
        cp = self.model.cp
        self.exprs: list[Any] = []
        self.scales: list[float] = []  # model units per real unit, by objective
        self.previous = previous
        self.bounds: list[cp_model.IntVar] = []
        for k, name in enumerate(self.names):
            if name == DISRUPTION:
                expr, scale = self._disruption_expr(previous), 1.0
            else:
                obj = Objective(name)
                raw, scale = self.model.objective(obj)
                expr = raw if obj.sense > 0 else -raw
            self.scales.append(scale)
            u = cp.NewIntVar(-_FREE, _FREE, f"bound_{k}")
            cp.Add(expr <= u)
            self.exprs.append(expr)
            self.bounds.append(u)
        self.ub: list[int | None] = [None] * len(self.names)
        self._index = var_index(self.model)
        self.solves = 0

    def _disruption_expr(self, previous: Solution | None) -> Any:
        """Tasks of ``previous`` whose agent changes (see :mod:`.spec`), as an expression."""
        assert previous is not None
        comp = self.model.comp
        a_index = {a: j for j, a in enumerate(comp.agent_ids)}
        left_out = set(previous.unassigned)
        parts: list[Any] = []
        for i, tid in enumerate(comp.task_ids):
            if tid in previous.assignments:
                x = self.model.x.get((i, a_index.get(previous.assignments[tid], -1)))
                parts.append(1 - x if x is not None else 1)
            elif tid in left_out:
                parts.append(self.model.present[i])
        return sum(parts)

    # -- bounds and hints --------------------------------------------------------------
    def _bound(self, k: int, ub: int | None) -> None:
        self.ub[k] = ub
        hi = _FREE if ub is None else max(int(ub), -_FREE)
        # with_domain, not Proto(): the variable's proto view dangles in CP-SAT 9.15
        self.bounds[k].with_domain(cp_model.Domain(-_FREE, hi))

    def set_bounds(self, bounds: Mapping[int, int | None]) -> None:
        """Upper bounds on the minimised expressions by objective index (None: free)."""
        for k, ub in bounds.items():
            self._bound(k, ub)

    def clear_bounds(self) -> None:
        self.set_bounds(dict.fromkeys(range(len(self.names))))

    def hint(self, solution: Solution | None) -> None:
        """Start the next solve from ``solution`` (replacing any earlier hint)."""
        self.model.cp.ClearHints()
        if solution is None:
            return
        self.model.hint(solution)
        # the objectives' own variables too: an incomplete hint is taken late or not at all
        values = aux_values(self.model, solution)
        values.update({f"bound_{k}": v for k, v in enumerate(self.found(solution).ints)})
        add_hints(self.model, self._index, values)

    def forbid_near(self, solution: Solution, distance: int) -> None:
        """Every later plan differs from ``solution`` in at least ``distance`` task->agent
        assignments (a no-good cut; a task it left out counts when assigned)."""
        comp = self.model.comp
        a_index = {a: j for j, a in enumerate(comp.agent_ids)}
        parts: list[Any] = []
        for i, tid in enumerate(comp.task_ids):
            agent = solution.assignments.get(tid)
            x = self.model.x.get((i, a_index.get(agent, -1))) if agent is not None else None
            if x is not None:
                parts.append(1 - x)
            elif agent is None:
                parts.append(self.model.present[i])
            else:
                parts.append(1)  # its agent is not eligible here: always differs
        self.model.cp.Add(sum(parts) >= distance)

    def found(self, solution: Solution) -> Found:
        """``solution`` (a valid plan found elsewhere) with its values in model units."""
        ints = []
        for name, scale in zip(self.names, self.scales, strict=True):
            if name == DISRUPTION:
                assert self.previous is not None
                ints.append(round(disruption(self.problem, solution, self.previous)))
            else:
                obj = Objective(name)
                ints.append(round(obj.sense * solution.objectives[name] * scale))
        return Found(tuple(ints), solution, proven=False)

    def real(self, k: int, value: int) -> float:
        """Objective ``k``'s model value ``value`` in real units and sense."""
        name = self.names[k]
        sense = 1 if name == DISRUPTION else Objective(name).sense
        return sense * value / self.scales[k]

    # -- solving -----------------------------------------------------------------------
    def _solver(self, seconds: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = max(1, self.workers)
        solver.parameters.random_seed = self.seed % (2**31)
        return solver

    def lexmin(
        self,
        order: Sequence[int],
        deadline: float,
        *,
        budget: float | None = None,
        tolerance: Sequence[float] | None = None,
    ) -> Found | None:
        """Minimise the objectives of ``order`` one after another within the current bounds.

        Each stage holds the earlier ones at the value found (plus ``tolerance[k]`` of
        it, relative); the bounds set before the call are restored after it. When a
        later stage finds nothing in time, the plan of the stage before stands (not
        proven). Returns None when the first stage found no plan in time (or none
        exists); the plan is checked by the validator and dropped (None) if it fails.
        """
        saved = {k: self.ub[k] for k in order}
        self.stage_values: dict[int, int] = {}  # each stage's optimum (before its tolerance)
        stop_at = deadline if budget is None else min(deadline, time.monotonic() + budget)
        ints: tuple[int, ...] | None = None
        proven = True
        try:
            for s, k in enumerate(order):
                left = stop_at - time.monotonic()
                solver, status = self._stage(k, left / (len(order) - s) if s == 0 else left)
                if solver is None:
                    proven = False
                    break
                proven = proven and status == cp_model.OPTIMAL
                self.model.read(solver)
                ints = tuple(int(solver.Value(e)) for e in self.exprs)
                value = ints[k]
                self.stage_values[k] = value
                tol = tolerance[s] if tolerance is not None and s < len(tolerance) else 0.0
                held = value + int(abs(value) * tol + 1e-9)
                self._bound(k, held if saved[k] is None else min(saved[k], held))
                self.model.hint_current()
        finally:
            self.set_bounds(saved)
        if ints is None:
            return None
        sol = check(self.problem, make_solution(self.problem, *self.model.plan(), backend="cpsat"))
        return Found(ints, sol, proven) if sol.feasible else None

    def _stage(self, k: int, seconds: float) -> tuple[cp_model.CpSolver | None, Any]:
        """Minimise objective ``k`` for at most ``seconds``: the solver (None if it found
        no plan) and its status."""
        if seconds <= 0.005:
            return None, cp_model.UNKNOWN
        cp = self.model.cp
        cp.ClearObjective()
        cp.Minimize(self.exprs[k])
        solver = self._solver(seconds)
        status = solver.Solve(cp)
        self.solves += 1
        return (solver if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None), status
