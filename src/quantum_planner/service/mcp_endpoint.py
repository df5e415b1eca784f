"""The MCP server inside the HTTP service, at ``/mcp`` (streamable HTTP), behind the API keys.

Each request is authenticated and rate limited exactly like ``/api/*`` (bearer
key, 401 ``unauthenticated``/``invalid_key``, 429), and its tools act for that
key: a client key sees its own jobs, an admin key every job. The transport is
stateless with JSON responses, so any replica can answer any request and jobs
live in the shared store, solved by the service's own runner.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from quantum_planner.errors import ConfigurationError
from quantum_planner.mcp.ops import Owner, PlannerOps
from quantum_planner.mcp.server import build_server
from quantum_planner.service.auth import Caller, find_caller
from quantum_planner.service.deps import ServiceState
from quantum_planner.service.errors import APIError, error_response

PATH = "/mcp"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class MCPEndpoint:
    """ASGI endpoint: authenticate, then hand the request to the SDK's session manager."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self.server = build_server(self._ops)
        # the session manager is created with the app; DNS-rebinding checks are off because
        # every request needs a bearer key, which a browser never sends cross-site on its own
        self.server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self.manager = self.server.session_manager

    def run(self) -> AbstractAsyncContextManager[None]:
        """The session manager's lifetime; the app's lifespan enters it."""
        return self.manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            caller = await anyio.to_thread.run_sync(find_caller, self.state, _bearer(scope))
            scope.setdefault("state", {})["caller"] = caller  # the request log names the key
            self.state.limiter.check(caller.key_id)
        except APIError as e:
            self.state.metrics.errors.labels(kind=e.code).inc()
            response = error_response(
                e.status, e.code, e.message, field=e.field, details=e.details, headers=e.headers
            )
            await response(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)

    def _ops(self, ctx: Context) -> PlannerOps:
        request: Any = ctx.request_context.request
        caller = getattr(getattr(request, "state", None), "caller", None)
        if not isinstance(caller, Caller):  # only reachable if the endpoint was bypassed
            raise ConfigurationError("the MCP request carries no authenticated API key")
        owner = Owner(key_id=caller.key_id, is_admin=caller.is_admin)
        return PlannerOps(self.state.db, self.state.settings, self.state.runner, owner)


def mount(app: Any, state: ServiceState) -> MCPEndpoint:
    """Serve the MCP server at ``/mcp`` of ``app``; enter ``.run()`` in the app's lifespan."""
    endpoint = MCPEndpoint(state)
    app.add_route(PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    return endpoint
