"""planner_tools(): LangChain StructuredTools invoked with dicts, as agent executors call them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.tools import StructuredTool

from quantum_planner.config import Settings
from quantum_planner.integrations.langchain import planner_tools
from quantum_planner.mcp.local import LocalPlanner
from quantum_planner.model import Problem, Solution
from quantum_planner.validate import validate
from tests.mcp.agent_helpers import TOOL_NAMES, broken, load_team


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, StructuredTool]]:
    tmp = tmp_path_factory.mktemp("langchain")
    planner = LocalPlanner(Settings(workers=1), database_url=f"sqlite:///{tmp / 'agents.db'}")
    try:
        yield {t.name: t for t in planner_tools(planner=planner)}
    finally:
        planner.stop()


def test_tools_are_structured_tools_with_the_mcp_schemas(tools: dict[str, StructuredTool]) -> None:
    assert set(tools) == TOOL_NAMES
    assert all(isinstance(t, StructuredTool) for t in tools.values())
    schema = tools["plan"].tool_call_schema.model_json_schema()
    assert schema["required"] == ["problem"]
    assert schema["properties"]["wait_seconds"]["maximum"] == 10


def test_plan_invoked_with_a_dict_returns_the_plan(tools: dict[str, StructuredTool]) -> None:
    team = load_team()
    out: dict[str, Any] = tools["plan"].invoke(
        {"problem": team, "time_limit": 30, "wait_seconds": 10}
    )
    assert isinstance(out, dict) and out["job_id"]
    if not out["done"]:  # a cold solver pool on a busy machine: poll as the agent is told to
        deadline = time.monotonic() + 120
        while not tools["plan_status"].invoke({"job_id": out["job_id"]})["done"]:
            assert time.monotonic() < deadline
            time.sleep(0.3)
        out["plan"] = tools["get_plan"].invoke({"job_id": out["job_id"]})
    plan = out["plan"]
    assert plan["state"] == "succeeded"
    assert validate(Problem.from_dict(team), Solution.model_validate(plan["solution"])) == []
    assert tools["validate_plan"].invoke({"job_id": out["job_id"]})["valid"] is True


def test_errors_come_back_as_the_api_body(tools: dict[str, StructuredTool]) -> None:
    body = json.loads(tools["plan"].invoke({"problem": broken(load_team())}))
    assert (body["code"], body["field"]) == ("invalid_value", "problem.tasks[2].duration")
    body = json.loads(tools["plan"].invoke({"problem": load_team(), "wait_seconds": -1}))
    assert (body["code"], body["field"]) == ("invalid_request", "wait_seconds")
    body = json.loads(tools["explain_plan"].invoke({"job_id": "missing"}))
    assert body["code"] == "job_not_found"


def test_validate_plan_inline(tools: dict[str, StructuredTool]) -> None:
    team = load_team()
    first = team["tasks"][0]["id"]
    bad = {"assignments": {first: "carol"}, "schedule": {"carol": {first: [0, 3]}}}
    out = tools["validate_plan"].invoke({"problem": team, "solution": bad})
    assert out["valid"] is False
    assert "skill_match" in {v["constraint"] for v in out["violations"]}
