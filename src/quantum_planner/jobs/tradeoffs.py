"""Trade-off jobs for the HTTP API and the agent tools: checked arguments, stored results.

Both interfaces queue a Pareto front (``planner.pareto``) or top-k alternatives
(``planner.alternatives``) as a job (:mod:`quantum_planner.store.tradeoffs`), so
the checks here run before anything is stored: an unknown objective, one
objective, ``points`` under the number of objectives, a ``reference`` of the
wrong length, ``k < 1`` or ``min_distance`` above the task count is a typed error
naming the argument, never a failed job. :func:`front_of` and
:func:`alternatives_of` read a finished job back with each plan loaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from quantum_planner.errors import InvalidValueError, PlannerError
from quantum_planner.model import Problem, Solution
from quantum_planner.store.tables import JobRow
from quantum_planner.store.tradeoffs import load_solutions, tradeoff_result
from quantum_planner.tradeoffs.pareto import BACKENDS, check_backend
from quantum_planner.tradeoffs.spec import parse_objectives

__all__ = [
    "BACKENDS",
    "alternatives_of",
    "alternatives_params",
    "check_backend",
    "front_of",
    "pareto_params",
]


def pareto_params(
    objectives: Sequence[str],
    points: int | None,
    reference: Sequence[float] | None,
) -> dict[str, Any]:
    """The ``jobs.spec`` arguments of a Pareto job, checked (typed errors name the argument).

    ``minimize_disruption`` needs a previous plan, which these requests do not carry:
    it is refused naming ``objectives``.
    """
    try:
        names = parse_objectives(list(objectives), previous=None)
    except PlannerError as e:
        if e.field == "previous":  # the library's name for what is missing here
            e.field = "objectives"
            e.message = (
                "objectives: minimize_disruption needs a previous plan; re-plan trade-offs "
                "are a library call (planner.pareto(..., previous=plan)), not a request"
            )
        raise
    dims = len(names)
    if points is not None and points < dims:
        raise InvalidValueError(
            f"points must be at least {dims} (one per extreme) for {dims} objectives, got {points}",
            field="points",
        )
    if reference is not None:
        if len(reference) != dims:
            raise InvalidValueError(
                f"reference has {len(reference)} values for {dims} objectives; give one per "
                "objective, in the order of objectives",
                field="reference",
            )
        if not all(math.isfinite(r) for r in reference):
            raise InvalidValueError("reference values must be finite numbers", field="reference")
    return {
        "objectives": list(names),
        "points": points,
        "reference": [float(r) for r in reference] if reference is not None else None,
    }


def alternatives_params(problem: Problem, k: int, min_distance: int) -> dict[str, Any]:
    """The ``jobs.spec`` arguments of an alternatives job, checked against ``problem``."""
    if k < 1:
        raise InvalidValueError(f"k must be at least 1, got {k}", field="k")
    n = len(problem.tasks)
    if min_distance < 1 or min_distance > n:
        raise InvalidValueError(
            f"min_distance must be from 1 to the task count ({n}), got {min_distance}: no two "
            "plans can differ in more tasks than there are",
            field="min_distance",
        )
    return {"k": k, "min_distance": min_distance}


def front_of(session: Session, job: JobRow) -> dict[str, Any] | None:
    """A finished Pareto job's front, each point with its plan (None before it succeeds).

    ``{objectives, reference, hypervolume, knee, complete, elapsed, method, points:
    [{index, values: {objective: value}, knee, plan_id, solution_id, solution}]}``.
    """
    found = tradeoff_result(job)
    if not found or found.get("kind") != "pareto":
        return None
    plans = load_solutions(session, [p["solution_id"] for p in found["points"]])
    names = found["objectives"]
    points = [
        {
            "index": i,
            "values": dict(zip(names, p["values"], strict=True)),
            "knee": i == found.get("knee"),
            "plan_id": p["plan_id"],
            "solution_id": p["solution_id"],
            "solution": plans[p["solution_id"]],
        }
        for i, p in enumerate(found["points"])
    ]
    keep = ("objectives", "reference", "hypervolume", "knee", "complete", "elapsed", "method")
    return {**{k: found.get(k) for k in keep}, "points": points}


def alternatives_of(session: Session, job: JobRow) -> list[dict[str, Any]] | None:
    """A finished alternatives job's plans, best first (None before it succeeds).

    ``[{rank, distance, plan_id, solution_id, objectives, solution}]``; ``distance``
    counts the tasks on another agent than in the best plan.
    """
    found = tradeoff_result(job)
    if not found or found.get("kind") != "alternatives":
        return None
    plans: dict[str, Solution] = load_solutions(session, [p["solution_id"] for p in found["plans"]])
    out = []
    for p in found["plans"]:
        sol = plans[p["solution_id"]]
        out.append({**p, "objectives": dict(sol.objectives), "solution": sol})
    return out
