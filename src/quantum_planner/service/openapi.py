"""The OpenAPI document, with the limits this server enforces written into it.

The request models cannot know the server's settings, so the document is
patched here from the same values the routes check (``limits.time_limit_max``,
``limits.backend_choices``, the size settings, the backend switches' names):
what the document promises and what the server does cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from quantum_planner.config import Settings
from quantum_planner.planner import TRADEOFF_BACKENDS
from quantum_planner.service.limits import backend_choices, time_limit_max

__all__ = ["install", "with_limits"]


def install(app: FastAPI, settings: Settings, backend_names: Callable[[], list[str]]) -> None:
    """Make ``app.openapi()`` return the document with this server's limits (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            app.openapi_schema = with_limits(doc, settings, backend_names)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_limits(
    doc: dict[str, Any], settings: Settings, backend_names: Callable[[], list[str]]
) -> dict[str, Any]:
    """``doc`` with the time limits, backend names and size limits of ``settings``."""
    schemas = doc.get("components", {}).get("schemas", {})
    default = settings.default_time_limit
    # trade-offs run on fewer backends than a solve (quantum_planner.tradeoffs.pareto.BACKENDS)
    tradeoff_backends = list(TRADEOFF_BACKENDS)
    for name, sync, backends in (
        ("OptimizeRequest", True, backend_choices()),
        ("JobRequest", False, backend_choices()),
        ("ParetoRequest", False, tradeoff_backends),
        ("AlternativesRequest", False, tradeoff_backends),
    ):
        props = schemas.get(name, {}).get("properties", {})
        maximum = time_limit_max(settings, sync=sync)
        number = _branch(props.get("time_limit"), "number")
        if number is not None:
            number["maximum"] = maximum
            props["time_limit"]["default"] = min(default, maximum)
        text = _branch(props.get("backend"), "string")
        if text is not None:
            text["enum"] = backends
    distance = _branch(
        schemas.get("AlternativesRequest", {}).get("properties", {}).get("min_distance"), "integer"
    )
    if distance is not None:  # at most the task count, so at most the largest problem's
        distance["maximum"] = settings.max_tasks
    problem = schemas.get("Problem", {}).get("properties", {})
    for key, limit in (("agents", settings.max_agents), ("tasks", settings.max_tasks)):
        if key in problem:
            problem[key]["maxItems"] = limit
    _path_enum(doc, "/api/backends/{name}", "name", backend_names)
    for path in doc.get("paths", {}).values():
        for op in path.values():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if body is not None:
                body["x-max-body-bytes"] = settings.max_body_bytes
                body["description"] = f"JSON (UTF-8), at most {settings.max_body_bytes} bytes."
            too_large = op.get("responses", {}).get("413") if isinstance(op, dict) else None
            if too_large is not None:
                too_large["description"] = (
                    f"Body over {settings.max_body_bytes} bytes (`body_too_large`), or more "
                    f"than {settings.max_agents} agents / {settings.max_tasks} tasks "
                    "(`too_many_agents`, `too_many_tasks`)."
                )
    return doc


def _branch(prop: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """The ``kind`` member of an optional property (``anyOf: [{type: kind}, {type: null}]``)."""
    if prop is None:
        return None
    if prop.get("type") == kind:
        return prop
    return next((b for b in prop.get("anyOf", []) if b.get("type") == kind), None)


def _path_enum(doc: dict[str, Any], path: str, param: str, names: Callable[[], list[str]]) -> None:
    ops = doc.get("paths", {}).get(path, {})
    params = [p for op in ops.values() for p in op.get("parameters", []) if p["name"] == param]
    if not params:
        return
    try:
        known = names()
    except ImportError:  # the backends layer is not installed: leave the parameter open
        return
    for p in params:
        p["schema"]["enum"] = sorted(known)
