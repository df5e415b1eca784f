"""What the agent tools do, over the job store: submit, poll, fetch, cancel, explain, validate.

:class:`PlannerOps` is transport-free and synchronous (database calls, short
waits); the MCP server runs it in a worker thread and the LangChain tools call
it directly. Jobs are rows in the same store the HTTP service uses, solved by
whichever :class:`~quantum_planner.jobs.base.JobRunner` claims them, so a job
planned over MCP can be polled over the REST API and the other way round.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from quantum_planner import analysis
from quantum_planner.config import Settings
from quantum_planner.errors import PlannerError, UnknownBackendError
from quantum_planner.jobs.base import JobRunner
from quantum_planner.mcp import schemas as S
from quantum_planner.mcp.ops_tradeoffs import TradeoffOps
from quantum_planner.mcp.views import ToolFailure, kpis, status_view
from quantum_planner.model import Problem, Solution
from quantum_planner.store import Database
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import JobRow, ProblemRow

_POLL_SECONDS = 0.1


def error_body(exc: PlannerError) -> dict[str, Any]:
    """The JSON a tool error carries: the API's ``{code, message, field}`` (and details)."""
    body = exc.to_dict()
    if "details" in body:
        body["details"] = {k: v if _plain(v) else str(v) for k, v in body["details"].items()}
    return body


def invalid_arguments(exc: ValidationError) -> ToolFailure:
    """The first failing argument, as the API reports a bad request (``invalid_request``)."""
    first = exc.errors()[0]
    field = ".".join(str(x) for x in first.get("loc", ())) or None
    return ToolFailure(
        "invalid_request", f"{field + ': ' if field else ''}{first.get('msg')}", field=field
    )


def _plain(v: Any) -> bool:
    return isinstance(v, str | int | float | bool | list | type(None))


@dataclass(frozen=True)
class Owner:
    """Whose jobs a caller sees: a key's own (``key_id``), or every job (admin, local use)."""

    key_id: str | None = None
    is_admin: bool = True


