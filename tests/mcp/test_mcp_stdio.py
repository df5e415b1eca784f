"""`quantum-planner mcp` as a subprocess, driven by the MCP SDK's own client over stdio."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from quantum_planner.mcp.resources import EXAMPLES_URI, SCHEMA_URI
from quantum_planner.mcp.stdio import stdio_server
from tests.mcp.agent_helpers import (
    ROOT,
    TEAM,
    TOOL_NAMES,
    bad_input,
    load_team,
    ok,
    plan_roundtrip,
    poll_done,
    tool_error,
)


def _server(tmp: Path) -> StdioServerParameters:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "QP_DATABASE_URL": f"sqlite:///{tmp / 'agents.db'}",
        "QP_WORKERS": "1",
        "QP_JOB_POLL_INTERVAL": "0.2",
        "QP_MAX_TIME_LIMIT": "30",
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "quantum_planner", "mcp"], env=env, cwd=str(tmp)
    )


def test_stdio_server_plans_the_team_example(tmp_path: Path) -> None:
    team = load_team()

    async def main() -> None:
        async with Client(_server(tmp_path), read_timeout_seconds=60) as client:
            tools = (await client.list_tools()).tools
            assert {t.name for t in tools} == TOOL_NAMES
            plan_tool = next(t for t in tools if t.name == "plan")
            assert plan_tool.input_schema["required"] == ["problem"]
            assert plan_tool.input_schema["properties"]["wait_seconds"]["maximum"] == 10
            assert "job_id" in plan_tool.output_schema["properties"]  # type: ignore[index]

            job_id = await plan_roundtrip(client.call_tool, team)
            explained = ok(await client.call_tool("explain_plan", {"job_id": job_id}))
            assert explained["feasible"] and explained["violated_constraints"] == []
            assert {c["constraint"] for c in explained["constraints"]} >= {
                "skill_match",
                "precedence",
            }

            # re-plan after changes: a new job whose plan keeps the completed task in place
            first = ok(await client.call_tool("get_plan", {"job_id": job_id}))["solution"]
            agent = first["assignments"]["schema"]
            start = first["schedule"][agent]["schema"][0]
            changes = [
                {"type": "complete_task", "task": "schema", "at": start + 2},
                {"type": "add_task", "task": {"id": "hotfix", "required_skills": ["python"]}},
            ]
            args = {"job_id": job_id, "changes": changes, "time_limit": 8, "wait_seconds": 10}
            again = ok(await client.call_tool("replan", args))
            if not again["done"]:  # a loaded machine: poll like any plan
                assert (await poll_done(client.call_tool, again["job_id"]))["state"] == "succeeded"
            second = ok(await client.call_tool("get_plan", {"job_id": again["job_id"]}))
            sol = second["solution"]
            assert sol["schedule"][agent]["schema"] == [start, start + 2]
            assert "hotfix" in sol["assignments"] and sol["disruption"]["unchanged"] >= 0
            bad = {"job_id": job_id, "changes": [{"type": "remove_task", "task": "nope"}]}
            body = tool_error(await client.call_tool("replan", bad))
            assert (body["code"], body["field"]) == ("invalid_change", "changes[0].task")

            # the pool is warm now: a small plan comes back directly within wait_seconds
            small = {**team, "tasks": team["tasks"][:3]}
            direct = ok(
                await client.call_tool(
                    "plan", {"problem": small, "time_limit": 8, "wait_seconds": 10}
                )
            )
            assert direct["done"] and direct["plan"]["kpis"]["feasible"], direct

            body = tool_error(await client.call_tool("cancel_plan", {"job_id": job_id}))
            assert (body["code"], body["field"]) == ("job_finished", "job_id")
            await bad_input(client.call_tool, team)

            backends = ok(await client.call_tool("list_backends", {}))["backends"]
            assert {"greedy", "cpsat"} <= {b["name"] for b in backends}

            schema = await client.read_resource(SCHEMA_URI)
            assert "agents" in json.loads(schema.contents[0].text)["properties"]  # type: ignore[union-attr]
            example = await client.read_resource(f"{EXAMPLES_URI}/team")
            assert json.loads(example.contents[0].text) == team  # type: ignore[union-attr]
            prompt = await client.get_prompt(
                "team_to_problem", {"description": "Ana writes Python; Bo tests it."}
            )
            text = prompt.messages[0].content.text  # type: ignore[union-attr]
            assert "Ana writes Python; Bo tests it." in text and "`plan`" in text

    anyio.run(main)
    assert TEAM.is_file()


def test_cancel_keeps_the_job_and_says_cancelled(tmp_path: Path) -> None:
    team = load_team()

    async def main() -> None:
        async with Client(_server(tmp_path), read_timeout_seconds=60) as client:
            started = ok(await client.call_tool("plan", {"problem": team, "time_limit": 30}))
            cancelled = ok(await client.call_tool("cancel_plan", {"job_id": started["job_id"]}))
            assert cancelled["state"] == "cancelled" and cancelled["done"]
            assert cancelled["error"]["code"] == "cancelled"
            status = ok(await client.call_tool("plan_status", {"job_id": started["job_id"]}))
            assert status["state"] == "cancelled"

    anyio.run(main)


def test_an_unusable_job_store_is_a_tool_error(tmp_path: Path) -> None:
    """In process (the SDK's in-memory transport): the server runs, each call says what to fix."""
    (tmp_path / "a-file").write_text("not a folder")
    server = stdio_server(database_url=f"sqlite:///{tmp_path / 'a-file' / 'x.db'}")

    async def main() -> None:
        async with Client(server) as client:
            body = tool_error(await client.call_tool("plan_status", {"job_id": "x"}))
            assert (body["code"], body["field"]) == ("configuration_error", "database_url")
            assert "QP_DATABASE_URL" in body["message"]

    anyio.run(main)
