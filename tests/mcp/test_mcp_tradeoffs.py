"""The trade-off tools (pareto, alternatives, get_tradeoffs) through the MCP SDK's client.

In process (the SDK's in-memory transport) over a real local job store and solver
pool: the plans come back valid, the front non-dominated with one knee, the
alternatives pairwise apart, and bad arguments as tool errors naming them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from quantum_planner.config import Settings
from quantum_planner.mcp.stdio import stdio_server
from quantum_planner.model import Problem, Solution
from quantum_planner.validate import validate
from tests.mcp.agent_helpers import TOOL_NAMES, Call, ok, tool_error

PROBLEM: dict[str, Any] = {
    "agents": [
        {"id": "a", "cost_rate": 1},
        {"id": "b", "cost_rate": 3},
        {"id": "c", "cost_rate": 2},
    ],
    "tasks": [{"id": f"t{i}", "duration": d} for i, d in enumerate([3, 2, 4, 1, 2, 3])],
    "objective": "minimize_cost",
}


async def _done(call: Call, first: dict[str, Any], timeout: float = 90.0) -> dict[str, Any]:
    out, deadline = first, time.monotonic() + timeout
    while not out["done"] and time.monotonic() < deadline:
        await anyio.sleep(0.3)
        out = ok(await call("get_tradeoffs", {"job_id": first["job_id"]}))
    return out


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def test_pareto_and_alternatives_tools(tmp_path: Path) -> None:
    settings = Settings(workers=1, max_time_limit=30, job_poll_interval=0.2)
    server = stdio_server(settings, database_url=f"sqlite:///{tmp_path / 'agents.db'}")
    problem = Problem.from_dict(PROBLEM)
    objectives = ["minimize_makespan", "minimize_cost"]

    async def main() -> None:
        async with Client(server, read_timeout_seconds=120) as client:
            call = client.call_tool
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOL_NAMES
            items = tools["pareto"].input_schema["properties"]["objectives"]["items"]
            assert "minimize_cost" in items["enum"]

            args = {"problem": PROBLEM, "objectives": objectives, "backend": "cpsat"}
            front = await _done(call, ok(await call("pareto", {**args, "time_limit": 5})))
            assert (front["kind"], front["state"]) == ("pareto", "succeeded"), front
            assert front["objectives"] == objectives and front["complete"] is True
            vectors = []
            for p in front["plans"]:
                sol = Solution.model_validate(p["solution"])
                assert validate(problem, sol) == []
                assert p["values"] == {o: sol.objectives[o] for o in objectives}
                assert p["kpis"]["objectives"] == sol.objectives
                vectors.append(tuple(p["values"][o] for o in objectives))
            assert len(vectors) >= 2
            assert not any(_dominates(a, b) for a in vectors for b in vectors)
            assert sum(p["knee"] for p in front["plans"]) == 1
            knee = next(p for p in front["plans"] if p["knee"])
            # the job's own plan (get_plan) is the knee
            assert (
                ok(await call("get_plan", {"job_id": front["job_id"]}))["solution"]
                == knee["solution"]
            )
            assert len({p["plan_id"] for p in front["plans"]}) == len(vectors)

            args = {"problem": PROBLEM, "k": 3, "min_distance": 2, "backend": "cpsat"}
            alts = await _done(call, ok(await call("alternatives", {**args, "wait_seconds": 10})))
            assert (alts["kind"], alts["state"]) == ("alternatives", "succeeded"), alts
            sols = [Solution.model_validate(p["solution"]) for p in alts["plans"]]
            assert [p["rank"] for p in alts["plans"]] == list(range(len(sols)))
            for i, sol in enumerate(sols):
                assert validate(problem, sol) == []
                for other in sols[:i]:
                    moved = sum(1 for t, a in sol.assignments.items() if other.assignments[t] != a)
                    assert moved >= 2
            assert alts["plans"][0]["distance"] == 0

            for name, bad, code, field in (
                ("pareto", {"objectives": ["minimize_cost"]}, "invalid_value", "objectives"),
                (
                    "pareto",
                    {"objectives": ["minimize_cost", "x"]},
                    "unknown_objective",
                    "objectives",
                ),
                (
                    "pareto",
                    {"objectives": objectives, "backend": "greedy"},
                    "unknown_backend",
                    "backend",
                ),
                ("alternatives", {"min_distance": 7}, "invalid_value", "min_distance"),
                ("alternatives", {"k": 0}, "invalid_request", "k"),
            ):
                body = tool_error(await call(name, {"problem": PROBLEM, **bad}))
                assert (body["code"], body["field"]) == (code, field), body
            plain = ok(await call("plan", {"problem": PROBLEM, "time_limit": 1}))
            body = tool_error(await call("get_tradeoffs", {"job_id": plain["job_id"]}))
            assert (body["code"], body["field"]) == ("job_not_found", "job_id")

    anyio.run(main)
