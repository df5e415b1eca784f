"""Job events: the ordered record the progress stream replays.

Every state change of a job and every improving plan appends one row; the
server-sent event stream (``GET /api/jobs/{id}/events``) reads them in id order
from the client's ``Last-Event-ID``. Rows are written in the same transaction as
the change they describe, by whichever process makes it (API replica, local
runner, Celery worker), so every replica streams every job.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quantum_planner.store.tables import JobEventRow

__all__ = ["add_event", "events_after"]

KINDS = ("status", "progress", "final")


def add_event(session: Session, job_id: str, kind: str, data: dict[str, Any]) -> None:
    """Append an event to the job's stream."""
    assert kind in KINDS
    session.add(JobEventRow(job_id=job_id, kind=kind, data=json.dumps(data, default=str)))


def events_after(
    session: Session, job_id: str, after: int = 0, limit: int = 200
) -> list[JobEventRow]:
    """The job's events with id greater than ``after``, oldest first."""
    q = (
        select(JobEventRow)
        .where(JobEventRow.job_id == job_id, JobEventRow.id > after)
        .order_by(JobEventRow.id)
        .limit(limit)
    )
    return list(session.scalars(q))
