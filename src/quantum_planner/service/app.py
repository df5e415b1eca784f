"""The FastAPI application factory.

``create_app(settings)`` builds an app that owns its database, metrics
registry, logger, rate limiter and job runner (nothing global), so tests and
replicas are independent. Start-up applies the migrations, hands the backend
switches' store to the backends layer and starts the runner (which first
recovers jobs a crash left running).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantum_planner import __version__
from quantum_planner.config import Settings, get_settings
from quantum_planner.errors import ConfigurationError
from quantum_planner.jobs.base import JobRunner
from quantum_planner.service import errors, openapi
from quantum_planner.service.backends import BackendOps
from quantum_planner.service.deps import ServiceState
from quantum_planner.service.limits import BodySizeLimit, RateLimiter
from quantum_planner.service.logging import make_logger, request_id_var
from quantum_planner.service.metrics import Metrics
from quantum_planner.service.routes import admin, health, jobs
from quantum_planner.store import Database


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
        from quantum_planner.jobs.celery_app import CeleryJobRunner

        return CeleryJobRunner
    raise ConfigurationError(
        f"QP_JOB_RUNNER must be 'local' or 'celery', got {name!r}", field="job_runner"
    )


def create_app(
    settings: Settings | None = None,
    *,
    registry: CollectorRegistry | None = None,
    logger: logging.Logger | None = None,
    runner: JobRunner | None = None,
    start_runner: bool = True,
    solve_entry: str | None = None,
) -> FastAPI:
    """Build the service.

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
        backends=BackendOps(db),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.migrate()
        if state.backends.install_store():
            log.info("backend switches are stored in the database")
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
    errors.install(app, log, lambda kind: metrics.errors.labels(kind=kind).inc())
    openapi.install(app, settings, backend_names=state.backends.names)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(admin.router)
    # outermost last: RequestLog sees every response, including 413s from the size limit
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        on_refuse=lambda kind: metrics.errors.labels(kind=kind).inc(),
    )
    app.add_middleware(RequestLog, state=state)
    return app
