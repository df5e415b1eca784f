"""Living plans over HTTP (loopback, SQLite and PostgreSQL): versions, changes, diffs, events."""

from __future__ import annotations

from typing import Any

import httpx

from quantum_planner.model import Problem, Solution
from quantum_planner.replan import apply_changes, parse_changes
from quantum_planner.validate import validate
from tests.service.conftest import Deployment, make_problem
from tests.sse import read_events


def _plan(c: httpx.Client, problem: dict[str, Any], time_limit: float = 2) -> dict[str, Any]:
    # CP-SAT: no kernel to compile in a fresh solver process, so the test times only itself
    body = {"problem": problem, "time_limit": time_limit, "backend": "cpsat"}
    r = c.post("/api/plans", json=body)
    assert r.status_code == 202, r.text
    return r.json()


def _finish(c: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    status, events = read_events(c, f"/api/jobs/{job_id}/events")
    assert status == 200, events
    assert events[-1]["event"] == "final"
    return events


def test_plan_replan_versions_and_diff(deployment: Deployment):
    problem = make_problem(n_agents=3, n_tasks=8, seed=4)
    with deployment.client(deployment.alice) as c:
        v1 = _plan(c, problem)
        assert (v1["version"], v1["parent_version"], v1["state"]) == (1, None, "queued")
        events = _finish(c, v1["job_id"])
        assert [e["event"] for e in events][:2] == ["status", "status"]  # queued, running
        assert events[-1]["data"]["state"] == "succeeded", events[-1]
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(ids)
        plan = c.get(f"/api/plans/{v1['plan_id']}").json()
        first = Solution.model_validate(plan["latest"]["solution"])
        assert plan["latest"]["solution_kind"] == "final" and first.feasible

        changes = [
            {"type": "remove_agent", "agent": "a1", "at": 0},
            {"type": "add_task", "task": {"id": "urgent", "required_skills": ["py"]}},
        ]
        body = {"changes": changes, "backend": "cpsat", "time_limit": 2}
        r = c.post(f"/api/plans/{v1['plan_id']}/changes", json=body)
        assert r.status_code == 202, r.text
        v2 = r.json()
        assert (v2["version"], v2["parent_version"]) == (2, 1)
        _finish(c, v2["job_id"])
        listed = c.get(f"/api/plans/{v1['plan_id']}/versions").json()["versions"]
        assert [v["version"] for v in listed] == [1, 2]
        second = Solution.model_validate(listed[1]["solution"])
        # independently: the plan is valid for the changed problem, a1 has no work
        changed = apply_changes(Problem.from_dict(problem), first, parse_changes(changes))
        assert validate(changed.problem, second) == []
        assert "a1" not in second.schedule and "urgent" in second.assignments
        assert listed[1]["disruption"]["reassigned"] >= sum(
            1 for a in first.assignments.values() if a == "a1"
        )
        diff = c.get(f"/api/plans/{v1['plan_id']}/diff", params={"from": 1, "to": 2}).json()
        rows = {row["task"]: row for row in diff["tasks"]}
        assert rows["urgent"]["change"] == "added"
        for tid, agent in first.assignments.items():
            if agent == "a1":
                assert rows[tid]["change"] == "reassigned" and rows[tid]["agent_before"] == "a1"
        assert diff["disruption"] == listed[1]["disruption"]


def test_bad_change_is_422_naming_it_and_changes_nothing(deployment: Deployment):
    with deployment.client(deployment.alice) as c:
        v1 = _plan(c, make_problem(seed=5))
        _finish(c, v1["job_id"])
        for changes, field in (
            ([{"type": "remove_task", "task": "nope"}], "changes[0].task"),
            ([{"type": "complete_task", "task": "t0", "at": 9}] * 2, "changes[1].task"),
            ([{"type": "teleport"}], "changes[0]"),
        ):
            r = c.post(f"/api/plans/{v1['plan_id']}/changes", json={"changes": changes})
            assert r.status_code == 422, r.text
            assert (r.json()["code"], r.json()["field"]) == ("invalid_change", field)
        r = c.post(
            f"/api/plans/{v1['plan_id']}/changes",
            json={"changes": [], "disruption": {"reassign_wieght": 2}},
        )
        assert r.status_code == 422 and r.json()["field"] == "disruption.reassign_wieght"
        versions = c.get(f"/api/plans/{v1['plan_id']}/versions").json()["versions"]
        assert len(versions) == 1


def test_plan_is_private_and_changes_wait_for_a_plan(deployment: Deployment):
    with deployment.client(deployment.alice) as c:
        v1 = _plan(c, make_problem(n_tasks=40, seed=6), time_limit=5)
        r = c.post(f"/api/plans/{v1['plan_id']}/changes", json={"changes": []})
        assert r.status_code in (202, 409)  # 409 while version 1 still runs
        if r.status_code == 409:
            assert r.json()["code"] == "plan_not_ready"
    with deployment.client(deployment.bob) as c:
        assert c.get(f"/api/plans/{v1['plan_id']}").status_code == 404


def test_events_resume_and_410_after_the_end(deployment: Deployment):
    with deployment.client(deployment.alice) as c:
        v1 = _plan(c, make_problem(seed=7))
        events = _finish(c, v1["job_id"])
        url = f"/api/jobs/{v1['job_id']}/events"
        # reconnecting after the first event replays the rest, in order
        status, rest = read_events(c, url, last_event_id=events[0]["id"])
        assert status == 200 and [e["id"] for e in rest] == [e["id"] for e in events[1:]]
        status, body = read_events(c, url, last_event_id=events[-1]["id"])
        assert status == 410 and body[0]["code"] == "job_finished"
        status, body = read_events(c, url)
        assert status == 200  # from the start: the whole history of a finished job
        status, body = read_events(c, url, last_event_id="abc")
        assert status == 422 and "Last-Event-ID" in (body[0]["field"] or ""), body
    with deployment.client(deployment.bob) as c:
        assert read_events(c, f"/api/jobs/{v1['job_id']}/events")[0] == 404
