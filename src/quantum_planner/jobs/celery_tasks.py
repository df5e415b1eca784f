"""What a Celery worker runs: ``run_job``, ``solve_sync``, storing results, start-up.

The tasks are plain functions registered on an app by :func:`register` (called by
:func:`~quantum_planner.jobs.celery_app.make_celery`), so importing this module builds
nothing. See :mod:`quantum_planner.jobs.celery_app` for how jobs survive failures.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery, signals
from celery.exceptions import SoftTimeLimitExceeded

from quantum_planner.config import Settings

log = logging.getLogger("quantum_planner.jobs.celery")
T = TypeVar("T")


class _WorkerContext:
    """Per-process state of a worker: database, worker id (set after fork)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.db: Any = None
        self.worker_id = ""

    def get(self, settings: Settings) -> _WorkerContext:
        if self.pid != os.getpid():  # first use in this (forked) process
            from quantum_planner.jobs.worker import install_backend_store
            from quantum_planner.store import Database

            self.db = Database(settings.database_url)
            # backend switches made on any replica (emergency failover) reach this solver
            install_backend_store(settings.database_url)
            self.pid = os.getpid()
            self.worker_id = f"celery:{socket.gethostname()}:{self.pid}:{uuid.uuid4().hex[:6]}"
        return self


_ctx = _WorkerContext()


def _retry(fn: Callable[[], T], what: str, *, seconds: float = 60.0) -> T:
    """Call ``fn`` until it succeeds or ``seconds`` pass (the database may be restarting)."""
    deadline = time.monotonic() + seconds
    delay = 0.2
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() >= deadline:
                raise
            log.warning("%s failed; retrying in %.1fs", what, delay, exc_info=True)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class _JobChannel:
    """Progress sink and cancel flags for one running job, backed by the database.

    ``put`` is what :func:`quantum_planner.jobs.worker.run_solve` calls with progress; a
    thread heartbeats the job and turns a cancellation made on any replica into the flag
    the solver's progress callback checks.
    """

    def __init__(self, db: Any, worker_id: str, job_id: str, every: float) -> None:
        self.db, self.worker_id, self.job_id, self.every = db, worker_id, job_id, every
        self.flags: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="qp-job-heartbeat", daemon=True)

    def __enter__(self) -> _JobChannel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        from quantum_planner.store import repositories as repo

        while not self._stop.wait(self.every):
            try:
                with self.db.session() as s:
                    repo.heartbeat(s, self.worker_id, [self.job_id])
                    if repo.cancel_requested(s, [self.job_id]):
                        self.flags[self.job_id] = True
            except Exception:  # the database is restarting: keep solving, beat again later
                log.warning("heartbeat for job %s failed", self.job_id, exc_info=True)

    def get(self, job_id: str, default: bool | None = None) -> bool | None:
        return self.flags.get(job_id, default)

    def put(self, msg: dict[str, Any]) -> None:
        from quantum_planner.store import repositories as repo
        from quantum_planner.store.tables import JobRow

        try:
            with self.db.session() as s:
                job = s.get(JobRow, self.job_id)
                if job is None or job.state != "running" or job.worker_id != self.worker_id:
                    return
                repo.record_progress(s, job, msg)
        except Exception:  # progress is best effort; the final result is what must land
            log.warning("progress for job %s not stored", self.job_id, exc_info=True)


def record_result(db: Any, job_id: str, worker_id: str, result: dict[str, Any]) -> bool:
    """Store a worker result as the job's final state; False if another outcome won.

    One transaction: the state change (conditional on this worker holding the job) and the
    final plan land together or not at all.
    """
    from quantum_planner.model import Solution
    from quantum_planner.store import repositories as repo
    from quantum_planner.store.tables import JobRow
    from quantum_planner.store.tradeoffs import save_success

    def write() -> bool:
        with db.session() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                return False
            if result["ok"]:
                if repo.finish_job(s, job_id, worker_id, "succeeded"):
                    job.progress_fraction = 1.0
                    save_success(s, job, result)  # a trade-off's plans too
                    return True
                if job.state == "cancelled":  # keep what it found as the best so far
                    repo.upsert_best(s, job, Solution.model_validate_json(result["solution"]))
                return False
            err = result["error"]
            state = "cancelled" if err["code"] == "cancelled" else "failed"
            return repo.finish_job(
                s,
                job_id,
                worker_id,
                state,
                error_code=err["code"],
                error_message=err["message"],
            )

    return _retry(write, f"storing the result of job {job_id}")


def _entry(app: Celery) -> str:
    """The solve function: ``--solve-entry``, else ``QP_SOLVE_ENTRY``, else the planner."""
    from quantum_planner.jobs import worker

    settings: Settings = app.conf.qp_settings
    return (
        app.conf.get("qp_solve_entry")
        or getattr(settings, "solve_entry", None)
        or worker.DEFAULT_ENTRY
    )


