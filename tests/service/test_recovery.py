"""Jobs survive a crash: SIGKILL the server mid-job, restart it, the job is not lost.

These use the ``anytime`` test solver so a job runs for exactly its time limit.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.service.conftest import ANYTIME, Server, create_key, make_problem
from tests.service.test_api import wait_job


def wait_running_with_progress(c: httpx.Client, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["state"] == "running" and job["best_solution"] is not None:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job never reported progress: {job}")


def _server(tmp_path: Path, **env: str) -> Server:
    settings = {
        "QP_SOLVE_ENTRY": ANYTIME,
        "QP_WORKERS": "1",
        "QP_JOB_HEARTBEAT_TIMEOUT": "2",
        "QP_MAX_TIME_LIMIT": "300",
    }
    return Server(f"sqlite:///{tmp_path / 'qp.db'}", tmp_path, **{**settings, **env})


def test_cancel_running_job_keeps_best_and_frees_worker(tmp_path: Path) -> None:
    server = _server(tmp_path).start()
    try:
        key = create_key(server.db_url, "client")
        with server.client(key) as c:
            job = c.post("/api/jobs", json={"problem": make_problem(3, 6), "time_limit": 120})
            job_id = job.json()["id"]
            running = wait_running_with_progress(c, job_id)
            assert 0 < running["progress"]["fraction"] < 1
            r = c.delete(f"/api/jobs/{job_id}")
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "cancelled"
            assert r.json()["best_solution"] is not None
            # one worker only: a new job finishing long before the cancelled one's 120 s
            # would have run out proves the solve was stopped (margins wide for a loaded CI)
            t0 = time.monotonic()
            quick = c.post("/api/jobs", json={"problem": make_problem(2, 3), "time_limit": 0.5})
            assert wait_job(c, quick.json()["id"], timeout=60)["state"] == "succeeded"
            assert time.monotonic() - t0 < 60
            after = c.get(f"/api/jobs/{job_id}").json()
            assert after["state"] == "cancelled" and after["error"]["code"] == "cancelled"
    finally:
        server.stop()


def test_job_survives_server_kill(tmp_path: Path) -> None:
    # a heartbeat timeout far longer than the test: the restarted server must see at once
    # that the job's server process is gone (same host, dead pid)
    slow_beat = {"QP_JOB_HEARTBEAT_TIMEOUT": "600"}
    first = _server(tmp_path, **slow_beat).start()
    key = create_key(first.db_url, "client")
    try:
        with first.client(key) as c:
            job_id = c.post(
                "/api/jobs", json={"problem": make_problem(3, 6), "time_limit": 3}
            ).json()["id"]
            wait_running_with_progress(c, job_id)
    finally:
        first.kill()  # SIGKILL to the whole process group, mid-job
    second = _server(tmp_path, **slow_beat).start()
    try:
        with second.client(key) as c:
            done = wait_job(c, job_id, timeout=60)
        assert done["state"] == "succeeded", done
        assert done["attempts"] == 2
        assert done["solution"] is not None
    finally:
        second.stop()


def test_job_interrupted_too_often_fails_with_reason(tmp_path: Path) -> None:
    """With one start allowed, a crash fails the job for good, with the reason and its best plan."""
    first = _server(tmp_path, QP_JOB_MAX_ATTEMPTS="1").start()
    key = create_key(first.db_url, "client")
    try:
        with first.client(key) as c:
            job_id = c.post(
                "/api/jobs", json={"problem": make_problem(3, 6), "time_limit": 5}
            ).json()["id"]
            wait_running_with_progress(c, job_id)
    finally:
        first.kill()
    second = _server(tmp_path, QP_JOB_MAX_ATTEMPTS="1").start()
    try:
        with second.client(key) as c:
            done = wait_job(c, job_id, timeout=30)
        assert done["state"] == "failed"
        assert done["error"]["code"] == "interrupted"
        assert "resubmit" in done["error"]["message"]
        assert done["best_solution"] is not None  # what it found before the crash is kept
    finally:
        second.stop()
