"""What the agent tools answer with, built from stored rows: status, KPIs, refusals.

Shared by :mod:`quantum_planner.mcp.ops` and :mod:`quantum_planner.mcp.ops_tradeoffs`.
"""

from __future__ import annotations

from typing import Any

from quantum_planner.errors import PlannerError
from quantum_planner.mcp import schemas as S
from quantum_planner.model import Solution
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import FINAL_STATES, JobRow

__all__ = ["ToolFailure", "kpis", "status_view"]


class ToolFailure(PlannerError):
    """A refused call, with the HTTP API's code for the same refusal (``job_not_found``...)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


def _iso(dt: Any) -> str | None:
    dt = repo.aware(dt)
    return dt.isoformat() if dt is not None else None


def status_view(job: JobRow, has_plan: bool) -> S.JobStatus:
    """Where ``job`` stands: state, progress, error (``has_plan``: a plan can be fetched)."""
    error = None
    if job.error_code and job.state in ("failed", "cancelled"):
        error = S.JobError(code=job.error_code, message=job.error_message or "")
    return S.JobStatus(
        job_id=job.id,
        state=job.state,  # type: ignore[arg-type]
        done=job.state in FINAL_STATES,
        has_plan=has_plan,
        progress=S.Progress(
            fraction=job.progress_fraction,
            elapsed=job.progress_elapsed,
            best_score=job.progress_best,
            message=job.progress_message,
        ),
        error=error,
        time_limit=job.time_limit,
        backend=job.backend,
        created_at=_iso(job.created_at),
        finished_at=_iso(job.finished_at),
    )


def kpis(sol: Solution) -> S.Kpis:
    """The headline numbers of a plan."""
    return S.Kpis(
        feasible=sol.feasible,
        status=sol.status,
        makespan=sol.makespan,
        objectives=dict(sol.objectives),
        gap=sol.gap,
        tasks_assigned=len(sol.assignments),
        tasks_unassigned=len(sol.unassigned),
        backend_used=sol.backend_used,
        wall_time=sol.wall_time,
    )