class PlannerOps(TradeoffOps):
    """The tools' operations for one caller over one job store (trade-offs: the mixin)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        runner: JobRunner | None,
        owner: Owner | None = None,
    ) -> None:
        self.db, self.settings, self.runner = db, settings, runner
        self.owner = owner or Owner()

    # --- plan ---------------------------------------------------------------------
    def plan(self, req: S.PlanInput) -> S.PlanResult:
        """Queue a solve; wait up to ``req.wait_seconds`` for it to finish."""
        problem = self._problem(req.problem, req.objective)
        tl = self._time_limit(req.time_limit)
        _check_backend(req.backend)
        with self.db.session() as s:
            prow = repo.save_problem(s, problem, self.owner.key_id)
            job = repo.create_job(
                s,
                owner_id=self.owner.key_id,
                problem_id=prow.id,
                time_limit=tl,
                seed=req.seed,
                backend=req.backend,
            )
            job_id = job.id
        return self._wait(job_id, req.wait_seconds)

    def replan(self, req: S.ReplanInput) -> S.PlanResult:
        """Queue a re-plan of a finished job's plan after ``req.changes``; wait like ``plan``."""
        from quantum_planner.replan import DisruptionWeights, apply_changes, parse_changes

        tl = self._time_limit(req.time_limit)
        _check_backend(req.backend)
        job, kind, problem, previous = self._plan_of(req.job_id)
        if kind != "final":
            raise ToolFailure(
                "plan_not_ready",
                f"job {req.job_id} is {job.state}; re-plan once it has succeeded",
                field="job_id",
            )
        changes = parse_changes(req.changes)
        DisruptionWeights.parse(req.disruption)
        # applied here first: a change that cannot apply is refused before anything is stored
        new = apply_changes(problem, previous, changes, freeze_until=req.freeze_until)
        with self.db.session() as s:
            previous_id = repo.job_solutions(s, job.id)["final"].id
            new_job = repo.create_replan_job(
                s,
                owner_id=self.owner.key_id,
                problem=new.problem,
                base_problem_id=job.problem_id,
                previous_solution_id=previous_id,
                changes=[c.model_dump() for c in changes],
                freeze_until=req.freeze_until,
                disruption=req.disruption,
                time_limit=tl,
                seed=req.seed,
                backend=req.backend,
            )
            job_id = new_job.id
        return self._wait(job_id, req.wait_seconds)

    def _wait(self, job_id: str, wait_seconds: float) -> S.PlanResult:
        if self.runner is not None:
            self.runner.wake()
        deadline = time.monotonic() + wait_seconds
        while True:
            status = self.status(job_id)
            if status.done or time.monotonic() >= deadline:
                break
            time.sleep(_POLL_SECONDS)
        plan = self.get_plan(job_id) if status.state == "succeeded" else None
        return S.PlanResult(
            job_id=job_id,
            state=status.state,
            done=status.done,
            plan=plan,
            error=status.error,
            next_step=_next_step(status, plan is not None),
        )

    def _problem(self, raw: dict[str, Any], objective: str | list[str] | None) -> Problem:
        self._check_size(raw)
        data = dict(raw)
        if objective:
            data["objective"] = objective
        try:
            return Problem.from_dict(data)
        except PlannerError as e:
            # name the field as the call has it: the override, or inside `problem`
            if objective and e.field == "objective":
                pass
            elif e.field and not e.field.startswith("problem"):
                e.field = f"problem.{e.field}"
            elif e.field is None:
                e.field = "problem"
            raise

    def _check_size(self, raw: dict[str, Any]) -> None:
        for key, limit in (
            ("agents", self.settings.max_agents),
            ("tasks", self.settings.max_tasks),
        ):
            items = raw.get(key)
            if isinstance(items, list) and len(items) > limit:
                raise ToolFailure(
                    f"too_many_{key}",
                    f"the problem has {len(items)} {key}; this server accepts at most {limit}. "
                    f"Split the problem, or raise QP_MAX_{key.upper()}",
                    field=f"problem.{key}",
                )

    def _time_limit(self, value: float | None) -> float:
        maximum = self.settings.max_time_limit
        tl = min(self.settings.default_time_limit, maximum) if value is None else value
        if not math.isfinite(tl) or tl <= 0 or tl > maximum:
            raise ToolFailure(
                "time_limit_out_of_range",
                f"time_limit must be > 0 and at most {maximum:g} seconds here, got {tl!r}",
                field="time_limit",
            )
        return tl

    # --- jobs -------------------------------------------------------------------
    def _job(self, s: Any, job_id: str) -> JobRow:
        owner = None if self.owner.is_admin else self.owner.key_id
        job = repo.get_job(s, job_id, owner)
        if job is None:
            # someone else's job is reported exactly like a missing one (as the API does)
            raise ToolFailure("job_not_found", f"no job {job_id} for this key", field="job_id")
        return job

    def status(self, job_id: str) -> S.JobStatus:
        """The job's state, progress and best score so far."""
        with self.db.session() as s:
            job = self._job(s, job_id)
            return status_view(job, bool(repo.job_solutions(s, job.id)))

    def cancel(self, job_id: str) -> S.JobStatus:
        """Cancel a queued or running job (its best plan so far is kept)."""
        with self.db.session() as s:
            job = self._job(s, job_id)
            if not repo.cancel_job(s, job):
                raise ToolFailure(
                    "job_finished",
                    f"job {job_id} already {job.state}; only queued or running jobs can be "
                    "cancelled",
                    field="job_id",
                )
            out = status_view(job, bool(repo.job_solutions(s, job.id)))
        if self.runner is not None:
            self.runner.wake()
        return out

    def _plan_of(self, job_id: str) -> tuple[JobRow, str, Problem, Solution]:
        with self.db.session() as s:
            job = self._job(s, job_id)
            sols = repo.job_solutions(s, job.id)
            kind = "final" if "final" in sols else "best" if "best" in sols else None
            if kind is None:
                raise ToolFailure(
                    "no_plan_yet",
                    f"job {job_id} is {job.state} and has no plan yet; poll plan_status first",
                    field="job_id",
                )
            solution = repo.load_solution(sols[kind])
            prow = s.get(ProblemRow, job.problem_id)
            assert prow is not None  # a foreign key
            return job, kind, repo.load_problem(prow), solution

    def get_plan(self, job_id: str) -> S.Plan:
        """The job's final plan, or its best so far."""
        job, kind, problem, solution = self._plan_of(job_id)
        return _plan_view(job, kind, problem, solution)

    def explain(self, job_id: str) -> S.Explanation:
        """Per-constraint analysis of the job's plan."""
        _job, kind, problem, solution = self._plan_of(job_id)
        found = analysis.analyse(problem, solution)
        fields = set(S.Explanation.model_fields) - {"job_id", "solution_kind"}
        return S.Explanation(job_id=job_id, solution_kind=kind, **{k: found[k] for k in fields})  # type: ignore[arg-type]

    def validate(self, req: S.ValidateInput) -> S.ValidationResult:
        """Check a job's plan, or an inline problem and solution, against every constraint."""
        from quantum_planner.validate import validate

        if req.job_id is not None:
            _job, _kind, problem, solution = self._plan_of(req.job_id)
        elif req.problem is not None and req.solution is not None:
            problem = self._problem(req.problem, None)
            solution = _solution(req.solution)
        else:
            raise ToolFailure(
                "invalid_request",
                "give job_id, or both problem and solution",
                field="job_id" if req.problem is None else "solution",
            )
        found = validate(problem, solution)
        return S.ValidationResult(
            valid=not found,
            violations=[
                S.Violation(**v.model_dump(include=set(S.Violation.model_fields))) for v in found
            ],
        )

    # --- backends ---------------------------------------------------------------
    def backends(self) -> S.BackendList:
        """Backends a plan may name, whether each is switched on, and what it is."""
        from quantum_planner.backends import get_backend, is_enabled, list_backends

        out = []
        for name in list_backends():
            info = S.BackendInfo(name=name, enabled=bool(is_enabled(name)))
            try:
                props = get_backend(name).properties
            except Exception:  # only a description: a backend that fails to load is still listed
                props = None  # (solving with it says why)
            if props is not None:
                info.kind = getattr(props.kind, "value", str(props.kind))
                info.remote, info.description = props.remote, props.description
            out.append(info)
        return S.BackendList(backends=out)


