"""A plan as returned to the user: assignments, schedule, objective values, provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from quantum_planner.errors import FormatError
from quantum_planner.model.entities import _Base

__all__ = ["BackendAttempt", "Solution", "Violation"]


class Violation(_Base):
    """One violated constraint: which kind, which items, by how much."""

    constraint: str
    items: list[str] = Field(default_factory=list)
    amount: float = 0.0
    message: str = ""


class BackendAttempt(_Base):
    """One backend tried while solving, and how it went."""

    backend: str
    outcome: Literal["success", "failed", "invalid", "skipped", "timeout"]
    reason: str | None = None
    seconds: float = 0.0


class Solution(_Base):
    """A plan: who does what, when, how good it is and how it was found."""

    assignments: dict[str, str] = Field(default_factory=dict, description="task -> agent")
    schedule: dict[str, dict[str, tuple[float, float]]] = Field(
        default_factory=dict, description="agent -> task -> (start, end)"
    )
    makespan: float = 0.0
    objectives: dict[str, float] = Field(
        default_factory=dict, description="value of every objective"
    )
    feasible: bool = True
    violations: list[Violation] = Field(default_factory=list)
    unassigned: list[str] = Field(default_factory=list, description="tasks left undone")
    status: Literal["optimal", "feasible", "infeasible", "unknown"] = "unknown"
    lower_bound: float | None = Field(
        default=None, description="proven bound on the primary objective, if known"
    )
    gap: float | None = Field(default=None, description="relative optimality gap, if known")
    backend_used: str = ""
    backends_tried: list[BackendAttempt] = Field(default_factory=list)
    penalties: dict[str, float] = Field(
        default_factory=dict, description="penalty weight per constraint kind, where a QUBO ran"
    )
    disruption: dict[str, float] | None = Field(
        default=None,
        description="against the previous plan, when re-planned: reassigned, moved, "
        "start_shift, unchanged",
    )
    previous_id: str | None = Field(default=None, description="id of the plan this re-plans")
    wall_time: float = 0.0
    seed: int | None = None
    version: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    def agent_of(self, task_id: str) -> str | None:
        return self.assignments.get(task_id)

    def interval_of(self, task_id: str) -> tuple[float, float] | None:
        agent = self.assignments.get(task_id)
        if agent is None:
            return None
        return self.schedule.get(agent, {}).get(task_id)

    @classmethod
    def from_json(cls, text: str | bytes) -> Solution:
        try:
            return cls.model_validate_json(text)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err.get("loc", ()))
            raise FormatError(f"solution {loc}: {err.get('msg')}", field=loc or None) from None

    @classmethod
    def load(cls, path: str | Path) -> Solution:
        p = Path(path)
        try:
            return cls.from_json(p.read_text())
        except OSError as e:
            raise FormatError(f"cannot read solution file {str(p)!r}: {e.strerror}") from None

    def to_json(self, **kw: Any) -> str:
        return self.model_dump_json(**kw)
