"""Progress events stream over HTTP when Celery workers run the job (real Redis, PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.service.conftest import Server, create_key
from tests.sse import read_events

from .conftest import REDIS_URL, services_up

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not services_up(), reason="needs PostgreSQL and Redis on 127.0.0.1"),
]


def test_events_stream_a_job_run_by_a_celery_worker(settings, db, spawn, tmp_path):
    spawn("events")
    server = Server(
        settings.database_url, tmp_path, QP_JOB_RUNNER="celery", QP_REDIS_URL=REDIS_URL
    ).start()
    try:
        key = create_key(settings.database_url, "client")
        problem = {
            "name": "sleep:1.5",  # the test entry reports progress for 1.5 s, then solves
            "agents": [{"id": "a0", "skills": ["x"]}],
            "tasks": [{"id": "t0", "required_skills": ["x"]}],
        }
        with server.client(key) as c:
            r = c.post("/api/jobs", json={"problem": problem, "time_limit": 10})
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            status, events = read_events(c, f"/api/jobs/{job_id}/events", timeout=90)
            assert status == 200, events
            kinds = [(e["event"], e["data"].get("state")) for e in events]
            assert kinds[0] == ("status", "queued")
            running = [e for e in events if e["data"].get("state") == "running"]
            assert running and running[0]["data"]["worker"].startswith("celery:")
            assert kinds[-1] == ("final", "succeeded")
            assert c.get(f"/api/jobs/{job_id}").json()["solution"]["feasible"]
            # a second client, reconnecting mid-way, gets the rest of the same events
            status, rest = read_events(
                c, f"/api/jobs/{job_id}/events", last_event_id=events[1]["id"]
            )
            assert [e["id"] for e in rest] == [e["id"] for e in events[2:]]
    finally:
        server.stop()
