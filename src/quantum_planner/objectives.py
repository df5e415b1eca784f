"""Objective values of a plan, and the lexicographic key solvers compare plans by."""

from __future__ import annotations

from collections.abc import Mapping

from quantum_planner.model import Objective, Problem

Schedule = Mapping[str, Mapping[str, tuple[float, float]]]


def evaluate(
    problem: Problem, assignments: Mapping[str, str], schedule: Schedule
) -> dict[str, float]:
    """Value of every objective for a plan (see docs/MODEL.md for the definitions).

    * ``minimize_makespan``: latest end time of any task (0 for an empty plan).
    * ``maximize_priority``: total priority of the tasks assigned.
    * ``balance_load``: population variance of the agents' busy time.
    * ``minimize_cost``: total cost of the assignments (``Task.cost_on``).
    """
    makespan = max((end for tasks in schedule.values() for _, end in tasks.values()), default=0.0)
    priority = sum(problem.task(t).priority for t in assignments)
    busy = {a.id: 0.0 for a in problem.agents}
    cost = 0.0
    for tid, aid in assignments.items():
        task, agent = problem.task(tid), problem.agent(aid)
        busy[aid] += task.duration_on(aid)
        cost += task.cost_on(agent)
    n = len(busy)
    mean = sum(busy.values()) / n if n else 0.0
    variance = sum((b - mean) ** 2 for b in busy.values()) / n if n else 0.0
    return {
        Objective.MINIMIZE_MAKESPAN.value: float(makespan),
        Objective.MAXIMIZE_PRIORITY.value: float(priority),
        Objective.BALANCE_LOAD.value: float(variance),
        Objective.MINIMIZE_COST.value: float(cost),
    }


def objective_key(problem: Problem, values: Mapping[str, float]) -> tuple[float, ...]:
    """Lexicographic key to minimise: objectives in order, maximised ones negated."""
    return tuple(o.sense * values[o.value] for o in problem.objectives)


def primary_value(problem: Problem, values: Mapping[str, float]) -> float:
    """Value of the first (dominant) objective, in its own sense."""
    return values[problem.objectives[0].value]