def _check_backend(name: str | None) -> None:
    if name is None or name == "auto":
        return
    from quantum_planner.backends import list_backends
    from quantum_planner.solvers.registry import solver_names

    known = [*solver_names(), *(n for n in list_backends() if n not in solver_names())]
    if name not in known:
        raise UnknownBackendError(
            f"unknown backend {name!r}; use 'auto' or one of: {', '.join(known)}",
            field="backend",
        )


def _solution(raw: dict[str, Any]) -> Solution:
    try:
        return Solution.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in ("solution", *first.get("loc", ())))
        raise ToolFailure("invalid_request", f"{loc}: {first.get('msg')}", field=loc) from None


def _plan_view(job: JobRow, kind: str, problem: Problem, sol: Solution) -> S.Plan:
    rows = []
    for agent, tasks in sol.schedule.items():
        rows.extend(
            S.ScheduledTask(task=t, agent=agent, start=a, end=b) for t, (a, b) in tasks.items()
        )
    rows.sort(key=lambda r: (r.start, r.agent, r.task))
    by_agent: dict[str, list[str]] = {a.id: [] for a in problem.agents}
    placed = {r.task for r in rows}
    for r in rows:
        by_agent.setdefault(r.agent, []).append(r.task)
    for task, agent in sol.assignments.items():  # assigned but not scheduled (no durations)
        if task not in placed:
            by_agent.setdefault(agent, []).append(task)
    return S.Plan(
        job_id=job.id,
        state=job.state,  # type: ignore[arg-type]
        solution_kind=kind,  # type: ignore[arg-type]
        assignments=by_agent,
        schedule=rows,
        unassigned=list(sol.unassigned),
        kpis=kpis(sol),
        solution=sol.model_dump(mode="json"),
    )


def _next_step(status: S.JobStatus, have_plan: bool) -> str:
    if have_plan:
        return "done: the plan is in `plan`; explain_plan analyses it"
    if status.state == "succeeded":
        return f"call get_plan with job_id {status.job_id}"
    if status.done:
        return f"the job ended {status.state}; see `error`, fix the input and plan again"
    return (
        f"poll plan_status with job_id {status.job_id} every few seconds until done, "
        "then call get_plan"
    )
