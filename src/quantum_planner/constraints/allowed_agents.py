"""``allowed_agents``: a task that names its allowed agents goes only to one of them."""

from __future__ import annotations

from quantum_planner.constraints.base import Plan, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "allowed_agents"


def validate(plan: Plan) -> list[Violation]:
    """A task with ``allowed_agents`` goes only to one of them."""
    out = []
    for tid, aid in plan.assigned.items():
        allowed = plan.tasks[tid].allowed_agents
        if allowed is not None and aid not in allowed:
            out.append(violation(NAME, [tid, aid], 1, f"task {tid!r} may not go to agent {aid!r}"))
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per assigned task that restricts its agents."""
    tally = Tally(NAME, True)
    for t in plan.problem.tasks:
        aid = plan.assigned.get(t.id)
        if aid is None or t.allowed_agents is None:
            continue
        ok = aid in t.allowed_agents
        tally.record(
            [t.id, aid],
            None if ok else -1.0,
            "" if ok else f"agent {aid} is not allowed to do task {t.id}",
        )
    return tally


RULE = Rule(
    name=NAME,
    summary="a task with allowed_agents goes only to one of them",
    validate=validate,
    analyse=analyse,
    qubo="by construction: no variable pairs a task with an agent it does not allow",
)
