"""Real Celery workers on loopback: a private PostgreSQL database and Redis db per session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

try:  # the `workers` and `service` extras; test modules skip when they are missing
    import psycopg
    import redis
except ImportError:  # pragma: no cover
    psycopg = redis = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# tests only; benchmarks use 12, so both can run at once (QP_TEST_REDIS_DB: another one)
REDIS_DB = int(os.environ.get("QP_TEST_REDIS_DB", "13"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


def services_up() -> bool:
    if redis is None or psycopg is None:
        return False
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database (not the shared `test` one: the dispatcher sweeps every queued job)."""
    name = f"qp_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str):
    from quantum_planner.config import Settings

    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        job_runner="celery",
        job_heartbeat_timeout=2.0,
        job_poll_interval=0.2,
        job_max_attempts=3,
    )


@pytest.fixture(scope="session")
def db(settings):
    from quantum_planner.store import Database

    database = Database(settings.database_url)
    database.migrate()
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield database
    database.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(settings, entry: str = "tests.jobs.entries:slow_greedy") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QP_")}
    env.update(
        QP_DATABASE_URL=settings.database_url,
        QP_REDIS_URL=settings.redis_url,
        QP_JOB_HEARTBEAT_TIMEOUT=str(settings.job_heartbeat_timeout),
        QP_SOLVE_ENTRY=entry,
        QP_WARMUP="0",  # the greedy entry runs no numba kernel: no warmup child per worker
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    return env


class Worker:
    """One `quantum-planner worker` process group."""

    def __init__(
        self, settings, name: str, concurrency: int = 1, named: bool = True, **env: str
    ) -> None:
        """``named=False``: no ``-n``, the worker picks its default node name; ``env``: the
        arguments of :func:`worker_env` (``entry``: another solve entry)."""
        self.name = f"{name}-{uuid.uuid4().hex[:4]}@test" if named else ""
        self.log = open(f"/tmp/qp-worker-{name}-{uuid.uuid4().hex[:6]}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "quantum_planner.jobs.cli", "worker", "-c", str(concurrency),
             *(["-n", self.name] if named else []), "-l", "INFO"],
            env=worker_env(settings, **env), cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        from quantum_planner.jobs.liveness import live_workers

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = live_workers(REDIS_URL)
            if not self.name:  # default node name: find it by the worker's pid
                self.name = next((n for n, w in live.items() if w["pid"] == self.proc.pid), "")
            if self.name in live:
                return
            assert self.proc.poll() is None, self.output()
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} not ready:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-4000:]

    def kill(self) -> None:
        """SIGKILL the worker and its solver processes (a node or container dying)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (warm shutdown); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.proc.returncode


@pytest.fixture
def spawn(settings, db) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def make(
        name: str = "w", concurrency: int = 1, ready: bool = True, named: bool = True, **env: str
    ) -> Worker:
        w = Worker(settings, name, concurrency, named, **env)
        started.append(w)
        if ready:
            w.wait_ready()
        return w

    yield make
    for w in started:
        w.kill()
        w.log.close()


def wait_for(pred: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def dumps(obj: object) -> str:
    return json.dumps(obj)
