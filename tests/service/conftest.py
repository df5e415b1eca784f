"""Fixtures: real uvicorn servers on loopback (subprocesses), SQLite and PostgreSQL databases."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantum_planner.store import Database, accounts

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_DSN = os.environ.get(
    "QP_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
ANYTIME = "tests.service.solvers:anytime_solve"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def thread_server(app: Any, start_timeout: float = 60.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def make_problem(n_agents: int = 3, n_tasks: int = 6, seed: int = 0) -> dict[str, Any]:
    """A small assignment problem with skills, priorities and a precedence chain."""
    rng = random.Random(seed)
    skills = ["py", "ops", "ml"]
    agents = [
        {"id": f"a{i}", "skills": skills if i == 0 else rng.sample(skills, 2), "capacity": None}
        for i in range(n_agents)
    ]
    tasks = []
    for j in range(n_tasks):
        t: dict[str, Any] = {
            "id": f"t{j}",
            "required_skills": [rng.choice(skills)],
            "duration": float(rng.randint(1, 5)),
            "priority": float(rng.randint(1, 3)),
        }
        if j % 5 == 4:
            t["dependencies"] = [f"t{j - 1}"]
        tasks.append(t)
    return {"agents": agents, "tasks": tasks, "objective": "minimize_makespan"}


class Server:
    """A ``python -m quantum_planner.service serve`` subprocess in its own process group."""

    def __init__(self, db_url: str, tmp: Path, **env: str) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        self.stdout_path = tmp / f"server-{self.port}.out"
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            "QP_DATABASE_URL": db_url,
            "QP_LOG_FILE": str(self.log_path),
            "QP_WORKERS": "2",
            "QP_JOB_POLL_INTERVAL": "0.2",
            "QP_JOB_HEARTBEAT_TIMEOUT": "3",
            "QP_RATE_LIMIT_PER_MINUTE": "100000",
            "QP_MAX_TASKS": "200",
            "QP_MAX_BODY_BYTES": "200000",
            "QP_DEFAULT_TIME_LIMIT": "1",
            "QP_SYNC_MAX_TIME_LIMIT": "10",
            "QP_MAX_TIME_LIMIT": "30",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Server:
        out = open(self.stdout_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "quantum_planner.service", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a kill takes the solver processes too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.stdout_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("server did not start in time")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def create_key(db_url: str, role: str) -> str:
    db = Database(db_url)
    db.migrate()
    with db.session() as s:
        _, token = accounts.create_key(s, role, f"test-{role}")
    db.dispose()
    return token


def cli_create_key(db_url: str, role: str) -> str:
    """Create a key with the real CLI (``keys create``), which prints it once on stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "QP_DATABASE_URL": db_url}
    out = subprocess.run(
        [sys.executable, "-m", "quantum_planner.service", "keys", "create", "--role", role],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout.strip()


class Deployment:
    """A running server with an admin key and two client keys."""

    def __init__(self, server: Server, kind: str) -> None:
        self.server, self.kind, self.url = server, kind, server.url
        self.admin = cli_create_key(server.db_url, "admin")
        self.alice = create_key(server.db_url, "client")
        self.bob = create_key(server.db_url, "client")

    def client(self, key: str | None) -> httpx.Client:
        return self.server.client(key)


def create_pg_database() -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database ``qp_test_<random>`` and a function that drops it."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: the service extra")
    name = f"qp_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        pytest.skip(f"PostgreSQL not reachable ({e})")
    conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    url = (
        f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', '5432')}/{name}"
    )

    def drop() -> None:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    return url, drop


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the session's PostgreSQL server, dropped after."""
    url, drop = create_pg_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def sqlite_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("sqlite-server")
    server = Server(f"sqlite:///{tmp / 'qp.db'}", tmp).start()
    try:
        yield Deployment(server, "sqlite")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_deployment(
    pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    server = Server(pg_database, tmp_path_factory.mktemp("pg-server")).start()
    try:
        yield Deployment(server, "postgres")
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """Each end-to-end test runs against SQLite and against PostgreSQL."""
    name = {"sqlite": "sqlite_deployment", "postgres": "pg_deployment"}[request.param]
    return request.getfixturevalue(name)
