"""What every rule of the catalogue is made of: the plan it reads, the shape of a rule,
the tally its analysis fills, and the variable space its QUBO term writes into.

Nothing here imports the solvers, the scheduler or the objective helpers: the
validator half of each rule must stay an independent check (an AST test keeps
it so). The QUBO half reaches the formulation only through :class:`QuboSpace`,
a protocol the formulation's builder implements, so the catalogue sits below
the formulation in the layer order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

import numpy as np

from quantum_planner.model import Agent, Problem, Solution, Task, Violation

__all__ = [
    "EPS",
    "SLACK_EPS",
    "Plan",
    "QuboSpace",
    "Rule",
    "Tally",
    "make_plan",
    "violation",
]

#: Tolerance of the validator's comparisons.
EPS = 1e-6
#: Tolerance of the analysis' slack classification (violated / binding / slack).
SLACK_EPS = 1e-9


@dataclass
class Plan:
    """The solution restated against the problem; references already known to be valid.

    The validator reads only ``assigned``/``timed`` and the problem's raw fields;
    the analysis may also use the model's helpers through ``interval``.
    """

    problem: Problem
    solution: Solution
    tasks: dict[str, Task]
    agents: dict[str, Agent]
    # task -> agent, only pairs whose ids both exist
    assigned: dict[str, str] = field(default_factory=dict)
    # task -> (agent it is scheduled under, start, end), first occurrence only
    timed: dict[str, tuple[str, float, float]] = field(default_factory=dict)

    @cached_property
    def interval(self) -> dict[str, tuple[float, float] | None]:
        """Known task -> its interval under the agent it is assigned to (analysis view)."""
        return {t: self.solution.interval_of(t) for t in self.assigned}

    @cached_property
    def tasks_of(self) -> dict[str, list[str]]:
        """Agent -> its assigned tasks, in the problem's task order."""
        out: dict[str, list[str]] = {a.id: [] for a in self.problem.agents}
        for t in self.problem.tasks:
            if t.id in self.assigned:
                out[self.assigned[t.id]].append(t.id)
        return out


def make_plan(problem: Problem, solution: Solution) -> Plan:
    """The :class:`Plan` of ``solution``: unknown tasks and agents left out."""
    tasks = {t.id: t for t in problem.tasks}
    agents = {a.id: a for a in problem.agents}
    plan = Plan(problem, solution, tasks, agents)
    for tid, aid in solution.assignments.items():
        if tid in tasks and aid in agents:
            plan.assigned[tid] = aid
    for aid, entries in solution.schedule.items():
        for tid, (start, end) in entries.items():
            if tid in tasks and aid in agents and tid not in plan.timed:
                plan.timed[tid] = (aid, float(start), float(end))
    return plan


def violation(constraint: str, items: list[str], amount: float, message: str) -> Violation:
    """One broken instance of a rule: what, how much, and why (the justification)."""
    return Violation(constraint=constraint, items=items, amount=float(amount), message=message)


# --- raw-field readers (the validator does not use the model's solver helpers) -----------


def raw_duration(task: Task, agent_id: str) -> float:
    return task.durations.get(agent_id, task.duration)


def raw_load(task: Task, agent_id: str) -> float:
    return task.loads.get(agent_id, task.load)


def raw_prerequisites(problem: Problem, task: Task) -> list[str]:
    c = problem.constraints
    if c.precedence is False:
        return []
    extra = c.precedence.get(task.id, []) if isinstance(c.precedence, dict) else []
    return list(dict.fromkeys([*task.dependencies, *extra]))


# --- analysis ----------------------------------------------------------------------------


