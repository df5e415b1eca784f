"""Soak: many solves in one worker; does its memory keep growing?

    PYTHONPATH=src python benchmarks/soak.py --solves 10000 [--mode celery|inprocess]

``celery`` (default): one real ``quantum-planner worker`` (concurrency 1) on loopback Redis
(db 12) runs every solve as a synchronous solve task sent straight to it; the resident set
(RSS, from /proc) of its solver process is sampled every --every solves. ``inprocess``:
the same solve code (``jobs.worker.run_solve``, what a worker runs per job) in this
process. Prints RSS after the first 1,000 solves, at the end, and the growth between them.
The sample problem is the runbook's 10-agent, 30-task one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = "redis://127.0.0.1:6379/12"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss(pid: int | str = "self") -> int:
    """Resident set size in bytes, from /proc/<pid>/statm."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def problem_json() -> str:
    sys.path.insert(0, str(ROOT / "scripts" / "lib"))
    from sample_problem import sample_problem

    return json.dumps(sample_problem())


def report(samples: list[tuple[int, int]], baseline_at: int, seconds: float) -> int:
    base = next((r for n, r in samples if n >= baseline_at), samples[0][1])
    end = samples[-1][1]
    growth = (end - base) / base * 100
    print(
        f"solves {samples[-1][0]} in {seconds:.0f}s ({samples[-1][0] / seconds:.1f}/s); "
        f"RSS after {baseline_at}: {base / 2**20:.1f} MiB, at end: {end / 2**20:.1f} MiB, "
        f"growth {growth:+.2f}% (target < 5%)"
    )
    print("samples (solves, MiB):", ", ".join(f"{n}:{r / 2**20:.1f}" for n, r in samples))
    return 0 if growth < 5 else 1


def run_inprocess(args: argparse.Namespace) -> int:
    from quantum_planner.jobs import worker

    pj = problem_json()
    options = {"time_limit": args.time_limit, "seed": 1, "backend": args.backend or None}
    samples = []
    t0 = time.monotonic()
    for i in range(1, args.solves + 1):
        result = worker.run_solve(worker.DEFAULT_ENTRY, pj, options)
        if not result["ok"]:
            print("solve failed:", result["error"], file=sys.stderr)
            return 2
        if i % args.every == 0 or i == args.solves:
            samples.append((i, rss()))
            print(f"  {i} solves: RSS {samples[-1][1] / 2**20:.1f} MiB", flush=True)
    print(
        f"in-process, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB"
    )
    return report(samples, args.baseline, time.monotonic() - t0)


def run_celery(args: argparse.Namespace) -> int:
    import redis

    from quantum_planner.config import Settings
    from quantum_planner.jobs.celery_app import SOLVE_SYNC, SYNC_QUEUE, make_celery
    from quantum_planner.jobs.liveness import live_workers

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QP_")}
    env.update(
        QP_REDIS_URL=REDIS_URL,
        QP_DATABASE_URL="sqlite:////tmp/qp-soak-unused.db",  # sync solves touch no database
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    node = f"soak-{uuid.uuid4().hex[:4]}@bench"
    log = open(f"/tmp/{node}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "quantum_planner.jobs.cli", "worker", "-c", "1", "-n", node,
         "-Q", SYNC_QUEUE, "-l", "WARNING"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while node not in live_workers(REDIS_URL):
            if time.monotonic() > deadline or proc.poll() is not None:
                print(f"worker did not start; see /tmp/{node}.log", file=sys.stderr)
                return 2
            time.sleep(0.3)
        (child,) = children(proc.pid)
        app = make_celery(Settings(redis_url=REDIS_URL))
        pj = problem_json()
        options = {"time_limit": args.time_limit, "seed": 1, "backend": args.backend or None}
        samples = []
        t0 = time.monotonic()
        for i in range(1, args.solves + 1):
            res = app.send_task(SOLVE_SYNC, args=[pj, options], queue=SYNC_QUEUE)
            result = res.get(timeout=60)
            res.forget()
            if not result["ok"]:
                print("solve failed:", result["error"], file=sys.stderr)
                return 2
            if i % args.every == 0 or i == args.solves:
                now = children(proc.pid)
                if now != [child]:
                    print(f"the solver process changed ({child} -> {now})", file=sys.stderr)
                    return 2
                samples.append((i, rss(child)))
                print(f"  {i} solves: RSS {samples[-1][1] / 2**20:.1f} MiB", flush=True)
        print(f"celery worker {node}, solver process pid {child}")
        return report(samples, args.baseline, time.monotonic() - t0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--solves", type=int, default=10_000)
    ap.add_argument("--mode", choices=["celery", "inprocess"], default="celery")
    ap.add_argument("--every", type=int, default=500, help="sample RSS every N solves")
    ap.add_argument("--baseline", type=int, default=1000, help="growth is measured from here")
    ap.add_argument("--time-limit", type=float, default=0.05)
    ap.add_argument("--backend", default="greedy", help="solver/backend ('' for auto)")
    args = ap.parse_args(argv)
    return run_celery(args) if args.mode == "celery" else run_inprocess(args)


if __name__ == "__main__":
    sys.exit(main())
