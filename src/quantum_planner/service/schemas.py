"""Request and response bodies of the HTTP API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SkipValidation

from quantum_planner.bounds import TIME_LIMIT_MIN, no_bool
from quantum_planner.model import Problem, Solution

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class SolveRequest(BaseModel):
    """A problem and how to solve it."""

    model_config = ConfigDict(extra="forbid")

    # validated by the planner's own rules (errors name the field), not by the request parser
    problem: SkipValidation[Problem]
    time_limit: (
        Annotated[
            float,
            Field(ge=TIME_LIMIT_MIN, allow_inf_nan=False),
            BeforeValidator(no_bool),
        ]
        | None
    ) = Field(
        None,
        description="Seconds; the default and the maximum (shown here) are set by the server.",
    )
    # 2**53 - 1: the largest integer a JSON number carries exactly (and the schema shows)
    seed: Annotated[int, Field(ge=0, le=2**53 - 1), BeforeValidator(no_bool)] | None = Field(
        None, description="For reproducible plans."
    )
    backend: str | None = Field(
        None, min_length=1, max_length=64, description="Backend or solver name; default auto."
    )


class OptimizeRequest(SolveRequest):
    """A problem to solve now (``time_limit`` up to the server's synchronous maximum)."""


class JobRequest(SolveRequest):
    """A problem to queue as a job (``time_limit`` up to the server's job maximum)."""


class OptimizeResponse(BaseModel):
    problem_id: str
    solution_id: str
    solution: Solution
    seconds: float = Field(description="Wall time of the solve.")


class JobProgress(BaseModel):
    fraction: float | None = Field(None, description="Of the time limit, when known.")
    elapsed: float | None = None
    best_objective: float | None = Field(None, description="Primary objective of the best plan.")
    message: str | None = None


class JobError(BaseModel):
    code: str
    message: str


class JobSummary(BaseModel):
    id: str
    state: JobState
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    time_limit: float
    seed: int | None = None
    backend: str | None = None
    attempts: int
    progress: JobProgress
    error: JobError | None = None


class JobView(JobSummary):
    problem_id: str
    best_solution: Solution | None = Field(None, description="Best plan so far (while running).")
    solution: Solution | None = Field(None, description="The final plan, once succeeded.")


class JobList(BaseModel):
    jobs: list[JobSummary]


class ConstraintAnalysis(BaseModel):
    constraint: str
    enabled: bool = Field(strict=True, description="true or false (not 0, 1 or a string).")
    status: Literal["violated", "binding", "satisfied", "inactive"]
    checked: int
    penalty: float = Field(0.0, description="Sum of the violated matches' amounts (0: holds).")
    violated: list[dict[str, Any]]
    binding: list[dict[str, Any]]
    min_slack: float | None = Field(None, description="Least slack among non-binding instances.")


class ObjectiveAnalysis(BaseModel):
    model_config = ConfigDict(extra="allow")

    objective: str
    rank: int = Field(description="0 dominates (lexicographic order).")
    sense: Literal["minimize", "maximize"]
    value: float | None
    contributions: dict[str, float] = Field(description="Per agent.")


class Analysis(BaseModel):
    job_id: str
    solution_kind: Literal["final", "best"]
    feasible: bool
    reported_feasible: bool
    reported_violations: list[dict[str, Any]]
    validator_violations: list[dict[str, Any]] = Field(
        description="What quantum_planner.validate finds wrong with the plan (empty: valid)."
    )
    violated_constraints: list[str]
    binding_constraints: list[str]
    constraints: list[ConstraintAnalysis]
    objectives: list[ObjectiveAnalysis]
    agents: list[dict[str, Any]]
    unassigned: list[str]


class Check(BaseModel):
    ok: bool
    detail: Any = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Check] = Field(default_factory=dict)


class BackendSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(strict=True, description="true or false (not 0, 1 or a string).")


class BackendList(BaseModel):
    backends: list[dict[str, Any]]


class BackendSwitched(BaseModel):
    name: str
    enabled: bool = Field(strict=True, description="true or false (not 0, 1 or a string).")
    result: Any = None


class CredentialResults(BaseModel):
    results: Any
