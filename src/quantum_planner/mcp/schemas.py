"""Inputs and outputs of the planner's agent tools (their JSON Schemas are what hosts show models).

One pydantic model per tool input and output, shared by the MCP server and the
LangChain tools, so both publish the same contract.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantum_planner.bounds import ALTERNATIVES_MAX, FRONT_POINTS_MAX

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]

# hosts time calls out after tens of seconds; a synchronous wait stays well below
MAX_WAIT_SECONDS = 10.0


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobRef(_In):
    """Names one planning job."""

    job_id: str = Field(min_length=1, max_length=64, description="The job id that `plan` returned.")


class PlanInput(_In):
    """A planning request: the problem, and how long and with what to solve it."""

    problem: dict[str, Any] = Field(
        description="The problem in quantum-planner's JSON format: `agents` (id, skills, "
        "capacity...), `tasks` (id, required_skills, duration, priority, dependencies...), "
        "optional `objective` and `constraints`. The resource planner://schema/problem has "
        "the full JSON Schema; planner://examples/team is a worked example."
    )
    objective: str | list[str] | None = Field(
        None,
        description="Overrides the problem's objective: one name, or a list ranked "
        "lexicographically (minimize_makespan, balance_load, maximize_priority, "
        "minimize_cost, ...).",
    )
    time_limit: float | None = Field(
        None, gt=0, description="Seconds the solver may run; default and maximum set by the server."
    )
    backend: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Backend or solver name (see list_backends); default 'auto'.",
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="For reproducible plans.")
    wait_seconds: float = Field(
        0.0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Wait up to this long for the plan and return it directly when done "
        "in time (small problems); 0 returns the job id at once.",
    )


class ReplanInput(_In):
    """A re-plan: a finished planning job, what changed since, and how to re-plan."""

    job_id: str = Field(description="A succeeded planning (or re-planning) job.")
    changes: list[dict[str, Any]] = Field(
        description="Changes, each with a 'type': add_task {task}, remove_task {task}, "
        "update_task {task, duration|earliest_start|latest_finish|priority|required_skills}, "
        "complete_task {task, at}, start_task {task, at}, add_agent {agent}, remove_agent "
        "{agent, at}, update_agent {agent, capacity|skills|available_from|available_until}."
    )
    freeze_until: float | None = Field(
        None, ge=0, description="Tasks starting before this time keep their agent and start."
    )
    disruption: dict[str, float] | None = Field(
        None, description="reassign_weight, shift_weight, tolerance (defaults 1, 0.01, 0.01)."
    )
    time_limit: float | None = Field(None, gt=0, description="Seconds for the re-plan.")
    backend: str | None = Field(None, min_length=1, max_length=64)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    wait_seconds: float = Field(0.0, ge=0, le=MAX_WAIT_SECONDS)


class ValidateInput(_In):
    """A plan to check: a job's plan, or a problem and a solution given inline."""

    job_id: str | None = Field(
        None, min_length=1, max_length=64, description="Check this job's current plan."
    )
    problem: dict[str, Any] | None = Field(None, description="Problem JSON (with `solution`).")
    solution: dict[str, Any] | None = Field(
        None, description="Solution JSON, as `get_plan` returns it in `solution`."
    )


class NoInput(_In):
    """No arguments."""


class Progress(BaseModel):
    fraction: float | None = Field(None, description="0..1 of the time limit used, if known.")
    elapsed: float | None = Field(None, description="Seconds the solver has run.")
    best_score: float | None = Field(None, description="Objective of the best plan so far.")
    message: str | None = None


class JobError(BaseModel):
    code: str
    message: str


class ScheduledTask(BaseModel):
    task: str
    agent: str
    start: float
    end: float


class Kpis(BaseModel):
    feasible: bool
    status: str = Field(description="optimal (proven), feasible, infeasible or unknown.")
    makespan: float
    objectives: dict[str, float]
    gap: float | None = Field(None, description="Relative optimality gap, if known.")
    tasks_assigned: int
    tasks_unassigned: int
    backend_used: str
    wall_time: float


class JobStatus(BaseModel):
    """Where a job stands."""

    job_id: str
    state: JobState
    done: bool = Field(description="True once the job is succeeded, failed or cancelled.")
    has_plan: bool = Field(description="A plan (final or best so far) can be fetched now.")
    progress: Progress
    error: JobError | None = None
    time_limit: float
    backend: str | None = None
    created_at: str | None = None
    finished_at: str | None = None


class Plan(BaseModel):
    """A job's plan: who does what, when, and how good it is."""

    job_id: str
    state: JobState
    solution_kind: Literal["final", "best"] = Field(
        description="final: the finished plan; best: the best so far of a running, cancelled "
        "or failed job."
    )
    assignments: dict[str, list[str]] = Field(description="agent -> its tasks, in start order.")
    schedule: list[ScheduledTask] = Field(description="Every planned task, by start time.")
    unassigned: list[str] = Field(description="Optional tasks left undone.")
    kpis: Kpis
    solution: dict[str, Any] = Field(
        description="The full Solution JSON (input to validate_plan, or for storage)."
    )


