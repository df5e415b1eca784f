"""Objective values of a plan, and the lexicographic key solvers compare plans by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def objective_key(
    problem: Problem, values: Mapping[str, float], best: Mapping[str, float] | None = None
) -> tuple[float, ...]:
    """Lexicographic key to minimise: objectives in order, maximised ones negated.

    With ``best`` (the best value of each toleranced level among the plans compared,
    see :func:`tolerant_best`), a level with tolerance ``t`` counts every value within
    ``t x |best|`` of ``best`` as equal to that bound, so later levels decide between
    them (docs/MODEL.md, "Lexicographic objectives"). Without ``best`` the key is exact.
    """
    key = []
    for o, tol in zip(problem.objectives, problem.tolerances, strict=True):
        v = o.sense * values[o.value]
        if best is not None and tol > 0 and o.value in best:
            b = o.sense * best[o.value]
            v = max(v, b + tol * abs(b))  # within tolerance: tied at the bound
        key.append(v)
    return tuple(key)


def tolerant_best(problem: Problem, candidates: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per toleranced level, the best value among ``candidates`` still in the running.

    Level by level: the best value of the level among the candidates left, then only
    the candidates within the level's tolerance of it stay for the next level. The
    result is the ``best`` that :func:`objective_key` takes.
    """
    left = list(candidates)
    best: dict[str, float] = {}
    for o, tol in zip(problem.objectives, problem.tolerances, strict=True):
        if not left:
            break
        b = min(o.sense * c[o.value] for c in left)
        best[o.value] = o.sense * b
        bound = b + tol * abs(b)
        left = [c for c in left if o.sense * c[o.value] <= bound + 1e-9 * max(1.0, abs(b))]
    return best


def primary_value(problem: Problem, values: Mapping[str, float]) -> float:
    """Value of the first (dominant) objective, in its own sense."""
    return values[problem.objectives[0].value]
