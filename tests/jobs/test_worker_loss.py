"""Workers that die or share a host, with real worker processes on PostgreSQL and Redis.

* a job whose only worker is SIGKILLed mid-solve ends: failed with ``no_workers`` after
  ``QP_JOB_NO_WORKER_TIMEOUT`` when no worker comes back (the re-queued-and-completed case
  is ``test_sigkilled_worker_job_finishes_once_elsewhere``);
* a job whose message a worker took off the queue but never claimed (the worker died in
  between) is sent again instead of waiting hours for the broker's visibility timeout;
* two workers on one host with default node names are both counted, the same way by the
  runner (readiness) and by ``scripts/health-check.sh``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import REDIS_URL, ROOT, services_up, wait_for
from .test_celery_runner import done, finals, job, submit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not services_up(), reason="needs PostgreSQL and Redis on 127.0.0.1"),
]


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _forget_workers_except(keep: set[int]) -> None:
    """Drop liveness keys of workers other than ``keep`` (SIGKILLed ones linger for the TTL)."""
    import json

    import redis

    from quantum_planner.jobs.liveness import WORKER_KEY

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=WORKER_KEY + "*"):
        raw = client.get(key)
        if raw and json.loads(raw)["pid"] not in keep:
            client.delete(key)


@pytest.fixture
def make_runner(db, settings):
    from quantum_planner.jobs.celery_runner import CeleryJobRunner

    started = []

    def make(**overrides):
        r = CeleryJobRunner(db, settings.model_copy(update=overrides))
        r.start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def test_job_whose_only_worker_dies_fails_with_a_reason_after_the_bound(db, spawn, make_runner):
    from quantum_planner.jobs.liveness import live_workers

    runner = make_runner(job_no_worker_timeout=3.0)
    only = spawn("only")
    job_id = submit(db, "sleep:60")
    runner.wake()
    wait_for(lambda: job(db, job_id).state == "running", 30, "job to start")
    only.kill()  # SIGKILL mid-solve; no worker comes back
    # its liveness key expires by itself (WORKER_TTL), like every other worker's here
    wait_for(lambda: not live_workers(REDIS_URL), 30, "no live worker")
    row = wait_for(lambda: done(db, job_id), 30, "the job to end without workers")
    assert row.state == "failed", row.state
    assert row.error_code == "no_workers"
    assert "QP_JOB_NO_WORKER_TIMEOUT" in row.error_message
    assert (job_id, "queued") in runner.recovered  # re-queued first, when its heartbeat stopped
    assert finals(db, job_id) == 0


def test_job_taken_but_never_claimed_by_a_dead_worker_is_sent_again(db, spawn, make_runner):
    from quantum_planner.jobs.celery_app import JOB_QUEUE

    runner = make_runner()
    runner.redis.delete(JOB_QUEUE)  # messages of earlier tests' jobs: the taker must take ours
    victim = spawn("taker")
    (pool_child,) = _children(victim.proc.pid)
    os.kill(pool_child, signal.SIGSTOP)  # the worker still takes a message, nobody claims it
    job_id = submit(db, "quick")
    runner.wake()

    def taken() -> bool:
        held = b"".join(runner.redis.hvals("unacked"))  # kombu: taken, not yet acknowledged
        return runner.redis.llen(JOB_QUEUE) == 0 and job_id.encode() in held

    wait_for(taken, 10, "the worker to take the message")
    assert job(db, job_id).state == "queued"
    victim.kill()  # dies holding the unacknowledged message (visibility timeout: hours)
    t0 = time.monotonic()
    spawn("rescuer")
    row = wait_for(lambda: done(db, job_id), 60, "the stranded job to run on the new worker")
    assert row.state == "succeeded", (row.error_code, row.error_message)
    assert row.attempts == 1  # the dead worker never started it
    assert finals(db, job_id) == 1
    assert time.monotonic() - t0 < 60  # not REDISPATCH_AFTER (300 s)


def test_workers_on_one_host_have_unique_names_and_are_all_counted(db, settings, spawn):
    from quantum_planner.jobs.celery_runner import CeleryJobRunner
    from quantum_planner.jobs.liveness import live_workers

    first = spawn("default-a", concurrency=1, named=False)
    second = spawn("default-b", concurrency=2, named=False)
    _forget_workers_except({first.proc.pid, second.proc.pid})
    host = socket.gethostname()
    assert first.name != second.name
    for w in (first, second):
        assert re.fullmatch(rf"qp-{w.proc.pid}-[0-9a-f]{{4}}@{re.escape(host)}", w.name), w.name
    assert set(live_workers(REDIS_URL)) == {first.name, second.name}
    assert CeleryJobRunner(db, settings).capacity == 3  # what readiness reports as `workers`
    env = {**os.environ, "QP_JOB_RUNNER": "celery", "QP_REDIS_URL": REDIS_URL}
    res = subprocess.run(
        [str(ROOT / "scripts" / "health-check.sh"), "--url", "http://127.0.0.1:9", "--timeout",
         "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    queue = next(line for line in res.stdout.splitlines() if " queue " in f" {line} ")
    assert "2 live workers, 3 solver slots" in queue, res.stdout + res.stderr
