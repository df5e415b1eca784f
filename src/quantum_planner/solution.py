"""Building a :class:`~quantum_planner.model.Solution` from an assignment and its schedule.

It sits just above the model (it needs the objective definitions and nothing
else), so the formulation's decoder and every solver build plans the same way
without the formulation importing the solvers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quantum_planner.model import Problem, Solution
from quantum_planner.objectives import evaluate
from quantum_planner.scheduling import Schedule

__all__ = ["make_solution"]


def make_solution(
    problem: Problem,
    assignments: Mapping[str, str],
    schedule: Schedule,
    *,
    backend: str,
    **fields: Any,
) -> Solution:
    """A :class:`Solution` with objectives, makespan and unassigned tasks filled in."""
    values = evaluate(problem, assignments, schedule)
    sched = {a: dict(ts) for a, ts in schedule.items() if ts}
    return Solution(
        assignments=dict(assignments),
        schedule=sched,
        makespan=values["minimize_makespan"],
        objectives=values,
        unassigned=[t.id for t in problem.tasks if t.id not in assignments],
        backend_used=backend,
        **fields,
    )
