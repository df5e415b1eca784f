"""Apply changes to a planned problem: the new problem, with pins as hard constraints.

A pinned task keeps its agent and its start. The pin is written into the new
problem as constraints every solver already honours (``allowed_agents`` = that
agent, and a window ``[start, start + duration]``), so every backend, the QUBO path
included, keeps pins without knowing about them, and the independent validator
checks them like any window. Which tasks are pinned:

* tasks completed (``CompleteTask``) or started (``StartTask``);
* tasks the previous plan starts before ``freeze_until``;
* tasks with ``pinned: true`` (they keep the previous plan's agent and start).

With ``freeze_until`` every unpinned task starts no earlier than it (the past is
past). An agent removed at ``at`` keeps only its tasks that started before
``at``; the rest must move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from quantum_planner.errors import ChangeError, ProblemError
from quantum_planner.model import Agent, Problem, Solution, Task
from quantum_planner.replan.changes import (
    AddAgent,
    AddTask,
    Change,
    CompleteTask,
    RemoveAgent,
    RemoveTask,
    StartTask,
    UpdateAgent,
    UpdateTask,
)

__all__ = ["Pin", "ReplanInput", "apply_changes"]

EPS = 1e-9


@dataclass(frozen=True)
class Pin:
    """A task fixed to ``agent`` over ``[start, end]``, and why."""

    agent: str
    start: float
    end: float
    reason: str  # "completed", "started", "frozen", "pinned"


@dataclass
class ReplanInput:
    """The problem after the changes, its pins and the previous plan restated on it."""

    problem: Problem
    pins: dict[str, Pin]
    # surviving task -> (agent, start, end) in the previous plan; the agent may be gone
    previous: dict[str, tuple[str, float, float]]
    removed_tasks: list[str] = field(default_factory=list)
    added_tasks: list[str] = field(default_factory=list)


@dataclass
class _State:
    """The problem's parts while changes apply.

    Agents and tasks stay model instances: untouched ones are reused as they are (no
    re-validation, which costs most of a re-plan's first plan on thousands of tasks);
    values a user supplies are validated (:func:`_checked`); values derived here from
    validated ones (pins, freeze, dropped references) are set with ``model_copy``.
    """

    data: dict[str, Any]
    agents: dict[str, Agent]
    tasks: dict[str, Task]
    prev: dict[str, tuple[str, float, float]]
    pins: dict[str, Pin] = field(default_factory=dict)
    removed_agents: dict[str, float] = field(default_factory=dict)
    removed_tasks: list[str] = field(default_factory=list)
    added_tasks: list[str] = field(default_factory=list)
    source: dict[str, int] = field(default_factory=dict)  # pinned task -> change index


def _previous(solution: Solution) -> dict[str, tuple[str, float, float]]:
    out: dict[str, tuple[str, float, float]] = {}
    for aid, entries in solution.schedule.items():
        for tid, (s, e) in entries.items():
            if solution.assignments.get(tid) == aid:
                out[tid] = (aid, float(s), float(e))
    return out


def apply_changes(
    problem: Problem,
    previous: Solution,
    changes: Sequence[Change],
    *,
    freeze_until: float | None = None,
) -> ReplanInput:
    """The new problem after ``changes`` (applied in order), with its pins.

    Raises:
        ChangeError: a change names an unknown task or agent, completes or starts a
            task twice, pins a task where it cannot run, or leaves a mandatory task
            without any agent able to do it; ``field`` names the change.
    """
    if freeze_until is not None and not (0 <= freeze_until < float("inf")):
        raise ChangeError("freeze_until must be a finite time >= 0", field="freeze_until")
    data = problem.model_dump(mode="python", exclude={"agents", "tasks"})
    st = _State(
        data=data,
        agents={a.id: a for a in problem.agents},
        tasks={t.id: t for t in problem.tasks},
        prev=_previous(previous),
    )
    for i, change in enumerate(changes):
        _APPLY[type(change)](st, i, change)
    _freeze(st, freeze_until)
    _drop_removed_agents(st)
    _write_pins(st, freeze_until)
    new = _build(st, problem, previous, changes)
    # tasks whose agent left stay here: moving them is disruption too (forced, but counted)
    prev = {t: v for t, v in st.prev.items() if t in st.tasks}
    return ReplanInput(new, st.pins, prev, st.removed_tasks, st.added_tasks)


# -- one function per change type -----------------------------------------------------


def _err(i: int, message: str, sub: str = "") -> ChangeError:
    where = f"changes[{i}]{sub}"
    return ChangeError(f"{where}: {message}; the previous plan is unchanged", field=where, change=i)


def _task(st: _State, i: int, tid: str) -> Task:
    if tid not in st.tasks:
        raise _err(i, f"unknown task {tid!r}", ".task")
    return st.tasks[tid]


def _agent(st: _State, i: int, aid: str) -> Agent:
    if aid not in st.agents or aid in st.removed_agents:
        raise _err(i, f"unknown agent {aid!r}", ".agent")
    return st.agents[aid]


def _checked(i: int, cls: type[Any], values: dict[str, Any]) -> Any:
    try:
        return cls.model_validate(values)
    except ProblemError as e:
        raise _err(i, e.message) from None
    except Exception as e:  # pydantic's ValidationError: name the field
        errs = getattr(e, "errors", None)
        first = errs()[0] if callable(errs) else {"loc": (), "msg": str(e)}
        loc = ".".join(str(x) for x in first.get("loc", ()))
        raise _err(i, f"{loc or 'value'}: {first.get('msg')}") from None


def _add_task(st: _State, i: int, c: AddTask) -> None:
    tid = c.task.get("id")
    if not isinstance(tid, str) or not tid:
        raise _err(i, "the new task needs an id", ".task.id")
    if tid in st.tasks:
        raise _err(i, f"task {tid!r} already exists; use update_task", ".task.id")
    st.tasks[tid] = _checked(i, Task, dict(c.task))
    st.added_tasks.append(tid)


def _remove_task(st: _State, i: int, c: RemoveTask) -> None:
    _task(st, i, c.task)
    del st.tasks[c.task]
    st.pins.pop(c.task, None)
    st.removed_tasks.append(c.task)
    for tid, t in st.tasks.items():
        if c.task in t.dependencies:
            deps = [d for d in t.dependencies if d != c.task]
            st.tasks[tid] = t.model_copy(update={"dependencies": deps})
    prec = st.data["constraints"]["precedence"]
    if isinstance(prec, dict):
        prec.pop(c.task, None)
        for k in prec:
            prec[k] = [d for d in prec[k] if d != c.task]


def _update_task(st: _State, i: int, c: UpdateTask) -> None:
    t = _task(st, i, c.task).model_dump()
    fields = c.model_dump(exclude_none=True, exclude={"type", "task"})
    # per-agent durations and loads keep their proportions to the task's own value
    for key, per_agent in (("duration", "durations"), ("load", "loads")):
        if key in fields and t[per_agent]:
            old = t[key]
            f = fields[key] / old if old > 0 else None
            t[per_agent] = {
                a: (d * f if f is not None else fields[key]) for a, d in t[per_agent].items()
            }
    st.tasks[c.task] = _checked(i, Task, {**t, **fields})


def _planned_agent(st: _State, i: int, tid: str, agent: str | None) -> str:
    aid = agent or (st.prev[tid][0] if tid in st.prev else None)
    if aid is None:
        raise _err(i, f"task {tid!r} has no agent in the previous plan; give 'agent'", ".agent")
    _agent(st, i, aid)
    return aid


def _complete_task(st: _State, i: int, c: CompleteTask) -> None:
    t = _task(st, i, c.task)
    old = st.pins.get(c.task)
    if old is not None and old.reason == "completed":
        raise _err(i, f"task {c.task!r} was already completed at {old.end:g}", ".task")
    aid = _planned_agent(st, i, c.task, c.agent)
    if old is not None and old.agent == aid:
        start = old.start
    elif c.task in st.prev and st.prev[c.task][0] == aid:
        start = st.prev[c.task][1]
    else:
        start = max(0.0, c.at - t.duration_on(aid))
    if c.at < start - EPS:
        raise _err(i, f"task {c.task!r} cannot end at {c.at:g}, before it started at {start:g}")
    st.pins[c.task] = Pin(aid, start, c.at, "completed")
    st.source[c.task] = i


def _start_task(st: _State, i: int, c: StartTask) -> None:
    t = _task(st, i, c.task)
    old = st.pins.get(c.task)
    if old is not None and old.reason in ("completed", "started"):
        raise _err(i, f"task {c.task!r} was already {old.reason} (at {old.start:g})", ".task")
    aid = _planned_agent(st, i, c.task, c.agent)
    st.pins[c.task] = Pin(aid, c.at, c.at + t.duration_on(aid), "started")
    st.source[c.task] = i


def _add_agent(st: _State, i: int, c: AddAgent) -> None:
    aid = c.agent.get("id")
    if not isinstance(aid, str) or not aid:
        raise _err(i, "the new agent needs an id", ".agent.id")
    if aid in st.agents and aid not in st.removed_agents:
        raise _err(i, f"agent {aid!r} already exists; use update_agent", ".agent.id")
    st.removed_agents.pop(aid, None)
    st.agents[aid] = _checked(i, Agent, dict(c.agent))


def _remove_agent(st: _State, i: int, c: RemoveAgent) -> None:
    _agent(st, i, c.agent)
    st.removed_agents[c.agent] = c.at
    st.source[f"agent:{c.agent}"] = i
    for tid, pin in list(st.pins.items()):
        if pin.agent == c.agent and pin.start >= c.at - EPS:
            raise _err(
                i, f"task {tid!r} is pinned on {c.agent!r} at {pin.start:g}, after it leaves"
            )


def _update_agent(st: _State, i: int, c: UpdateAgent) -> None:
    a = _agent(st, i, c.agent).model_dump()
    fields = c.model_dump(exclude_none=True, exclude={"type", "agent"})
    st.agents[c.agent] = _checked(i, Agent, {**a, **fields})


_APPLY: dict[type, Any] = {
    AddTask: _add_task,
    RemoveTask: _remove_task,
    UpdateTask: _update_task,
    CompleteTask: _complete_task,
    StartTask: _start_task,
    AddAgent: _add_agent,
    RemoveAgent: _remove_agent,
    UpdateAgent: _update_agent,
}


# -- pins, removed agents, the new problem ---------------------------------------------


def _freeze(st: _State, freeze_until: float | None) -> None:
    """Pin what the previous plan started before ``freeze_until`` and what is marked pinned."""
    for tid, (aid, start, _) in st.prev.items():
        if tid not in st.tasks or tid in st.pins:
            continue
        frozen = freeze_until is not None and start < freeze_until - EPS
        left = st.removed_agents.get(aid)
        started_before_leaving = left is not None and start < left - EPS
        t = st.tasks[tid]
        if frozen or t.pinned or started_before_leaving:
            reason = "frozen" if frozen else "pinned" if t.pinned else "started"
            st.pins[tid] = Pin(aid, start, start + t.duration_on(aid), reason)


def _drop_removed_agents(st: _State) -> None:
    """A removed agent stays only to carry its pinned tasks, available until they end."""
    for aid, at in st.removed_agents.items():
        ends = [p.end for p in st.pins.values() if p.agent == aid]
        if ends:
            until = max(at, *ends)
            st.agents[aid] = st.agents[aid].model_copy(update={"available_until": until})
            continue
        del st.agents[aid]
        for tid, t in st.tasks.items():
            update: dict[str, Any] = {}
            if t.allowed_agents is not None and aid in t.allowed_agents:
                update["allowed_agents"] = [a for a in t.allowed_agents if a != aid]
            for key in ("durations", "costs", "loads"):
                values = getattr(t, key)
                if aid in values:
                    update[key] = {a: v for a, v in values.items() if a != aid}
            if update:
                st.tasks[tid] = t.model_copy(update=update)


def _write_pins(st: _State, freeze_until: float | None) -> None:
    for tid, t in st.tasks.items():
        pin = st.pins.get(tid)
        if pin is None:
            if freeze_until is not None and (t.earliest_start or 0.0) < freeze_until:
                st.tasks[tid] = t.model_copy(update={"earliest_start": freeze_until})
            continue
        st.tasks[tid] = t.model_copy(
            update={
                "allowed_agents": [pin.agent],
                "durations": {**t.durations, pin.agent: pin.end - pin.start},
                "earliest_start": pin.start,
                "latest_finish": pin.end,
                "optional": False,
            }
        )
    _check_pins(st)


def _check_pins(st: _State) -> None:
    """A pin must fit its agent's availability, the horizon, and no other pin."""
    horizon = st.data.get("time_horizon")
    by_agent: dict[str, list[tuple[float, float, str]]] = {}
    for tid, pin in st.pins.items():
        if tid not in st.tasks:
            continue
        where = st.source.get(tid)
        a = st.agents[pin.agent]
        lo, hi = a.available_from, a.available_until
        if pin.start < lo - EPS or (hi is not None and pin.end > hi + EPS):
            raise _pin_err(
                where,
                f"task {tid!r} pinned at [{pin.start:g}, {pin.end:g}] on "
                f"{pin.agent!r}, outside its availability",
            )
        if horizon is not None and pin.end > horizon + EPS:
            raise _pin_err(
                where,
                f"task {tid!r} pinned to end at {pin.end:g}, after the time horizon {horizon:g}",
            )
        by_agent.setdefault(pin.agent, []).append((pin.start, pin.end, tid))
    for aid, ivs in by_agent.items():
        ivs.sort()
        for (_, e1, t1), (s2, _, t2) in pairwise(ivs):
            if s2 < e1 - EPS:
                raise _pin_err(
                    st.source.get(t2),
                    f"tasks {t1!r} and {t2!r} are pinned over each other on {aid!r}",
                )


def _pin_err(where: int | None, message: str) -> ChangeError:
    if where is None:
        return ChangeError(f"freeze_until: {message}", field="freeze_until")
    return _err(where, message)


def _build(st: _State, original: Problem, previous: Solution, changes: Sequence[Change]) -> Problem:
    st.data["agents"] = list(st.agents.values())
    st.data["tasks"] = list(st.tasks.values())
    try:
        return Problem.from_dict(st.data)
    except ProblemError as e:
        culprit = _culprit(original, previous, changes)
        field_ = f"changes[{culprit}]" if culprit is not None else "changes"
        what = f" ({_describe(changes[culprit])})" if culprit is not None else ""
        raise ChangeError(
            f"{field_}{what}: after this change {e.message}; the previous plan is unchanged",
            field=field_,
            change=culprit,
            cause=e.code,
        ) from None


def _describe(change: Change) -> str:
    ref = getattr(change, "task", None) or getattr(change, "agent", None)
    if isinstance(ref, dict):
        ref = ref.get("id")
    return f"{change.type} {ref}"


def _culprit(original: Problem, previous: Solution, changes: Sequence[Change]) -> int | None:
    """The first change after which the problem no longer builds (binary search)."""
    lo, hi = 0, len(changes)  # the problem builds after 0 changes, fails after all
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            apply_changes(original, previous, changes[:mid])
            lo = mid
        except ChangeError:
            hi = mid
    return hi - 1 if changes else None
