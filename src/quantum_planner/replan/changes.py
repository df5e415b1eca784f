"""Typed changes to a planned problem: what happened since the plan was made.

Each change is a small pydantic model with a ``type`` tag, so a list of them reads
from JSON (``[{"type": "remove_agent", "agent": "bob", "at": 6}, ...]``) as well
as from Python (``RemoveAgent(agent="bob", at=6)``). :func:`parse_changes` accepts
either form and names the change at fault when one is malformed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from quantum_planner.errors import ChangeError

__all__ = [
    "AddAgent",
    "AddTask",
    "Change",
    "CompleteTask",
    "RemoveAgent",
    "RemoveTask",
    "StartTask",
    "UpdateAgent",
    "UpdateTask",
    "parse_changes",
]


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddTask(_Change):
    """A new task arrives; ``task`` is a task in the problem's JSON form."""

    type: Literal["add_task"] = "add_task"
    task: dict[str, Any]


class RemoveTask(_Change):
    """A task is cancelled. Other tasks' dependencies on it are dropped."""

    type: Literal["remove_task"] = "remove_task"
    task: str


class UpdateTask(_Change):
    """Some of a task's fields change (only the fields given).

    A new ``duration`` scales the task's per-agent durations in proportion, and a
    new ``load`` its per-agent loads.
    """

    type: Literal["update_task"] = "update_task"
    task: str
    duration: float | None = None
    earliest_start: float | None = None
    latest_finish: float | None = None
    priority: float | None = None
    required_skills: list[str] | None = None
    load: float | None = None
    optional: bool | None = None


class CompleteTask(_Change):
    """A task finished at time ``at`` on the agent the plan gave it (or ``agent``)."""

    type: Literal["complete_task"] = "complete_task"
    task: str
    at: float = Field(ge=0)
    agent: str | None = None


class StartTask(_Change):
    """A task started at time ``at`` (on its planned agent, or ``agent``): it is now pinned."""

    type: Literal["start_task"] = "start_task"
    task: str
    at: float = Field(ge=0)
    agent: str | None = None


class AddAgent(_Change):
    """A new agent joins; ``agent`` is an agent in the problem's JSON form."""

    type: Literal["add_agent"] = "add_agent"
    agent: dict[str, Any]


class RemoveAgent(_Change):
    """An agent drops out from time ``at`` (default 0): its unstarted tasks must move."""

    type: Literal["remove_agent"] = "remove_agent"
    agent: str
    at: float = Field(default=0.0, ge=0)


class UpdateAgent(_Change):
    """Some of an agent's fields change (only the fields given)."""

    type: Literal["update_agent"] = "update_agent"
    agent: str
    capacity: float | None = None
    skills: list[str] | None = None
    cost_rate: float | None = None
    available_from: float | None = None
    available_until: float | None = None


Change = Annotated[
    AddTask
    | RemoveTask
    | UpdateTask
    | CompleteTask
    | StartTask
    | AddAgent
    | RemoveAgent
    | UpdateAgent,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Change] = TypeAdapter(Change)
TYPES = (
    "add_task",
    "remove_task",
    "update_task",
    "complete_task",
    "start_task",
    "add_agent",
    "remove_agent",
    "update_agent",
)


def parse_changes(changes: Iterable[Change | Mapping[str, Any]]) -> list[Change]:
    """Changes as typed objects; a malformed one raises :class:`ChangeError` naming it."""
    if isinstance(changes, Mapping | str | bytes):
        raise ChangeError("changes must be a list of change objects", field="changes")
    out: list[Change] = []
    for i, c in enumerate(changes):
        if isinstance(c, _Change):
            out.append(c)  # type: ignore[arg-type]
            continue
        try:
            out.append(_ADAPTER.validate_python(c))
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in TYPES)
            where = f"changes[{i}]" + (f".{loc}" if loc else "")
            tag = err.get("type") in ("union_tag_invalid", "union_tag_not_found", "model_type")
            hint = f"; type is one of: {', '.join(TYPES)}" if tag else ""
            raise ChangeError(f"{where}: {err.get('msg')}{hint}", field=where, change=i) from None
    return out