def _claim(ctx: _WorkerContext, job_id: str) -> tuple[Any, str, dict[str, Any]] | None:
    """Claim ``job_id`` and read its problem: None if not queued; ``(None, ...)`` if unreadable."""
    from quantum_planner.store import repositories as repo
    from quantum_planner.store.tables import ProblemRow

    with ctx.db.session() as s:
        job = repo.claim_job(s, ctx.worker_id, job_id)
        if job is None:
            return None
        try:
            problem = repo.load_problem(s.get(ProblemRow, job.problem_id))  # type: ignore[arg-type]
            options = repo.job_options(s, job)  # a re-plan's inputs too
        except Exception as e:  # corrupted or missing: fail it with the reason
            repo.finish_job(
                s,
                job_id,
                ctx.worker_id,
                "failed",
                error_code=getattr(e, "code", "corrupted"),
                error_message=str(e),
            )
            return (None, "", {})
        return (job.problem_id, problem.model_dump_json(), options)


def run_job(self: Any, job_id: str) -> dict[str, Any]:
    """Run job ``job_id`` if it is still queued; a no-op for a job already taken or done."""
    from quantum_planner.jobs import worker

    settings: Settings = self.app.conf.qp_settings
    ctx = _ctx.get(settings)
    entry = _entry(self.app)
    claimed = _retry(lambda: _claim(ctx, job_id), f"claiming job {job_id}")
    if claimed is None:
        log.info("job %s is not queued (already taken or finished); skipping", job_id)
        return {"job_id": job_id, "ran": False}
    problem_id, problem_json, options = claimed
    if problem_id is None:
        return {"job_id": job_id, "ran": False, "error": "problem unreadable"}

    every = max(0.5, settings.job_heartbeat_timeout / 4)
    log.info("job %s started on %s", job_id, ctx.worker_id)
    with _JobChannel(ctx.db, ctx.worker_id, job_id, every) as channel:
        try:
            result = worker.run_solve(entry, problem_json, options, job_id, channel, channel)
        except SoftTimeLimitExceeded:
            result = _overran()
    if "SoftTimeLimitExceeded" in result.get("trace", ""):
        result = _overran()  # run_solve caught it as a solver bug; it is the time limit
    if result.get("trace"):
        log.error("solver failed in job %s: %s", job_id, result["trace"])
    stored = record_result(ctx.db, job_id, ctx.worker_id, result)
    log.info("job %s finished ok=%s stored=%s", job_id, result["ok"], stored)
    return {"job_id": job_id, "ran": True, "ok": result["ok"], "stored": stored}


def solve_sync(self: Any, problem_json: str, options: dict[str, Any]) -> dict[str, Any]:
    """A synchronous solve for ``POST /api/optimize``; the caller waits on the result.

    Acknowledged on receipt: if this worker dies the caller has already given up, so
    redelivering the solve would only waste a worker.
    """
    from quantum_planner.jobs import worker

    _ctx.get(self.app.conf.qp_settings)  # installs the shared backend switches, as for jobs
    entry = _entry(self.app)
    try:
        result = worker.run_solve(entry, problem_json, options)
    except SoftTimeLimitExceeded:
        return _overran()
    return _overran() if "SoftTimeLimitExceeded" in result.get("trace", "") else result


def _overran() -> dict[str, Any]:
    return {
        "ok": False,
        "error": {
            "code": "timeout",
            "message": "the solver overran its time limit plus grace and was stopped; "
            "lower the problem size or the time limit",
            "field": "time_limit",
        },
    }


def register(app: Celery, *, run_job_name: str, solve_sync_name: str) -> None:
    """Register the tasks on ``app`` under the given names, and the worker start-up hook."""
    app.task(name=run_job_name, bind=True, shared=False)(run_job)
    app.task(name=solve_sync_name, bind=True, acks_late=False, shared=False)(solve_sync)
    # weak=False: the handler is a module function; dispatch_uid: once however many apps
    signals.worker_init.connect(_on_init, weak=False, dispatch_uid="qp-worker-init")


_STORE_MODULES = (
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "quantum_planner.store",
    "quantum_planner.store.repositories",
    "quantum_planner.store.backend_state",
)


def _on_init(sender: Any = None, **_: Any) -> None:
    # in the main process, before the pool forks: every solver process starts with the
    # solver stack imported, and the worker announces itself live only after this
    import importlib

    from sqlalchemy.orm import configure_mappers

    from quantum_planner.jobs import worker
    from quantum_planner.warmup import start_in_background

    t0 = time.monotonic()
    app = getattr(sender, "app", None)
    if app is not None and app.conf.get("qp_settings") is not None:
        worker.warm_up(_entry(app))
    worker.import_solver_stack()
    start_in_background()  # `quantum-planner warmup` in a child: fills the numba cache
    for name in _STORE_MODULES:  # what a solver process's first task needs (_WorkerContext)
        importlib.import_module(name)
    configure_mappers()  # the ORM's first-use set-up, done once here instead of per process
    log.info("solver stack imported in %.1fs", time.monotonic() - t0)
