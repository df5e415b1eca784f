"""Domain model: agents, tasks, problems and solutions (pydantic v2, JSON in and out).

Semantics (docs/MODEL.md has the full text and a worked example):

* Every assigned task runs once, without interruption, on one agent. An agent
  runs one task at a time. A task's interval is ``[start, start + duration)``
  where the duration may depend on the agent (``Task.durations``).
* ``Agent.capacity`` is the most *load* an agent may take in one plan, in the
  units of ``Task.load`` (default 1, so by default capacity counts tasks).
  ``None`` means unlimited.
* ``priority`` is the value of doing a task: ``maximize_priority`` maximises the
  total priority of the tasks done, which matters when tasks are ``optional``.
* ``makespan`` is the latest end time of any task in the plan (0 if none).
* Precedence: a task starts no earlier than every prerequisite ends.

This module imports nothing else of quantum-planner but :mod:`errors`.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from quantum_planner.bounds import (
    Cost,
    Flag,
    Id,
    Load,
    Name,
    Priority,
    Time,
    field_path,
    id_keys,
    problem_error,
)
from quantum_planner.errors import (
    DependencyCycleError,
    DuplicateIdError,
    FormatError,
    InvalidValueError,
    NoEligibleAgentError,
    ProblemError,
    TimeWindowError,
    UnknownObjectiveError,
    UnknownReferenceError,
)

#: largest relative tolerance a lexicographic level accepts (10 = 1000% of the best value)
MAX_TOLERANCE = 10.0

__all__ = [
    "Agent",
    "BackendAttempt",
    "Constraints",
    "Objective",
    "ObjectiveLevel",
    "Problem",
    "Solution",
    "Task",
    "TimeWindowTask",
    "Violation",
]


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


class ObjectiveLevel(_Base):
    """One level of a lexicographic objective list, with a relative tolerance.

    ``{"name": "minimize_cost", "tolerance": 0.02}`` (or ``("minimize_cost", 0.02)``
    in Python) means: later levels may trade this objective away by up to 2% of its
    best value (docs/MODEL.md, "Lexicographic objectives").
    """

    name: Objective
    tolerance: float = Field(
        default=0.0, ge=0.0, le=MAX_TOLERANCE, description="Relative slack on this level."
    )


def _objective_level(value: Any, i: int) -> Objective | ObjectiveLevel:
    """One entry of an objective list: a name, ``(name, tolerance)`` or ``{name, tolerance}``."""
    if isinstance(value, ObjectiveLevel):
        return value
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"name", "tolerance"})
        if unknown or "name" not in value:
            raise UnknownObjectiveError(
                f"objective[{i}] must be a name or {{'name': ..., 'tolerance': ...}}"
                + (f"; unknown keys {unknown}" if unknown else "; 'name' is missing"),
                field=f"objective[{i}]",
            )
        name, tol = value["name"], value.get("tolerance", 0.0)
    elif isinstance(value, list | tuple):
        if len(value) != 2:
            raise UnknownObjectiveError(
                f"objective[{i}] must be a name or a (name, tolerance) pair",
                field=f"objective[{i}]",
            )
        name, tol = value
    else:
        return Objective.parse(value)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol <= MAX_TOLERANCE:
        raise InvalidValueError(
            f"objective[{i}].tolerance must be a number from 0 to {MAX_TOLERANCE:g} (a "
            f"fraction of the best value), got {tol!r}",
            field=f"objective[{i}].tolerance",
        )
    return ObjectiveLevel(name=Objective.parse(name), tolerance=float(tol))


ObjectiveSpec = Objective | Annotated[list[Objective | ObjectiveLevel], Field(min_length=1)]


class Problem(_Base):
    """A planning problem: who can do what, what depends on what, and what to optimise."""

    name: str | None = None
    agents: list[Agent]
    tasks: list[Task]
    objective: ObjectiveSpec = Objective.MINIMIZE_MAKESPAN
    constraints: Constraints = Field(default_factory=Constraints)
    time_horizon: Time | None = Field(
        default=None, description="Every task must end by this time (None: no limit)."
    )

    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    _agents: dict[str, Agent] = PrivateAttr(default_factory=dict)
    _tasks: dict[str, Task] = PrivateAttr(default_factory=dict)

    @field_validator("objective", mode="before")
    @classmethod
    def _parse_objective(cls, v: Any) -> Any:
        if isinstance(v, list | tuple):
            if not v:
                raise UnknownObjectiveError("objective list is empty", field="objective")
            return [_objective_level(o, i) for i, o in enumerate(v)]
        return Objective.parse(v)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise problem_error(e, data) from None

    @model_validator(mode="wrap")
    @classmethod
    def _as_a_whole(cls, data: Any, handler: Any) -> Any:
        token = _IN_PROBLEM.set(True)
        try:
            return handler(data)
        finally:
            _IN_PROBLEM.reset(token)

    def model_post_init(self, __context: Any) -> None:
        self._agents = {a.id: a for a in self.agents}
        self._tasks = {t.id: t for t in self.tasks}
        self._check()

    # -- lookups ------------------------------------------------------------
    @property
    def objectives(self) -> list[Objective]:
        """The objectives in lexicographic order."""
        if not isinstance(self.objective, list):
            return [self.objective]
        return [o.name if isinstance(o, ObjectiveLevel) else o for o in self.objective]

    @property
    def tolerances(self) -> list[float]:
        """Each level's relative tolerance (0 where none was given), as :attr:`objectives`."""
        if not isinstance(self.objective, list):
            return [0.0]
        return [o.tolerance if isinstance(o, ObjectiveLevel) else 0.0 for o in self.objective]

    # Solvers call these in their inner loops: read the private dict directly, since
    # pydantic's __getattr__ route to private attributes costs ~5 us per access.
    def agent(self, agent_id: str) -> Agent:
        return self.__pydantic_private__["_agents"][agent_id]

    def task(self, task_id: str) -> Task:
        return self.__pydantic_private__["_tasks"][task_id]

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self.__pydantic_private__["_agents"]

    def prerequisites(self, task_id: str) -> list[str]:
        """Tasks that must end before ``task_id`` starts (empty when precedence is off)."""
        if not self.constraints.precedence_enabled:
            return []
        deps = list(self.task(task_id).dependencies)
        for d in self.constraints.extra_precedence.get(task_id, []):
            if d not in deps:
                deps.append(d)
        return deps

    def is_eligible(self, task: Task, agent: Agent) -> bool:
        """Whether ``agent`` may do ``task`` under the hard constraints."""
        if task.allowed_agents is not None and agent.id not in task.allowed_agents:
            return False
        if self.constraints.skill_match and not set(task.required_skills) <= set(agent.skills):
            return False
        if (
            self.constraints.capacity_limit
            and agent.capacity is not None
            and task.load_on(agent.id) > agent.capacity
        ):
            return False
        if self.constraints.availability or self.constraints.time_windows:
            lo, hi = self.window_on(task, agent)
            if hi is not None and hi - lo < task.duration_on(agent.id):
                return False
        return True

    def eligible_agents(self, task: Task | str) -> list[Agent]:
        """Agents that may do ``task``, in the problem's order."""
        t = self._tasks[task] if isinstance(task, str) else task
        return [a for a in self.agents if self.is_eligible(t, a)]

    def window_on(self, task: Task, agent: Agent) -> tuple[float, float | None]:
        """Earliest start and latest end of ``task`` on ``agent`` (None: unbounded)."""
        lo, hi = 0.0, self.time_horizon
        if self.constraints.time_windows:
            if task.earliest_start is not None:
                lo = max(lo, task.earliest_start)
            if task.latest_finish is not None:
                hi = task.latest_finish if hi is None else min(hi, task.latest_finish)
        if self.constraints.availability:
            lo = max(lo, agent.available_from)
            if agent.available_until is not None:
                hi = agent.available_until if hi is None else min(hi, agent.available_until)
        return lo, hi

    def topological_order(self) -> list[str]:
        """Task ids ordered so that prerequisites come first (stable on input order)."""
        indeg = {t.id: 0 for t in self.tasks}
        succ: dict[str, list[str]] = {t.id: [] for t in self.tasks}
        for t in self.tasks:
            for d in self.prerequisites(t.id):
                indeg[t.id] += 1
                succ[d].append(t.id)
        order = [t.id for t in self.tasks if indeg[t.id] == 0]
        i = 0
        while i < len(order):
            for s in succ[order[i]]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    order.append(s)
            i += 1
        return order

    # -- semantic checks ----------------------------------------------------
    def _check(self) -> None:
        for kind, items in (("agent", self.agents), ("task", self.tasks)):
            seen: set[str] = set()
            for i, x in enumerate(items):
                if x.id in seen:
                    raise DuplicateIdError(
                        f"duplicate {kind} id {x.id!r}; ids must be unique",
                        field=field_path((f"{kind}s", i, "id")),
                        id=x.id,
                    )
                seen.add(x.id)
        self._check_references()
        cycle = self._find_cycle()
        if cycle:
            path = " -> ".join(cycle)
            first = next(i for i, t in enumerate(self.tasks) if t.id == cycle[0])
            raise DependencyCycleError(
                f"dependency cycle: {path}; remove one of these dependencies",
                field=field_path(("tasks", first, "dependencies")),
                cycle=cycle,
                id=cycle[0],
            )
        for i, t in enumerate(self.tasks):
            if t.optional or any(self.is_eligible(t, a) for a in self.agents):
                continue
            raise self._no_agent_error(i, t)

    def _check_references(self) -> None:
        # private attributes go through pydantic's __getattr__: bind once (80x1600 GAP loads)
        agent_index, task_index = self._agents, self._tasks
        for i, t in enumerate(self.tasks):
            for d in t.dependencies:
                if d not in task_index:
                    raise UnknownReferenceError(
                        f"task {t.id!r} depends on unknown task {d!r}; add it or remove the "
                        "dependency",
                        field=field_path(("tasks", i, "dependencies")),
                        id=t.id,
                    )
            for field, ids in (
                ("allowed_agents", t.allowed_agents or []),
                ("durations", t.durations),
                ("costs", t.costs),
                ("loads", t.loads),
            ):
                for a in ids:
                    if a not in agent_index:
                        raise UnknownReferenceError(
                            f"task {t.id!r}: {field} names unknown agent {a!r}",
                            field=field_path(("tasks", i, field)),
                            id=t.id,
                        )
        for tid, deps in self.constraints.extra_precedence.items():
            for x in [tid, *deps]:
                if x not in task_index:
                    raise UnknownReferenceError(
                        f"precedence names unknown task {x!r}", field="constraints.precedence"
                    )

    def _no_agent_error(self, i: int, t: Task) -> ProblemError:
        """Why no agent can do mandatory task ``t`` (the ``i``-th), as the error to raise."""
        if self.time_horizon is not None and self.agents:
            # the horizon is the cause when lifting it alone would let some agent do the task
            unbounded = self.model_copy(update={"time_horizon": None})
            if any(unbounded.is_eligible(t, a) for a in self.agents):
                shortest = min(t.duration_on(a.id) for a in self.agents)
                return TimeWindowError(
                    f"time_horizon ({self.time_horizon:g}) leaves no room for task {t.id!r} "
                    f"(duration {shortest:g} on its fastest agent, after its release and the "
                    "agents' availability); raise time_horizon or shorten the task",
                    field="time_horizon",
                    task=t.id,
                    id=t.id,
                )
        return NoEligibleAgentError(
            self._why_no_agent(t), field=field_path(("tasks", i)), task=t.id, id=t.id
        )

    def _why_no_agent(self, t: Task) -> str:
        if not self.agents:
            return f"task {t.id!r} cannot be assigned: the problem has no agents"
        if self.constraints.skill_match and t.required_skills:
            best = max(self.agents, key=lambda a: len(set(t.required_skills) & set(a.skills)))
            missing = sorted(set(t.required_skills) - set(best.skills))
            if missing:
                return (
                    f"no agent has all skills {sorted(t.required_skills)} needed by task "
                    f"{t.id!r}; closest is agent {best.id!r}, missing {missing}. Add the skills "
                    "to an agent, or mark the task optional"
                )
        return (
            f"no agent can do task {t.id!r} (allowed agents, capacity or time windows exclude "
            "every agent); relax them or mark the task optional"
        )

    def _find_cycle(self) -> list[str] | None:
        white, grey, black = 0, 1, 2
        color = {t.id: white for t in self.tasks}
        stack_path: list[str] = []
        for root in self._tasks:
            if color[root] != white:
                continue
            # iterative DFS keeping the path so the cycle can be named
            it_stack = [(root, iter(self.prerequisites(root)))]
            color[root] = grey
            stack_path.append(root)
            while it_stack:
                node, it = it_stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    color[node] = black
                    stack_path.pop()
                    it_stack.pop()
                elif color[nxt] == grey:
                    i = stack_path.index(nxt)
                    return [*stack_path[i:], nxt]
                elif color[nxt] == white:
                    color[nxt] = grey
                    stack_path.append(nxt)
                    it_stack.append((nxt, iter(self.prerequisites(nxt))))
        return None

    # -- JSON ---------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> Problem:
        """Build from parsed JSON; type errors become :class:`ProblemError` naming the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise problem_error(e, data) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Problem:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise FormatError(f"problem is not valid JSON: {e}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> Problem:
        """Read a problem from a JSON file."""
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise FormatError(f"cannot read problem file {str(p)!r}: {e.strerror}") from None
        return cls.from_json(text)

    def to_json(self, **kw: Any) -> str:
        return self.model_dump_json(exclude_defaults=False, **kw)


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
