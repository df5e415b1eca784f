"""One small problem per catalogue rule, with a plan keeping the rule and one breaking it.

``qubo`` says how the BQM honours the rule in the case's mode: ``"term"`` (a
penalty under the rule's name), ``"variables"`` (the breaking choice has no
variable; ``absent`` names it) or ``"decode"`` (decode builds plans that keep it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from quantum_planner import Agent, Problem, Solution, Task, TimeWindowTask
from quantum_planner.solution import make_solution


@dataclass(frozen=True)
class Case:
    rule: str
    problem: Problem
    good: Solution
    bad: Solution
    qubo: Literal["term", "variables", "decode"]
    mode: str = "assignment"
    absent: tuple[Any, ...] = ()

    def __repr__(self) -> str:  # short ids in pytest output
        return self.rule


def _plan(problem: Problem, schedule: Mapping[str, Mapping[str, tuple[float, float]]]) -> Solution:
    assignments = {t: a for a, ts in schedule.items() for t in ts}
    return make_solution(problem, assignments, schedule, backend="test")


def _two_agents(**kw: Any) -> Problem:
    return Problem(agents=[Agent("a"), Agent("b")], tasks=[Task("t", duration=1)], **kw)


def unknown_reference() -> Case:
    p = _two_agents()
    good = _plan(p, {"a": {"t": (0, 1)}})
    bad = good.model_copy(update={"assignments": {"t": "zz"}, "schedule": {"zz": {"t": (0, 1)}}})
    return Case("unknown_reference", p, good, bad, "variables", absent=(("x", "t", "zz"),))


def unassigned() -> Case:
    p = _two_agents()
    return Case("unassigned", p, _plan(p, {"a": {"t": (0, 1)}}), _plan(p, {}), "term")


def skill_match() -> Case:
    p = Problem(
        agents=[Agent("a", skills=["x"]), Agent("b", cost_rate=0)],
        tasks=[Task("t", duration=1, required_skills=["x"])],
    )
    good, bad = _plan(p, {"a": {"t": (0, 1)}}), _plan(p, {"b": {"t": (0, 1)}})
    return Case("skill_match", p, good, bad, "variables", absent=(("x", "t", "b"),))


def allowed_agents() -> Case:
    p = Problem(agents=[Agent("a"), Agent("b")], tasks=[Task("t", allowed_agents=["a"])])
    good, bad = _plan(p, {"a": {"t": (0, 1)}}), _plan(p, {"b": {"t": (0, 1)}})
    return Case("allowed_agents", p, good, bad, "variables", absent=(("x", "t", "b"),))


def capacity_limit() -> Case:
    # a is cheap but holds two units: the cheapest plan overloads it
    p = Problem(
        agents=[Agent("a", capacity=2, cost_rate=1), Agent("b", capacity=2, cost_rate=5)],
        tasks=[Task(f"t{i}", duration=1) for i in range(3)],
        objective="minimize_cost",
    )
    good = _plan(p, {"a": {"t0": (0, 1), "t1": (1, 2)}, "b": {"t2": (0, 1)}})
    bad = _plan(p, {"a": {"t0": (0, 1), "t1": (1, 2), "t2": (2, 3)}})
    return Case("capacity_limit", p, good, bad, "term")


def schedule_mismatch() -> Case:
    p = _two_agents()
    good = _plan(p, {"a": {"t": (0, 1)}})
    bad = good.model_copy(update={"schedule": {"b": {"t": (0, 1)}}})
    return Case("schedule_mismatch", p, good, bad, "decode")


def duration_mismatch() -> Case:
    p = _two_agents()
    return Case(
        "duration_mismatch",
        p,
        _plan(p, {"a": {"t": (0, 1)}}),
        _plan(p, {"a": {"t": (0, 3)}}),
        "decode",
    )


def overlap() -> Case:
    p = Problem(
        agents=[Agent("a")],
        tasks=[Task("t1", duration=2), Task("t2", duration=2)],
        time_horizon=4,
    )
    good = _plan(p, {"a": {"t1": (0, 2), "t2": (2, 4)}})
    bad = _plan(p, {"a": {"t1": (0, 2), "t2": (1, 3)}})
    return Case("overlap", p, good, bad, "term", mode="time")


def precedence() -> Case:
    p = Problem(
        agents=[Agent("a"), Agent("b")],
        tasks=[Task("t1", duration=2), Task("t2", duration=1, dependencies=["t1"])],
        time_horizon=5,
    )
    good = _plan(p, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 3)}})
    bad = _plan(p, {"a": {"t1": (0, 2)}, "b": {"t2": (0, 1)}})
    return Case("precedence", p, good, bad, "term", mode="time")


def time_window() -> Case:
    p = Problem(
        agents=[Agent("a")],
        tasks=[TimeWindowTask("w", duration=2, earliest_start=1, latest_finish=4)],
    )
    good, bad = _plan(p, {"a": {"w": (1, 3)}}), _plan(p, {"a": {"w": (0, 2)}})
    return Case("time_window", p, good, bad, "variables", "time", (("x", "w", "a", 0),))


def availability() -> Case:
    p = Problem(agents=[Agent("a", available_from=2)], tasks=[Task("t")], time_horizon=5)
    good, bad = _plan(p, {"a": {"t": (2, 3)}}), _plan(p, {"a": {"t": (0, 1)}})
    return Case("availability", p, good, bad, "variables", "time", (("x", "t", "a", 0),))


def time_horizon() -> Case:
    # b is dear: the cheapest plan runs both tasks on a, past the horizon
    p = Problem(
        agents=[Agent("a", cost_rate=1), Agent("b", cost_rate=5)],
        tasks=[Task("t1", duration=3), Task("t2", duration=3)],
        objective="minimize_cost",
        time_horizon=4,
    )
    good = _plan(p, {"a": {"t1": (0, 3)}, "b": {"t2": (0, 3)}})
    bad = _plan(p, {"a": {"t1": (0, 3), "t2": (3, 6)}})
    return Case("time_horizon", p, good, bad, "term")


def objective_mismatch() -> Case:
    p = _two_agents()
    good = _plan(p, {"a": {"t": (0, 1)}})
    bad = good.model_copy(update={"makespan": 7.0})
    return Case("objective_mismatch", p, good, bad, "decode")


CASES: list[Case] = [
    f()
    for f in (
        unknown_reference,
        unassigned,
        skill_match,
        allowed_agents,
        capacity_limit,
        schedule_mismatch,
        duration_mismatch,
        overlap,
        precedence,
        time_window,
        availability,
        time_horizon,
        objective_mismatch,
    )
]
BY_RULE = {c.rule: c for c in CASES}
