"""Living plans: versions, re-planning after changes, and diffs between versions.

A version's plan is its job's final plan (the best so far while it runs), or, for
the plans a trade-off job opened (``POST /api/pareto``, ``/api/alternatives``), the
one of the job's plans its ``solution_id`` names.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from quantum_planner.errors import CorruptedDataError
from quantum_planner.model import Problem, Solution
from quantum_planner.replan import apply_changes, diff, measure, parse_changes
from quantum_planner.replan.disruption import intervals
from quantum_planner.service.auth import Caller, current_caller
from quantum_planner.service.deps import ServiceState, get_state
from quantum_planner.service.errors import APIError, responses
from quantum_planner.service.limits import check_time_limit
from quantum_planner.service.routes.jobs import _parse
from quantum_planner.service.schemas import JobRequest
from quantum_planner.service.schemas_plans import (
    ChangesRequest,
    DiffRow,
    PlanDiff,
    PlanView,
    VersionList,
    VersionView,
)
from quantum_planner.store import plans as store
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import JobRow, PlanVersionRow, ProblemRow, SolutionRow

router = APIRouter(prefix="/api/plans", tags=["plans"])

_AUTH = (401, 429)


def _plan_of(row: PlanVersionRow, s: Session) -> tuple[Solution | None, str | None]:
    if row.solution_id is not None:  # one of the plans a trade-off job found
        return repo.load_solution(_named(s, row)), "final"
    sols = repo.job_solutions(s, row.job_id)
    for kind in ("final", "best"):
        if kind in sols:
            return repo.load_solution(sols[kind]), kind
    return None, None


def _named(s: Session, row: PlanVersionRow) -> SolutionRow:
    found = s.get(SolutionRow, row.solution_id)
    if found is None:  # a foreign key: only a damaged database gets here
        raise CorruptedDataError(
            f"plan {row.plan_id} version {row.version}: its plan {row.solution_id} is gone",
            kind="solution",
            id=row.solution_id,
        )
    return found


def _version_view(s: Session, row: PlanVersionRow) -> VersionView:
    job = s.get(JobRow, row.job_id)
    assert job is not None
    solution, kind = _plan_of(row, s)
    error = None
    if job.state in ("failed", "cancelled") and job.error_code:
        error = {"code": job.error_code, "message": job.error_message or ""}
    return VersionView(
        plan_id=row.plan_id,
        version=row.version,
        parent_version=row.parent_version,
        problem_id=row.problem_id,
        job_id=row.job_id,
        state=job.state,  # type: ignore[arg-type]
        created_at=repo.aware(row.created_at),  # type: ignore[arg-type]
        changes=json.loads(row.changes),
        disruption=solution.disruption if solution is not None else None,
        solution=solution,
        solution_kind=kind,
        error=error,
    )


def _own(s: Session, plan_id: str, caller: Caller) -> None:
    if store.get_plan(s, plan_id, None if caller.is_admin else caller.key_id) is None:
        raise APIError(404, "plan_not_found", f"no plan {plan_id} for this key", field="plan_id")


def _version(s: Session, plan_id: str, number: int, field: str) -> PlanVersionRow:
    row = store.version(s, plan_id, number)
    if row is None:
        raise APIError(
            404, "version_not_found", f"plan {plan_id} has no version {number}", field=field
        )
    return row


@router.post(
    "",
    response_model=VersionView,
    status_code=202,
    summary="Plan a problem (version 1); poll the plan or stream its job's events",
    responses=responses(*_AUTH, 413, 422, 500),
)
def create_plan(
    req: JobRequest,
    response: Response,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> VersionView:
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
        plan = store.create_plan(s, repo.new_id(), caller.key_id)
        row = store.add_version(s, plan.id, problem_id=prow.id, job_id=job.id, parent=None)
        view = _version_view(s, row)
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/api/plans/{view.plan_id}"
    return view


@router.get(
    "/{plan_id}",
    response_model=PlanView,
    summary="The plan's latest version",
    responses=responses(*_AUTH, 404, 422, 500),
)
def get_plan(
    plan_id: str,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> PlanView:
    with state.db.session() as s:
        _own(s, plan_id, caller)
        plan = store.get_plan(s, plan_id)
        rows = store.versions(s, plan_id)
        assert plan is not None and rows
        return PlanView(
            id=plan.id,
            created_at=repo.aware(plan.created_at),  # type: ignore[arg-type]
            versions=len(rows),
            latest=_version_view(s, rows[-1]),
        )


@router.get(
    "/{plan_id}/versions",
    response_model=VersionList,
    summary="Every version of the plan, oldest first",
    responses=responses(*_AUTH, 404, 422, 500),
)
def list_versions(
    plan_id: str,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> VersionList:
    with state.db.session() as s:
        _own(s, plan_id, caller)
        views = [_version_view(s, r) for r in store.versions(s, plan_id)]
        return VersionList(plan_id=plan_id, versions=views)


@router.get(
    "/{plan_id}/versions/{version}",
    response_model=VersionView,
    summary="One version of the plan",
    responses=responses(*_AUTH, 404, 422, 500),
)
def get_version(
    plan_id: str,
    version: int,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> VersionView:
    with state.db.session() as s:
        _own(s, plan_id, caller)
        return _version_view(s, _version(s, plan_id, version, "version"))


def _ready_plan(s: Session, row: PlanVersionRow, field: str) -> tuple[Problem, Solution, str]:
    """The version's problem, final plan and that plan's id (409 if it has none yet)."""
    sols = repo.job_solutions(s, row.job_id)
    if row.solution_id is not None:
        sols = {"final": _named(s, row)}
    if "final" not in sols:
        job = s.get(JobRow, row.job_id)
        what = job.state if job is not None else "missing"
        raise APIError(
            409,
            "plan_not_ready",
            f"version {row.version} has no final plan (its job is {what}); wait for it "
            "(GET /api/jobs/{id}/events) or re-plan from a version that has one",
            field=field,
        )
    prow = s.get(ProblemRow, row.problem_id)
    assert prow is not None
    return repo.load_problem(prow), repo.load_solution(sols["final"]), sols["final"].id


@router.post(
    "/{plan_id}/changes",
    response_model=VersionView,
    status_code=202,
    summary="Re-plan the latest version after changes; returns the new version and its job",
    responses=responses(*_AUTH, 404, 409, 413, 422, 500),
)
def post_changes(
    plan_id: str,
    req: ChangesRequest,
    response: Response,
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> VersionView:
    tl = check_time_limit(
        req.time_limit,
        state.settings.max_time_limit,
        min(state.settings.default_time_limit, state.settings.max_time_limit),
    )
    with state.db.session() as s:
        _own(s, plan_id, caller)
        parent = store.latest_version(s, plan_id)
        assert parent is not None
        problem, previous, previous_id = _ready_plan(s, parent, "plan_id")
        changes = parse_changes(req.changes)
        # applied here first: a change that cannot apply is refused before anything is
        # stored, and the new version records the changed problem (pins included)
        new_problem = apply_changes(problem, previous, changes, freeze_until=req.freeze_until)
        _check_disruption(req.disruption)
        dumped = [c.model_dump() for c in changes]
        job = repo.create_replan_job(
            s,
            owner_id=caller.key_id,
            problem=new_problem.problem,
            base_problem_id=parent.problem_id,
            previous_solution_id=previous_id,
            changes=dumped,
            freeze_until=req.freeze_until,
            disruption=req.disruption,
            time_limit=tl,
            seed=req.seed,
            backend=req.backend,
        )
        row = store.add_version(
            s,
            plan_id,
            problem_id=job.problem_id,
            job_id=job.id,
            parent=parent.version,
            changes=dumped,
        )
        view = _version_view(s, row)
    if state.runner is not None:
        state.runner.wake()
    response.headers["Location"] = f"/api/plans/{plan_id}/versions/{view.version}"
    return view


def _check_disruption(value: dict[str, float] | None) -> None:
    from quantum_planner.replan import DisruptionWeights

    DisruptionWeights.parse(value)  # raises a typed error naming the key


@router.get(
    "/{plan_id}/diff",
    response_model=PlanDiff,
    summary="Per task: agent and start in one version and in another",
    responses=responses(*_AUTH, 404, 409, 422, 500),
)
def plan_diff(
    plan_id: str,
    from_version: int = Query(..., alias="from", ge=1),
    to_version: int = Query(..., alias="to", ge=1),
    caller: Caller = Depends(current_caller),
    state: ServiceState = Depends(get_state),
) -> PlanDiff:
    with state.db.session() as s:
        _own(s, plan_id, caller)
        _, before, _ = _ready_plan(s, _version(s, plan_id, from_version, "from"), "from")
        _, after, _ = _ready_plan(s, _version(s, plan_id, to_version, "to"), "to")
    a, b = intervals(before), intervals(after)
    return PlanDiff(
        plan_id=plan_id,
        from_version=from_version,
        to_version=to_version,
        disruption=measure(a, b, set(a) & set(b)),
        tasks=[DiffRow(**r) for r in diff(before, after)],
    )
