"""Trade-offs as jobs: ``POST /api/pareto`` (a Pareto front) and ``POST /api/alternatives``.

Both queue an ordinary job (``GET /api/jobs/{id}`` and its events work as for a
solve; its final plan is the front's knee or the best alternative); these routes
add the arguments and read the result back with every plan, each of which opens
as a living plan (``GET /api/plans/{plan_id}``, re-planned with ``.../changes``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from quantum_planner.jobs.tradeoffs import (
    alternatives_of,
    alternatives_params,
    check_backend,
    front_of,
    pareto_params,
)
from quantum_planner.model import Problem
from quantum_planner.service.auth import Caller, current_caller
from quantum_planner.service.deps import ServiceState, get_state
from quantum_planner.service.errors import APIError, responses
from quantum_planner.service.routes.jobs import JOB_ID, _own_job, _parse, _summary_fields
from quantum_planner.service.schemas_tradeoffs import (
    AlternativePlan,
    AlternativesRequest,
    AlternativesView,
    ParetoFrontView,
    ParetoRequest,
    ParetoView,
)
from quantum_planner.store.tables import JobRow
from quantum_planner.store.tradeoffs import create_tradeoff_job, job_kind

router = APIRouter(prefix="/api", tags=["trade-offs"])

_AUTH = (401, 429)


V = TypeVar("V")


def _spec(job: JobRow, kind: str) -> dict[str, Any]:
    return json.loads(job.spec or "{}").get(kind, {})


def _pareto_view(s: Session, job: JobRow) -> ParetoView:
    front = front_of(s, job)
    return ParetoView(
        **_summary_fields(job),
        problem_id=job.problem_id,
        objectives=_spec(job, "pareto").get("objectives", []),
        front=ParetoFrontView.model_validate(front) if front is not None else None,
    )


def _alternatives_view(s: Session, job: JobRow) -> AlternativesView:
    plans = alternatives_of(s, job)
    spec = _spec(job, "alternatives")
    return AlternativesView(
        **_summary_fields(job),
        problem_id=job.problem_id,
        k=spec.get("k", 0),
        min_distance=spec.get("min_distance", 0),
        plans=[AlternativePlan.model_validate(p) for p in plans] if plans is not None else None,
    )


def _own_kind(s: Session, job_id: str, caller: Caller, kind: str) -> JobRow:
    job = _own_job(s, job_id, caller)
    if job_kind(job) != kind:
        # a job of another kind is answered like a missing one: this resource has no such id
        raise APIError(404, "job_not_found", f"no {kind} job {job_id} for this key", field="job_id")
    return job


def _queue(
    req: ParetoRequest | AlternativesRequest,
    response: Response,
    caller: Caller,
    state: ServiceState,
    parsed: tuple[Problem, float],
    kind: str,
    params: dict[str, Any],
    view: Callable[[Session, JobRow], V],
) -> V:
    """Store the problem, queue the ``kind`` job, wake the runner; the job's view."""
    problem, tl = parsed
    with state.db.session() as s:
        job = create_tradeoff_job(
            s,
            owner_id=caller.key_id,
            problem=problem,
            kind=kind,
            params=params,
            time_limit=tl,
            seed=req.seed,
            backend=req.backend,
        )
        out = view(s, job)
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/api/{kind}/{job.id}"
    return out


@router.post(
    "/pareto",
    response_model=ParetoView,
    status_code=202,
    summary="Queue a Pareto front of plans; poll GET /api/pareto/{id}",
    responses=responses(*_AUTH, 400, 413, 422, 500),
)
def submit_pareto(
    req: ParetoRequest,
    response: Response,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> ParetoView:
    problem, tl = _parse(req, state, sync=False)
    check_backend(req.backend or "auto")
    params = pareto_params(req.objectives, req.points, req.reference)
    return _queue(req, response, caller, state, (problem, tl), "pareto", params, _pareto_view)


@router.get(
    "/pareto/{job_id}",
    response_model=ParetoView,
    summary="A Pareto job: state, progress, and the front with every plan once succeeded",
    responses=responses(*_AUTH, 404, 422, 500),
)
def get_pareto(
    job_id: str = JOB_ID,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> ParetoView:
    with state.db.session() as s:
        return _pareto_view(s, _own_kind(s, job_id, caller, "pareto"))


@router.post(
    "/alternatives",
    response_model=AlternativesView,
    status_code=202,
    summary="Queue the k best distinct plans; poll GET /api/alternatives/{id}",
    responses=responses(*_AUTH, 400, 413, 422, 500),
)
def submit_alternatives(
    req: AlternativesRequest,
    response: Response,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> AlternativesView:
    problem, tl = _parse(req, state, sync=False)
    check_backend(req.backend or "auto")
    params = alternatives_params(problem, req.k, req.min_distance)
    return _queue(
        req, response, caller, state, (problem, tl), "alternatives", params, _alternatives_view
    )


@router.get(
    "/alternatives/{job_id}",
    response_model=AlternativesView,
    summary="An alternatives job: state, progress, and its plans once succeeded",
    responses=responses(*_AUTH, 404, 422, 500),
)
def get_alternatives(
    job_id: str = JOB_ID,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> AlternativesView:
    with state.db.session() as s:
        return _alternatives_view(s, _own_kind(s, job_id, caller, "alternatives"))
