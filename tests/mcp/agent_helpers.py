"""Helpers for the MCP tests: the team example, a broken copy of it, polling a job to its end."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.types import CallToolResult

from quantum_planner.model import Problem, Solution
from quantum_planner.validate import validate

ROOT = Path(__file__).resolve().parents[2]
TEAM = ROOT / "examples" / "team.json"
TOOL_NAMES = {
    "plan",
    "replan",
    "pareto",
    "alternatives",
    "get_tradeoffs",
    "plan_status",
    "get_plan",
    "cancel_plan",
    "explain_plan",
    "validate_plan",
    "list_backends",
}


def load_team() -> dict[str, Any]:
    """examples/team.json as a dict (a fresh copy each call)."""
    return json.loads(TEAM.read_text())


def broken(team: dict[str, Any]) -> dict[str, Any]:
    """The team problem with a duration that is not a number (field tasks[2].duration)."""
    bad = copy.deepcopy(team)
    bad["tasks"][2]["duration"] = "soon"
    return bad


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """The API error body of a failed call (as text: what a host shows the model)."""
    assert result.is_error, result.structured_content
    body = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert set(body) >= {"code", "message", "field"}
    assert "Traceback" not in result.content[0].text  # type: ignore[union-attr]
    return body


Call = Callable[[str, dict[str, Any]], Awaitable[CallToolResult]]


async def poll_done(call: Call, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """plan_status until the job is done; its last status."""
    deadline = time.monotonic() + timeout
    while True:
        status = ok(await call("plan_status", {"job_id": job_id}))
        assert status["job_id"] == job_id
        if status["done"] or time.monotonic() > deadline:
            return status
        await anyio.sleep(0.3)


async def plan_roundtrip(call: Call, team: dict[str, Any]) -> str:
    """plan -> plan_status -> get_plan on the team example; checks the plan; its job id."""
    # a generous limit: the example solves to optimality in well under a second once a solver
    # process is warm, and a cold one on a busy machine still finishes inside it
    started = ok(await call("plan", {"problem": team, "time_limit": 30}))
    assert started["state"] in ("queued", "running", "succeeded")
    job_id = started["job_id"]
    status = await poll_done(call, job_id)
    assert status["state"] == "succeeded", status
    assert status["has_plan"] and "best_score" in status["progress"]
    plan = ok(await call("get_plan", {"job_id": job_id}))
    assert plan["solution_kind"] == "final"
    problem = Problem.from_dict(team)
    solution = Solution.model_validate(plan["solution"])
    assert validate(problem, solution) == []
    assert plan["kpis"]["feasible"] and plan["kpis"]["makespan"] == solution.makespan
    # the readable views agree with the solution
    scheduled = {row["task"]: row["agent"] for row in plan["schedule"]}
    assert scheduled == solution.assignments
    assert sorted(t for ts in plan["assignments"].values() for t in ts) == sorted(scheduled)
    assert ok(await call("validate_plan", {"job_id": job_id})) == {"valid": True, "violations": []}
    return job_id


async def bad_input(call: Call, team: dict[str, Any]) -> None:
    """Bad problems and arguments come back as tool errors naming the field."""
    body = tool_error(await call("plan", {"problem": broken(team)}))
    assert (body["code"], body["field"]) == ("invalid_value", "problem.tasks[2].duration")
    missing = {k: v for k, v in team.items() if k != "agents"}
    body = tool_error(await call("plan", {"problem": missing}))
    assert (body["code"], body["field"]) == ("invalid_problem", "problem.agents")
    body = tool_error(await call("plan", {"problem": team, "wait_seconds": 60}))
    assert (body["code"], body["field"]) == ("invalid_request", "wait_seconds")
    body = tool_error(await call("plan", {"problem": team, "backend": "warp-drive"}))
    assert (body["code"], body["field"]) == ("unknown_backend", "backend")
    body = tool_error(await call("get_plan", {"job_id": "no-such-job"}))
    assert (body["code"], body["field"]) == ("job_not_found", "job_id")
