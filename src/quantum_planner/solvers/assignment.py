"""Exact one-to-one assignment by ``scipy.optimize.linear_sum_assignment``.

When every agent can take at most one task (capacity 1, every load 1), every
task must be done, time does not matter and the objective is cost, the
problem is the classic assignment problem: the Hungarian-type algorithm in
scipy solves 1000 x 1000 exactly in a few hundredths of a second. A QUBO would
only make it harder. :func:`is_one_to_one` says when this applies.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from quantum_planner.errors import InfeasibleProblemError, SolverError
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import ProgressCallback, make_solution
from quantum_planner.solvers.dense_view import Compiled, compile_problem

__all__ = ["AssignmentSolver", "is_one_to_one"]

_BIG = 1e15


def is_one_to_one(comp: Compiled) -> bool:
    """Capacity 1 per agent, load 1 per pair, no optional task, cost only, no time aspect."""
    if comp.timed or comp.objectives != [Objective.MINIMIZE_COST] or comp.optional.any():
        return False
    if comp.n == 0 or not np.all(comp.cap == 1.0):
        return False
    return bool(np.all(comp.load[comp.elig] == 1.0))


class AssignmentSolver:
    """Exact solver for the one-to-one case (raises for anything else)."""

    name = "assignment"

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
        comp = compile_problem(problem)
        if not is_one_to_one(comp):
            raise SolverError(
                "the 'assignment' solver needs a one-to-one problem (capacity 1 and load 1 "
                "for every agent, cost objective, no time constraints); use 'auto' or 'hybrid'"
            )
        cost = np.where(comp.elig, comp.cost, _BIG)
        rows, cols = linear_sum_assignment(cost)
        if rows.size < comp.n or np.any(cost[rows, cols] >= _BIG):
            raise InfeasibleProblemError(
                f"{comp.n} tasks cannot each get a different eligible agent among {comp.m}; "
                "add agents, raise capacities or mark tasks optional"
            )
        assignments = {comp.task_ids[i]: comp.agent_ids[j] for i, j in zip(rows, cols, strict=True)}
        value = float(cost[rows, cols].sum())
        return make_solution(
            problem,
            assignments,
            build_schedule(problem, assignments),
            backend=self.name,
            status="optimal",
            lower_bound=value,
            gap=0.0,
            wall_time=time.perf_counter() - t0,
            seed=seed,
        )
