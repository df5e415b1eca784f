"""Every error leaves the service as JSON: ``{code, message, field, details, request_id}``.

:class:`~quantum_planner.errors.PlannerError` subclasses map to HTTP statuses
here (:func:`status_for`); request validation failures become 422 with the
field at fault; anything unexpected becomes a 500 ``internal_error`` with no
stack trace in the response (the trace goes to the log, and the error is
counted).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from quantum_planner import errors as E
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
            logger.error("%s: %s", exc.code, exc.message, extra={"error": exc.code})
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
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        field = ".".join(loc) or None
        msg = first.get("msg", "invalid request")
        if first.get("type") == "json_invalid":
            field, msg = "body", f"the body is not valid JSON ({msg})"
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
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        count_error(code)
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path}; see /docs for the API"
        return error_response(exc.status_code, code, message, headers=exc.headers)

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
        400: "Bad request.",
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
