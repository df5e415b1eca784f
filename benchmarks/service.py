"""Throughput and latency of ``POST /api/optimize`` on loopback.

Starts ``quantum-planner serve`` on a free 127.0.0.1 port (SQLite in a
temporary directory, rate limiting off), creates a client key, then for 1, 8
and 32 concurrent clients sends a 10-agent, 30-task problem for ``--duration``
seconds each and prints requests/s and p50/p95/p99 latency of the successful
requests, and how many were refused (503 with Retry-After once every solver
process is busy and the sync queue is full). Stops by itself.

    PYTHONPATH=src python benchmarks/service.py [--duration 10] [--time-limit 0.5]
    PYTHONPATH=src python benchmarks/service.py --url http://127.0.0.1:8000 --key qp_...
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def problem(n_agents: int = 10, n_tasks: int = 30, seed: int = 0) -> dict[str, Any]:
    """A 10-agent, 30-task problem: skills, durations, priorities, a few precedences."""
    rng = random.Random(seed)
    skills = ["python", "ops", "ml", "frontend", "data"]
    agents = [
        {"id": f"agent{i}", "skills": rng.sample(skills, 3), "capacity": 6} for i in range(n_agents)
    ]
    agents[0]["skills"] = list(skills)  # someone can do everything: always feasible
    tasks = []
    for j in range(n_tasks):
        t: dict[str, Any] = {
            "id": f"task{j}",
            "required_skills": [rng.choice(skills)],
            "duration": float(rng.randint(1, 8)),
            "priority": float(rng.randint(1, 5)),
        }
        if j % 6 == 5:
            t["dependencies"] = [f"task{j - 1}"]
        tasks.append(t)
    return {"agents": agents, "tasks": tasks, "objective": "minimize_makespan"}


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def run_level(url: str, key: str, body: dict[str, Any], clients: int, duration: float) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    backends: dict[str, int] = {}  # backend_used of each plan: what the time was spent on
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client() -> None:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as c:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                used = ""
                try:
                    r = c.post("/api/optimize", json=body)
                    outcome = "ok" if r.status_code == 200 else str(r.status_code)
                    if outcome == "ok":
                        used = r.json()["solution"]["backend_used"]
                except httpx.HTTPError as e:
                    outcome = type(e).__name__
                dt = time.perf_counter() - t0
                with lock:
                    if outcome == "ok":
                        latencies.append(dt)
                        backends[used] = backends.get(used, 0) + 1
                    else:
                        errors[outcome] = errors.get(outcome, 0) + 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 180)
    wall = time.monotonic() - t0
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "backends": backends,
        "seconds": round(wall, 2),
        "rps": round(len(latencies) / wall, 2),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
    }


def start_server(tmp: Path, workers: int | None) -> tuple[subprocess.Popen[bytes], str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "QP_DATABASE_URL": db_url,
        "QP_RATE_LIMIT_PER_MINUTE": "0",  # measuring the service, not the limiter
        "QP_LOG_LEVEL": "WARNING",
    }
    if workers:
        env["QP_WORKERS"] = str(workers)
    key = subprocess.run(
        [sys.executable, "-m", "quantum_planner.service", "keys", "create", "--role", "client"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "quantum_planner.service", "serve", "--port", str(port)],
        env=env,
        stdout=open(tmp / "server.log", "wb"),  # noqa: SIM115 - lives as long as the server
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, key
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="benchmark this running server instead of starting one")
    ap.add_argument("--key", help="client key for --url")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per concurrency level")
    ap.add_argument("--time-limit", type=float, default=0.5, help="solver time limit per request")
    ap.add_argument("--clients", default="1,8,32", help="concurrency levels")
    ap.add_argument("--workers", type=int, help="solver processes (default: CPU count)")
    ap.add_argument("--backend", default="", help="backend/solver name (default: auto)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()

    body: dict[str, Any] = {"problem": problem(), "time_limit": args.time_limit, "seed": 1}
    if args.backend:
        body["backend"] = args.backend
    tmp = tempfile.TemporaryDirectory(prefix="qp-bench-")
    proc = None
    if args.url:
        url, key = args.url, args.key or ""
    else:
        proc, url, key = start_server(Path(tmp.name), args.workers)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
            warm = c.post("/api/optimize", json=body, timeout=120)  # starts the solver processes
            if warm.status_code != 200:
                raise SystemExit(f"warm-up request failed: {warm.status_code} {warm.text}")
            makespan = warm.json()["solution"]["makespan"]
            backend = warm.json()["solution"]["backend_used"]
        rows = [run_level(url, key, body, int(n), args.duration) for n in args.clients.split(",")]
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        tmp.cleanup()
    meta = {
        "problem": "10 agents, 30 tasks",
        "time_limit": args.time_limit,
        "backend": args.backend or "auto",
        "warm_up_backend": backend,
        "makespan": makespan,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps({"meta": meta, "levels": rows}, indent=2))
        return
    print(
        f"POST /api/optimize, {meta['problem']}, time_limit {args.time_limit:g} s, "
        f"backend {args.backend or 'auto'} (the warm-up request's plan came from {backend}), "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'clients':>7} {'ok':>6} {'refused':>7} {'req/s':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8}  errors / plans by backend"
    )
    for r in rows:
        print(
            f"{r['clients']:>7} {r['requests']:>6} {sum(r['errors'].values()):>7} {r['rps']:>7} "
            f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8}  {r['errors'] or ''} "
            f"{r['backends']}"
        )


if __name__ == "__main__":
    main()
