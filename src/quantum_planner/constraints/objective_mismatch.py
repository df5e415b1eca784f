"""``objective_mismatch``: the reported makespan and objective values are the plan's."""

from __future__ import annotations

from quantum_planner.constraints.base import EPS, Plan, Rule, Tally, raw_duration, violation
from quantum_planner.model import Violation

NAME = "objective_mismatch"


def recomputed_objectives(plan: Plan) -> dict[str, float]:
    """The four objective values, recomputed from the definitions in docs/MODEL.md."""
    ends = [float(e) for entries in plan.solution.schedule.values() for _, e in entries.values()]
    busy = {aid: 0.0 for aid in plan.agents}
    cost = 0.0
    for tid, aid in plan.assigned.items():
        task, agent = plan.tasks[tid], plan.agents[aid]
        dur = raw_duration(task, aid)
        busy[aid] += dur
        cost += task.costs[aid] if aid in task.costs else agent.cost_rate * dur
    n = len(busy)
    mean = sum(busy.values()) / n if n else 0.0
    return {
        "minimize_makespan": max(ends, default=0.0),
        "maximize_priority": sum(plan.tasks[t].priority for t in plan.assigned),
        "balance_load": sum((b - mean) ** 2 for b in busy.values()) / n if n else 0.0,
        "minimize_cost": cost,
    }


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= EPS * max(1.0, abs(a), abs(b))


def _reported(plan: Plan) -> list[tuple[str, float, float]]:
    true = recomputed_objectives(plan)
    out = [("makespan", plan.solution.makespan, true["minimize_makespan"])]
    return out + [(k, v, true[k]) for k, v in plan.solution.objectives.items() if k in true]


def validate(plan: Plan) -> list[Violation]:
    """The reported makespan and objective values equal their recomputation."""
    return [
        violation(
            NAME, [name], abs(got - want), f"reported {name} is {got:g}, the plan's is {want:g}"
        )
        for name, got, want in _reported(plan)
        if not _close(got, want)
    ]


def analyse(plan: Plan) -> Tally:
    """One instance per reported value (the makespan and each objective)."""
    return Tally.of_violations(NAME, len(_reported(plan)), validate(plan))


RULE = Rule(
    name=NAME,
    summary="the reported makespan and objective values equal their recomputation",
    validate=validate,
    analyse=analyse,
    qubo="not a QUBO term: a check on what a solver reports (the QUBO's objective terms "
    "are the objectives themselves)",
)
