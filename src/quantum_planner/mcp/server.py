"""The MCP server: the planner's tools, resources and prompt on the official ``mcp`` SDK.

:func:`build_server` makes one :class:`mcp.server.MCPServer` for any transport;
what differs is how a call finds its :class:`~quantum_planner.mcp.ops.PlannerOps`
(the ``resolve`` argument): over stdio, one local job store; over HTTP, the
service's store, scoped to the API key that made the request.

Every tool returns structured content that matches its output schema, or a
tool error (``isError``) whose content is the HTTP API's error body
``{"code", "message", "field"}``: the field to fix, never a stack trace.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resources import FileResource
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError, WithJsonSchema

from quantum_planner import __version__
from quantum_planner.errors import PlannerError
from quantum_planner.mcp import resources as R
from quantum_planner.mcp.ops import PlannerOps, ToolFailure, error_body, invalid_arguments
from quantum_planner.mcp.tools import TOOLS, ToolSpec

OpsResolver = Callable[[Context], PlannerOps]
Lifespan = Callable[[MCPServer], AbstractAsyncContextManager[Any]]

log = logging.getLogger("quantum_planner.mcp")

INSTRUCTIONS = (
    "quantum-planner assigns tasks to agents (people or AI agents, with skills and capacity) "
    "and schedules them. Build a problem (see the prompt team_to_problem and the resource "
    f"{R.SCHEMA_URI}), call plan, poll plan_status until done, then get_plan; explain_plan "
    "says which constraints bind. Errors name the field to fix."
)


def build_server(resolve: OpsResolver, *, lifespan: Lifespan | None = None) -> MCPServer:
    """An MCP server whose tools run on the ops ``resolve(ctx)`` returns for each call."""
    server: MCPServer = MCPServer(
        "quantum-planner",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",  # the SDK configures the root logger; keep it quiet
    )
    for spec in TOOLS:
        _add_tool(server, spec, resolve)
    _add_resources(server)
    _add_prompt(server)
    return server


def tool_result(out: BaseModel) -> CallToolResult:
    """A successful call: the output as structured content, and as JSON text for older hosts."""
    return CallToolResult(
        content=[TextContent(type="text", text=out.model_dump_json())],
        structured_content=out.model_dump(mode="json"),
    )


def error_result(exc: PlannerError) -> CallToolResult:
    """A tool error (``isError``): the API's error body, as text and structured content."""
    body = error_body(exc)
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body))],
        structured_content=body,
        is_error=True,
    )


def run_tool(spec: ToolSpec, ops: PlannerOps, arguments: dict[str, Any]) -> CallToolResult:
    """Run one tool call to a result; a refused call becomes a tool error, never a traceback."""
    try:
        return tool_result(spec.call(ops, arguments))
    except ValidationError as e:
        return error_result(invalid_arguments(e))
    except PlannerError as e:
        return error_result(e)
    except Exception:  # a bug: logged here, a plain internal_error for the caller
        log.exception("tool %s failed", spec.name)
        return error_result(
            ToolFailure("internal_error", "the planner failed unexpectedly; the error is logged")
        )


def _add_tool(server: MCPServer, spec: ToolSpec, resolve: OpsResolver) -> None:
    async def call(ctx: Context, **arguments: Any) -> CallToolResult:
        try:
            ops = resolve(ctx)
        except PlannerError as e:  # e.g. the service is not ready yet
            return error_result(e)
        # database calls and the short wait of `plan` block: off the event loop
        return await anyio.to_thread.run_sync(functools.partial(run_tool, spec, ops, arguments))

    # The SDK derives the tool's schemas from the signature: one keyword parameter per field
    # of the input model, advertised with that field's exact JSON Schema but accepted as Any,
    # so the input model itself validates and a bad value gets the API's invalid_request
    # error naming the field (not the SDK's own validation message).
    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    annotations: dict[str, Any] = {"ctx": Context}
    props = spec.input.model_json_schema()["properties"]
    for name, f in spec.input.model_fields.items():
        ann = Annotated[Any, WithJsonSchema(props[name])]
        default = inspect.Parameter.empty if f.is_required() else f.default
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        )
        annotations[name] = ann
    ret = Annotated[CallToolResult, spec.output]
    call.__signature__ = inspect.Signature(params, return_annotation=ret)  # type: ignore[attr-defined]
    call.__annotations__ = {**annotations, "return": ret}
    call.__name__ = spec.name
    server.add_tool(
        call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=False,
            idempotent_hint=spec.read_only,
            open_world_hint=False,
        ),
    )


def _add_resources(server: MCPServer) -> None:
    static = (
        (R.SCHEMA_URI, "problem-schema", "Problem JSON Schema", R.problem_schema,
         "JSON Schema of the `problem` argument of plan.", "application/schema+json"),
        (R.SOLUTION_SCHEMA_URI, "solution-schema", "Solution JSON Schema", R.solution_schema,
         "JSON Schema of `solution` in get_plan's result.", "application/schema+json"),
        (R.EXAMPLES_URI, "examples", "Example problems", R.examples_index,
         "Index of the example problems shipped with quantum-planner.", "application/json"),
    )  # fmt: skip
    for uri, name, title, read, description, mime in static:
        server.resource(uri, name=name, title=title, description=description, mime_type=mime)(read)
    for name, path in R.example_files().items():
        server.add_resource(
            FileResource(
                uri=f"{R.EXAMPLES_URI}/{name}",
                name=f"example-{name}",
                title=f"Example problem: {name}",
                description=f"examples/{path.name}: a problem to pass to plan as `problem`.",
                mime_type="application/json",
                path=path,
            )
        )


def _add_prompt(server: MCPServer) -> None:
    @server.prompt(
        name="team_to_problem",
        title="Plan a team's work",
        description="Turns a plain-language description of a team (people or agents, their "
        "skills) and its work into a quantum-planner problem, then plans it.",
    )
    def team_to_problem(description: str) -> str:
        return R.team_prompt(description)
