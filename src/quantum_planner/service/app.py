"""The FastAPI application factory.

``create_app(settings)`` builds an app that owns its database, metrics
registry, logger, rate limiter, job runner and backend context (nothing global),
so tests and replicas are independent. The backend context keeps its switches in
the database, where every replica, solver process and worker reads them. Start-up
applies the migrations and starts the runner (which first recovers jobs a crash
left running). With the ``mcp`` extra, the MCP server for agents is served at
``/mcp`` behind the same API keys.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantum_planner import __version__
from quantum_planner.backends import BackendContext
from quantum_planner.config import Settings, get_settings
from quantum_planner.errors import ConfigurationError
from quantum_planner.jobs.base import JobRunner
from quantum_planner.service import errors, openapi
from quantum_planner.service.backends import BackendOps
from quantum_planner.service.deps import ServiceState
from quantum_planner.service.limits import BodySizeLimit, RateLimiter
from quantum_planner.service.logging import make_logger, request_id_var
from quantum_planner.service.metrics import Metrics
from quantum_planner.service.routes import (
    admin,
    events,
    examples,
    health,
    jobs,
    plans,
    tradeoffs,
)
from quantum_planner.store import Database

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class RequestLog:
    """Request id, metrics and one JSON log line per request (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        t0 = time.perf_counter()
        status = 500

        async def send_wrapper(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                msg.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(msg)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # path_format: the template without convertors ("/api/backends/{name}")
            template = getattr(route, "path_format", None) or "unmatched"
            dt = time.perf_counter() - t0
            m = self.state.metrics
            m.requests.labels(route=template, status=str(status)).inc()
            m.request_duration.labels(route=template).observe(dt)
            req_state = scope.get("state", {})
            caller = getattr(req_state.get("caller"), "key_id", None)
            # ERROR only for our faults (500); a refused request, a backend that refuses or
            # is not configured (502), none free (503) or a solve out of time (504) is expected
            level = (
                logging.ERROR
                if status == 500
                else logging.WARNING
                if status >= 400
                else logging.INFO
            )
            self.state.logger.log(
                level,
                "%s %s %s",
                scope.get("method"),
                template,
                status,
                extra={
                    "request_id": rid,
                    "route": template,
                    "method": scope.get("method"),
                    "status": status,
                    "duration_ms": round(dt * 1000, 2),
                    "client": caller,
                    "backend": req_state.get("backend"),
                },
            )
            request_id_var.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            v = value.decode("latin-1")[:64]
            if v.replace("-", "").isalnum():
                return v
    return uuid.uuid4().hex


def _runner_class(name: str) -> type:
    """The JobRunner class that ``QP_JOB_RUNNER`` names."""
    if name == "local":
        from quantum_planner.jobs.runner import LocalJobRunner

        return LocalJobRunner
    if name == "celery":
        from quantum_planner.jobs.celery_runner import CeleryJobRunner

        return CeleryJobRunner
    raise ConfigurationError(
        f"QP_JOB_RUNNER must be 'local' or 'celery', got {name!r}", field="job_runner"
    )


def _mount_mcp(app: FastAPI, state: ServiceState) -> Callable[[], AbstractAsyncContextManager[Any]]:
    """Serve the MCP server at ``/mcp`` when the ``mcp`` extra is installed; its lifetime."""
    try:
        from quantum_planner.service.mcp_endpoint import mount
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] != "mcp":
            raise
        # the SDK is an optional extra: the REST API serves without it
        state.logger.info("no MCP endpoint at /mcp: %s (install quantum-planner[mcp])", e)
        return contextlib.nullcontext
    return mount(app, state).run


def create_app(
    settings: Settings | None = None,
    *,
    registry: CollectorRegistry | None = None,
    logger: logging.Logger | None = None,
    runner: JobRunner | None = None,
    start_runner: bool = True,
    solve_entry: str | None = None,
    context: BackendContext | None = None,
) -> FastAPI:
    """Build the service.

    ``context``: the backends the API lists, switches and probes (default: one whose
    switches are this database's ``backend_state`` table; pass one that stores them there
    too, or replicas and workers will not see its switches).
    ``runner``: a :class:`JobRunner` to use instead of the local process pool;
    ``start_runner=False`` serves the API without solving (jobs stay queued);
    ``solve_entry``: ``"module:function"`` the local runner's workers call.
    """
    settings = settings or get_settings()
    metrics = Metrics(registry)
    log = logger or make_logger(level=settings.log_level, log_file=settings.log_file)
    db = Database(settings.database_url)
    state = ServiceState(
        settings=settings,
        db=db,
        metrics=metrics,
        logger=log,
        limiter=RateLimiter(settings.rate_limit_per_minute, metrics.rate_limited.inc),
        backends=BackendOps(db, context=context, settings=settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.migrate()
        log.info("backend switches: %s", state.backends.context.state_location)
        if runner is not None:
            state.runner = runner
        elif start_runner:
            kwargs: dict[str, Any] = {"observer": metrics.observe_solve, "logger": log}
            if solve_entry or settings.solve_entry:
                kwargs["entry"] = solve_entry or settings.solve_entry
            state.runner = _runner_class(settings.job_runner)(db, settings, **kwargs)
        if state.runner is not None:
            state.runner.start()
        state.backends.start()
        log.info(
            "quantum-planner %s ready (database %s, %s workers)",
            __version__,
            db.dialect,
            getattr(state.runner, "capacity", 0),
        )
        try:
            async with mcp_run():
                yield
        finally:
            state.backends.close()
            if state.runner is not None:
                state.runner.stop()
            db.dispose()
            log.info("quantum-planner stopped")

    app = FastAPI(
        title="quantum-planner",
        version=__version__,
        summary="Assign and schedule tasks: synchronous solves, async jobs, plan analysis.",
        lifespan=lifespan,
    )
    app.state.qp = state
    mcp_run = _wire(app, state)
    return app


def _wire(app: FastAPI, state: ServiceState) -> Any:
    """Error handlers, OpenAPI, routers, the MCP mount, the web view and middleware, in the
    order they must be added; the MCP session manager's runner for the lifespan."""
    metrics = state.metrics
    errors.install(app, state.logger, lambda kind: metrics.errors.labels(kind=kind).inc())
    openapi.install(app, state.settings, backend_names=state.backends.names)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(events.router)
    app.include_router(plans.router)
    app.include_router(tradeoffs.router)
    app.include_router(admin.router)
    app.include_router(examples.router)
    mcp_run = _mount_mcp(app, state)
    # the web view (static files in the package), mounted after every API route
    app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")
    # outermost last: RequestLog sees every response, including 413s from the size limit
    app.add_middleware(
        BodySizeLimit,
        max_bytes=state.settings.max_body_bytes,
        on_refuse=lambda kind: metrics.errors.labels(kind=kind).inc(),
    )
    app.add_middleware(RequestLog, state=state)
    return mcp_run
