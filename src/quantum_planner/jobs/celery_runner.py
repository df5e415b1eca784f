"""The API side of the Celery runner: dispatch, recovery and synchronous solves.

:class:`CeleryJobRunner` lives in each API process. It solves nothing itself: every
``QP_JOB_POLL_INTERVAL`` seconds it sweeps the job table and

1. re-queues running jobs whose worker stopped heartbeating (or fails them after
   ``QP_JOB_MAX_ATTEMPTS`` starts);
2. sends ``run_job`` for queued jobs not dispatched recently (by any replica);
3. sends again queued jobs whose message a dead worker took off the queue (see
   :meth:`CeleryJobRunner._redispatch_stranded`);
4. fails queued jobs that waited ``QP_JOB_NO_WORKER_TIMEOUT`` seconds with no live worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery

from quantum_planner.config import Settings
from quantum_planner.jobs.celery_app import (
    JOB_QUEUE,
    RUN_JOB,
    SOLVE_SYNC,
    SYNC_QUEUE,
    get_app,
    grace,
    make_celery,
)
from quantum_planner.jobs.liveness import capacity, live_workers

DISPATCH_KEY = "qp:dispatch:"  # qp:dispatch:<job id>: a run_job message is on its way
REDISPATCH_AFTER = 300  # seconds before a still-queued job is sent again regardless
STRANDED_AFTER_MIN = 5.0  # seconds a dispatched job may sit unclaimed before "stranded"

log = logging.getLogger("quantum_planner.jobs.celery")


class CeleryJobRunner:
    """The :class:`~quantum_planner.jobs.base.JobRunner` for ``QP_JOB_RUNNER=celery``."""

    def __init__(
        self,
        db: Any,
        settings: Settings,
        *,
        celery: Celery | None = None,
        observer: Callable[[str, float, bool], None] | None = None,
        logger: logging.Logger | None = None,
        entry: str | None = None,
    ) -> None:
        import redis

        self.db = db
        self.settings = settings
        self.celery = celery or _app_for(settings)
        self.observer = observer
        self.log = logger or log
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.recovered: list[tuple[str, str]] = []
        self._no_worker_since: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if entry is not None:  # only workers solve: they read QP_SOLVE_ENTRY themselves
            self.log.info("solve entry %s is used by the workers, not the API", entry)

    @property
    def capacity(self) -> int:
        """Solves the live workers can run at once (0 when none is alive or Redis is down)."""
        try:
            return capacity(live_workers(self.settings.redis_url))
        except Exception:
            return 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="qp-celery-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # the database or Redis is restarting: sweep again shortly
                self.log.warning("celery dispatch sweep failed", exc_info=True)
            self._wake.wait(self.settings.job_poll_interval)
            self._wake.clear()

    def _tick(self) -> None:
        from sqlalchemy import func, select

        from quantum_planner.store import repositories as repo
        from quantum_planner.store.tables import JobRow

        with self.db.session() as s:
            moved = repo.recover_stale(
                s,
                timeout=self.settings.job_heartbeat_timeout,
                max_attempts=self.settings.job_max_attempts,
            )
        for job_id, state in moved:
            self.recovered.append((job_id, state))
            self.log.warning("job %s lost its worker; now %s", job_id, state)
            self.redis.delete(DISPATCH_KEY + job_id)  # dispatch it again now
        with self.db.session() as s:
            queued = s.execute(
                select(JobRow.id, JobRow.time_limit)
                .where(JobRow.state == "queued")
                .order_by(JobRow.created_at)
                .limit(1000)
            ).all()
            running = (
                s.scalar(select(func.count()).select_from(JobRow).where(JobRow.state == "running"))
                or 0
            )
        for job_id, time_limit in queued:
            self.dispatch(job_id, float(time_limit))
        if queued:
            workers = live_workers(self.settings.redis_url)
            self._redispatch_stranded(queued, capacity(workers) - running)
            self._fail_if_no_workers(bool(workers))
        else:
            self._no_worker_since = None

    def _redispatch_stranded(self, queued: list[Any], idle: int) -> list[str]:
        """Send again queued jobs whose ``run_job`` message no live worker holds.

        A worker SIGKILLed after it took a message off the queue but before it claimed the
        job leaves the message unacknowledged in the broker, invisible until the visibility
        timeout (hours), and the job ``queued`` with a fresh dispatch mark. Such a job is
        recognisable: dispatched a while ago, yet the queue is empty while a worker slot is
        idle, so nobody is about to take it. A redundant message is harmless (its claim
        finds the job taken), so erring towards sending again costs one no-op task.
        """
        if idle <= 0 or self.redis.llen(JOB_QUEUE) > 0:
            return []
        stranded_after = max(STRANDED_AFTER_MIN, self.settings.job_heartbeat_timeout)
        pipe = self.redis.pipeline()
        for job_id, _ in queued:
            pipe.ttl(DISPATCH_KEY + job_id)
        sent = []
        for (job_id, time_limit), ttl in zip(queued, pipe.execute(), strict=True):
            if len(sent) >= idle:
                break
            if ttl is None or ttl < 0 or REDISPATCH_AFTER - ttl < stranded_after:
                continue  # not dispatched, or too recently to call it stranded
            self.redis.delete(DISPATCH_KEY + job_id)
            if self.dispatch(job_id, float(time_limit)):
                self.log.warning("job %s was dispatched but never claimed; sent again", job_id)
                sent.append(job_id)
        return sent

    def _fail_if_no_workers(self, any_live: bool) -> list[str]:
        """Fail queued jobs after ``QP_JOB_NO_WORKER_TIMEOUT`` s with no live worker at all."""
        from sqlalchemy import or_, update

        from quantum_planner.store.tables import JobRow, utcnow

        bound = self.settings.job_no_worker_timeout
        now = time.monotonic()
        if any_live or bound <= 0:
            self._no_worker_since = None
            return []
        if self._no_worker_since is None:
            self._no_worker_since = now
        if now - self._no_worker_since < bound:
            return []
        cutoff = utcnow() - timedelta(seconds=bound)
        with self.db.session() as s:
            # one conditional UPDATE, so a worker claiming the job meanwhile wins; only jobs
            # that waited the whole bound: submitted before it and not running since (a
            # job re-queued after its worker died keeps its last heartbeat)
            failed = list(
                s.scalars(
                    update(JobRow)
                    .where(
                        JobRow.state == "queued",
                        JobRow.created_at < cutoff,
                        or_(JobRow.heartbeat_at.is_(None), JobRow.heartbeat_at < cutoff),
                    )
                    .values(
                        state="failed",
                        finished_at=utcnow(),
                        error_code="no_workers",
                        error_message=f"no job worker was alive for {bound:g} s "
                        "(QP_JOB_NO_WORKER_TIMEOUT) while this job waited; start "
                        "`quantum-planner worker` and resubmit it",
                    )
                    .returning(JobRow.id)
                    .execution_options(synchronize_session=False)
                )
            )
        for job_id in failed:
            self.recovered.append((job_id, "failed"))
            self.log.error("job %s failed: no live worker for %g s", job_id, bound)
        return failed

    def dispatch(self, job_id: str, time_limit: float) -> bool:
        """Send ``run_job(job_id)`` unless one was sent recently (by any API replica)."""
        if not self.redis.set(DISPATCH_KEY + job_id, "1", nx=True, ex=REDISPATCH_AFTER):
            return False
        try:
            self.celery.send_task(
                RUN_JOB,
                args=[job_id],
                queue=JOB_QUEUE,
                soft_time_limit=time_limit + grace(time_limit),
                time_limit=time_limit + 2 * grace(time_limit),
            )
        except Exception:
            self.redis.delete(DISPATCH_KEY + job_id)
            raise
        return True

    def solve_now(self, problem_json: str, options: dict[str, Any]) -> dict[str, Any]:
        """Solve on a worker and wait (called from a request thread, not the event loop)."""
        from celery.exceptions import TaskRevokedError
        from celery.exceptions import TimeoutError as CeleryTimeout

        from quantum_planner.errors import SolverError, SolveTimeoutError

        tl = float(options["time_limit"])
        wait = tl + 2 * grace(tl)
        try:
            async_result = self.celery.send_task(
                SOLVE_SYNC,
                args=[problem_json, options],
                queue=SYNC_QUEUE,
                soft_time_limit=tl + grace(tl),
                time_limit=wait,
                expires=wait,  # nobody waits for it any more after this
            )
        except Exception as e:
            raise SolverError(
                f"the job queue is unavailable ({type(e).__name__}); retry shortly"
            ) from None
        try:
            result = async_result.get(timeout=wait, propagate=True, disable_sync_subtasks=False)
        except (CeleryTimeout, TaskRevokedError):
            # revoked: it sat in the queue past `expires` because every worker was busy
            async_result.revoke()
            raise SolveTimeoutError(
                f"no worker returned a plan within the time limit ({tl:g} s) plus grace; "
                "add workers or submit it as a job (POST /api/jobs)",
                field="time_limit",
            ) from None
        except Exception as e:
            raise SolverError(
                f"the worker failed during the solve ({type(e).__name__}); retry"
            ) from None
        finally:
            async_result.forget()
        if self.observer is not None and "seconds" in result:
            self.observer(result.get("backend", "none"), float(result["seconds"]), result["ok"])
        return result


def _app_for(settings: Settings) -> Celery:
    """The process-wide app when ``settings`` are the process's, else a private one."""
    from quantum_planner.config import get_settings

    return get_app() if get_settings() == settings else make_celery(settings)
