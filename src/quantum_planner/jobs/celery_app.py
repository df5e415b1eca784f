"""Distributed job runner: the Celery app, built by a function (``QP_JOB_RUNNER=celery``).

The Celery code is split by concept:

* this module: queue names, time-limit grace and :func:`make_celery` / :func:`get_app`,
  which build a configured app with the tasks registered (nothing is built on import; the
  module attribute ``app``, which ``celery -A quantum_planner.jobs.celery_app`` looks up,
  builds the process-wide app on first access);
* :mod:`quantum_planner.jobs.celery_tasks`: what a worker runs (``run_job``,
  ``solve_sync``, storing results, worker start-up);
* :mod:`quantum_planner.jobs.liveness`: ``qp:worker:<node>`` keys in Redis, unique node
  names, :func:`~quantum_planner.jobs.liveness.live_workers`;
* :mod:`quantum_planner.jobs.celery_runner`: the API-side
  :class:`~quantum_planner.jobs.celery_runner.CeleryJobRunner` (dispatch, recovery,
  synchronous solves).

The database stays the source of truth, exactly as with the in-process runner
(:mod:`quantum_planner.jobs.runner`): the API writes a job as ``queued``; a message
``run_job(job_id)`` only tells some worker to look at it. A worker *claims* the job with a
conditional UPDATE (``queued -> running`` for its worker id), so a message delivered twice,
or to two workers, runs the job once; the final state and the final plan are written in one
transaction by :func:`~quantum_planner.store.repositories.finish_job`, which succeeds only
for the worker that holds the job, so there is one stored result.

Failures and what recovers from them (docs/RELIABILITY.md has the measured figures):

* a worker killed mid-solve (SIGKILL, OOM, node lost): its heartbeats stop; the API's sweep
  re-queues the job after ``QP_JOB_HEARTBEAT_TIMEOUT`` seconds (or fails it after
  ``QP_JOB_MAX_ATTEMPTS`` starts) and dispatches it again; the late-acknowledged message is
  redelivered too and finds nothing to claim;
* a worker killed after it took a message off the queue but before it claimed the job:
  the message sits unacknowledged in the broker (for the visibility timeout, hours) and the
  job stays ``queued``; the sweep sends it again once the queue is empty while a worker is
  idle;
* no worker alive at all: queued jobs wait for one, and fail with ``no_workers`` after
  ``QP_JOB_NO_WORKER_TIMEOUT`` seconds without any;
* Redis restarted (messages gone): jobs are still ``queued`` in the database and the sweep
  dispatches them again (dispatch marks live in the same Redis, so they vanish with it);
* PostgreSQL restarted: workers retry their writes; the engine's pre-ping drops dead
  connections;
* SIGTERM: Celery's warm shutdown stops taking messages and lets running solves finish;
  one still running when the orchestrator's grace period ends is recovered as above.

Time limits reach the worker as Celery soft/hard limits (the job's limit plus grace), and
cancellation as the job's ``cancel_requested`` flag, polled by the heartbeat thread and
raised inside the solver through its progress callback.

Synchronous solves (``POST /api/optimize``) go through a second queue so they never wait
behind long jobs, and come back through the Redis result backend.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

from quantum_planner.config import Settings, get_settings
from quantum_planner.jobs import celery_tasks, liveness

JOB_QUEUE = "quantum-planner"
SYNC_QUEUE = "quantum-planner-sync"
RUN_JOB = "quantum_planner.run_job"
SOLVE_SYNC = "quantum_planner.solve_sync"
WORKER_QUEUES = (SYNC_QUEUE, JOB_QUEUE)  # in priority order: someone is waiting on a sync solve
_GRACE_MIN, _GRACE_FRACTION = 5.0, 0.5


def grace(time_limit: float) -> float:
    """How long a solve may overrun its limit (process start, validation) before we stop it."""
    return max(_GRACE_MIN, _GRACE_FRACTION * time_limit)


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured for at-least-once delivery and exactly-once job results.

    The worker tasks and the worker's start-up/liveness signal handlers are registered on
    it, so the same app serves ``quantum-planner worker`` and the API's runner.
    """
    settings = settings or get_settings()
    app = Celery("quantum_planner", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=JOB_QUEUE,
        task_routes={SOLVE_SYNC: {"queue": SYNC_QUEUE}, RUN_JOB: {"queue": JOB_QUEUE}},
        # acknowledge after the task, and re-queue it if the process running it dies:
        # a job is never dropped because a worker was killed while holding its message
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker does not sit on messages others could run
        # an unacknowledged message returns to the queue after this long (the job table, not
        # this timeout, is what recovers jobs quickly; this only bounds stray messages)
        # queue_order_strategy "priority": a worker takes from the queues in the order it
        # was given them (WORKER_QUEUES: sync solves first) instead of round-robin, so a
        # caller waiting on POST /api/optimize is never queued behind the asynchronous jobs
        broker_transport_options={
            "visibility_timeout": 2 * 3600,
            "queue_order_strategy": "priority",
        },
        broker_connection_retry_on_startup=True,
        result_expires=600,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # soft limit: SoftTimeLimitExceeded inside the task; hard limit: the child is killed
        task_soft_time_limit=settings.max_time_limit + grace(settings.max_time_limit),
        task_time_limit=settings.max_time_limit + 2 * grace(settings.max_time_limit),
    )
    app.conf.qp_settings = settings
    celery_tasks.register(app, run_job_name=RUN_JOB, solve_sync_name=SOLVE_SYNC)
    liveness.connect_signals()
    return app


@lru_cache(maxsize=1)
def get_app() -> Celery:
    """The process-wide app for :func:`~quantum_planner.config.get_settings`, built once."""
    return make_celery()


def __getattr__(name: str) -> Any:
    # `celery -A quantum_planner.jobs.celery_app ...` (the deploy probes) reads `app`:
    # build it then, not when this module is imported
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
