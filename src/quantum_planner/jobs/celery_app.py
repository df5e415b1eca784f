"""Distributed job runner: Celery workers with Redis as the broker (``QP_JOB_RUNNER=celery``).

The database stays the source of truth, exactly as with the in-process runner
(:mod:`quantum_planner.jobs.runner`): the API writes a job as ``queued``; a message
``run_job(job_id)`` only tells some worker to look at it. A worker *claims* the job with a
conditional UPDATE (``queued -> running`` for its worker id), so a message delivered twice,
or to two workers, runs the job once; the final state and the final plan are written in one
transaction by :func:`~quantum_planner.store.repositories.finish_job`, which succeeds only
for the worker that holds the job, so there is one stored result.

Failures and what recovers from them:

* a worker killed mid-solve (SIGKILL, OOM, node lost): its heartbeats stop; the API's sweep
  (:meth:`CeleryJobRunner._tick`) re-queues the job after ``QP_JOB_HEARTBEAT_TIMEOUT``
  seconds (or fails it after ``QP_JOB_MAX_ATTEMPTS`` starts) and dispatches it again; the
  late-acknowledged message is redelivered too and finds nothing to claim;
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

import contextlib
import json
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

from quantum_planner.config import Settings, get_settings

JOB_QUEUE = "quantum-planner"
SYNC_QUEUE = "quantum-planner-sync"
RUN_JOB = "quantum_planner.run_job"
SOLVE_SYNC = "quantum_planner.solve_sync"
WORKER_QUEUES = (SYNC_QUEUE, JOB_QUEUE)  # in priority order: someone is waiting on a sync solve
WORKER_KEY = "qp:worker:"  # qp:worker:<node name> -> JSON, refreshed while the worker lives
DISPATCH_KEY = "qp:dispatch:"  # qp:dispatch:<job id>: a run_job message is on its way
WORKER_TTL = 15.0  # seconds a worker stays "live" after its last heartbeat
REDISPATCH_AFTER = 300  # seconds before a still-queued job is sent again
_GRACE_MIN, _GRACE_FRACTION = 5.0, 0.5

log = logging.getLogger("quantum_planner.jobs.celery")
T = TypeVar("T")


def grace(time_limit: float) -> float:
    """How long a solve may overrun its limit (process start, validation) before we stop it."""
    return max(_GRACE_MIN, _GRACE_FRACTION * time_limit)


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured for at-least-once delivery and exactly-once job results."""
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
    return app


app = make_celery()


# --- worker side -------------------------------------------------------------------------


class _WorkerContext:
    """Per-process state of a worker: database, worker id (set after fork)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.db: Any = None
        self.worker_id = ""

    def get(self) -> _WorkerContext:
        if self.pid != os.getpid():  # first use in this (forked) process
            from quantum_planner.jobs.worker import install_backend_store
            from quantum_planner.store import Database

            settings: Settings = app.conf.qp_settings
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


def record_result(
    db: Any, job_id: str, worker_id: str, problem_id: str, result: dict[str, Any]
) -> bool:
    """Store a worker result as the job's final state; False if another outcome won.

    One transaction: the state change (conditional on this worker holding the job) and the
    final plan land together or not at all.
    """
    from quantum_planner.model import Solution
    from quantum_planner.store import repositories as repo
    from quantum_planner.store.tables import JobRow

    def write() -> bool:
        with db.session() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                return False
            if result["ok"]:
                solution = Solution.model_validate_json(result["solution"])
                if repo.finish_job(s, job_id, worker_id, "succeeded"):
                    job.progress_fraction = 1.0
                    repo.save_solution(
                        s, solution, problem_id=problem_id, job_id=job_id, kind="final"
                    )
                    return True
                if job.state == "cancelled":  # keep what it found as the best so far
                    repo.upsert_best(s, job, solution)
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


def _entry() -> str:
    """The solve function: ``--solve-entry``, else ``QP_SOLVE_ENTRY``, else the planner."""
    from quantum_planner.jobs import worker

    settings: Settings = app.conf.qp_settings
    return (
        app.conf.get("qp_solve_entry")
        or getattr(settings, "solve_entry", None)
        or worker.DEFAULT_ENTRY
    )


@app.task(name=RUN_JOB, bind=True)
def run_job(self: Any, job_id: str) -> dict[str, Any]:
    """Run job ``job_id`` if it is still queued; a no-op for a job already taken or done."""
    from quantum_planner.jobs import worker
    from quantum_planner.store import repositories as repo
    from quantum_planner.store.tables import ProblemRow

    ctx = _ctx.get()
    settings: Settings = app.conf.qp_settings
    entry = _entry()

    def claim() -> tuple[Any, str, dict[str, Any]] | None:
        with ctx.db.session() as s:
            job = repo.claim_job(s, ctx.worker_id, job_id)
            if job is None:
                return None
            try:
                problem = repo.load_problem(s.get(ProblemRow, job.problem_id))  # type: ignore[arg-type]
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
            options = {"time_limit": job.time_limit, "seed": job.seed, "backend": job.backend}
            return (job.problem_id, problem.model_dump_json(), options)

    claimed = _retry(claim, f"claiming job {job_id}")
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
    stored = record_result(ctx.db, job_id, ctx.worker_id, problem_id, result)
    log.info("job %s finished ok=%s stored=%s", job_id, result["ok"], stored)
    return {"job_id": job_id, "ran": True, "ok": result["ok"], "stored": stored}


@app.task(name=SOLVE_SYNC, acks_late=False)
def solve_sync(problem_json: str, options: dict[str, Any]) -> dict[str, Any]:
    """A synchronous solve for ``POST /api/optimize``; the caller waits on the result.

    Acknowledged on receipt: if this worker dies the caller has already given up, so
    redelivering the solve would only waste a worker.
    """
    from quantum_planner.jobs import worker

    _ctx.get()  # installs the shared backend switches in this process, as for jobs
    entry = _entry()
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


# --- worker liveness: heartbeat keys in Redis -------------------------------------------


class _Liveness:
    """Writes ``qp:worker:<node>`` every few seconds while the worker process lives."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.key = ""

    def start(self, node: str, concurrency: int) -> None:
        import redis

        settings: Settings = app.conf.qp_settings
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.key = WORKER_KEY + node
        info = {"pid": os.getpid(), "concurrency": concurrency, "started": time.time()}

        def loop() -> None:
            while True:
                try:
                    payload = json.dumps({**info, "seen": time.time()})
                    client.set(self.key, payload, ex=int(WORKER_TTL))
                except Exception:  # Redis restarting: the key comes back with it
                    log.debug("worker heartbeat failed", exc_info=True)
                if self.stop.wait(WORKER_TTL / 3):
                    break
            with contextlib.suppress(Exception):
                client.delete(self.key)

        self.thread = threading.Thread(target=loop, name="qp-worker-liveness", daemon=True)
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


