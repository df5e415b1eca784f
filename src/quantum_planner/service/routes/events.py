"""``GET /api/jobs/{id}/events``: a job's progress as Server-Sent Events.

Events come from the ``job_events`` table (see :mod:`quantum_planner.store.events`),
which the runner that owns the job writes (the local process pool or a Celery
worker), so any API replica streams any job. Each event's ``id`` is its row id:
a client that reconnects with ``Last-Event-ID`` gets what it missed, then the
rest. Event types: ``status`` (queued, running, re-queued), ``progress`` (an
improving plan: objective value, elapsed seconds, whether a best-so-far plan is
stored; fetch it from ``GET /api/jobs/{id}``) and ``final`` (succeeded, failed or
cancelled, with the error); the stream ends after ``final``. A job already final
with nothing after ``Last-Event-ID`` answers 410 ``job_finished``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from quantum_planner.service.auth import Caller, current_caller
from quantum_planner.service.deps import ServiceState, get_state
from quantum_planner.service.errors import APIError, responses
from quantum_planner.store import events as store
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import FINAL_STATES

router = APIRouter(prefix="/api", tags=["solve"])

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 1000


def _after(last_event_id: str) -> int:
    # the header's pattern (digits only) is checked by the request parser: 422 otherwise
    return int(last_event_id) if last_event_id else 0


def _stream_start(
    job_id: str,
    last_event_id: str = Header(
        "",
        alias="Last-Event-ID",
        pattern=r"^[0-9]{0,18}$",
        description="The id of the last event received; the stream resumes after it.",
    ),
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> tuple[ServiceState, str, int]:
    """Checks made before the stream opens: ownership, and 410 for a finished job."""
    after = _after(last_event_id)
    with state.db.session() as s:
        job = repo.get_job(s, job_id, None if caller.is_admin else caller.key_id)
        if job is None:
            raise APIError(404, "job_not_found", f"no job {job_id} for this key", field="job_id")
        if job.state in FINAL_STATES and not store.events_after(s, job_id, after, limit=1):
            raise APIError(
                410,
                "job_finished",
                f"job {job_id} already {job.state}; GET /api/jobs/{job_id} has its result",
                field="job_id",
            )
    return state, job_id, after


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    summary="Progress of a job as Server-Sent Events (resumable with Last-Event-ID)",
    # errors are JSON even though the route streams text/event-stream
    responses={
        status: {
            "description": entry["description"],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for status, entry in responses(400, 401, 404, 410, 429).items()
    },
)
async def job_events(
    start: tuple[ServiceState, str, int] = Depends(_stream_start),
) -> AsyncIterator[ServerSentEvent]:
    state, job_id, after = start

    def fetch(after: int) -> list[tuple[int, str, str]]:
        with state.db.session() as s:
            return [(e.id, e.kind, e.data) for e in store.events_after(s, job_id, after)]

    quiet_since = time.monotonic()
    yield ServerSentEvent(comment="stream open", retry=RETRY_MS)
    while True:
        batch = await run_in_threadpool(fetch, after)
        for event_id, kind, data in batch:
            after = event_id
            yield ServerSentEvent(id=str(event_id), event=kind, data=json.loads(data))
            if kind == "final":
                return
        if batch:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ServerSentEvent(comment="keep-alive")
        await asyncio.sleep(POLL_SECONDS)