class PlanResult(BaseModel):
    """What `plan` returns: the job, and its plan when it finished within `wait_seconds`."""

    job_id: str
    state: JobState
    done: bool
    plan: Plan | None = Field(None, description="Present when the job succeeded in time.")
    error: JobError | None = None
    next_step: str = Field(description="What to call next.")


class Violation(BaseModel):
    constraint: str
    items: list[str]
    amount: float
    message: str


class ValidationResult(BaseModel):
    valid: bool = Field(description="True when the plan breaks no hard constraint.")
    violations: list[Violation]


class Explanation(BaseModel):
    """Per-constraint analysis of a job's plan: violated, binding (no slack) or satisfied."""

    job_id: str
    solution_kind: Literal["final", "best"]
    feasible: bool
    violated_constraints: list[str]
    binding_constraints: list[str]
    constraints: list[dict[str, Any]]
    objectives: list[dict[str, Any]]
    agents: list[dict[str, Any]] = Field(description="Per agent: tasks, load, busy time, finish.")
    unassigned: list[str]
    validator_violations: list[dict[str, Any]]


class BackendInfo(BaseModel):
    name: str
    enabled: bool
    kind: str | None = Field(None, description="classical, quantum, hybrid...")
    remote: bool = False
    description: str = ""


class BackendList(BaseModel):
    backends: list[BackendInfo]
    default: str = Field("auto", description="What `backend` means when not given.")


# --- trade-offs: a Pareto front, or top-k distinct plans ----------------------------------

#: what a trade-off's ``objectives`` may name (the MCP tools' and the HTTP API's schemas)
OBJECTIVE_NAMES = ["minimize_makespan", "maximize_priority", "balance_load", "minimize_cost"]
#: the JSON Schema of ``objectives``: the planner's own check refuses the rest with a typed
#: error naming ``objectives`` (an unknown name, one objective, a repeat)
OBJECTIVES_SCHEMA: dict[str, Any] = {
    "minItems": 2,
    "maxItems": 3,
    "uniqueItems": True,
    "items": {"type": "string", "enum": OBJECTIVE_NAMES},
}
OBJECTIVES_HELP = (
    "Two or three distinct objectives to trade off, in the order values are reported: "
    + ", ".join(OBJECTIVE_NAMES)
    + "."
)


class _TradeoffIn(_In):
    """What every trade-off request has: the problem, and how long and with what."""

    problem: dict[str, Any] = Field(
        description="The problem in quantum-planner's JSON format (as for `plan`)."
    )
    time_limit: float | None = Field(None, gt=0, description="Seconds for the whole request.")
    backend: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="auto (default), cpsat, hybrid, simulated_annealing or tabu.",
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    wait_seconds: float = Field(
        0.0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Wait up to this long and return the plans directly when done in time.",
    )


class ParetoInput(_TradeoffIn):
    """A trade-off request: the problem and two or three objectives to trade off."""

    objectives: list[str] = Field(description=OBJECTIVES_HELP, json_schema_extra=OBJECTIVES_SCHEMA)
    points: int | None = Field(
        None,
        ge=2,
        le=FRONT_POINTS_MAX,
        description="Most plans on the front (at least one per objective); default: as many "
        "as the time allows.",
    )
    reference: list[float] | None = Field(
        None,
        description="Hypervolume reference point, one value per objective; default: each "
        "objective's worst value on the front pushed 10% of its range further.",
    )


class AlternativesInput(_TradeoffIn):
    """The k best plans that differ pairwise in at least min_distance task->agent choices."""

    k: int = Field(5, ge=1, le=ALTERNATIVES_MAX, description="How many plans.")
    min_distance: int = Field(
        1,
        ge=1,
        description="Least number of tasks on another agent between any two plans (at most "
        "the task count).",
    )


class TradeoffPlan(BaseModel):
    """One plan of a front or of the alternatives."""

    plan_id: str = Field(description="The plan as a living plan (REST: GET /api/plans/{id}).")
    values: dict[str, float] = Field(description="The traded-off objectives' values.")
    knee: bool = Field(False, description="The front's balanced choice.")
    rank: int | None = Field(None, description="Alternatives: 0 is the best.")
    distance: int | None = Field(None, description="Alternatives: tasks moved from the best.")
    kpis: Kpis
    solution: dict[str, Any] = Field(description="The full Solution JSON (for validate_plan).")


class TradeoffResult(BaseModel):
    """What `pareto`, `alternatives` and `get_tradeoffs` return."""

    job_id: str
    kind: Literal["pareto", "alternatives"]
    state: JobState
    done: bool
    objectives: list[str] = Field(default_factory=list, description="Pareto: in value order.")
    hypervolume: float | None = Field(None, description="Pareto: of the front (larger: better).")
    reference: list[float] | None = None
    complete: bool | None = Field(None, description="Pareto: the whole exact front was found.")
    plans: list[TradeoffPlan] | None = Field(
        None, description="Once done: the front (by the first objective) or the alternatives."
    )
    error: JobError | None = None
    next_step: str