_liveness = _Liveness()


_STORE_MODULES = (
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "quantum_planner.store",
    "quantum_planner.store.repositories",
    "quantum_planner.store.backend_state",
)


@signals.worker_init.connect
def _on_init(**_: Any) -> None:
    # in the main process, before the pool forks: every solver process starts with the
    # solver stack imported, and the worker announces itself live only after this
    import importlib

    from sqlalchemy.orm import configure_mappers

    from quantum_planner.jobs import worker
    from quantum_planner.warmup import start_in_background

    t0 = time.monotonic()
    worker.warm_up(_entry())
    worker.import_solver_stack()
    start_in_background()  # `quantum-planner warmup` in a child: fills the numba cache
    for name in _STORE_MODULES:  # what a solver process's first task needs (_WorkerContext)
        importlib.import_module(name)
    configure_mappers()  # the ORM's first-use set-up, done once here instead of per process
    log.info("solver stack imported in %.1fs", time.monotonic() - t0)


@signals.worker_ready.connect
def _on_ready(sender: Any = None, **_: Any) -> None:
    node = getattr(sender, "hostname", None) or f"celery@{socket.gethostname()}"
    concurrency = int(getattr(getattr(sender, "controller", None), "concurrency", 0) or 1)
    _liveness.start(node, concurrency)


@signals.worker_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    _liveness.end()


def live_workers(redis_url: str) -> dict[str, dict[str, Any]]:
    """Live workers seen in Redis: node name -> {pid, concurrency, started, seen}."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    out = {}
    for key in client.scan_iter(match=WORKER_KEY + "*", count=500):
        raw = client.get(key)
        if raw:
            out[key.decode()[len(WORKER_KEY) :]] = json.loads(raw)
    return out


# --- API side ----------------------------------------------------------------------------


class CeleryJobRunner:
    """The :class:`~quantum_planner.jobs.base.JobRunner` for ``QP_JOB_RUNNER=celery``.

    Lives in each API process. It solves nothing itself: it dispatches queued jobs to the
    workers, recovers jobs whose worker died, and forwards synchronous solves.
    """

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
        self.celery = celery or (app if app.conf.qp_settings == settings else make_celery(settings))
        self.observer = observer
        self.log = logger or log
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self.recovered: list[tuple[str, str]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if entry is not None:  # only workers solve: they read QP_SOLVE_ENTRY themselves
            self.log.info("solve entry %s is used by the workers, not the API", entry)

    @property
    def capacity(self) -> int:
        """Solves the live workers can run at once (0 when none is alive or Redis is down)."""
        try:
            return sum(
                int(w.get("concurrency", 1)) for w in live_workers(self.settings.redis_url).values()
            )
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
        from sqlalchemy import select

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
        for job_id, time_limit in queued:
            self.dispatch(job_id, float(time_limit))

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
