"""Load: concurrent clients against the API + Celery workers on PostgreSQL and Redis.

    PYTHONPATH=src python benchmarks/load.py --clients 32 --duration 60

Starts the whole stack on loopback (benchmarks/ops_stack.py), then each client loops:
``POST /api/optimize`` with the 10-agent, 30-task sample problem, then ``POST /api/jobs``
with the same problem and polls ``GET /api/jobs/{id}`` until it is final. Prints
throughput, p50/p95/p99 of each and the error count, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.<name> by workers
    from ops_stack import Stack, sample_problem
except ImportError:
    from benchmarks.ops_stack import Stack, sample_problem

FINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Tally:
    """Latencies and outcomes gathered by the clients."""

    optimize: list[float] = field(default_factory=list)
    jobs: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    job_states: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (the smallest value with at least q of the sample at or below)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def summary(name: str, values: list[float], seconds: float) -> str:
    if not values:
        return f"{name:<10} n=0"
    return (
        f"{name:<10} n={len(values):<6} {len(values) / seconds:7.2f}/s  "
        f"p50={pct(values, 0.5):.3f}s p95={pct(values, 0.95):.3f}s "
        f"p99={pct(values, 0.99):.3f}s mean={statistics.fmean(values):.3f}s"
    )


async def client(
    base: str, key: str, body: dict[str, Any], until: float, tally: Tally, jobs: bool
) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        while time.monotonic() < until:
            t0 = time.monotonic()
            try:
                r = await http.post("/api/optimize", json=body)
                if r.status_code == 200:
                    tally.optimize.append(time.monotonic() - t0)
                else:
                    tally.error(f"optimize {r.status_code} {r.json().get('code', '')}")
            except httpx.HTTPError as e:
                tally.error(f"optimize {type(e).__name__}")
            if not jobs or time.monotonic() >= until:
                continue
            t0 = time.monotonic()
            try:
                r = await http.post("/api/jobs", json=body)
                if r.status_code != 202:
                    tally.error(f"submit {r.status_code} {r.json().get('code', '')}")
                    continue
                job_id = r.json()["id"]
                while True:
                    await asyncio.sleep(0.2)
                    r = await http.get(f"/api/jobs/{job_id}")
                    if r.status_code != 200:
                        tally.error(f"poll {r.status_code}")
                        break
                    state = r.json()["state"]
                    if state in FINAL:
                        tally.job_states[state] = tally.job_states.get(state, 0) + 1
                        if state == "succeeded":
                            tally.jobs.append(time.monotonic() - t0)
                        else:
                            tally.error(f"job {state} {r.json().get('error')}")
                        break
            except httpx.HTTPError as e:
                tally.error(f"job {type(e).__name__}")


async def drive(stack: Stack, args: argparse.Namespace) -> tuple[Tally, float]:
    body: dict[str, Any] = {
        "problem": sample_problem(args.agents, args.tasks),
        "time_limit": args.time_limit,
        "seed": 1,
    }
    if args.backend:
        body["backend"] = args.backend
    tally = Tally()
    t0 = time.monotonic()
    until = t0 + args.duration
    await asyncio.gather(
        *(
            client(stack.url, stack.client_key, body, until, tally, not args.no_jobs)
            for _ in range(args.clients)
        )
    )
    return tally, time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=1, help="solver processes per worker")
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=30)
    ap.add_argument("--time-limit", type=float, default=1.0)
    ap.add_argument("--backend", default="", help="backend/solver name (default: auto)")
    ap.add_argument("--no-jobs", action="store_true", help="only POST /api/optimize")
    args = ap.parse_args(argv)

    with Stack(workers=args.workers, concurrency=args.concurrency) as stack:
        print(
            f"stack: API {stack.url}, {args.workers} workers x {args.concurrency}, "
            f"PostgreSQL db {stack.name}, Redis db 12; {args.clients} clients for "
            f"{args.duration:g}s; problem {args.agents}x{args.tasks}, time limit "
            f"{args.time_limit:g}s, backend {args.backend or 'auto'}",
            flush=True,
        )
        tally, seconds = asyncio.run(drive(stack, args))
        print(summary("optimize", tally.optimize, seconds))
        print(summary("jobs", tally.jobs, seconds))
        total = len(tally.optimize) + len(tally.jobs)
        print(f"throughput {total / seconds:.2f} completed requests+jobs/s over {seconds:.1f}s")
        print(f"errors {sum(tally.errors.values())} {tally.errors or ''}")
        print(f"job states {tally.job_states}")
    return 0 if not tally.errors else 1


if __name__ == "__main__":
    sys.exit(main())
