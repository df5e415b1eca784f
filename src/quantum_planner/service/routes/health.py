"""Liveness, readiness and metrics: no authentication (probes and scrapers call them)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from quantum_planner.service.deps import ServiceState, get_state
from quantum_planner.service.schemas import Check, Health
from quantum_planner.store import repositories as repo

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Health:
    # no I/O: a slow database must not make the orchestrator restart healthy pods
    return Health(status="ok", checks={"process": Check(ok=True)})


def _backend_health(state: ServiceState, wait: bool = True) -> dict[str, dict]:
    """Backend health (the background snapshot), mirrored in backend_up."""
    status = state.backends.health(wait=wait)
    m = state.metrics
    for name, s in status.items():
        m.backend_up.labels(backend=name).set(1 if s["enabled"] and s["healthy"] else 0)
        m.backend_enabled.labels(backend=name).set(1 if s["enabled"] else 0)
        detail = s.get("detail")
        # a backend without credentials or its extra is not "down": the alert skips it
        unconfigured = isinstance(detail, dict) and detail.get("status") == "unconfigured"
        m.backend_configured.labels(backend=name).set(0 if unconfigured else 1)
        circuit = detail.get("circuit") if isinstance(detail, dict) else None
        if circuit is not None:
            m.breaker_open.labels(backend=name).set(0 if circuit == "closed" else 1)
    return status


def readiness(state: ServiceState) -> tuple[bool, dict[str, Check]]:
    """Database reachable and at least one enabled, healthy backend."""
    checks: dict[str, Check] = {}
    try:
        state.db.ping()
        checks["database"] = Check(ok=True, detail=state.db.dialect)
    except Exception as e:
        checks["database"] = Check(ok=False, detail=f"{type(e).__name__}: database unreachable")
    try:
        status = _backend_health(state)
        usable = sorted(n for n, s in status.items() if s["enabled"] and s["healthy"])
        checks["backends"] = Check(
            ok=bool(usable),
            detail={"usable": usable, "backends": status} if usable else {"backends": status},
        )
    except Exception as e:
        checks["backends"] = Check(ok=False, detail=f"{type(e).__name__}: {e}")
    runner = state.runner
    checks["workers"] = Check(ok=runner is not None, detail=getattr(runner, "capacity", 0))
    return all(c.ok for c in checks.values()), checks


@router.get(
    "/health/ready",
    response_model=Health,
    summary="Readiness: database and at least one enabled healthy backend",
    responses={503: {"model": Health, "description": "Not ready; see the failing checks."}},
)
def ready(state: ServiceState = Depends(get_state)) -> JSONResponse:
    ok, checks = readiness(state)
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def metrics(state: ServiceState = Depends(get_state)) -> Response:
    try:
        with state.db.session() as s:
            for st, n in repo.job_counts(s).items():
                state.metrics.jobs.labels(state=st).set(n)
    except Exception:  # a scrape must still answer when the database is down
        state.logger.warning("metrics: cannot count jobs (database unreachable)")
    with contextlib.suppress(Exception):
        state.metrics.workers.set(int(getattr(state.runner, "capacity", 0) or 0))
    # no backends layer: backend_up stays empty, and readiness says why
    with contextlib.suppress(Exception):
        _backend_health(state, wait=False)  # a scrape never waits for probes
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")
