"""The planner's agent tools as LangChain ``StructuredTool``s (extra ``langchain``: langchain-core).

::

    from quantum_planner.integrations.langchain import planner_tools

    tools = {t.name: t for t in planner_tools()}
    result = tools["plan"].invoke({"problem": problem_dict, "wait_seconds": 5})

The tools are the MCP server's (same names, input schemas and results), run in
this process on a :class:`~quantum_planner.mcp.local.LocalPlanner`: a job store
(``QP_DATABASE_URL``, else a SQLite file in the user's data folder) and a local
solver pool, started on the first call and stopped at exit. A refused call
returns the API's error body ``{"code", "message", "field"}`` as the tool's
output (``handle_tool_error``), so an agent can read the field and retry.
"""

from __future__ import annotations

import atexit
import json
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from pydantic import ValidationError

from quantum_planner.config import Settings
from quantum_planner.errors import PlannerError
from quantum_planner.mcp.local import LocalPlanner
from quantum_planner.mcp.ops import error_body, invalid_arguments
from quantum_planner.mcp.tools import TOOLS, ToolSpec

__all__ = ["planner_tools"]


def planner_tools(
    *,
    planner: LocalPlanner | None = None,
    settings: Settings | None = None,
    database_url: str | None = None,
) -> list[StructuredTool]:
    """Every agent tool (:data:`quantum_planner.mcp.tools.TOOLS`: plan, replan, pareto, ...).

    ``planner``: share one planner between tool lists (default: a new one, from
    ``settings`` and ``database_url``, stopped at interpreter exit).
    """
    if planner is None:
        planner = LocalPlanner(settings, database_url=database_url)
        atexit.register(planner.stop)
    return [_tool(spec, planner) for spec in TOOLS]


def _validation_error(exc: ValidationError) -> str:
    return json.dumps(error_body(invalid_arguments(exc)))


def _tool(spec: ToolSpec, planner: LocalPlanner) -> StructuredTool:
    def run(**arguments: Any) -> dict[str, Any]:
        try:
            return spec.call(planner.ops(), arguments).model_dump(mode="json")
        except ValidationError as e:
            raise ToolException(_validation_error(e)) from None
        except PlannerError as e:
            raise ToolException(json.dumps(error_body(e))) from None

    return StructuredTool.from_function(
        func=run,
        name=spec.name,
        description=spec.description,
        args_schema=spec.input,
        handle_tool_error=True,
        handle_validation_error=_validation_error,
    )
