"""A big problem as an async job over real HTTP: accepted, solved, valid (docs/API.md limits).

Serves the app (in-process job runner, SQLite in a temporary folder) on
loopback, posts the seeded synthetic problem of ``scale.py`` to
``POST /api/jobs`` twice: on a server with the default ``QP_MAX_TASKS``
(expect 413 ``too_many_tasks``) and on one with ``QP_MAX_TASKS`` raised (expect
202, then a succeeded job whose plan the validator accepts). Both servers get
``QP_MAX_BODY_BYTES`` raised so the body itself is read.

Example::

    PYTHONPATH=src python benchmarks/scale_job.py --agents 1000 --tasks 50000 --limit 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def _serve(app: object) -> tuple[str, object, threading.Thread]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def _key(url: str) -> str:
    from quantum_planner.store import Database
    from quantum_planner.store import repositories as repo

    db = Database(url)
    db.migrate()
    with db.session() as s:
        _, token = repo.create_key(s, "client", "scale-job")
    db.dispose()
    return token


def run(problem: object, body: bytes, max_tasks: int, folder: str) -> None:
    """One server with ``max_tasks``: post the job, wait for it, validate its plan."""
    from quantum_planner.config import Settings
    from quantum_planner.model import Solution
    from quantum_planner.service.app import create_app
    from quantum_planner.validate import validate

    url = f"sqlite:///{folder}/qp{max_tasks}.db"
    settings = Settings(database_url=url, max_tasks=max_tasks, max_body_bytes=len(body) + 1)
    h = {"Authorization": f"Bearer {_key(url)}", "Content-Type": "application/json"}
    base, server, thread = _serve(create_app(settings))
    try:
        t = time.perf_counter()
        r = httpx.post(base + "/api/jobs", content=body, headers=h, timeout=600)
        print(f"QP_MAX_TASKS={max_tasks}: POST {r.status_code} in {time.perf_counter() - t:.1f} s")
        if r.status_code != 202:
            print("  ", r.json()["code"], "-", r.json()["message"])
            return
        job = r.json()
        while job["state"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(1.0)
            job = httpx.get(f"{base}/api/jobs/{job['id']}", headers=h, timeout=120).json()
        print(f"  job {job['state']} {time.perf_counter() - t:.1f} s after the POST")
        print(f"  started {job['started_at']}, finished {job['finished_at']}")
        if job.get("best_solution"):
            sol = Solution.model_validate(job["best_solution"])
            print(f"  assigned {len(sol.assignments)}, objectives {sol.objectives}")
            print(f"  violations {len(validate(problem, sol))}")  # type: ignore[arg-type]
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=50000)
    ap.add_argument("--limit", type=float, default=10.0)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from scale import synthetic

    print(f"load average before: {os.getloadavg()}", flush=True)
    problem = synthetic(args.agents, args.tasks)
    request = {"problem": json.loads(problem.model_dump_json()), "backend": "hybrid"}
    request.update(time_limit=args.limit, seed=0)
    body = json.dumps(request).encode()
    print(f"problem {args.agents} x {args.tasks}: {len(body) / 1e6:.1f} MB of JSON", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for max_tasks in (10_000, max(args.tasks, 10_000)):
            run(problem, body, max_tasks, folder)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MiB")
    print(f"peak RSS: solver processes {kids:.0f} MiB")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
