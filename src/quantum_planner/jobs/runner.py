"""The in-process job runner: a pool of solver processes and one sweeping thread.

Solves are CPU-bound, so they run in a :class:`~concurrent.futures.ProcessPoolExecutor`
(spawned processes, sized from the CPU count) and never on the event loop. One
daemon thread sweeps every ``job_poll_interval`` seconds:

* re-queues (or fails, after ``job_max_attempts``) jobs whose server stopped
  sending heartbeats: a crash never leaves a job "running" forever;
* forwards cancellations made on any replica to the solver process;
* writes progress and best-so-far plans, and final results, to the store;
* claims queued jobs while it has free workers (a conditional UPDATE, so
  several replicas can share one database).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.managers import SyncManager
from typing import Any

from quantum_planner.config import Settings
from quantum_planner.errors import BackendUnavailableError, SolverError, SolveTimeoutError
from quantum_planner.jobs import worker
from quantum_planner.model import Solution
from quantum_planner.store import Database
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import JobRow, ProblemRow
from quantum_planner.store.tradeoffs import save_success

SolveObserver = Callable[[str, float, bool], None]  # backend, seconds, ok

# a solve may overrun its limit by this much (process start, validation) before we give up
_GRACE_MIN, _GRACE_FRACTION = 5.0, 0.5


def _grace(time_limit: float) -> float:
    return max(_GRACE_MIN, _GRACE_FRACTION * time_limit)


@dataclass
class _Running:
    job_id: str
    future: Future[dict[str, Any]]
    deadline: float  # submission + allowance until the solve starts, then start + limit
    problem_id: str
    time_limit: float
    cancelled: bool = False
    last_beat: float = field(default_factory=time.monotonic)


class LocalJobRunner:
    """Runs jobs in a local process pool; see the module docstring."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        entry: str = worker.DEFAULT_ENTRY,
        observer: SolveObserver | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.entry = entry
        self.observer = observer
        self.log = logger or logging.getLogger("quantum_planner.jobs")
        self.workers = max(1, settings.workers or os.cpu_count() or 1)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pool: ProcessPoolExecutor | None = None
        self._manager: SyncManager | None = None
        self._progress: Any = None
        self._cancel: Any = None
        self._running: dict[str, _Running] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sync_pending = 0
        self._pool_lock = threading.Lock()
        self.recovered: list[tuple[str, str]] = []

    # --- lifecycle ------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.workers

    def start(self) -> None:
        ctx = mp.get_context("spawn")  # fork would copy the server's threads and locks
        self._manager = SyncManager(ctx=ctx)
        self._manager.start(worker.watch_parent, (os.getpid(),))
        self._progress = self._manager.Queue()
        self._cancel = self._manager.dict()
        self._pool = self._new_pool()
        self._recover_dead_on_this_host()
        self._sweep_stale()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="qp-job-runner", daemon=True)
        self._thread.start()
        # start the solver processes now, in the background, so the first request is fast
        threading.Thread(target=self._warm_quietly, name="qp-warm-up", daemon=True).start()

    def _warm_quietly(self) -> None:
        try:
            self.warm_up()
        except Exception:
            self.log.warning("solver processes failed to warm up", exc_info=True)

    def warm_up(self, timeout: float = 120.0) -> None:
        """Start every worker process and import the solver stack in it."""
        assert self._pool is not None
        futures = [self._pool.submit(worker.warm_up, self.entry) for _ in range(self.workers)]
        for f in futures:
            f.result(timeout=timeout)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for r in list(self._running.values()):
            self._cancel[r.job_id] = True  # solvers stop; the jobs are re-queued by recovery
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()
        self._pool = self._manager = None

    def wake(self) -> None:
        self._wake.set()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=worker.init_worker,
            initargs=(os.getpid(), self.db.url),
        )

    # --- synchronous solves ---------------------------------------------------
    def solve_now(self, problem_json: str, options: dict[str, Any]) -> dict[str, Any]:
        """Solve in the pool and wait (called from a request thread, not the event loop).

        At most ``sync_queue_per_worker`` x workers synchronous solves wait at
        once; beyond that the request is refused at once (503, retry later)
        rather than left to time out in the queue.
        """
        pool = self._pool
        if pool is None:
            raise SolverError("the job runner is not running; retry shortly")
        tl = float(options["time_limit"])
        with self._lock:
            if self._sync_pending >= self.workers * self.settings.sync_queue_per_worker:
                raise BackendUnavailableError(
                    f"all {self.workers} solver processes are busy with "
                    f"{self._sync_pending} requests waiting; retry shortly or submit a job "
                    "(POST /api/jobs)",
                    retry_after=max(1, round(tl)),
                )
            ahead = self._sync_pending
            self._sync_pending += 1
        try:
            fut = pool.submit(worker.run_solve, self.entry, problem_json, options)
            # the wait allows for the solves queued ahead of this one
            wait = (ahead // self.workers + 1) * (tl + 1.0) + _grace(tl)
            result = fut.result(timeout=wait)
        except FutureTimeout:
            fut.cancel()
            raise SolveTimeoutError(
                f"no plan within the time limit ({tl:g} s) plus grace; lower the problem size "
                "or submit it as a job (POST /api/jobs)",
                field="time_limit",
            ) from None
        except BrokenProcessPool:
            self._replace_pool()
            raise SolverError("a solver process died during the solve; retry") from None
        finally:
            with self._lock:
                self._sync_pending -= 1
        self._observe(result)
        return result

    def _observe(self, result: dict[str, Any]) -> None:
        if self.observer is not None and "seconds" in result:
            self.observer(result.get("backend", "none"), float(result["seconds"]), result["ok"])

    def _replace_pool(self) -> None:
        with self._pool_lock:
            old = self._pool
            self._pool = self._new_pool()
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    # --- the sweeping thread --------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # keep sweeping: one bad tick (db hiccup) must not stop jobs
                self.log.exception("job runner sweep failed")
            self._wake.wait(self.settings.job_poll_interval)
            self._wake.clear()

    def _tick(self) -> None:
        self._sweep_stale()
        self._forward_cancellations()
        self._drain_progress()
        self._collect_finished()
        self._heartbeat()
        self._claim()

    def _recover_dead_on_this_host(self) -> None:
        """At start-up: jobs an earlier server process on this host left running.

        Their heartbeat may still look fresh; the process is known dead when its
        pid is gone, or is our own pid (a restarted container reuses pid 1).
        """
        host = socket.gethostname() + ":"
        with self.db.session() as s:
            dead = [
                job
                for job in repo.running_on_host(s, host)
                if job.worker_id != self.worker_id and _process_gone(job.worker_id or "")
            ]
            moved = repo.requeue_or_fail(dead, self.settings.job_max_attempts)
        self._log_recovered(moved)

    def _log_recovered(self, moved: list[tuple[str, str]]) -> None:
        for job_id, state in moved:
            self.recovered.append((job_id, state))
            self.log.warning(
                "job %s lost its server; now %s", job_id, state, extra={"job_id": job_id}
            )

    def _sweep_stale(self) -> None:
        with self.db.session() as s:
            moved = repo.recover_stale(
                s,
                timeout=self.settings.job_heartbeat_timeout,
                max_attempts=self.settings.job_max_attempts,
            )
        self._log_recovered(moved)

    def _forward_cancellations(self) -> None:
        ids = [r.job_id for r in self._running.values() if not r.cancelled]
        if not ids:
            return
        with self.db.session() as s:
            gone = repo.cancel_requested(s, ids)
        for job_id in gone:
            self._cancel[job_id] = True
            self._running[job_id].cancelled = True

    def _drain_progress(self) -> None:
        latest: dict[str, dict[str, Any]] = {}
        while True:
            try:
                msg = self._progress.get_nowait()
            except (queue.Empty, EOFError, OSError):
                break
            if msg.get("started") and msg["job_id"] in self._running:
                r = self._running[msg["job_id"]]
                r.deadline = time.monotonic() + r.time_limit + _grace(r.time_limit)
            prev = latest.get(msg["job_id"])
            if prev is not None and msg["solution"] is None:
                msg["solution"] = prev["solution"]  # keep the newest plan of the batch
            latest[msg["job_id"]] = msg
        if not latest:
            return
        with self.db.session() as s:
            for job_id, msg in latest.items():
                job = s.get(JobRow, job_id)
                if job is None or job.state != "running":
                    continue
                repo.record_progress(s, job, msg)

    def _collect_finished(self) -> None:
        now = time.monotonic()
        for r in list(self._running.values()):
            if r.future.done():
                self._finish(r)
            elif now > r.deadline:
                # the solver ignored its limit; give up on it (the process finishes on its own)
                self._cancel[r.job_id] = True
                del self._running[r.job_id]
                with self.db.session() as s:
                    repo.finish_job(
                        s,
                        r.job_id,
                        self.worker_id,
                        "failed",
                        error_code="timeout",
                        error_message="the solver overran its time limit and was abandoned",
                    )

    def _finish(self, r: _Running) -> None:
        del self._running[r.job_id]
        self._cancel.pop(r.job_id, None)
        try:
            result = r.future.result()
        except BrokenProcessPool:
            self._replace_pool()
            result = {
                "ok": False,
                "error": {"code": "worker_crashed", "message": "the solver process died"},
            }
        except Exception as e:  # the pool itself failed
            result = {"ok": False, "error": {"code": "solver_error", "message": str(e)}}
        self._observe(result)
        if result.get("trace"):
            self.log.error("solver failed in job %s: %s", r.job_id, result["trace"])
        with self.db.session() as s:
            job = s.get(JobRow, r.job_id)
            if job is None:
                return
            if result["ok"]:
                if repo.finish_job(s, r.job_id, self.worker_id, "succeeded"):
                    job.progress_fraction = 1.0
                    save_success(s, job, result)  # a trade-off's plans too
                else:  # cancelled meanwhile: keep what it found as the best so far
                    solution = Solution.model_validate_json(result["solution"])
                    repo.upsert_best(s, job, solution)
            else:
                err = result["error"]
                state = "cancelled" if err["code"] == "cancelled" else "failed"
                repo.finish_job(
                    s,
                    r.job_id,
                    self.worker_id,
                    state,
                    error_code=err["code"],
                    error_message=err["message"],
                )

    def _heartbeat(self) -> None:
        now = time.monotonic()
        every = max(0.5, self.settings.job_heartbeat_timeout / 4)
        due = [r.job_id for r in self._running.values() if now - r.last_beat >= every]
        if not due:
            return
        with self.db.session() as s:
            repo.heartbeat(s, self.worker_id, due)
        for job_id in due:
            self._running[job_id].last_beat = now

    def _claim(self) -> None:
        free = self.workers - len(self._running)
        if free <= 0 or self._stop.is_set():
            return
        with self.db.session() as s:
            jobs = repo.claim_jobs(s, self.worker_id, free)
            work = []
            for job in jobs:
                try:
                    problem = repo.load_problem(s.get(ProblemRow, job.problem_id))  # type: ignore[arg-type]
                    options = repo.job_options(s, job)
                except Exception as e:
                    repo.finish_job(
                        s,
                        job.id,
                        self.worker_id,
                        "failed",
                        error_code=getattr(e, "code", "corrupted"),
                        error_message=str(e),
                    )
                    continue
                work.append((job.id, job.problem_id, problem.model_dump_json(), options))
        for job_id, problem_id, problem_json, options in work:
            assert self._pool is not None
            tl = float(options["time_limit"])
            fut = self._pool.submit(
                worker.run_solve,
                self.entry,
                problem_json,
                options,
                job_id,
                self._progress,
                self._cancel,
            )
            # until the solver process reports the start, allow for it to spawn and queue
            start_allowance = 120.0
            self._running[job_id] = _Running(
                job_id, fut, time.monotonic() + start_allowance + tl + _grace(tl), problem_id, tl
            )
            self.log.info("job %s started", job_id, extra={"job_id": job_id})

    def running_jobs(self) -> list[str]:
        return list(self._running)


def _process_gone(worker_id: str) -> bool:
    """Whether the server process named in ``worker_id`` (host:pid:nonce) is dead."""
    try:
        pid = int(worker_id.split(":")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True  # same host and pid but another nonce: an earlier incarnation
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
