"""Faults under load: nothing lost, nothing done twice.

    PYTHONPATH=src python benchmarks/faults.py [--scenario NAME ...] [--clients 8] [--duration 20]
        [--repeat N] [--foreign-worker]

Scenarios (default: all), each on a fresh stack (benchmarks/ops_stack.py: API + 2 Celery
workers on PostgreSQL and Redis, loopback only) while clients keep submitting jobs with the
10-agent, 30-task sample problem:

  worker-kill   SIGKILL one worker (and its solver processes) mid-solve; start a new one
  postgres      restart PostgreSQL (pg_ctlcluster ... restart)
  redis         restart Redis (shutdown nosave: every queued message is lost)
  flaky         the primary backend fails half the time (the planner fails over)

For each it prints jobs submitted / completed (succeeded + failed with a reason) / lost
(never final) / duplicated (more than one final plan stored), and submissions the API
refused (the client was told; not a loss). PostgreSQL and Redis restarts affect every user
of the shared servers on this machine for a few seconds.

``--repeat N`` runs the scenarios N times in a row; ``--foreign-worker`` keeps another
default-named ``quantum-planner worker`` (its own Redis database, ``QP_BENCH_FOREIGN_REDIS_DB``,
default 11) running on the host throughout, as in issue 20's defect report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.<name> by workers
    from ops_stack import Stack, foreign_worker, sample_problem
except ImportError:
    from benchmarks.ops_stack import Stack, foreign_worker, sample_problem

FINAL = {"succeeded", "failed", "cancelled"}
DRAIN_SECONDS = 180


# --- the flaky primary backend (runs inside the workers via QP_SOLVE_ENTRY) ---------------
def flaky_solve(
    problem: Any,
    *,
    time_limit: float,
    seed: Any,
    backend: Any,
    progress: Any,
    stop: Any = None,
    **_: Any,
) -> Any:
    """Solve with a primary backend that fails half its calls, falling back to local_search."""
    from quantum_planner.errors import SolverError
    from quantum_planner.planner import QuantumTaskPlanner
    from quantum_planner.solvers.registry import get_solver, register_solver, solver_names

    if "flaky" not in solver_names():

        class Flaky:
            name = "flaky"

            def __init__(self, **options: Any) -> None:
                self.inner = get_solver("greedy")

            def solve(self, problem: Any, **kw: Any) -> Any:
                if random.random() < 0.5:
                    raise SolverError("flaky backend: simulated outage (fails half the time)")
                return self.inner.solve(problem, **kw)

        register_solver("flaky", Flaky)
    planner = QuantumTaskPlanner(backend="flaky", fallback=["local_search"], time_limit=time_limit)
    return planner.solve(problem, time_limit=time_limit, seed=seed, progress=progress, stop=stop)


# --- faults -------------------------------------------------------------------------------
def _sh(cmd: str) -> None:
    print(f"    $ {cmd}", flush=True)
    subprocess.run(["bash", "-c", cmd], check=True, timeout=120)


def fault_worker_kill(stack: Stack) -> None:
    stack.kill("w0")
    print("    SIGKILLed worker w0 and its solver processes", flush=True)
    time.sleep(3)
    stack.start_worker("w0b")  # as an orchestrator would replace it


def fault_postgres(stack: Stack) -> None:
    _sh(
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart "
        "&& until pg_isready -q -h 127.0.0.1; do sleep 0.2; done"
    )


def fault_redis(stack: Stack) -> None:
    _sh("redis-cli -h 127.0.0.1 shutdown nosave || true")
    time.sleep(1)
    _sh(
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log "
        "&& until redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; do sleep 0.2; done"
    )


SCENARIOS = {
    "worker-kill": (fault_worker_kill, {}),
    "postgres": (fault_postgres, {}),
    "redis": (fault_redis, {}),
    "flaky": (None, {"QP_SOLVE_ENTRY": "benchmarks.faults:flaky_solve"}),
}


# --- load ---------------------------------------------------------------------------------
async def submitter(base: str, key: str, body: dict, until: float, out: dict) -> None:
    import httpx

    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        while time.monotonic() < until:
            try:
                r = await http.post("/api/jobs", json=body)
            except httpx.HTTPError as e:
                out["refused"].append(type(e).__name__)
                await asyncio.sleep(0.5)
                continue
            if r.status_code == 202:
                out["submitted"].append(r.json()["id"])
            else:
                out["refused"].append(str(r.status_code))
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.3)


async def load(stack: Stack, clients: int, seconds: float, body: dict, out: dict) -> None:
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(submitter(stack.url, stack.client_key, body, until, out) for _ in range(clients))
    )


def run_scenario(name: str, clients: int, duration: float, time_limit: float) -> dict[str, Any]:
    fault, env = SCENARIOS[name]
    print(f"== {name}", flush=True)
    with Stack(workers=2, env=env) as stack:
        body = {"problem": sample_problem(), "time_limit": time_limit, "seed": 1}
        out: dict[str, list] = {"submitted": [], "refused": []}
        if fault is not None:
            # strike a third of the way in, while solves are running
            timer = threading.Timer(duration / 3, fault, args=(stack,))
            timer.start()
        asyncio.run(load(stack, clients, duration, body, out))
        if fault is not None:
            timer.join()
        submitted = set(out["submitted"])
        deadline = time.monotonic() + DRAIN_SECONDS
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = _states(stack, submitted)
            if all(s in FINAL for s in states.values()) and len(states) == len(submitted):
                break
            time.sleep(1)
        finals = stack.final_solutions_per_job()
        failed = {j: s for j, s in states.items() if s == "failed"}
        result = {
            "scenario": name,
            "submitted": len(submitted),
            "completed": sum(1 for s in states.values() if s in FINAL),
            "succeeded": sum(1 for s in states.values() if s == "succeeded"),
            "failed_with_reason": len(failed),
            "lost": sum(1 for j in submitted if states.get(j) not in FINAL),
            "duplicated": sum(1 for j in submitted if finals.get(j, 0) > 1),
            "succeeded_without_plan": sum(
                1 for j, s in states.items() if s == "succeeded" and finals.get(j, 0) != 1
            ),
            "refused": len(out["refused"]),
            # jobs started more than once: the ones the fault interrupted mid-solve
            "restarted": _restarted(stack),
            # the API's recoveries (its log): jobs re-queued after their worker's heartbeat
            # stopped, and jobs sent again after a dead worker took their message unclaimed
            "requeued": _api_log_count(stack, "lost its worker"),
            "resent_unclaimed": _api_log_count(stack, "never claimed"),
            # which backend produced each final plan (flaky: the primary's share)
            "plans_by_backend": _plans_by_backend(stack),
            "reasons": _reasons(stack, failed),
            # what each lost job looks like: which step of the recovery did not happen
            "lost_jobs": _lost_jobs(stack, {j for j in submitted if states.get(j) not in FINAL}),
        }
        print(
            "    submitted {submitted} completed {completed} (succeeded {succeeded}, failed "
            "with reason {failed_with_reason}) lost {lost} duplicated {duplicated} "
            "refused-at-submit {refused} restarted-after-fault {restarted} {reasons}\n"
            "    recovered by the API: re-queued {requeued}, re-sent unclaimed {resent_unclaimed}\n"
            "    final plans by backend {plans_by_backend}".format(**result),
            flush=True,
        )
        for row in result["lost_jobs"]:
            print(f"    LOST {row}", flush=True)
        print(
            f"    live workers at the end {sorted(live_nodes(stack))}",
            flush=True,
        )
        return result


def _states(stack: Stack, ids: set[str]) -> dict[str, str]:
    import psycopg

    try:
        with psycopg.connect(stack.database_url.replace("+psycopg", "")) as c:
            rows = c.execute("SELECT id, state FROM jobs").fetchall()
    except psycopg.Error:
        return {}
    return {j: s for j, s in rows if j in ids}


def _api_log_count(stack: Stack, needle: str) -> int:
    """Lines of the API's log that contain ``needle``."""
    path = stack.logdir / "api.log"
    if not path.exists():
        return 0
    return sum(needle in line for line in path.read_text(errors="replace").splitlines())


