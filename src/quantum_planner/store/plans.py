"""Living plans: versions of a plan, each the result of one job.

Version 1 solves the submitted problem. Each later version re-plans its parent's
result after a list of changes: its problem is the changed one (pins included),
its job re-plans (``jobs.spec`` names the parent's problem and plan, and the
changes). A trade-off job (a Pareto front, alternatives) opens one plan per plan it
found: version 1 of each names its job and, in ``solution_id``, which of the job's
plans it is. Versions are never altered once written; a failed re-plan leaves its
version with a failed job and the parent untouched.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quantum_planner.store.tables import PlanRow, PlanVersionRow, utcnow

__all__ = ["add_version", "create_plan", "get_plan", "latest_version", "version", "versions"]


def create_plan(session: Session, plan_id: str, owner_id: str | None) -> PlanRow:
    row = PlanRow(id=plan_id, owner_id=owner_id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def get_plan(session: Session, plan_id: str, owner_id: str | None = None) -> PlanRow | None:
    """The plan, or None if absent or (when ``owner_id`` is given) someone else's."""
    row = session.get(PlanRow, plan_id)
    if row is None or (owner_id is not None and row.owner_id != owner_id):
        return None
    return row


def add_version(
    session: Session,
    plan_id: str,
    *,
    problem_id: str,
    job_id: str,
    parent: int | None,
    changes: list[dict[str, Any]] | None = None,
    solution_id: str | None = None,
) -> PlanVersionRow:
    """Append the next version (1 for a new plan).

    ``solution_id``: the version's plan is that stored plan of its job (one point of a
    Pareto front, one alternative) rather than the job's final plan.
    """
    last = session.scalar(
        select(func.max(PlanVersionRow.version)).where(PlanVersionRow.plan_id == plan_id)
    )
    row = PlanVersionRow(
        plan_id=plan_id,
        version=(last or 0) + 1,
        problem_id=problem_id,
        job_id=job_id,
        parent_version=parent,
        changes=json.dumps(changes or []),
        created_at=utcnow(),
        solution_id=solution_id,
    )
    session.add(row)
    session.flush()
    return row


def versions(session: Session, plan_id: str) -> list[PlanVersionRow]:
    q = select(PlanVersionRow).where(PlanVersionRow.plan_id == plan_id)
    return list(session.scalars(q.order_by(PlanVersionRow.version)))


def version(session: Session, plan_id: str, number: int) -> PlanVersionRow | None:
    return session.get(PlanVersionRow, (plan_id, number))


def latest_version(session: Session, plan_id: str) -> PlanVersionRow | None:
    q = select(PlanVersionRow).where(PlanVersionRow.plan_id == plan_id)
    return session.scalar(q.order_by(PlanVersionRow.version.desc()).limit(1))
