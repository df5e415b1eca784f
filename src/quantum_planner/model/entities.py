"""Agents, tasks, objectives and the hard-constraint switches: the parts of a problem."""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from quantum_planner.bounds import (
    Cost,
    Flag,
    Id,
    Load,
    Name,
    Priority,
    Time,
    id_keys,
    problem_error,
)
from quantum_planner.errors import ProblemError, UnknownObjectiveError

__all__ = ["Agent", "Constraints", "Objective", "Task", "TimeWindowTask"]


class Objective(StrEnum):
    """What a plan is judged by. A list of them is lexicographic (first dominates)."""

    MINIMIZE_MAKESPAN = "minimize_makespan"
    MAXIMIZE_PRIORITY = "maximize_priority"
    BALANCE_LOAD = "balance_load"
    MINIMIZE_COST = "minimize_cost"

    @property
    def sense(self) -> int:
        """+1 for objectives to minimise, -1 for those to maximise."""
        return -1 if self is Objective.MAXIMIZE_PRIORITY else 1

    @classmethod
    def parse(cls, value: str | Objective) -> Objective:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(o.value for o in cls)
            raise UnknownObjectiveError(
                f"unknown objective {value!r}; use one of: {names}", field="objective"
            ) from None


def _window_error(message: str, field: str) -> PydanticCustomError:
    # a ValueError, so pydantic adds where it happened (tasks[3]); problem_error types it
    return PydanticCustomError(
        "invalid_time_window", message.replace("{", "(").replace("}", ")"), {"field": field}
    )


# set while a Problem validates: its agents and tasks (pydantic calls their __init__) then
# leave the ValidationError to the problem, which knows the path (tasks[3].duration)
_IN_PROBLEM: ContextVar[bool] = ContextVar("_IN_PROBLEM", default=False)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class _WithId(_Base):
    """Allows ``Agent("a1", skills=[...])``: the id may be given positionally."""

    id: Id = Field(description="Unique identifier.")

    def __init__(self, id: str | None = None, /, **data: Any) -> None:
        if id is not None:
            if "id" in data:
                raise ProblemError("id given twice (positionally and by name)", field="id")
            data["id"] = id
        try:
            super().__init__(**data)
        except ValidationError as e:
            if _IN_PROBLEM.get():
                raise  # pydantic adds where in the problem it happened (tasks[3])
            raise problem_error(e, data) from None


class Agent(_WithId):
    """Someone (or something) that performs tasks."""

    skills: list[Name] = Field(default_factory=list, description="Skills the agent has.")
    capacity: Load | None = Field(
        default=None,
        description="Most total task load this agent may take in one plan (None: unlimited).",
    )
    cost_rate: Cost = Field(default=0.0, description="Cost per unit of time worked.")
    available_from: Time = Field(default=0.0, description="Earliest time the agent can start.")
    available_until: Time | None = Field(
        default=None, description="Time by which the agent's work must end (None: no limit)."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _window(self) -> Agent:
        if self.available_until is not None and self.available_until < self.available_from:
            raise _window_error(
                f"agent {self.id!r}: available_until ({self.available_until:g}) is before "
                f"available_from ({self.available_from:g})",
                "available_until",
            )
        return self


class Task(_WithId):
    """A unit of work. Durations, costs and loads may be overridden per agent."""

    required_skills: list[Name] = Field(
        default_factory=list, description="Skills an agent needs, all of them, to do the task."
    )
    priority: Priority = Field(default=1.0, description="Value of doing the task.")
    duration: Time = Field(default=1.0, description="Time the task takes.")
    dependencies: list[Id] = Field(
        default_factory=list, description="Tasks that must end before this one starts."
    )
    load: Load = Field(default=1.0, description="Capacity the task uses on its agent.")
    earliest_start: Time | None = Field(default=None, description="Release time.")
    latest_finish: Time | None = Field(default=None, description="Deadline (hard).")
    optional: Flag = Field(default=False, description="May be left unassigned.")
    allowed_agents: list[Id] | None = Field(
        default=None, description="If set, only these agents may do the task."
    )
    durations: dict[Id, Time] = Field(
        default_factory=dict, description="Per-agent duration overrides.", json_schema_extra=id_keys
    )
    costs: dict[Id, Cost] = Field(
        default_factory=dict,
        description="Per-agent cost overrides (total cost of the task).",
        json_schema_extra=id_keys,
    )
    loads: dict[Id, Load] = Field(
        default_factory=dict, description="Per-agent load overrides.", json_schema_extra=id_keys
    )
    pinned: bool = Field(
        default=False,
        description="When re-planning, keep this task's agent and start from the previous plan.",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _window(self) -> Task:
        if self.latest_finish is not None:
            start = self.earliest_start or 0.0
            shortest = min([self.duration, *self.durations.values()])
            if self.latest_finish - start < shortest:
                raise _window_error(
                    f"task {self.id!r}: window [{start:g}, {self.latest_finish:g}] is shorter "
                    f"than its duration ({shortest:g}); widen the window or shorten the task",
                    "latest_finish",
                )
        return self

    # -- per-agent values ---------------------------------------------------
    def duration_on(self, agent_id: str) -> float:
        """Duration of this task when done by ``agent_id``."""
        return self.durations.get(agent_id, self.duration)

    def load_on(self, agent_id: str) -> float:
        """Capacity this task uses on ``agent_id``."""
        return self.loads.get(agent_id, self.load)

    def cost_on(self, agent: Agent) -> float:
        """Cost of this task when done by ``agent`` (override, else rate x duration)."""
        if agent.id in self.costs:
            return self.costs[agent.id]
        return agent.cost_rate * self.duration_on(agent.id)


class TimeWindowTask(Task):
    """A task that must run inside ``[earliest_start, latest_finish]``."""

    earliest_start: Time | None = Field(default=0.0, description="Release time.")
    latest_finish: Time | None = Field(description="Deadline (hard).")


class Constraints(_Base):
    """Which hard constraints apply. All are on by default."""

    skill_match: Flag = True
    capacity_limit: Flag = True
    precedence: Flag | dict[Id, list[Id]] = Field(
        default=True,
        json_schema_extra=id_keys,
        description=(
            "True: honour every task's dependencies. A mapping task -> prerequisites adds "
            "to them. False: ignore precedence."
        ),
    )
    time_windows: Flag = True
    availability: Flag = True

    @property
    def precedence_enabled(self) -> bool:
        return self.precedence is not False

    @property
    def extra_precedence(self) -> dict[str, list[str]]:
        return self.precedence if isinstance(self.precedence, dict) else {}
