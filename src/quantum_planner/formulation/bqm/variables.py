"""The decision variables of the BQM: mode, time grid, and one ``x`` per eligible choice.

* ``("x", task, agent)`` -- assignment mode: ``task`` is done by ``agent``.
* ``("x", task, agent, start)`` -- time-indexed mode: ``task`` starts on ``agent`` at
  integer slot ``start``.

Variables exist only for eligible pairs (skills, allowed agents, loads that fit,
windows), so those rules cost no penalty. Slack and makespan bits are appended
later by :meth:`VariableSpace.new_vars`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from quantum_planner.errors import BackendUnavailableError, InvalidValueError
from quantum_planner.model import Objective, Problem

__all__ = ["Mode", "VarInfo", "VariableSpace"]

Mode = Literal["auto", "assignment", "time"]


@dataclass(frozen=True)
class VarInfo:
    """Arrays describing the ``x`` variables (index ``v`` of each array = variable ``v``)."""

    task: np.ndarray  # index into problem.tasks
    agent: np.ndarray  # index into problem.agents
    start: np.ndarray  # start slot (time mode) or -1
    end: np.ndarray  # start + duration (time mode) or -1


class VariableSpace:
    """Builder part that owns the variables: labels, per-task/agent groups, durations."""

    problem: Problem
    notes: list[str]
    mode: Literal["assignment", "time"]
    labels: list[Any]
    max_variables: int
    max_interactions: int
    time_unit: float
    horizon: int | None
    var: VarInfo
    task_vars: list[np.ndarray]
    agent_vars: list[np.ndarray]
    duration: np.ndarray
    _agent_index: dict[str, int]

    @property
    def n(self) -> int:
        """Number of binary variables (x, slack and makespan bits)."""
        return len(self.labels)

    def new_vars(self, labels: list[Any]) -> np.ndarray:
        """Append variables (slack or makespan bits); their indices."""
        start = len(self.labels)
        self.labels.extend(labels)
        return np.arange(start, start + len(labels), dtype=np.int64)

    def _resolve_mode(self, mode: Mode) -> Literal["assignment", "time"]:
        if mode in ("assignment", "time"):
            return mode
        if mode != "auto":
            raise InvalidValueError(f"unknown mode {mode!r}", field="mode")
        p = self.problem
        c = p.constraints
        windows = c.time_windows and any(
            t.earliest_start or t.latest_finish is not None for t in p.tasks
        )
        if windows:
            return "time"
        has_prec = any(p.prerequisites(t.id) for t in p.tasks)
        time_bound = p.time_horizon is not None or (
            c.availability and any(a.available_until is not None for a in p.agents)
        )
        makespan = Objective.MINIMIZE_MAKESPAN in p.objectives
        return "time" if has_prec and (makespan or time_bound) else "assignment"

    def _make_x_variables(
        self, time_slots: int | None, time_unit: float | None, max_slots: int
    ) -> None:
        if self.mode == "assignment":
            tasks, agents, starts, ends = self._assignment_choices()
        else:
            self.time_unit, self.horizon = self._time_grid(time_slots, time_unit, max_slots)
            self._check_size_time(self.time_unit)
            tasks, agents, starts, ends = self._time_choices()
        p = self.problem
        self.var = VarInfo(
            task=np.asarray(tasks, dtype=np.int64),
            agent=np.asarray(agents, dtype=np.int64),
            start=np.asarray(starts, dtype=np.int64),
            end=np.asarray(ends, dtype=np.int64),
        )
        self.task_vars = _group(self.var.task, len(p.tasks))
        self.agent_vars = _group(self.var.agent, len(p.agents))
        if self.mode == "assignment":
            groups = [*self.task_vars, *self.agent_vars]
            self._refuse_if_large(len(tasks), sum(g.size * (g.size - 1) // 2 for g in groups))
        self.duration = np.array(
            [
                p.tasks[ti].duration_on(p.agents[ai].id)
                for ti, ai in zip(self.var.task, self.var.agent, strict=True)
            ],
            dtype=float,
        )

    def _assignment_choices(self) -> tuple[list[int], list[int], list[int], list[int]]:
        tasks, agents = [], []
        for ti, t in enumerate(self.problem.tasks):
            for a in self.problem.eligible_agents(t):
                tasks.append(ti)
                agents.append(self._agent_index[a.id])
                self.labels.append(("x", t.id, a.id))
        return tasks, agents, [-1] * len(tasks), [-1] * len(tasks)

    def _time_choices(self) -> tuple[list[int], list[int], list[int], list[int]]:
        p, u = self.problem, self.time_unit
        assert self.horizon is not None
        tasks, agents, starts, ends = [], [], [], []
        for ti, t in enumerate(p.tasks):
            for a in p.eligible_agents(t):
                d = math.ceil(t.duration_on(a.id) / u - 1e-9)
                lo, hi = p.window_on(t, a)
                hi_end = self.horizon if hi is None else min(self.horizon, floor(hi / u))
                for k in range(math.ceil(lo / u - 1e-9), hi_end - d + 1):
                    tasks.append(ti)
                    agents.append(self._agent_index[a.id])
                    starts.append(k)
                    ends.append(k + d)
                    self.labels.append(("x", t.id, a.id, k))
        durations = [d for t in p.tasks for d in (t.duration, *t.durations.values())]
        if any(abs(d / u - round(d / u)) > 1e-9 for d in durations):
            self.notes.append(f"durations rounded up to whole slots of {u:g}")
        return tasks, agents, starts, ends

    def _time_grid(
        self, time_slots: int | None, time_unit: float | None, max_slots: int
    ) -> tuple[float, int]:
        """Slot length and number of slots.

        The horizon is ``problem.time_horizon`` (hard) or else the makespan of a
        quick greedy list schedule (at least every deadline). The slot length is
        ``time_unit``, else ``horizon / time_slots``, else 1 when the horizon has at
        most ``max_slots`` units and ``ceil(horizon / max_slots)`` otherwise. Starts
        are whole slots and durations round up, so a plan on the grid stays
        feasible when the list scheduler later shifts it left in real time.
        """
        p = self.problem
        if time_slots is not None and time_slots <= 0:
            raise InvalidValueError("time_slots must be positive", field="time_slots")
        if time_unit is not None and not time_unit > 0:
            raise InvalidValueError("time_unit must be positive", field="time_unit")
        assign, order = self._greedy_assignment()
        deadlines = [t.latest_finish for t in p.tasks if t.latest_finish is not None]
        if p.time_horizon is not None:
            span = p.time_horizon
        else:
            span = max(self._slot_makespan(assign, order, 1.0), *deadlines, 1.0)
        if time_unit is not None:
            unit = float(time_unit)
        elif time_slots is not None:
            unit = span / time_slots
        else:
            unit = 1.0 if span <= max_slots else float(math.ceil(span / max_slots))
        if p.time_horizon is not None:
            return unit, floor(p.time_horizon / unit)
        slots = self._slot_makespan(assign, order, unit)
        return unit, max(int(slots), *(floor(d / unit) for d in deadlines), 1)

    def _greedy_assignment(self) -> tuple[dict[str, str], list[str]]:
        p = self.problem
        assign: dict[str, str] = {}
        busy = {a.id: a.available_from for a in p.agents}
        order = p.topological_order()
        for tid in order:
            t = p.task(tid)
            elig = p.eligible_agents(t)
            if elig:
                a = min(elig, key=lambda a: busy[a.id] + t.duration_on(a.id))
                busy[a.id] += t.duration_on(a.id)
                assign[tid] = a.id
        return assign, order

    def _slot_makespan(self, assign: Mapping[str, str], order: list[str], unit: float) -> float:
        """Makespan (in slots) of a serial schedule of ``assign`` on the grid."""
        p = self.problem
        ready: dict[str, float] = {}
        end: dict[str, float] = {}
        for tid in order:
            if tid not in assign:
                continue
            t, a = p.task(tid), assign[tid]
            lo, _ = p.window_on(t, p.agent(a))
            start = max(
                [math.ceil(lo / unit - 1e-9), ready.get(a, 0.0)]
                + [end[d] for d in p.prerequisites(tid) if d in end]
            )
            end[tid] = start + math.ceil(t.duration_on(a) / unit - 1e-9)
            ready[a] = end[tid]
        return max(end.values(), default=0.0)

    def _check_size_time(self, unit: float) -> None:
        """Refuse a time-indexed model too large to build (before building it)."""
        p = self.problem
        assert self.horizon is not None
        per_agent = dict.fromkeys(range(len(p.agents)), 0)
        n_x = 0
        for t in p.tasks:
            for a in p.eligible_agents(t):
                lo, hi = p.window_on(t, a)
                hi_end = self.horizon if hi is None else min(self.horizon, floor(hi / unit))
                k = max(0, hi_end - math.ceil(t.duration_on(a.id) / unit - 1e-9) + 1)
                k -= min(k, math.ceil(lo / unit - 1e-9))
                per_agent[self._agent_index[a.id]] += k
                n_x += k
        pairs = sum(k * (k - 1) // 2 for k in per_agent.values())
        self._refuse_if_large(n_x, pairs)

    def _refuse_if_large(self, n_x: int, pairs: int) -> None:
        if n_x > self.max_variables or pairs > self.max_interactions:
            raise BackendUnavailableError(
                f"the QUBO would have {n_x} decision variables and up to {pairs} "
                f"interactions (limits {self.max_variables} and {self.max_interactions}); "
                + (
                    "use a coarser time grid (time_unit / time_slots), "
                    if self.mode == "time"
                    else ""
                )
                + "raise the limits, or use a solver that does not build a QUBO (greedy, "
                "cpsat, hybrid)",
                backend="qubo",
                variables=n_x,
                interactions=pairs,
            )


def floor(x: float) -> int:
    """``floor`` that forgives float noise just below an integer."""
    return math.floor(x + 1e-9)


def _group(keys: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]
