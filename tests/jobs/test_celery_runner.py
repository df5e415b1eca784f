"""The Celery runner with real Redis, real PostgreSQL and real worker processes."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("celery", reason="celery not installed: pip install 'quantum-planner[workers]'")
pytest.importorskip("sqlalchemy", reason="sqlalchemy not installed: the service extra")

from .conftest import REDIS_URL, services_up, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not services_up(), reason="needs PostgreSQL and Redis on 127.0.0.1"),
]


def _problem(name: str, n_tasks: int = 6):
    from quantum_planner.model import Agent, Problem, Task

    agents = [Agent(f"a{i}", skills=["x"]) for i in range(3)]
    tasks = [Task(f"t{j}", required_skills=["x"], duration=1.0) for j in range(n_tasks)]
    return Problem(name=name, agents=agents, tasks=tasks)


def submit(db, name: str, time_limit: float = 10.0) -> str:
    from quantum_planner.store import repositories as repo

    with db.session() as s:
        prow = repo.save_problem(s, _problem(name), owner_id=None)
        job = repo.create_job(
            s, owner_id=None, problem_id=prow.id, time_limit=time_limit, seed=None, backend=None
        )
        return job.id


def job(db, job_id: str):
    from quantum_planner.store.tables import JobRow

    with db.session() as s:
        return s.get(JobRow, job_id)


def finals(db, job_id: str) -> int:
    from sqlalchemy import func, select

    from quantum_planner.store.tables import SolutionRow

    with db.session() as s:
        return s.scalar(
            select(func.count())
            .select_from(SolutionRow)
            .where(SolutionRow.job_id == job_id, SolutionRow.kind == "final")
        )


def done(db, job_id: str):
    row = job(db, job_id)
    return row if row.state in {"succeeded", "failed", "cancelled"} else None


@pytest.fixture
def runner(db, settings):
    from quantum_planner.jobs.celery_runner import CeleryJobRunner

    r = CeleryJobRunner(db, settings)
    r.start()
    yield r
    r.stop()


def test_jobs_run_on_workers_with_one_result_despite_duplicate_messages(db, spawn, runner):
    from quantum_planner.jobs.celery_app import RUN_JOB

    spawn("a", concurrency=2)
    ids = [submit(db, "quick") for _ in range(4)]
    runner.wake()
    for job_id in ids:
        row = wait_for(lambda j=job_id: done(db, j), 30, f"job {job_id}")
        assert row.state == "succeeded", (row.error_code, row.error_message)
        assert row.worker_id.startswith("celery:")
    # redeliver every job's message twice more (as after a lost ack): nothing runs again
    for job_id in ids:
        for _ in range(2):
            runner.celery.send_task(RUN_JOB, args=[job_id]).get(timeout=30)
    for job_id in ids:
        assert finals(db, job_id) == 1
        assert job(db, job_id).attempts == 1
    assert runner.capacity == 2


def test_sigkilled_worker_job_finishes_once_elsewhere(db, spawn, runner):
    first = spawn("victim")
    job_id = submit(db, "sleep:3")
    runner.wake()
    wait_for(lambda: job(db, job_id).state == "running", 30, "job to start")
    assert str(first.proc.pid) not in job(db, job_id).worker_id  # it runs in a child process
    first.kill()
    second = spawn("rescuer")
    row = wait_for(lambda: done(db, job_id), 60, "job to finish on the second worker")
    assert row.state == "succeeded", (row.error_code, row.error_message)
    assert row.attempts == 2
    assert finals(db, job_id) == 1
    assert any(j == job_id and s == "queued" for j, s in runner.recovered)
    assert second.proc.poll() is None


def test_cancellation_reaches_the_running_solve(db, spawn, runner):
    from quantum_planner.store import repositories as repo

    spawn("c")
    job_id = submit(db, "sleep:30")
    runner.wake()
    wait_for(lambda: job(db, job_id).state == "running", 30, "job to start")
    with db.session() as s:
        assert repo.cancel_job(s, repo.get_job(s, job_id))
    t0 = time.monotonic()
    # the worker is free again well before the 30 s solve would have ended
    quick = submit(db, "quick")
    runner.wake()
    row = wait_for(lambda: done(db, quick), 20, "the next job on the freed worker")
    assert row.state == "succeeded"
    assert time.monotonic() - t0 < 15
    assert job(db, job_id).state == "cancelled"
    assert finals(db, job_id) == 0


@pytest.mark.slow
def test_time_limit_stops_a_solver_that_ignores_it(db, spawn, runner):
    spawn("t")
    job_id = submit(db, "hang:60", time_limit=1.0)  # soft limit: 1 s + 5 s grace
    runner.wake()
    row = wait_for(lambda: done(db, job_id), 30, "time limit")
    assert row.state == "failed" and row.error_code == "timeout", row.error_message


def test_sigterm_finishes_the_running_job_then_exits(db, spawn, runner):
    w = spawn("term")
    job_id = submit(db, "sleep:2")
    runner.wake()
    wait_for(lambda: job(db, job_id).state == "running", 30, "job to start")
    t0 = time.monotonic()
    assert w.stop(timeout=30) == 0, w.output()
    assert time.monotonic() - t0 < 20
    row = job(db, job_id)
    assert row.state == "succeeded", (row.state, w.output())
    assert finals(db, job_id) == 1


def test_synchronous_solve_goes_through_a_worker(db, spawn, runner):
    spawn("s")
    problem = _problem("quick")
    result = runner.solve_now(problem.model_dump_json(), {"time_limit": 5.0, "seed": 1})
    assert result["ok"], result
    assert json.loads(result["solution"])["backend_used"] == "test-greedy"


def test_synchronous_solves_go_before_queued_jobs(db, spawn, runner):
    """A worker takes every waiting sync solve before the next job, not turn about."""
    import threading

    spawn("p")
    busy = submit(db, "sleep:1.5")
    runner.wake()
    wait_for(lambda: job(db, busy).state == "running", 30, "first job to start")
    queued = [submit(db, "sleep:0.5") for _ in range(2)]
    runner.wake()
    wait_for(lambda: all(runner.redis.exists("qp:dispatch:" + j) for j in queued), 10, "dispatch")
    results: list[dict] = []
    problem = _problem("quick").model_dump_json()

    def call() -> None:
        results.append(runner.solve_now(problem, {"time_limit": 5.0, "seed": 1}))

    callers = [threading.Thread(target=call) for _ in range(2)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(30)
    assert len(results) == 2 and all(r["ok"] for r in results), results
    # round-robin would have run a queued job between the two sync solves
    assert [job(db, j).state for j in queued] == ["queued", "queued"]
    for j in [busy, *queued]:
        assert wait_for(lambda j=j: done(db, j), 30, f"job {j}").state == "succeeded"


def test_worker_liveness_keys_come_and_go(spawn):
    from quantum_planner.jobs.liveness import live_workers

    w = spawn("live", concurrency=2)
    info = live_workers(REDIS_URL)[w.name]
    assert info["concurrency"] == 2
    w.stop()
    assert w.name not in live_workers(REDIS_URL)


def test_no_live_worker_means_zero_capacity(db, settings):
    import redis

    from quantum_planner.jobs.celery_runner import CeleryJobRunner
    from quantum_planner.jobs.liveness import WORKER_KEY

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=WORKER_KEY + "*"):  # SIGKILLed ones linger for the TTL
        client.delete(key)
    assert CeleryJobRunner(db, settings).capacity == 0


def test_http_api_with_celery_runner_end_to_end(db, settings, spawn, tmp_path):
    """`quantum-planner serve` with QP_JOB_RUNNER=celery: jobs and sync solves over HTTP are
    solved by a separate worker process."""
    import subprocess
    import sys

    import httpx

    from quantum_planner.store import accounts

    from .conftest import ROOT, free_port, worker_env

    spawn("api-e2e")
    with db.session() as s:
        _, key = accounts.create_key(s, "client", "e2e")
    env = worker_env(settings)
    env["QP_JOB_RUNNER"] = "celery"
    port = free_port()
    log = open(tmp_path / "api.log", "wb")  # noqa: SIM115
    api = subprocess.Popen(
        [sys.executable, "-m", "quantum_planner", "serve", "--host", "127.0.0.1", "--port",
         str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), 90, "the API")
        headers = {"Authorization": f"Bearer {key}"}
        body = {"problem": _problem("quick").model_dump(mode="json"), "time_limit": 5}
        r = httpx.post(f"{base}/api/optimize", json=body, headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["solution"]["backend_used"] == "test-greedy"  # solved by the worker
        r = httpx.post(f"{base}/api/jobs", json=body, headers=headers, timeout=30)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]

        def final():
            view = httpx.get(f"{base}/api/jobs/{job_id}", headers=headers, timeout=30).json()
            return view if view["state"] in {"succeeded", "failed", "cancelled"} else None

        view = wait_for(final, 60, "the job")
        assert view["state"] == "succeeded", view
        assert view["solution"]["backend_used"] == "test-greedy"
        ready = httpx.get(f"{base}/health/ready", timeout=60).json()
        assert ready["checks"]["workers"]["detail"] >= 1  # live Celery workers' capacity
    finally:
        api.terminate()
        api.wait(timeout=30)
        log.close()


def _up(base: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_trade_off_jobs_run_on_a_worker_with_the_planner(db, spawn, runner):
    """A Pareto job and an alternatives job, dispatched to a Celery worker that runs the
    library's planner: every plan stored and opened as a plan, the knee as the final one."""
    from quantum_planner.model import Problem
    from quantum_planner.store import plans as plan_store
    from quantum_planner.store import repositories as repo
    from quantum_planner.store.tables import SolutionRow
    from quantum_planner.store.tradeoffs import create_tradeoff_job, tradeoff_result
    from quantum_planner.validate import validate

    spawn("planner", entry="quantum_planner.jobs.worker:planner_solve")
    problem = Problem.from_dict(
        {
            "agents": [{"id": a, "cost_rate": r} for a, r in (("a", 1), ("b", 3), ("c", 2))],
            "tasks": [{"id": f"t{i}", "duration": d} for i, d in enumerate([3, 2, 4, 1, 2, 3])],
            "objective": "minimize_cost",
        }
    )
    args = {
        "pareto": {"objectives": ["minimize_cost", "minimize_makespan"], "points": None,
                   "reference": None},
        "alternatives": {"k": 3, "min_distance": 2},
    }  # fmt: skip
    ids = {}
    with db.session() as s:
        for kind, params in args.items():
            ids[kind] = create_tradeoff_job(
                s, owner_id=None, problem=problem, kind=kind, params=params, time_limit=10,
                seed=1, backend="cpsat",
            ).id  # fmt: skip
    runner.wake()
    for kind, job_id in ids.items():
        row = wait_for(lambda j=job_id: done(db, j), 120, f"{kind} job")
        assert row.state == "succeeded", (row.error_code, row.error_message)
        found = tradeoff_result(row)
        plans = found["points"] if kind == "pareto" else found["plans"]
        assert len(plans) >= 2 and finals(db, job_id) == 1
        with db.session() as s:
            final = repo.load_solution(repo.job_solutions(s, job_id)["final"])
            for i, p in enumerate(plans):
                version = plan_store.latest_version(s, p["plan_id"])
                assert (version.job_id, version.solution_id) == (job_id, p["solution_id"])
                sol = repo.load_solution(s.get(SolutionRow, p["solution_id"]))
                assert validate(problem, sol) == []
                chosen = found["knee"] if kind == "pareto" else 0
                assert (sol == final) == (i == chosen)
