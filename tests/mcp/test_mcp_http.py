"""The service's /mcp endpoint on a live uvicorn server (loopback): keys, roles, the same tools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.mcp.agent_helpers import (
    TOOL_NAMES,
    bad_input,
    load_team,
    ok,
    plan_roundtrip,
    tool_error,
)
from tests.service.conftest import Server, create_key

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("mcp-http")
    server = Server(f"sqlite:///{tmp / 'qp.db'}", tmp, QP_WORKERS="1").start()
    keys = {
        "alice": create_key(server.db_url, "client"),
        "bob": create_key(server.db_url, "client"),
        "admin": create_key(server.db_url, "admin"),
    }
    try:
        yield server, keys
    finally:
        server.stop()


def _client(server: Server, key: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return Client(streamable_http_client(f"{server.url}/mcp", http_client=http))


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": "Bearer not-a-key"}, "invalid_key"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "unauthenticated"),
    ],
)
def test_no_valid_key_is_refused(
    service: tuple[Server, dict[str, str]], headers: dict[str, str], code: str
) -> None:
    server, _ = service
    r = httpx.post(
        f"{server.url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=30
    )
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert (r.json()["code"], r.json()["field"]) == (code, "Authorization")


def test_a_key_is_accepted(service: tuple[Server, dict[str, str]]) -> None:
    server, keys = service
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {keys['alice']}"}
    r = httpx.post(f"{server.url}/mcp", json=INITIALIZE, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["result"]["serverInfo"]["name"] == "quantum-planner"


def test_same_calls_over_http_scoped_to_the_key(service: tuple[Server, dict[str, str]]) -> None:
    server, keys = service
    team = load_team()
    found: dict[str, Any] = {}

    async def main() -> None:
        async with _client(server, keys["alice"]) as alice:
            assert {t.name for t in (await alice.list_tools()).tools} == TOOL_NAMES
            found["job"] = job_id = await plan_roundtrip(alice.call_tool, team)
            explained = ok(await alice.call_tool("explain_plan", {"job_id": job_id}))
            assert explained["feasible"]
            await bad_input(alice.call_tool, team)
        async with _client(server, keys["bob"]) as bob:
            # another client key: alice's job does not exist for bob
            body = tool_error(await bob.call_tool("get_plan", {"job_id": found["job"]}))
            assert (body["code"], body["field"]) == ("job_not_found", "job_id")
        async with _client(server, keys["admin"]) as admin:
            assert ok(await admin.call_tool("plan_status", {"job_id": found["job"]}))["done"]

    anyio.run(main)
    # the job is the service's own: the REST API shows it to alice
    with server.client(keys["alice"]) as rest:
        job = rest.get(f"/api/jobs/{found['job']}").json()
        assert job["state"] == "succeeded" and job["solution"]["feasible"]
