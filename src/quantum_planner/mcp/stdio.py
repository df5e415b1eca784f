"""``quantum-planner mcp``: the MCP server over stdio, for local agent hosts.

The SDK's stdio transport points file descriptor 1 at stderr while it serves,
so the solver processes (started in the server's lifespan, after that) can
never write into the protocol stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from mcp.server import MCPServer

from quantum_planner.config import Settings
from quantum_planner.errors import PlannerError
from quantum_planner.mcp.local import LocalPlanner, log
from quantum_planner.mcp.server import build_server


def stdio_server(settings: Settings | None = None, *, database_url: str | None = None) -> MCPServer:
    """The server with its own local job store and runner (started with the session)."""
    planner = LocalPlanner(settings, database_url=database_url)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[LocalPlanner]:
        try:
            # start now so the solver pool warms up before the first call
            await anyio.to_thread.run_sync(planner.start)
        except PlannerError as e:  # keep serving: every tool call reports it, field and all
            log.error("the planner did not start: error[%s]: %s", e.code, e.message)
        try:
            yield planner
        finally:
            await anyio.to_thread.run_sync(planner.stop)

    return build_server(lambda _ctx: planner.ops(), lifespan=lifespan)


def run(settings: Settings | None = None, *, database_url: str | None = None) -> None:
    """Serve over stdin/stdout until the host closes the stream."""
    stdio_server(settings, database_url=database_url).run("stdio")
