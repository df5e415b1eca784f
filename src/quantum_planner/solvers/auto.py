"""What ``backend="auto"`` runs, and why (:func:`choose`).

The rule, first match wins (thresholds measured on the benchmark sets, see
docs/SOLVERS.md):

1. **One-to-one assignment** (capacity 1 and load 1 everywhere, cost objective,
   no time aspect): ``assignment`` (exact ``linear_sum_assignment``).
2. **Small problems CP-SAT closes quickly**: ``cpsat`` first, ``hybrid`` as
   fallback. Small means at most ``SMALL_ASSIGNMENT_PAIRS`` eligible
   (task, agent) pairs without time aspects (OR-Library gap1-gap12: proven in
   well under a second), or at most ``SMALL_SCHEDULING_TASKS`` tasks and
   ``SMALL_SCHEDULING_PAIRS`` pairs when time matters (ft06, la01-la05).
3. **Everything else**: ``hybrid`` (which races CP-SAT on the second core when
   there is one, and keeps the better plan), with ``cpsat`` as fallback.
"""

from __future__ import annotations

import os

from quantum_planner.model import Problem
from quantum_planner.solvers.assignment import is_one_to_one
from quantum_planner.solvers.dense_view import compile_problem

__all__ = ["SMALL_ASSIGNMENT_PAIRS", "SMALL_SCHEDULING_PAIRS", "SMALL_SCHEDULING_TASKS", "choose"]

SMALL_ASSIGNMENT_PAIRS = 1_500
SMALL_SCHEDULING_TASKS = 60
SMALL_SCHEDULING_PAIRS = 300


def choose(problem: Problem, time_limit: float) -> tuple[list[str], str]:
    """Backend chain for ``problem`` under ``time_limit`` seconds, and the reason."""
    comp = compile_problem(problem)
    n, m = comp.n, comp.m
    pairs = int(comp.elig.sum())
    size = f"{n} tasks x {m} agents ({pairs} eligible pairs)"
    if is_one_to_one(comp):
        return (
            ["assignment", "hybrid"],
            f"{size}: one-to-one assignment with cost only; solved exactly by "
            "linear_sum_assignment",
        )
    if comp.timed:
        small = n <= SMALL_SCHEDULING_TASKS and pairs <= SMALL_SCHEDULING_PAIRS
    else:
        small = pairs <= SMALL_ASSIGNMENT_PAIRS
    if small:
        kind = "scheduling" if comp.timed else "assignment"
        return (
            ["cpsat", "hybrid"],
            f"{size}: small {kind} problem; CP-SAT usually proves optimality within "
            f"{time_limit:g}s",
        )
    cores = os.cpu_count() or 1
    race = "racing CP-SAT on the second core" if cores >= 2 else "one core: no race"
    return (
        ["hybrid", "cpsat"],
        f"{size}: hybrid large-neighbourhood search ({race}); CP-SAT as fallback",
    )