@dataclass
class Tally:
    """One rule's analysis: the instances checked, which are violated (the matches, each
    with its penalty ``amount`` and a justifying message), which bind (no slack left),
    and the least slack of the rest."""

    constraint: str
    enabled: bool
    checked: int = 0
    violated: list[dict[str, Any]] = field(default_factory=list)
    binding: list[dict[str, Any]] = field(default_factory=list)
    min_slack: float | None = None

    def record(self, items: list[str], slack: float | None, what: str) -> None:
        """One instance: ``slack`` < 0 violated by -slack, 0 binding, None a plain yes."""
        self.checked += 1
        if slack is None:
            return
        if slack < -SLACK_EPS:
            self.violated.append({"items": items, "amount": -slack, "message": what})
        elif slack <= SLACK_EPS:
            self.binding.append({"items": items, "message": what})
        else:
            self.min_slack = slack if self.min_slack is None else min(self.min_slack, slack)

    @classmethod
    def of_violations(cls, constraint: str, checked: int, found: list[Violation]) -> Tally:
        """The analysis of a rule with no slack to measure: ``checked`` instances, and
        the validator's violations as the matches."""
        tally = cls(constraint, True, checked=checked)
        for v in found:
            tally.violated.append(
                {"items": list(v.items), "amount": v.amount, "message": v.message}
            )
        return tally

    @property
    def status(self) -> Literal["violated", "binding", "satisfied", "inactive"]:
        if not self.enabled:
            return "inactive"
        return "violated" if self.violated else "binding" if self.binding else "satisfied"

    @property
    def penalty(self) -> float:
        """Total amount by which the rule is broken (0 when it holds)."""
        return float(sum(m["amount"] for m in self.violated))

    def as_dict(self) -> dict[str, Any]:
        return {
            "constraint": self.constraint,
            "enabled": self.enabled,
            "status": self.status,
            "checked": self.checked,
            "penalty": self.penalty,
            "violated": self.violated,
            "binding": self.binding,
            "min_slack": self.min_slack,
        }


# --- QUBO --------------------------------------------------------------------------------


class PolyLike(Protocol):
    """The polynomial accumulator of the formulation (``formulation.poly.Poly``)."""

    def add_linear(self, idx: Any, coef: Any) -> None: ...

    def add_quadratic(self, i: Any, j: Any, coef: Any) -> None: ...

    def add_square(self, idx: Any, w: Any, c: float, scale: float) -> None: ...

    def add_pairs_within(self, idx: Any, coef: float) -> None: ...


class QuboSpace(Protocol):
    """What a rule's QUBO term may read and write: the builder's variables and terms.

    ``var`` holds per-variable arrays (``task``, ``agent``, ``start``, ``end``);
    ``task_vars``/``agent_vars`` the variable indices of each task/agent.
    """

    problem: Problem
    mode: Literal["assignment", "time"]
    capacity_encoding: str
    notes: list[str]
    var: Any
    task_vars: list[np.ndarray]
    agent_vars: list[np.ndarray]
    duration: np.ndarray

    def poly(self) -> PolyLike:
        """A fresh, empty polynomial over this space's variables."""
        ...

    def set_term(self, kind: str, poly: PolyLike) -> None:
        """Make ``poly`` (zero iff the rule holds) the unit-weight penalty of ``kind``."""
        ...

    def add_budget(self, kind: str, weight: np.ndarray, bounds: Mapping[int, float]) -> None:
        """``sum_v weight_v x_v <= bounds[agent]`` per agent, with slack bits."""
        ...

    def add_lagrangian(self, agent: int, idx: np.ndarray, weight: np.ndarray, cap: float) -> None:
        """Price ``sum weight x`` above ``cap`` by solver-tuned multipliers (no slack)."""
        ...


QuboTerm = Callable[[QuboSpace], None]


@dataclass(frozen=True)
class Rule:
    """One hard constraint under one name: its check, its analysis and its QUBO encoding.

    ``qubo_term`` adds the rule's penalty to a BQM under the rule's name, or is
    ``None`` when the rule is not a QUBO penalty; ``qubo`` then says how the
    formulation honours it (eliminated variables, decode/repair, or not at all).
    """

    name: str
    summary: str
    validate: Callable[[Plan], list[Violation]]
    analyse: Callable[[Plan], Tally]
    qubo: str
    qubo_term: QuboTerm | None = None

    @property
    def in_qubo(self) -> bool:
        """Whether the rule contributes a penalty term to the BQM."""
        return self.qubo_term is not None
