"""The runbook scripts against a real server on loopback (and a real webhook receiver)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# only the external packages may be missing (an install without the service extra); a broken
# module of ours must fail these tests, so the server below imports ours unguarded
for _mod in ("fastapi", "sqlalchemy", "uvicorn"):
    pytest.importorskip(
        _mod, reason=f"{_mod} not installed: pip install 'quantum-planner[service]'"
    )
httpx = pytest.importorskip("httpx", reason="httpx not installed: the service extra")

from .conftest import ROOT, free_port, run_script  # noqa: E402


class Server:
    def __init__(self, url: str, db_url: str, key: str, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.db_url, self.key, self.proc = url, db_url, key, proc

    def backends(self) -> dict[str, bool]:
        r = httpx.get(
            f"{self.url}/api/backends", headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )
        r.raise_for_status()
        return {b["name"]: b["enabled"] for b in r.json()["backends"]}

    def switch(self, name: str, enabled: bool) -> None:
        r = httpx.put(
            f"{self.url}/api/backends/{name}",
            json={"enabled": enabled},
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        r.raise_for_status()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{tmp / 'qp.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QP_")}
    env.update(
        QP_DATABASE_URL=db_url,
        QP_WORKERS="1",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
    )
    key = subprocess.run(
        [sys.executable, "-m", "quantum_planner", "keys", "create", "--role", "admin"],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    log = open(tmp / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "quantum_planner", "serve", "--host", "127.0.0.1", "--port",
         str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (tmp / "server.log").read_text()
        time.sleep(0.3)
    # the service probes backends in the background; ready once a first round is in
    deadline = time.monotonic() + 90
    while httpx.get(f"{url}/health/ready", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, (tmp / "server.log").read_text()[-3000:]
        time.sleep(0.5)
    yield Server(url, db_url, key, proc)
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Hook.received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP alert receiver on loopback; yields (url, received bodies)."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", _Hook.received
    srv.shutdown()


def _env(server: Server, **extra: str) -> dict[str, str]:
    return {"QP_URL": server.url, "QP_API_KEY": server.key, "QP_TIMEOUT": "60", **extra}


def _lines(out: str, prefix: str) -> list[str]:
    return [line for line in out.splitlines() if line.split()[1:2] and line.startswith(prefix)]


def test_health_check_reports_every_backend_and_fails_only_on_trouble(server: Server) -> None:
    res = run_script("health-check.sh", env=_env(server))
    out = res.stdout
    assert out.startswith("OK   liveness")
    assert "OK   readiness" in out
    names = set(server.backends())
    reported = {line.split()[2] for line in out.splitlines() if line.split()[1:2] == ["backend"]}
    assert reported == names
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert res.returncode == (1 if fails else 0), out
    # disable whatever is down: the check must then pass, and show them as disabled
    down = [line.split()[2] for line in fails if line.split()[1] == "backend"]
    for name in down:
        server.switch(name, False)
    try:
        again = run_script("health-check.sh", env=_env(server))
        assert again.returncode == 0, again.stdout
        for name in down:
            assert f"backend {name}" in again.stdout and "disabled" in again.stdout
    finally:
        for name in down:
            server.switch(name, True)


def test_emergency_failover_over_http(server: Server, webhook) -> None:
    url, received = webhook
    res = run_script(
        "emergency-failover.sh", "dwave", "--fallback", "simulated_annealing",
        "--fallback", "local_search", "--reason", "test outage",
        env=_env(server, QP_ALERT_WEBHOOK_URL=url, QP_ALERT_FORMAT="slack"),
    )  # fmt: skip
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        state = server.backends()
        assert state["dwave"] is False
        assert state["simulated_annealing"] is True and state["local_search"] is True
        assert "OK   alert" in res.stdout
        assert any("dwave" in json.dumps(body) for body in received), received
        routing = res.stdout.split("routing now:")[1]
        assert any(line.split()[:2] == ["dwave", "disabled"] for line in routing.splitlines()[1:])
    finally:
        undo = run_script("emergency-failover.sh", "--enable", "dwave", env=_env(server))
    assert server.backends()["dwave"] is True, undo.stdout


def test_emergency_failover_local_reaches_the_server(server: Server, webhook) -> None:
    """--local switches through the Python API into the shared database: the server sees it."""
    url, received = webhook
    env = _env(server, QP_DATABASE_URL=server.db_url, QP_ALERT_WEBHOOK_URL=url,
               QP_HEALTH_TIMEOUT_SECONDS="2")  # fmt: skip
    env.pop("QP_API_KEY")
    res = run_script("emergency-failover.sh", "tabu", "--fallback", "greedy", "--local", env=env)
    try:
        assert "OK   tabu" in res.stdout and "switch_backend" in res.stdout, res.stdout
        assert server.backends()["tabu"] is False
        assert received, "alert delivered"
        assert res.returncode == 0, res.stdout + res.stderr
    finally:
        run_script("emergency-failover.sh", "--enable", "tabu", "--local", env=env)
    assert server.backends()["tabu"] is True


def test_failover_alert_failure_is_trouble(server: Server, dead_url: str) -> None:
    res = run_script(
        "emergency-failover.sh", "dwave", "--fallback", "greedy",
        env=_env(server, QP_ALERT_WEBHOOK_URL=dead_url + "/hook"),
    )  # fmt: skip
    try:
        assert res.returncode == 1
        assert "FAIL alert" in res.stdout
        assert server.backends()["dwave"] is False  # the failover itself still happened
    finally:
        server.switch("dwave", True)


def test_failover_without_webhook_succeeds_with_a_warning(server: Server) -> None:
    """No QP_ALERT_WEBHOOK_URL: the failover worked, so exit 0, and say no alert was sent."""
    res = run_script("emergency-failover.sh", "dwave", "--fallback", "greedy", env=_env(server))
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        assert server.backends()["dwave"] is False
        warn = [line for line in res.stdout.splitlines() if line.startswith("WARN alert")]
        assert len(warn) == 1 and "NOT SENT: no alert webhook configured" in warn[0], res.stdout
        assert "FAIL" not in res.stdout
    finally:
        server.switch("dwave", True)


def test_failover_unknown_backend_is_trouble(server: Server) -> None:
    res = run_script("emergency-failover.sh", "no_such_backend", "--fallback", "greedy",
                     env=_env(server))  # fmt: skip
    assert res.returncode == 1
    assert "FAIL no_such_backend" in res.stdout and "404" in res.stdout


def test_performance_diagnostic_latency_against_the_server(server: Server) -> None:
    res = run_script(
        "performance-diagnostic.sh", "-n", "4", "--time-limit", "0.5",
        "--skip", "memory,database,queue", env=_env(server),
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    (line,) = [ln for ln in res.stdout.splitlines() if ln.startswith("OK   latency")]
    assert "n=4 " in line and "p95=" in line and "failures=0" in line
    # then the playbook's curl -w "@curl-format.txt" lines, for a POST that succeeded
    timed = res.stdout.split("timed by phase")[1].splitlines()[1:]
    names = [ln.split(":")[0].strip() for ln in timed if ":" in ln]
    fmt = (ROOT / "scripts" / "curl-format.txt").read_text()
    assert names == [ln.split(":")[0].strip() for ln in fmt.splitlines() if "%{" in ln]
    values = {ln.split(":")[0].strip(): ln.split(":")[1].strip() for ln in timed if ":" in ln}
    assert values["http_code"] == "200"
    assert 0 < float(values["time_total"].rstrip("s")) < 60


def test_live_metrics_follow_the_contract(server: Server) -> None:
    """Every contract metric the API exposes has the contract's type and labels; report
    which the service does not expose yet."""
    import yaml
    from prometheus_client.parser import text_string_to_metric_families

    contract = yaml.safe_load((ROOT / "deploy" / "prometheus" / "metrics.yml").read_text())
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    exposed = []
    for name, spec in contract["metrics"].items():
        base = name.removesuffix("_total") if spec["type"] == "counter" else name
        fam = families.get(base)
        if fam is None:
            continue
        exposed.append(name)
        assert fam.type == spec["type"], name
        for sample in fam.samples:
            labels = set(sample.labels) - {"le"}
            assert labels == set(spec["labels"]), (name, sample.labels)
    # what the service already exports (the rest are requested in the ops report)
    assert {
        "quantum_planner_requests_total",
        "quantum_planner_request_duration_seconds",
        "quantum_planner_jobs",
    } <= set(exposed)
    Path(os.environ.get("QP_CONTRACT_REPORT", "/dev/null")).write_text(" ".join(exposed))
