"""``unknown_reference``: every task and agent the plan names exists in the problem."""

from __future__ import annotations

from quantum_planner.constraints.base import Plan, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "unknown_reference"


def validate(plan: Plan) -> list[Violation]:
    """Every task and agent the solution names exists in the problem."""
    out = []
    for tid, aid in plan.solution.assignments.items():
        if tid not in plan.tasks:
            out.append(violation(NAME, [tid], 1, f"assignment of unknown task {tid!r}"))
        if aid not in plan.agents:
            out.append(
                violation(NAME, [tid, aid], 1, f"task {tid!r} given to unknown agent {aid!r}")
            )
    for aid, entries in plan.solution.schedule.items():
        if aid not in plan.agents:
            out.append(violation(NAME, [aid], 1, f"schedule names unknown agent {aid!r}"))
        for tid in entries:
            if tid not in plan.tasks:
                out.append(violation(NAME, [tid], 1, f"schedule names unknown task {tid!r}"))
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per assignment and per schedule entry; the matches are the validator's."""
    sol = plan.solution
    checked = len(sol.assignments) + sum(len(e) for e in sol.schedule.values())
    return Tally.of_violations(NAME, checked, validate(plan))


RULE = Rule(
    name=NAME,
    summary="every task and agent the plan names exists in the problem",
    validate=validate,
    analyse=analyse,
    qubo="by construction: variables exist only for the problem's own tasks and agents",
)
