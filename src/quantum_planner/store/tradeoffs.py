"""Trade-off jobs in the store: a Pareto front's plans, or the top-k alternatives.

A trade-off job is an ordinary job (queued, claimed, run, heartbeated, cancelled
like any other) whose ``jobs.spec`` says which kind it is and with what
arguments: ``{"pareto": {"objectives": [...], "points": n, "reference": [...]}}``
or ``{"alternatives": {"k": k, "min_distance": d}}``. When it succeeds,
:func:`save_success` stores every plan it found as a solution row of the job
(the front's knee, or the best alternative, as its ``final`` plan, so
``GET /api/jobs/{id}`` and the analysis show it; the others as ``front`` or
``alt``) and opens each as a living plan (version 1, ``solution_id`` naming the
plan), so each opens, re-plans and diffs like any plan. ``jobs.result`` keeps
the summary: per point its objective values, plan id and solution id, and the
front's reference point, hypervolume, knee and completeness; per alternative its
rank and its distance to the best.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quantum_planner.model import Problem, Solution
from quantum_planner.store.db import canonical_json
from quantum_planner.store.plans import add_version, create_plan
from quantum_planner.store.repositories import (
    create_job,
    load_solution,
    new_id,
    save_problem,
    save_solution,
)
from quantum_planner.store.tables import JobRow, SolutionRow

__all__ = [
    "KINDS",
    "create_tradeoff_job",
    "job_kind",
    "load_solutions",
    "save_success",
    "tradeoff_result",
]

#: the trade-off job kinds, as the key of their ``jobs.spec``
KINDS = ("pareto", "alternatives")


def create_tradeoff_job(
    session: Session,
    *,
    owner_id: str | None,
    problem: Problem,
    kind: str,
    params: dict[str, Any],
    time_limit: float,
    seed: int | None,
    backend: str | None,
) -> JobRow:
    """Store ``problem`` and queue a trade-off job of ``kind`` with ``params``."""
    if kind not in KINDS:
        raise ValueError(f"unknown trade-off kind {kind!r}")
    prow = save_problem(session, problem, owner_id)
    return create_job(
        session,
        owner_id=owner_id,
        problem_id=prow.id,
        time_limit=time_limit,
        seed=seed,
        backend=backend,
        spec={kind: params},
    )


def job_kind(job: JobRow) -> str:
    """``solve``, ``replan``, ``pareto`` or ``alternatives``: what the job's spec asks."""
    spec = json.loads(job.spec) if job.spec else {}
    return next((k for k in ("replan", *KINDS) if k in spec), "solve")


def save_success(session: Session, job: JobRow, result: dict[str, Any]) -> None:
    """Store the plans of a succeeded job: its final plan, and every plan of a trade-off."""
    if result.get("front") is not None:
        _save_front(session, job, result["front"])
    elif result.get("alternatives") is not None:
        _save_alternatives(session, job, result["alternatives"])
    else:
        solution = Solution.model_validate_json(result["solution"])
        save_solution(session, solution, problem_id=job.problem_id, job_id=job.id, kind="final")


def _open_plan(session: Session, job: JobRow, solution: Solution, kind: str) -> dict[str, str]:
    """Store one plan of the job and open it as a living plan (version 1)."""
    row = save_solution(session, solution, problem_id=job.problem_id, job_id=job.id, kind=kind)
    plan = create_plan(session, new_id(), job.owner_id)
    add_version(
        session, plan.id, problem_id=job.problem_id, job_id=job.id, parent=None, solution_id=row.id
    )
    return {"solution_id": row.id, "plan_id": plan.id}


def _save_front(session: Session, job: JobRow, front: dict[str, Any]) -> None:
    knee = front.get("knee")
    final = knee if knee is not None else 0
    points = []
    for i, p in enumerate(front["points"]):
        kind = "final" if i == final else "front"
        ids = _open_plan(session, job, Solution.model_validate(p["solution"]), kind)
        points.append({"values": [float(v) for v in p["values"]], **ids})
    summary = {k: v for k, v in front.items() if k != "points"}
    job.result = canonical_json({**summary, "kind": "pareto", "points": points})


def _save_alternatives(session: Session, job: JobRow, plans: list[dict[str, Any]]) -> None:
    items = []
    for rank, plan in enumerate(plans):
        sol = Solution.model_validate(plan)
        ids = _open_plan(session, job, sol, "final" if rank == 0 else "alt")
        # the library's count of tasks on another agent than in the best plan
        distance = (sol.metadata.get("alternative") or {}).get("distance_to_best")
        items.append({"rank": rank, "distance": distance, **ids})
    job.result = canonical_json({"kind": "alternatives", "plans": items})


def tradeoff_result(job: JobRow) -> dict[str, Any] | None:
    """The summary :func:`save_success` stored for a trade-off job; None before it succeeds."""
    return json.loads(job.result) if job.result else None


def load_solutions(session: Session, ids: Iterable[str]) -> dict[str, Solution]:
    """The stored plans ``ids`` (hash-checked), by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.scalars(select(SolutionRow).where(SolutionRow.id.in_(wanted)))
    return {r.id: load_solution(r) for r in rows}
