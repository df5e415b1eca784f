"""End-to-end tests of the HTTP API over loopback, against SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from quantum_planner.model import Problem, Solution
from quantum_planner.store import Database
from quantum_planner.store.tables import AuditRow, BackendStateRow, SolutionRow
from tests.service.conftest import Deployment, make_problem

FINAL = {"succeeded", "failed", "cancelled"}


def wait_job(c: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["state"] in FINAL:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def assert_valid_plan(problem: dict[str, Any], solution: dict[str, Any]) -> None:
    """Check the plan independently of the planner: every task on a skilled agent, no overlap."""
    p = Problem.from_dict(problem)
    sol = Solution.model_validate(solution)
    assert sol.feasible
    for t in p.tasks:
        agent = sol.assignments[t.id]
        assert set(t.required_skills) <= set(p.agent(agent).skills)
        start, _end = sol.interval_of(t.id)
        for d in t.dependencies:
            assert sol.interval_of(d)[1] <= start + 1e-9
    for tasks in sol.schedule.values():
        ivs = sorted(tasks.values())
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(ivs))


def test_optimize_returns_a_valid_plan(deployment: Deployment) -> None:
    problem = make_problem(3, 8, seed=1)
    with deployment.client(deployment.alice) as c:
        r = c.post("/api/optimize", json={"problem": problem, "time_limit": 2, "seed": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["problem_id"] and body["solution_id"]
    assert body["seconds"] <= 2 + 5
    assert_valid_plan(problem, body["solution"])
    assert r.headers["x-request-id"]


def test_job_submit_poll_and_analysis(deployment: Deployment) -> None:
    problem = make_problem(3, 10, seed=2)
    problem["agents"][1]["capacity"] = 2.0
    with deployment.client(deployment.alice) as c:
        r = c.post("/api/jobs", json={"problem": problem, "time_limit": 1.5, "seed": 3})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["state"] in {"queued", "running"}
        assert r.headers["location"] == f"/api/jobs/{job['id']}"
        done = wait_job(c, job["id"])
        assert done["state"] == "succeeded", done
        assert done["progress"]["fraction"] == 1.0
        assert_valid_plan(problem, done["solution"])
        a = c.get(f"/api/jobs/{job['id']}/analysis")
        assert a.status_code == 200, a.text
        analysis = a.json()
        ids = [j["id"] for j in c.get("/api/jobs").json()["jobs"]]
        assert job["id"] in ids
    sol = done["solution"]
    assert analysis["feasible"] and analysis["violated_constraints"] == []
    assert analysis["validator_violations"] == []
    kinds = {k["constraint"]: k for k in analysis["constraints"]}
    # the capacity-2 agent: binding if the plan gives it 2 tasks, else slack
    cap = kinds["capacity_limit"]
    assert cap["checked"] == 1
    load_a1 = sum(1 for a in sol["assignments"].values() if a == "a1")
    assert (cap["status"] == "binding") == (load_a1 == 2)
    assert kinds["precedence"]["checked"] == 2  # t3->t4 and t8->t9
    mk = analysis["objectives"][0]
    assert mk["objective"] == "minimize_makespan" and mk["rank"] == 0
    assert mk["value"] == pytest.approx(sol["makespan"])
    assert max(mk["contributions"].values()) == pytest.approx(sol["makespan"])
    # the critical chain ends at the makespan
    last = mk["critical_chain"][-1]
    assert Solution.model_validate(sol).interval_of(last)[1] == pytest.approx(sol["makespan"])


def test_analysis_reports_violations_of_an_infeasible_plan() -> None:
    """The analysis itself (pure function) flags what a bad plan breaks."""
    from quantum_planner.analysis import analyse

    problem = Problem.from_dict(
        {
            "agents": [{"id": "a", "skills": ["x"], "capacity": 1}, {"id": "b"}],
            "tasks": [
                {"id": "t1", "required_skills": ["x"], "duration": 2},
                {"id": "t2", "dependencies": ["t1"], "duration": 1, "latest_finish": 2.5},
            ],
        }
    )
    bad = Solution(
        assignments={"t1": "b", "t2": "a"},
        schedule={"b": {"t1": (0.0, 2.0)}, "a": {"t2": (1.0, 2.0)}},
        feasible=False,
    )
    out = analyse(problem, bad)
    # every catalogue rule is analysed: the plan also reports no makespan (0, really 2)
    assert set(out["violated_constraints"]) == {"skill_match", "precedence", "objective_mismatch"}
    # the library's validator agrees
    assert set(out["violated_constraints"]) == {
        v["constraint"] for v in out["validator_violations"]
    }
    assert not out["feasible"]
    prec = next(k for k in out["constraints"] if k["constraint"] == "precedence")
    assert prec["violated"][0]["amount"] == pytest.approx(1.0)
    tw = next(k for k in out["constraints"] if k["constraint"] == "time_window")
    assert tw["status"] == "satisfied" and tw["min_slack"] == pytest.approx(0.5)
    cap = next(k for k in out["constraints"] if k["constraint"] == "capacity_limit")
    assert cap["status"] == "binding"


def test_auth_matrix(deployment: Deployment) -> None:
    problem = make_problem(2, 3)
    with deployment.client(deployment.alice) as alice:
        job = alice.post("/api/jobs", json={"problem": problem, "time_limit": 0.5}).json()
    routes = [
        ("POST", "/api/optimize", {"problem": problem}),
        ("POST", "/api/jobs", {"problem": problem}),
        ("GET", "/api/jobs", None),
        ("GET", f"/api/jobs/{job['id']}", None),
        ("DELETE", f"/api/jobs/{job['id']}", None),
        ("GET", f"/api/jobs/{job['id']}/analysis", None),
        ("GET", "/api/backends", None),
        ("PUT", "/api/backends/greedy", {"enabled": True}),
        ("POST", "/api/backends/test-credentials", None),
    ]
    for key, want in ((None, "unauthenticated"), ("qp_not-a-real-key-0123456789", "invalid_key")):
        with deployment.client(key) as c:
            for method, path, body in routes:
                r = c.request(method, path, json=body)
                assert r.status_code == 401, (method, path, r.text)
                assert r.json()["code"] == want
                assert r.headers["www-authenticate"] == "Bearer"
    with deployment.client(deployment.bob) as bob:
        for method, path, body in routes:
            r = bob.request(method, path, json=body)
            if path.startswith("/api/backends"):
                assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
            elif "/jobs/" in path:  # alice's job does not exist for bob
                assert r.status_code == 404 and r.json()["code"] == "job_not_found", r.text
        assert job["id"] not in [j["id"] for j in bob.get("/api/jobs").json()["jobs"]]


def test_bad_input_gets_4xx_with_code_and_field(deployment: Deployment) -> None:
    good = make_problem(2, 3)
    cycle = make_problem(2, 3)
    cycle["tasks"][0]["dependencies"] = ["t2"]
    cycle["tasks"][2]["dependencies"] = ["t0"]
    cases = [
        ({"problem": cycle}, 422, "dependency_cycle", "problem.tasks[0].dependencies"),
        ({"problem": good, "bogus": 1}, 422, "invalid_request", "bogus"),
        ({"problem": good, "time_limit": 1e9}, 422, "time_limit_out_of_range", "time_limit"),
        ({"problem": good, "time_limit": -1}, 422, "invalid_request", "time_limit"),
        ({"problem": make_problem(2, 201)}, 413, "too_many_tasks", "problem.tasks"),
        ({"problem": {"agents": "x", "tasks": []}}, 422, "invalid_problem", "problem.agents"),
        ({"problem": 5}, 422, "invalid_problem", "problem"),
        ({}, 422, "invalid_request", "problem"),
    ]
    with deployment.client(deployment.alice) as c:
        for path in ("/api/optimize", "/api/jobs"):
            for body, status, code, field in cases:
                r = c.post(path, json=body)
                assert r.status_code == status, (path, body, r.text)
                err = r.json()
                assert (err["code"], err["field"]) == (code, field), err
                assert err["message"] and "Traceback" not in r.text
        big = {"problem": {**good, "name": "x" * 300_000}}
        r = c.post("/api/optimize", json=big)
        assert r.status_code == 413 and r.json()["code"] == "body_too_large"
        r = c.post(
            "/api/optimize", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"
        assert r.json()["field"] == "body" and "JSON" in r.json()["message"]
        r = c.get("/api/nowhere")
        assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_cancel_finished_job_is_a_conflict(deployment: Deployment) -> None:
    with deployment.client(deployment.alice) as c:
        job = c.post("/api/jobs", json={"problem": make_problem(2, 3), "time_limit": 0.3}).json()
        wait_job(c, job["id"])
        r = c.delete(f"/api/jobs/{job['id']}")
    assert r.status_code == 409 and r.json()["code"] == "job_finished"


def test_health_and_readiness(deployment: Deployment) -> None:
    r = httpx.get(deployment.url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    deadline = time.monotonic() + 60
    while True:  # backends are probed in the background; right after start-up the
        # first round is awaited, later calls answer from the latest snapshot
        r = httpx.get(deployment.url + "/health/ready", timeout=60)
        body = r.json()
        assert body["checks"]["database"]["ok"] is True
        assert r.status_code == (200 if body["checks"]["backends"]["ok"] else 503)
        assert body["status"] == ("ok" if r.status_code == 200 else "unavailable")
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200, body  # the local solvers are healthy backends
    assert body["checks"]["backends"]["detail"]["usable"]
    t0 = time.monotonic()
    assert httpx.get(deployment.url + "/health/ready", timeout=60).status_code == 200
    assert time.monotonic() - t0 < 2.0  # from the snapshot: no probe on the request path


def test_metrics(deployment: Deployment) -> None:
    with deployment.client(deployment.alice) as c:
        assert c.post("/api/optimize", json={"problem": make_problem(2, 3), "time_limit": 0.5})
        c.post("/api/optimize", json={"problem": 5})
    # readiness waits for the first backend health round; scrapes never wait for probes
    httpx.get(deployment.url + "/health/ready", timeout=60)
    text = httpx.get(deployment.url + "/metrics").text
    assert 'quantum_planner_requests_total{route="/api/optimize",status="200"}' in text
    assert 'quantum_planner_requests_total{route="/api/optimize",status="422"}' in text
    assert 'quantum_planner_errors_total{kind="invalid_problem"}' in text
    assert "quantum_planner_solve_duration_seconds_bucket{backend=" in text
    assert 'quantum_planner_jobs{state="succeeded"}' in text
    assert 'quantum_planner_backend_up{backend="local_search"} 1.0' in text
    # what the alert rules in deploy/prometheus need beside it
    assert 'quantum_planner_backend_enabled{backend="local_search"} 1.0' in text
    assert 'quantum_planner_backend_configured{backend="local_search"} 1.0' in text
    assert 'quantum_planner_circuit_breaker_open{backend="local_search"} 0.0' in text
    workers = [ln for ln in text.splitlines() if ln.startswith("quantum_planner_workers ")]
    assert workers and float(workers[0].split()[1]) >= 1


def test_tampered_solution_is_reported_corrupted(deployment: Deployment) -> None:
    with deployment.client(deployment.alice) as c:
        job = c.post("/api/jobs", json={"problem": make_problem(2, 4), "time_limit": 0.3}).json()
        assert wait_job(c, job["id"])["state"] == "succeeded"
        db = Database(deployment.server.db_url)
        with db.session() as s:
            row = s.scalar(
                select(SolutionRow).where(
                    SolutionRow.job_id == job["id"], SolutionRow.kind == "final"
                )
            )
            data = json.loads(row.content)
            data["makespan"] = 0.0  # someone "improves" the stored plan behind our back
            row.content = json.dumps(data)
        db.dispose()
        for path in (f"/api/jobs/{job['id']}", f"/api/jobs/{job['id']}/analysis"):
            r = c.get(path)
            assert r.status_code == 500, r.text
            err = r.json()
            assert err["code"] == "corrupted" and "integrity" in err["message"]
            assert "makespan" not in r.text  # the tampered plan is not served


def test_admin_backends(deployment: Deployment) -> None:
    with deployment.client(deployment.admin) as c:
        r = c.get("/api/backends")
        assert r.status_code == 200, r.text
        names = [b["name"] for b in r.json()["backends"]]
        assert names
        name = names[-1]
        r = c.put(f"/api/backends/{name}", json={"enabled": False})
        assert r.status_code == 200, r.text
        assert r.json()["enabled"] is False
        db = Database(deployment.server.db_url)
        with db.session() as s:
            assert s.get(BackendStateRow, name).enabled is False
            audit = s.scalars(select(AuditRow).where(AuditRow.target == name)).all()
            assert any(a.action == "switch_backend" for a in audit)
        db.dispose()
        listed = {b["name"]: b for b in c.get("/api/backends").json()["backends"]}
        assert listed[name].get("enabled") is False
        assert c.put(f"/api/backends/{name}", json={"enabled": True}).status_code == 200
        r = c.put("/api/backends/no-such-backend", json={"enabled": True})
        assert r.status_code == 404 and r.json()["code"] == "unknown_backend"
        r = c.put(f"/api/backends/{name}", json={"enabled": "maybe"})
        assert r.status_code == 422 and r.json()["field"] == "enabled"
        r = c.post("/api/backends/test-credentials")
        assert r.status_code == 200, r.text
        assert deployment.admin not in r.text


def test_disabled_backend_is_not_used_by_solver_processes(deployment: Deployment) -> None:
    """A switch made over HTTP reaches the solver processes (through the database)."""
    body = {"problem": make_problem(2, 4), "time_limit": 1, "backend": "local_search"}
    with deployment.client(deployment.admin) as c:
        assert c.post("/api/optimize", json=body).status_code == 200
        assert c.put("/api/backends/local_search", json={"enabled": False}).status_code == 200
        try:
            time.sleep(2.5)  # solver processes cache the switches for 2 s
            r = c.post("/api/optimize", json=body)
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "backend_disabled"
        finally:
            assert c.put("/api/backends/local_search", json={"enabled": True}).status_code == 200
        time.sleep(2.5)
        r = c.post("/api/optimize", json=body)
        assert r.status_code == 200 and r.json()["solution"]["backend_used"] == "local_search"


def test_logs_are_json_lines_without_keys(sqlite_deployment: Deployment) -> None:
    d = sqlite_deployment
    with d.client(d.alice) as c:
        assert c.post("/api/optimize", json={"problem": make_problem(2, 3)}).status_code == 200
        c.get("/api/jobs")
        c.get("/api/jobs", headers={"Authorization": "Bearer qp_leakedKEYvalue1234567890abcdef"})
    text = d.server.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    reqs = [rec for rec in lines if rec.get("route") == "/api/jobs"]
    assert reqs and all(
        {"timestamp", "level", "request_id", "status", "duration_ms"} <= set(rec) for rec in reqs
    )
    solves = [rec for rec in lines if rec.get("route") == "/api/optimize" and rec["status"] == 200]
    assert solves and all(rec.get("backend") for rec in solves)
    for secret in (d.admin, d.alice, d.bob, "qp_leakedKEYvalue1234567890abcdef"):
        assert secret not in text
