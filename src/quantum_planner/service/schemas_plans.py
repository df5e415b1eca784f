"""Request and response bodies of living plans (``/api/plans``) and job events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quantum_planner.model import Solution
from quantum_planner.service.schemas import JobState


class ChangesRequest(BaseModel):
    """What happened since the plan was made, and how to re-plan."""

    model_config = ConfigDict(extra="forbid")

    changes: list[dict[str, Any]] = Field(
        description="Changes, each with a 'type': add_task, remove_task, update_task, "
        "complete_task, start_task, add_agent, remove_agent, update_agent."
    )
    freeze_until: float | None = Field(
        None, ge=0, description="Tasks starting before this time keep agent and start."
    )
    disruption: dict[str, float] | None = Field(
        None, description="reassign_weight, shift_weight, tolerance (see docs/API.md)."
    )
    time_limit: float | None = Field(None, gt=0, description="Seconds for the re-plan.")
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    backend: str | None = Field(None, min_length=1, max_length=64)


class VersionView(BaseModel):
    """One version of a plan: its job, and its plan once there is one."""

    plan_id: str
    version: int
    parent_version: int | None = None
    problem_id: str
    job_id: str
    state: JobState
    created_at: datetime
    changes: list[dict[str, Any]] = Field(default_factory=list)
    disruption: dict[str, float] | None = Field(
        None, description="Against the parent version's plan (reassigned, moved, ...)."
    )
    solution: Solution | None = Field(
        None, description="The final plan, or the best so far while the job runs."
    )
    solution_kind: str | None = Field(None, description="final or best")
    error: dict[str, Any] | None = None


class PlanView(BaseModel):
    id: str
    created_at: datetime
    versions: int
    latest: VersionView


class VersionList(BaseModel):
    plan_id: str
    versions: list[VersionView]


class DiffRow(BaseModel):
    task: str
    change: str = Field(description="added, removed, reassigned or moved")
    agent_before: str | None = None
    start_before: float | None = None
    agent_after: str | None = None
    start_after: float | None = None


class PlanDiff(BaseModel):
    plan_id: str
    from_version: int
    to_version: int
    disruption: dict[str, float]
    tasks: list[DiffRow]
