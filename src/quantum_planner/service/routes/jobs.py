"""Solving: ``POST /api/optimize`` (synchronous) and the asynchronous job API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from quantum_planner import analysis
from quantum_planner.errors import BackendError, PlannerError, SolverError, error_class
from quantum_planner.model import Problem, Solution
from quantum_planner.service.auth import Caller, current_caller
from quantum_planner.service.deps import ServiceState, get_state
from quantum_planner.service.errors import APIError, responses
from quantum_planner.service.limits import (
    check_backend,
    check_problem_size,
    check_time_limit,
    time_limit_max,
)
from quantum_planner.service.schemas import (
    Analysis,
    JobError,
    JobList,
    JobProgress,
    JobRequest,
    JobState,
    JobSummary,
    JobView,
    OptimizeRequest,
    OptimizeResponse,
    SolveRequest,
)
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import JobRow, ProblemRow

router = APIRouter(prefix="/api", tags=["solve"])

_AUTH = (401, 429)
#: a job id as the store makes them (uuid4 hex); anything else is refused, never echoed
JOB_ID = Path(pattern="^[0-9a-f]{32}$", description="A job id from POST /api/jobs.")


def _parse(req: SolveRequest, state: ServiceState, *, sync: bool) -> tuple[Problem, float]:
    maximum = time_limit_max(state.settings, sync=sync)
    check_problem_size(req.problem, state.settings)
    tl = check_time_limit(req.time_limit, maximum, min(state.settings.default_time_limit, maximum))
    check_backend(req.backend)
    try:
        problem = Problem.from_dict(req.problem)
    except PlannerError as e:
        # name the field as the request has it
        if e.field and not e.field.startswith("problem"):
            e.field = f"problem.{e.field}"
        elif e.field is None:
            e.field = "problem"
        raise
    return problem, tl


def _raise_worker_error(result: dict[str, Any]) -> None:
    """Re-raise, as its typed error, an error that came back from a solver process."""
    err = result["error"]
    cls = error_class(err["code"], SolverError)
    exc = cls.__new__(cls)
    PlannerError.__init__(exc, err["message"], field=err.get("field"), **(err.get("details") or {}))
    if isinstance(exc, BackendError):
        exc.backend = None
    raise exc


@router.post(
    "/optimize",
    response_model=OptimizeResponse,
    summary="Solve now, within the time limit",
    responses=responses(*_AUTH, 400, 413, 422, 500, 502, 503, 504),
)
def optimize(
    req: OptimizeRequest,
    request: Request,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> OptimizeResponse:
    problem, tl = _parse(req, state, sync=True)
    if state.runner is None:
        raise APIError(503, "no_workers", "the solver pool is not running; retry shortly")
    result = state.runner.solve_now(
        problem.model_dump_json(), {"time_limit": tl, "seed": req.seed, "backend": req.backend}
    )
    if not result["ok"]:
        _raise_worker_error(result)
    solution = Solution.model_validate_json(result["solution"])
    request.state.backend = solution.backend_used  # for the request's log line
    with state.db.session() as s:
        prow = repo.save_problem(s, problem, caller.key_id)
        srow = repo.save_solution(s, solution, problem_id=prow.id, job_id=None, kind="sync")
    return OptimizeResponse(
        problem_id=prow.id, solution_id=srow.id, solution=solution, seconds=result["seconds"]
    )


def _summary_fields(job: JobRow) -> dict[str, Any]:
    error = None
    if job.error_code and job.state in ("failed", "cancelled"):
        error = JobError(code=job.error_code, message=job.error_message or "")
    return {
        "id": job.id,
        "state": job.state,
        "created_at": repo.aware(job.created_at),
        "started_at": repo.aware(job.started_at),
        "finished_at": repo.aware(job.finished_at),
        "time_limit": job.time_limit,
        "seed": job.seed,
        "backend": job.backend,
        "attempts": job.attempts,
        "progress": JobProgress(
            fraction=job.progress_fraction,
            elapsed=job.progress_elapsed,
            best_objective=job.progress_best,
            message=job.progress_message,
        ),
        "error": error,
    }


def _view(s: Session, job: JobRow) -> JobView:
    sols = repo.job_solutions(s, job.id)
    final = repo.load_solution(sols["final"]) if "final" in sols else None
    best = repo.load_solution(sols["best"]) if "best" in sols else None
    return JobView(
        **_summary_fields(job), problem_id=job.problem_id, best_solution=best, solution=final
    )


def _own_job(s: Session, job_id: str, caller: Caller) -> JobRow:
    job = repo.get_job(s, job_id, None if caller.is_admin else caller.key_id)
    if job is None:
        # someone else's job is reported exactly like a missing one
        raise APIError(404, "job_not_found", f"no job {job_id} for this key", field="job_id")
    return job


@router.post(
    "/jobs",
    response_model=JobView,
    status_code=202,
    summary="Queue a solve; poll GET /api/jobs/{id}",
    responses=responses(*_AUTH, 400, 413, 422, 500),
)
def submit_job(
    req: JobRequest,
    response: Response,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> JobView:
    problem, tl = _parse(req, state, sync=False)
    with state.db.session() as s:
        prow = repo.save_problem(s, problem, caller.key_id)
        job = repo.create_job(
            s,
            owner_id=caller.key_id,
            problem_id=prow.id,
            time_limit=tl,
            seed=req.seed,
            backend=req.backend,
        )
        view = _view(s, job)
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/api/jobs/{view.id}"
    return view


@router.get(
    "/jobs",
    response_model=JobList,
    summary="The caller's jobs, newest first",
    responses=responses(*_AUTH, 422),
)
def list_jobs(
    state_filter: JobState | None = Query(None, alias="state"),
    limit: int = Query(100, ge=1, le=1000),
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> JobList:
    with state.db.session() as s:
        rows = repo.list_jobs(s, caller.key_id, state=state_filter, limit=limit)
        return JobList(jobs=[JobSummary(**_summary_fields(j)) for j in rows])


@router.get(
    "/jobs/{job_id}",
    response_model=JobView,
    summary="Status, progress, best plan so far and final plan",
    responses=responses(*_AUTH, 404, 422, 500),
)
def get_job(
    job_id: str = JOB_ID,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> JobView:
    with state.db.session() as s:
        return _view(s, _own_job(s, job_id, caller))


@router.delete(
    "/jobs/{job_id}",
    response_model=JobView,
    summary="Cancel a queued or running job (keeps its best plan so far)",
    responses=responses(*_AUTH, 404, 409, 422, 500),
)
def cancel_job(
    job_id: str = JOB_ID,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> JobView:
    with state.db.session() as s:
        job = _own_job(s, job_id, caller)
        if not repo.cancel_job(s, job):
            raise APIError(
                409,
                "job_finished",
                f"job {job_id} already {job.state}; only queued or running jobs can be cancelled",
                field="job_id",
            )
        view = _view(s, job)
    if state.runner is not None:
        state.runner.wake()
    return view


@router.get(
    "/jobs/{job_id}/analysis",
    response_model=Analysis,
    summary="Per-constraint score analysis of the job's plan",
    responses=responses(*_AUTH, 404, 409, 422, 500),
)
def analyse_job(
    job_id: str = JOB_ID,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> Analysis:
    with state.db.session() as s:
        job = _own_job(s, job_id, caller)
        sols = repo.job_solutions(s, job.id)
        kind = "final" if "final" in sols else "best" if "best" in sols else None
        if kind is None:
            raise _no_plan(job)
        solution = repo.load_solution(sols[kind])
        prow = s.get(ProblemRow, job.problem_id)
        assert prow is not None
        problem = repo.load_problem(prow)
    return Analysis(job_id=job_id, solution_kind=kind, **analysis.analyse(problem, solution))


def _no_plan(job: JobRow) -> APIError:
    """Why job ``job`` has no plan to analyse: still to come, or never (failed, cancelled)."""
    if job.state == "failed":
        why = f"{job.error_code}: {job.error_message}" if job.error_code else "no reason recorded"
        return APIError(
            409,
            "job_failed",
            f"job {job.id} failed without a plan to analyse ({why}); fix the cause and submit "
            "it again",
            field="job_id",
            details={"error_code": job.error_code, "error_message": job.error_message},
        )
    if job.state == "cancelled":
        return APIError(
            409,
            "job_cancelled",
            f"job {job.id} was cancelled before it found a plan; there is nothing to analyse",
            field="job_id",
        )
    return APIError(
        409,
        "no_plan_yet",
        f"job {job.id} is {job.state} and has no plan to analyse yet; poll GET /api/jobs/"
        f"{job.id} until it has one",
        field="job_id",
    )