def _restarted(stack: Stack) -> int:
    import psycopg

    with psycopg.connect(stack.database_url.replace("+psycopg", "")) as c:
        return c.execute("SELECT count(*) FROM jobs WHERE attempts > 1").fetchone()[0]


def _plans_by_backend(stack: Stack) -> dict[str, int]:
    import psycopg

    with psycopg.connect(stack.database_url.replace("+psycopg", "")) as c:
        rows = c.execute(
            "SELECT backend, count(*) FROM solutions WHERE kind = 'final' GROUP BY backend"
        ).fetchall()
    return dict(rows)


def _reasons(stack: Stack, failed: dict[str, str]) -> dict[str, int]:
    import psycopg

    if not failed:
        return {}
    with psycopg.connect(stack.database_url.replace("+psycopg", "")) as c:
        rows = c.execute(
            "SELECT error_code, count(*) FROM jobs WHERE state = 'failed' GROUP BY error_code"
        ).fetchall()
    return dict(rows)


def _lost_jobs(stack: Stack, ids: set[str]) -> list[dict[str, Any]]:
    """State, attempts, worker and dispatch mark of each job that never became final."""
    import psycopg
    import redis

    from quantum_planner.jobs.celery_runner import DISPATCH_KEY

    if not ids:
        return []
    client = redis.Redis.from_url(stack.redis_url)
    with psycopg.connect(stack.database_url.replace("+psycopg", "")) as c:
        rows = c.execute(
            "SELECT id, state, attempts, worker_id, created_at, started_at, heartbeat_at "
            "FROM jobs WHERE id = ANY(%s)",
            (sorted(ids),),
        ).fetchall()
    cols = ("id", "state", "attempts", "worker_id", "created", "started", "heartbeat")
    out = []
    for row in rows:
        info = {k: str(v) for k, v in zip(cols, row, strict=True)}
        info["dispatch_ttl"] = client.ttl(DISPATCH_KEY + row[0])
        info["unacked_messages"] = client.hlen("unacked")
        out.append(info)
    return out


