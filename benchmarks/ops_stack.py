"""The whole service on loopback for the reliability benchmarks (load, faults, soak).

A fresh PostgreSQL database, a private Redis database, one API process (uvicorn) with the
Celery runner and N ``quantum-planner worker`` processes, all on 127.0.0.1, all torn down
by :meth:`Stack.close`. Imported by ``benchmarks/load.py`` and ``benchmarks/faults.py``.
The API is ``create_app`` under uvicorn with ``QP_JOB_RUNNER=celery``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# benchmarks only (tests use 13); QP_BENCH_REDIS_DB picks another when several run at once
REDIS_DB = int(os.environ.get("QP_BENCH_REDIS_DB", "12"))


def sample_problem(agents: int = 10, tasks: int = 30, seed: int = 7) -> dict[str, Any]:
    """The runbook scripts' deterministic sample problem (scripts/lib/sample_problem.py)."""
    sys.path.insert(0, str(ROOT / "scripts" / "lib"))
    try:
        from sample_problem import sample_problem as make
    finally:
        sys.path.pop(0)
    return make(agents, tasks, seed)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """API + workers on a private database; see the module docstring."""

    def __init__(
        self,
        workers: int = 2,
        concurrency: int = 1,
        env: dict[str, str] | None = None,
        heartbeat_timeout: float = 5.0,
    ) -> None:
        import psycopg
        import redis

        self.name = f"qp_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.name}"')
        self.database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        self.redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        redis.Redis.from_url(self.redis_url).flushdb()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logdir = Path(f"/tmp/{self.name}")
        self.logdir.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QP_")}
        self.env.update(
            QP_DATABASE_URL=self.database_url,
            QP_REDIS_URL=self.redis_url,
            QP_JOB_RUNNER="celery",
            QP_JOB_HEARTBEAT_TIMEOUT=str(heartbeat_timeout),
            QP_JOB_MAX_ATTEMPTS="5",
            QP_RATE_LIMIT_PER_MINUTE="1000000",
            QP_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        )
        self.env.update(env or {})
        self.concurrency = concurrency
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            self.admin_key = self._key("admin")
            self.client_key = self._key("client")
            self.start_api()
            for i in range(workers):
                self.start_worker(f"w{i}")
            self.wait_workers(workers)
        except BaseException:
            self.close()  # never leave processes or the database behind
            raise

    def _key(self, role: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c",
             "import sys; from quantum_planner.store import Database, repositories as r; "
             "db = Database(sys.argv[1]); db.migrate(); "
             "s = db.session().__enter__(); row, tok = r.create_key(s, sys.argv[2], 'bench'); "
             "s.commit(); print(tok)", self.database_url, role],
            env=self.env, capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        return out.stdout.strip()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 (lives as long as the process)
        proc = subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs[name] = proc
        return proc

    def start_api(self) -> None:
        self._spawn(
            "api",
            [sys.executable, "-m", "uvicorn", "--factory", "quantum_planner.service.app:create_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
        )  # fmt: skip
        self.wait_http("/health", 90)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        node = f"{name}-{uuid.uuid4().hex[:4]}@bench"
        proc = self._spawn(
            name,
            [sys.executable, "-m", "quantum_planner.jobs.cli", "worker", "-n", node,
             "-c", str(self.concurrency), "-l", "WARNING"],
        )  # fmt: skip
        proc.node = node  # type: ignore[attr-defined]
        return proc

    def wait_http(self, path: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.url}{path} not up; see {self.logdir}/api.log")

    def wait_workers(self, n: int, timeout: float = 90) -> None:
        from quantum_planner.jobs.liveness import live_workers

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if len(live_workers(self.redis_url)) >= n:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{n} workers not live; see {self.logdir}")

    def kill(self, name: str) -> None:
        """SIGKILL a process group (the worker and its solver processes)."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def job_states(self) -> dict[str, int]:
        import psycopg

        with psycopg.connect(self.database_url.replace("+psycopg", "")) as c:
            rows = c.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
        return dict(rows)

    def final_solutions_per_job(self) -> dict[str, int]:
        import psycopg

        with psycopg.connect(self.database_url.replace("+psycopg", "")) as c:
            rows = c.execute(
                "SELECT job_id, count(*) FROM solutions WHERE kind = 'final' "
                "AND job_id IS NOT NULL GROUP BY job_id"
            ).fetchall()
        return dict(rows)

    def close(self) -> None:
        import psycopg

        for name in list(self.procs):
            proc = self.procs[name]
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def foreign_worker(redis_db: int) -> Iterator[subprocess.Popen[bytes]]:
    """Another ``quantum-planner worker`` on this host that serves none of the stack's jobs.

    As in issue 20's defect report: default node name (no ``--hostname``), its own Redis
    database and an SQLite file; it only shares the host (CPU, host name) with the stack.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("QP_")}
    tmp = Path(f"/tmp/qp_foreign_{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    env.update(
        QP_REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        QP_DATABASE_URL=f"sqlite:///{tmp}/foreign.db",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    with open(tmp / "worker.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quantum_planner.jobs.cli", "worker", "-c", "1", "-l",
             "WARNING"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
