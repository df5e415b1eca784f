"""The playbook's ``switch_backend`` from an operator's shell reaches the running service.

API (``quantum-planner serve``, Celery runner) and a Celery worker run as separate
processes on a fresh PostgreSQL database; a third process calls the module-level
``switch_backend`` with only ``QP_DATABASE_URL`` set (issue #20, item 1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import ROOT, Server, cli_create_key, create_pg_database, make_problem

REDIS_DB = 10  # this test's own Redis database (workers' tests use 13, benchmarks 12)
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"

pytestmark = pytest.mark.postgres


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis", reason="the workers extra (redis) is not installed")
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        client.ping()
    except redis.RedisError as e:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({e})")
    client.flushdb()


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QP_")}
    env.update(PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}", QP_DATABASE_URL=db_url, **extra)
    return env


class CeleryWorker:
    """A ``quantum-planner worker`` process group on this test's Redis database."""

    def __init__(self, db_url: str, log: Path) -> None:
        self.name = f"switch-{uuid.uuid4().hex[:6]}@test"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "quantum_planner.jobs.cli", "worker", "-c", "1",
             "-n", self.name, "-l", "INFO"],
            env=_env(db_url, QP_REDIS_URL=REDIS_URL), cwd=ROOT,
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if f"{self.name} ready" in text:
                return
            assert self.proc.poll() is None, text[-3000:]
            time.sleep(0.3)
        raise AssertionError(f"worker not ready:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Server, str, str]]:
    """(API server, admin key, database URL): API and worker as separate processes."""
    _redis_or_skip()
    db_url, drop = create_pg_database()
    server = worker = None
    try:
        server = Server(db_url, tmp_path, QP_JOB_RUNNER="celery", QP_REDIS_URL=REDIS_URL).start()
        worker = CeleryWorker(db_url, tmp_path / "worker.log")
        worker.wait_ready()
        yield server, cli_create_key(db_url, "admin"), db_url
    finally:
        if worker is not None:
            worker.kill()
        if server is not None:
            server.kill()
        drop()


def operator_switch(db_url: str, name: str, enabled: bool) -> str:
    """``switch_backend`` in a third process, as an operator's shell runs it."""
    code = (
        "from quantum_planner.backends import switch_backend; "
        f"switch_backend({name!r}, enabled={enabled})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def listed(client, name: str) -> bool:
    rows = client.get("/api/backends").json()["backends"]
    return {r["name"]: r["enabled"] for r in rows}[name]


def solve(client) -> dict:
    body = {"problem": make_problem(3, 6), "time_limit": 2}
    r = client.post("/api/optimize", json=body)
    assert r.status_code == 200, r.text
    return r.json()["solution"]


def test_module_level_switch_reaches_api_and_worker(stack) -> None:
    server, admin, db_url = stack
    with server.client(admin) as c:
        first = solve(c)  # served by the worker: the backend the solve picks
        used = first["backend_used"]
        assert listed(c, used) is True

        line = operator_switch(db_url, used, False)
        assert line.startswith(f"backend {used} disabled (was enabled) in database postgresql")
        assert "@127.0.0.1:5432/qp_test_" in line, line
        # a second run reads the shared state: it was already disabled
        again = operator_switch(db_url, used, False)
        assert again.startswith(f"backend {used} disabled (was disabled) in database"), again

        t0 = time.monotonic()
        while listed(c, used) and time.monotonic() - t0 < 5:
            time.sleep(0.2)
        assert listed(c, used) is False, "GET /api/backends still shows it enabled after 5 s"
        # readiness and the backend_enabled gauge read the same switch, not the last probe
        ready = c.get("/health/ready").json()["checks"]["backends"]["detail"]["backends"]
        assert ready[used]["enabled"] is False and ready[used]["detail"]["status"] == "disabled"
        assert f'quantum_planner_backend_enabled{{backend="{used}"}} 0.0' in c.get("/metrics").text

        # the worker caches switches for at most 2 s: a solve after that must not use it
        time.sleep(max(0.0, 2.5 - (time.monotonic() - t0)))
        after = solve(c)
        assert after["backend_used"] != used, after["backends_tried"]
        tried = {a["backend"]: a for a in after["backends_tried"]}
        assert tried[used]["outcome"] == "skipped" and tried[used]["reason"] == "disabled"

        back = operator_switch(db_url, used, True)
        assert back.startswith(f"backend {used} enabled (was disabled) in database"), back
        time.sleep(2.5)
        assert listed(c, used) is True
        assert solve(c)["backend_used"] == used


def test_service_url_and_admin_key_switch_through_the_api(sqlite_deployment) -> None:
    """With QP_SERVICE_URL and QP_API_KEY the switch goes through PUT /api/backends (audited)."""
    dep = sqlite_deployment
    code = (
        "from quantum_planner.backends import switch_backend; "
        "switch_backend('tabu', enabled=False); switch_backend('tabu', enabled=True)"
    )
    env = _env("sqlite:///unused-by-this-shell.db", QP_SERVICE_URL=dep.url, QP_API_KEY=dep.admin)
    del env["QP_DATABASE_URL"]
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines() == [
        f"backend tabu disabled (was enabled) in service {dep.url}",
        f"backend tabu enabled (was disabled) in service {dep.url}",
    ]
    from sqlalchemy import select

    from quantum_planner.store import Database
    from quantum_planner.store.tables import AuditRow

    db = Database(dep.server.db_url)
    with db.session() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.target == "tabu")).all()
        actions = [a.action for a in rows]
    db.dispose()
    assert actions.count("switch_backend") >= 2
    # a client key is refused with a message that says what to fix
    env["QP_API_KEY"] = dep.alice
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode != 0 and "QP_API_KEY must be an admin key" in out.stderr
