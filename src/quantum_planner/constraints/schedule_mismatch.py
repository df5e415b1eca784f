"""``schedule_mismatch``: the schedule and the assignment tell the same story."""

from __future__ import annotations

from quantum_planner.constraints.base import Plan, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "schedule_mismatch"


def validate(plan: Plan) -> list[Violation]:
    """Each assigned task is scheduled exactly once, under its agent, and nothing else is."""
    out = []
    where: dict[str, list[str]] = {}
    for aid, entries in plan.solution.schedule.items():
        for tid in entries:
            where.setdefault(tid, []).append(aid)
    for tid, aid in plan.assigned.items():
        places = where.get(tid, [])
        if not places:
            out.append(violation(NAME, [tid], 1, f"assigned task {tid!r} is not scheduled"))
        elif places != [aid]:
            out.append(
                violation(
                    NAME,
                    [tid, *places],
                    1,
                    f"task {tid!r} is assigned to {aid!r} but scheduled under {places}",
                )
            )
    for tid in where:
        if tid in plan.tasks and tid not in plan.solution.assignments:
            out.append(violation(NAME, [tid], 1, f"task {tid!r} is scheduled but not assigned"))
    listed = set(plan.solution.unassigned)
    truly = {t.id for t in plan.problem.tasks if t.id not in plan.solution.assignments}
    if listed != truly:
        wrong = sorted(listed ^ truly)
        out.append(violation(NAME, wrong, len(wrong), f"'unassigned' list is wrong for {wrong}"))
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per task of the problem; the matches are the validator's."""
    return Tally.of_violations(NAME, len(plan.problem.tasks), validate(plan))


RULE = Rule(
    name=NAME,
    summary="each assigned task is scheduled once, under its agent; the unassigned list is right",
    validate=validate,
    analyse=analyse,
    qubo="not a QUBO term: decode builds the schedule from the decoded assignment",
)
