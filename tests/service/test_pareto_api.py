"""Trade-offs over HTTP (loopback, SQLite and PostgreSQL): Pareto fronts and alternatives.

Each front is checked independently of the service: every plan valid, the values
its own, mutually non-dominated, the hypervolume recomputed, and on a problem
small enough to enumerate (3 agents, 6 tasks: 729 plans) the complete front equal
to the brute-force one. Every plan opens as a living plan and re-plans like one.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from quantum_planner.model import Problem, Solution
from quantum_planner.tradeoffs import hypervolume
from quantum_planner.validate import validate
from tests.service.conftest import Deployment

RATES = {"a": 1.0, "b": 3.0, "c": 2.0}
DURATIONS = [3.0, 2.0, 4.0, 1.0, 2.0, 3.0]
FINAL_STATES = ("succeeded", "failed", "cancelled")


def _problem() -> dict[str, Any]:
    """Cost against makespan: the cheap agent is one, spreading the work costs more."""
    return {
        "agents": [{"id": a, "cost_rate": r} for a, r in RATES.items()],
        "tasks": [{"id": f"t{i}", "duration": d} for i, d in enumerate(DURATIONS)],
        "objective": "minimize_cost",
    }


def _brute_front() -> set[tuple[float, float]]:
    """Every (cost, makespan) of the 3**6 plans, non-dominated ones kept (no dependencies:
    an agent's tasks run back to back from 0, so the makespan is the busiest agent's sum)."""
    values = set()
    for pick in itertools.product(RATES, repeat=len(DURATIONS)):
        busy = dict.fromkeys(RATES, 0.0)
        for agent, d in zip(pick, DURATIONS, strict=True):
            busy[agent] += d
        values.add((sum(RATES[a] * b for a, b in busy.items()), max(busy.values())))
    return {v for v in values if not any(_dominates(w, v) for w in values)}


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def _submit(c: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post(path, json={"problem": _problem(), "backend": "cpsat", "time_limit": 5, **body})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"{path}/{r.json()['id']}"
    assert r.json()["state"] == "queued"
    return r.json()


def _finished(c: httpx.Client, path: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = c.get(path).json()
        if view["state"] in FINAL_STATES or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def test_pareto_front_is_valid_non_dominated_and_exact(deployment: Deployment) -> None:
    problem = Problem.from_dict(_problem())
    objectives = ["minimize_cost", "minimize_makespan"]
    with deployment.client(deployment.alice) as c:
        job = _submit(c, "/api/pareto", {"objectives": objectives})
        assert job["objectives"] == objectives and job["front"] is None
        view = _finished(c, f"/api/pareto/{job['id']}")
        assert view["state"] == "succeeded", view
        front = view["front"]
        points = front["points"]
        vectors = [tuple(p["values"][o] for o in objectives) for p in points]
        for p, v in zip(points, vectors, strict=True):
            sol = Solution.model_validate(p["solution"])
            assert validate(problem, sol) == []
            assert v == tuple(sol.objectives[o] for o in objectives)
        assert not any(_dominates(a, b) for a in vectors for b in vectors)
        assert vectors == sorted(vectors)
        assert front["hypervolume"] == hypervolume(vectors, front["reference"], (1, 1))
        # CP-SAT's sweep proves the front complete on this size: it is the brute-force one
        assert front["complete"] is True
        assert set(vectors) == _brute_front()
        knee = front["knee"]
        assert [p["knee"] for p in points] == [i == knee for i in range(len(points))]
        # the job is an ordinary job whose final plan is the knee
        plain = c.get(f"/api/jobs/{job['id']}").json()
        assert plain["solution"] == points[knee]["solution"]


def test_front_plans_open_and_replan_as_plans(deployment: Deployment) -> None:
    with deployment.client(deployment.alice) as c:
        job = _submit(c, "/api/pareto", {"objectives": ["minimize_makespan", "minimize_cost"]})
        front = _finished(c, f"/api/pareto/{job['id']}")["front"]
        plan_ids = {p["plan_id"] for p in front["points"]}
        assert len(plan_ids) == len(front["points"])
        for p in front["points"]:
            latest = c.get(f"/api/plans/{p['plan_id']}").json()["latest"]
            assert (latest["version"], latest["job_id"], latest["state"]) == (
                1,
                job["id"],
                "succeeded",
            )
            assert latest["solution"] == p["solution"] and latest["solution_kind"] == "final"
        # re-plan the cheapest point after a change: its own plan is the one re-planned
        first = front["points"][-1]  # sorted by makespan: the last is the cheapest
        body = {"changes": [{"type": "remove_task", "task": "t5"}], "backend": "cpsat"}
        r = c.post(f"/api/plans/{first['plan_id']}/changes", json={**body, "time_limit": 3})
        assert r.status_code == 202, r.text
        v2 = _finished(c, f"/api/plans/{first['plan_id']}/versions/2")
        assert v2["state"] == "succeeded" and v2["parent_version"] == 1, v2
        before, after = first["solution"]["assignments"], v2["solution"]["assignments"]
        moved = sum(1 for t, a in after.items() if before[t] != a)
        assert v2["disruption"]["reassigned"] == moved
        assert "t5" not in after
        diff = c.get(f"/api/plans/{first['plan_id']}/diff", params={"from": 1, "to": 2})
        assert (
            diff.status_code == 200
            and {"task": "t5"}.items()
            <= next(row for row in diff.json()["tasks"] if row["task"] == "t5").items()
        )


def test_alternatives_differ_pairwise_and_open_as_plans(deployment: Deployment) -> None:
    problem = Problem.from_dict(_problem())
    with deployment.client(deployment.alice) as c:
        job = _submit(c, "/api/alternatives", {"k": 3, "min_distance": 2})
        assert (job["k"], job["min_distance"], job["plans"]) == (3, 2, None)
        view = _finished(c, f"/api/alternatives/{job['id']}")
        assert view["state"] == "succeeded", view
        plans = view["plans"]
        assert 1 <= len(plans) <= 3 and [p["rank"] for p in plans] == list(range(len(plans)))
        sols = [Solution.model_validate(p["solution"]) for p in plans]
        tasks = [t.id for t in problem.tasks]

        def distance(x: Solution, y: Solution) -> int:
            return sum(1 for t in tasks if x.assignments.get(t) != y.assignments.get(t))

        for i, (p, sol) in enumerate(zip(plans, sols, strict=True)):
            assert validate(problem, sol) == []
            assert p["objectives"] == sol.objectives
            assert p["distance"] == distance(sol, sols[0])
            assert sol.objectives["minimize_cost"] >= sols[0].objectives["minimize_cost"]
            for other in sols[:i]:
                assert distance(sol, other) >= 2
            latest = c.get(f"/api/plans/{p['plan_id']}").json()["latest"]
            assert latest["solution"] == p["solution"]
        assert c.get(f"/api/jobs/{job['id']}").json()["solution"] == plans[0]["solution"]


def test_bad_input_is_a_typed_422_naming_the_argument_and_stores_nothing(
    deployment: Deployment,
) -> None:
    pareto = [
        ({"objectives": ["minimize_cost"]}, "invalid_value", "objectives"),
        ({"objectives": ["minimize_cost", "nope"]}, "unknown_objective", "objectives"),
        ({"objectives": ["minimize_cost", "minimize_cost"]}, "invalid_value", "objectives"),
        ({"objectives": ["minimize_cost", "minimize_disruption"]}, "invalid_value", "objectives"),
        (
            {"objectives": ["minimize_cost", "balance_load", "minimize_makespan"], "points": 2},
            "invalid_value",
            "points",
        ),
        (
            {"objectives": ["minimize_cost", "balance_load"], "points": 1},
            "invalid_request",
            "points",
        ),
        (
            {"objectives": ["minimize_cost", "balance_load"], "reference": [1.0, 2.0, 3.0]},
            "invalid_value",
            "reference",
        ),
        (
            {"objectives": ["minimize_cost", "balance_load"], "reference": [1.0]},
            "invalid_request",
            "reference",
        ),
        (
            {"objectives": ["minimize_cost", "balance_load"], "backend": "greedy"},
            "unknown_backend",
            "backend",
        ),
        ({}, "invalid_request", "objectives"),
    ]
    alternatives = [
        ({"k": 0}, "invalid_request", "k"),
        ({"k": 21}, "invalid_request", "k"),
        ({"min_distance": 0}, "invalid_request", "min_distance"),
        ({"min_distance": 7}, "invalid_value", "min_distance"),  # 6 tasks
        ({"k": True}, "invalid_request", "k"),
    ]
    with deployment.client(deployment.bob) as c:
        before = len(c.get("/api/jobs", params={"limit": 1000}).json()["jobs"])
        for path, cases in (("/api/pareto", pareto), ("/api/alternatives", alternatives)):
            for body, code, field in cases:
                r = c.post(path, json={"problem": _problem(), **body})
                assert r.status_code == 422, (body, r.text)
                assert (r.json()["code"], r.json()["field"]) == (code, field), (body, r.json())
                assert field in r.json()["message"] or code == "unknown_backend"
        # the problem is checked as for a solve, its field named inside `problem`
        bad = {"agents": [{"id": "a"}], "tasks": [{"id": "t", "dependencies": ["nope"]}]}
        r = c.post(
            "/api/pareto", json={"problem": bad, "objectives": ["minimize_cost", "balance_load"]}
        )
        assert r.status_code == 422 and r.json()["code"] == "unknown_reference", r.text
        assert r.json()["field"].startswith("problem.tasks[0]"), r.text
        assert len(c.get("/api/jobs", params={"limit": 1000}).json()["jobs"]) == before


def test_objective_enum_is_the_models() -> None:
    from quantum_planner.mcp.schemas import OBJECTIVE_NAMES
    from quantum_planner.model import Objective

    assert [o.value for o in Objective] == OBJECTIVE_NAMES


def test_trade_off_jobs_are_private_and_kept_apart(deployment: Deployment) -> None:
    with deployment.client(deployment.alice) as c:
        job = _submit(c, "/api/alternatives", {"k": 2})
        r = c.post("/api/jobs", json={"problem": _problem(), "time_limit": 1, "backend": "cpsat"})
        plain = r.json()["id"]
        # the other kind's id, or a plain solve's, is not a Pareto job
        for path in (
            f"/api/pareto/{job['id']}",
            f"/api/pareto/{plain}",
            f"/api/alternatives/{plain}",
        ):
            r = c.get(path)
            assert (r.status_code, r.json()["code"]) == (404, "job_not_found"), r.text
        view = _finished(c, f"/api/alternatives/{job['id']}")
        assert view["state"] == "succeeded"
    with deployment.client(deployment.bob) as c:
        assert c.get(f"/api/alternatives/{job['id']}").status_code == 404
        assert c.get(f"/api/plans/{view['plans'][0]['plan_id']}").status_code == 404
