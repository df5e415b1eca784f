"""``skill_match``: an agent has every skill its task requires (when the flag is on)."""

from __future__ import annotations

from quantum_planner.constraints.base import Plan, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "skill_match"


def validate(plan: Plan) -> list[Violation]:
    """Each assigned agent has every skill its task requires (when skill_match is on)."""
    if not plan.problem.constraints.skill_match:
        return []
    out = []
    for tid, aid in plan.assigned.items():
        missing = sorted(set(plan.tasks[tid].required_skills) - set(plan.agents[aid].skills))
        if missing:
            out.append(
                violation(
                    NAME,
                    [tid, aid],
                    len(missing),
                    f"agent {aid!r} lacks skills {missing} needed by task {tid!r}",
                )
            )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per assigned task; the amount is the number of missing skills."""
    on = plan.problem.constraints.skill_match
    tally = Tally(NAME, on)
    if not on:
        return tally
    for t in plan.problem.tasks:
        aid = plan.assigned.get(t.id)
        if aid is None:
            continue
        missing = sorted(set(t.required_skills) - set(plan.agents[aid].skills))
        tally.record(
            [t.id, aid],
            -float(len(missing)) if missing else None,
            f"agent {aid} lacks {missing} for task {t.id}" if missing else "",
        )
    return tally


RULE = Rule(
    name=NAME,
    summary="each agent has every skill its task requires",
    validate=validate,
    analyse=analyse,
    qubo="by construction: no variable pairs a task with an agent lacking a required skill",
)