def live_nodes(stack: Stack) -> dict[str, Any]:
    """The stack's live workers (its Redis database's liveness keys)."""
    from quantum_planner.jobs.liveness import live_workers

    return live_workers(stack.redis_url)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of load per scenario")
    ap.add_argument("--time-limit", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=1, help="run the scenarios N times in a row")
    ap.add_argument(
        "--foreign-worker",
        action="store_true",
        help="keep another default-named worker (its own Redis database) running on the host",
    )
    args = ap.parse_args(argv)
    if not Path("/etc/postgresql").exists() and "postgres" in (args.scenario or SCENARIOS):
        print("no /etc/postgresql here: cannot restart PostgreSQL", file=sys.stderr)
        return 2
    names = (args.scenario or list(SCENARIOS)) * max(1, args.repeat)
    with contextlib.ExitStack() as stack:
        if args.foreign_worker:
            foreign = stack.enter_context(
                foreign_worker(int(os.environ.get("QP_BENCH_FOREIGN_REDIS_DB", "11")))
            )
            print(f"foreign worker pid {foreign.pid} (default node name)", flush=True)
        results = []
        for i, name in enumerate(names, 1):
            print(f"-- run {i} of {len(names)}, load average {os.getloadavg()[0]:.2f}", flush=True)
            results.append(run_scenario(name, args.clients, args.duration, args.time_limit))
    summary(results)
    bad = [r["scenario"] for r in results if r["lost"] or r["duplicated"]]
    print("RESULT", "lost or duplicated jobs in: " + ", ".join(bad) if bad else "nothing lost")
    return 1 if bad else 0


def summary(results: list[dict[str, Any]]) -> None:
    """One line per run: submitted / completed / lost / duplicated and the recoveries."""
    print("run scenario submitted completed lost duplicated requeued resent_unclaimed")
    for i, r in enumerate(results, 1):
        print(
            f"{i} {r['scenario']} {r['submitted']} {r['completed']} {r['lost']} "
            f"{r['duplicated']} {r['requeued']} {r['resent_unclaimed']}"
        )


if __name__ == "__main__":
    sys.exit(main())
