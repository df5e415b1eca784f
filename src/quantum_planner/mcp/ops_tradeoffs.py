"""The trade-off tools' operations: queue a Pareto front or alternatives, read them back.

A mixin of :class:`~quantum_planner.mcp.ops.PlannerOps` (it uses the caller's
store, settings, runner and owner from there). The jobs are the HTTP API's
(``POST /api/pareto``, ``POST /api/alternatives``): the same checks
(:mod:`quantum_planner.jobs.tradeoffs`), the same stored plans, each opening as
a living plan whose id the result names.
"""

from __future__ import annotations

import time
from typing import Any

from quantum_planner.jobs.tradeoffs import (
    alternatives_of,
    alternatives_params,
    check_backend,
    front_of,
    pareto_params,
)
from quantum_planner.mcp import schemas as S
from quantum_planner.mcp.views import ToolFailure, kpis, status_view
from quantum_planner.store.tables import FINAL_STATES, JobRow
from quantum_planner.store.tradeoffs import create_tradeoff_job, job_kind

_POLL_SECONDS = 0.1


class TradeoffOps:
    """``pareto``, ``alternatives`` and ``get_tradeoffs`` (mixed into ``PlannerOps``, whose
    ``db``, ``owner``, ``runner``, ``_problem``, ``_time_limit`` and ``_job`` they use)."""

    def pareto(self: Any, req: S.ParetoInput) -> S.TradeoffResult:
        """Queue a Pareto front; wait up to ``req.wait_seconds`` for it."""
        problem = self._problem(req.problem, None)
        tl = self._time_limit(req.time_limit)
        check_backend(req.backend or "auto")
        params = pareto_params(req.objectives, req.points, req.reference)
        return _queue(self, problem, "pareto", params, tl, req)

    def alternatives(self: Any, req: S.AlternativesInput) -> S.TradeoffResult:
        """Queue the k best distinct plans; wait up to ``req.wait_seconds`` for them."""
        problem = self._problem(req.problem, None)
        tl = self._time_limit(req.time_limit)
        check_backend(req.backend or "auto")
        params = alternatives_params(problem, req.k, req.min_distance)
        return _queue(self, problem, "alternatives", params, tl, req)

    def tradeoffs(self: Any, job_id: str) -> S.TradeoffResult:
        """A trade-off job's state, and its plans once it succeeded."""
        with self.db.session() as s:
            job = self._job(s, job_id)
            kind = job_kind(job)
            if kind not in ("pareto", "alternatives"):
                raise ToolFailure(
                    "job_not_found",
                    f"job {job_id} is a {kind} job, not a trade-off; use get_plan",
                    field="job_id",
                )
            return _result(s, job, kind)


def _queue(
    ops: Any, problem: Any, kind: str, params: dict[str, Any], tl: float, req: Any
) -> S.TradeoffResult:
    with ops.db.session() as s:
        job = create_tradeoff_job(
            s,
            owner_id=ops.owner.key_id,
            problem=problem,
            kind=kind,
            params=params,
            time_limit=tl,
            seed=req.seed,
            backend=req.backend,
        )
        job_id = job.id
    if ops.runner is not None:
        ops.runner.wake()
    deadline = time.monotonic() + req.wait_seconds
    while True:
        out = ops.tradeoffs(job_id)
        if out.done or time.monotonic() >= deadline:
            return out
        time.sleep(_POLL_SECONDS)


def _result(s: Any, job: JobRow, kind: str) -> S.TradeoffResult:
    status = status_view(job, False)
    out = S.TradeoffResult(
        job_id=job.id,
        kind=kind,  # type: ignore[arg-type]
        state=status.state,
        done=status.done,
        error=status.error,
        next_step="",
    )
    if kind == "pareto":
        front = front_of(s, job)
        if front is not None:
            out.objectives, out.hypervolume = front["objectives"], front["hypervolume"]
            out.reference, out.complete = front["reference"], front["complete"]
            out.plans = [
                S.TradeoffPlan(
                    plan_id=p["plan_id"],
                    values=p["values"],
                    knee=p["knee"],
                    kpis=kpis(p["solution"]),
                    solution=p["solution"].model_dump(mode="json"),
                )
                for p in front["points"]
            ]
    else:
        found = alternatives_of(s, job)
        if found is not None:
            out.plans = [
                S.TradeoffPlan(
                    plan_id=p["plan_id"],
                    values=p["objectives"],
                    rank=p["rank"],
                    distance=p["distance"],
                    kpis=kpis(p["solution"]),
                    solution=p["solution"].model_dump(mode="json"),
                )
                for p in found
            ]
    out.next_step = _next_step(out, kind)
    return out


def _next_step(out: S.TradeoffResult, kind: str) -> str:
    if out.plans is not None:
        pick = "the knee is the balanced choice" if kind == "pareto" else "rank 0 is the best"
        return f"done: the plans are in `plans` ({pick}); validate_plan checks any of them"
    if out.state in FINAL_STATES:
        return f"the job ended {out.state}; see `error`, fix the input and ask again"
    return f"poll get_tradeoffs with job_id {out.job_id} every few seconds until done"
