"""Every error leaves the service as JSON: ``{code, message, field, details, request_id}``.

:class:`~quantum_planner.errors.PlannerError` subclasses map to HTTP statuses
here (:func:`status_for`); request validation failures become 422 with the
field at fault; anything unexpected becomes a 500 ``internal_error`` with no
stack trace in the response (the trace goes to the log, and the error is
counted).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from quantum_planner import errors as E
from quantum_planner.bounds import field_path
from quantum_planner.service.logging import request_id_var


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str = Field(description="Stable, machine-readable error code.")
    message: str = Field(description="What went wrong and what to change.")
    field: str | None = Field(None, description="The request field at fault, if any.")
    details: dict[str, Any] | None = None
    request_id: str | None = Field(None, description="Quote it when reporting a problem.")


class APIError(Exception):
    """An HTTP error raised by the service itself (auth, limits, not found...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.headers, self.details = field, headers, details


# most specific first
_STATUS: list[tuple[type[E.PlannerError], int]] = [
    (E.CorruptedDataError, 500),
    (E.ProblemError, 422),
    (E.InfeasibleProblemError, 422),
    (E.FormatError, 422),
    (E.UnknownBackendError, 422),
    (E.CredentialsError, 502),
    (E.BackendUnavailableError, 503),
    (E.TransientBackendError, 503),
    (E.BackendError, 502),
    (E.SolveTimeoutError, 504),
    (E.SolverError, 500),
    (E.ConfigurationError, 500),
]


def status_for(exc: E.PlannerError) -> int:
    """HTTP status of a planner error (400 for an unknown caller-side PlannerError)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        code=code, message=message, field=field, details=details, request_id=request_id_var.get()
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in details.items():
        out[k] = v if isinstance(v, str | int | float | bool | list | type(None)) else str(v)
    return out


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def _printable(text: str, limit: int = 100) -> str:
    """``text`` safe to echo: non-printable characters escaped, at most ``limit`` of them."""
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("..." if len(text) > limit else "")


def _missing_body(request: Request) -> tuple[str, str]:
    """Field and message for a request whose body is missing: name what it must hold."""
    route = request.scope.get("route")
    model = getattr(getattr(route, "body_field", None), "field_info", None)
    model = getattr(model, "annotation", None)
    fields = getattr(model, "model_fields", {})
    required = [n for n, f in fields.items() if f.is_required()]
    optional = [n for n in fields if n not in required]
    if not required:
        return "body", "the request has no JSON body; send one"
    more = f" (and optionally {', '.join(optional)})" if optional else ""
    return required[0], (
        f"the request has no JSON body; send an object with {', '.join(required)}{more}"
    )


def allowed_methods(request: Request) -> list[str]:
    """The methods the app serves at the request's path (the 405 ``Allow`` header).

    Starlette answers with the methods of the first route whose pattern matches, so
    ``/api/backends/test-credentials`` would say ``PUT`` (from ``/{name}``). A route
    without path parameters that matches is the one meant; only without one do the
    parameterised routes count.
    """
    path = request.scope.get("path", "")
    static: set[str] = set()
    templated: set[str] = set()
    for route in _flat_routes(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        methods = getattr(route, "methods", None)
        if regex is None or not methods or not regex.match(path):
            continue
        (templated if getattr(route, "param_convertors", None) else static).update(methods)
    return sorted(static or templated)


def _flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, with the routers FastAPI includes (``include_router``) opened up."""
    for route in routes:
        inner = getattr(route, "effective_route_contexts", None)
        if callable(inner):
            yield from _flat_routes(inner())
        else:
            yield route


def install(app: FastAPI, logger: logging.Logger, count_error: Any) -> None:
    """Register the exception handlers; ``count_error(kind)`` increments the errors metric."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        count_error(exc.code)
        return error_response(
            exc.status,
            exc.code,
            exc.message,
            field=exc.field,
            details=exc.details,
            headers=exc.headers,
        )

    @app.exception_handler(E.PlannerError)
    async def _planner_error(request: Request, exc: E.PlannerError) -> JSONResponse:
        status = status_for(exc)
        count_error(exc.code)
        if status >= 500:
            # ERROR is for faults of ours (500); a backend refusing, busy or out of time is not
            level = logging.ERROR if status == 500 else logging.WARNING
            logger.log(level, "%s: %s", exc.code, exc.message, extra={"error": exc.code})
        retry = exc.details.get("retry_after")
        return error_response(
            status,
            exc.code,
            exc.message,
            field=exc.field,
            details=_jsonable(exc.details) or None,
            headers={"Retry-After": str(retry)} if status == 503 and retry else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [x for x in first.get("loc", ()) if x not in ("body", "query", "path", "header")]
        field = field_path(loc) or None
        msg = first.get("msg", "invalid request")
        if first.get("type") == "json_invalid":
            field, msg = "body", f"the body is not valid JSON ({msg})"
        elif field is None and first.get("type") == "missing":
            field, msg = _missing_body(request)
        count_error("invalid_request")
        return error_response(
            422,
            "invalid_request",
            f"{field + ': ' if field else ''}{msg}",
            field=field,
            details={"errors": len(errs)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        count_error(code)
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = exc.headers
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {_printable(request.url.path)}; see /docs for the API"
        elif exc.status_code == 405:
            allow = allowed_methods(request)
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
            message = f"{request.method} is not allowed here; use {' or '.join(allow)}"
        elif exc.status_code == 400:
            message = "the request body could not be read as JSON; send a JSON object"
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        count_error("internal_error")
        logger.exception("unhandled error on %s", request.url.path, extra={"error": "internal"})
        return error_response(
            500,
            "internal_error",
            "the server failed unexpectedly; the error is logged with this request id",
        )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries (all with :class:`ErrorBody`) for ``statuses``."""
    text = {
        400: "The body is not UTF-8 (`invalid_encoding`) or could not be read (`bad_request`).",
        401: "Missing or invalid API key (send `Authorization: Bearer <key>`).",
        403: "The key's role may not use this route (admin needed).",
        404: "Not found (or not yours).",
        409: "Conflict with the resource's state.",
        410: "Gone: the job already finished and the stream has nothing after Last-Event-ID.",
        413: "Request body, or the problem in it, too large.",
        422: "Invalid request or problem; `field` names what to change.",
        429: "Rate limit exceeded; retry after `Retry-After` seconds.",
        500: "Server error, or stored data failed its integrity check (`corrupted`).",
        502: "A backend refused the request (e.g. bad credentials).",
        503: "No backend or solver process free now; retry after `Retry-After` seconds.",
        504: "No plan within the time limit.",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}
