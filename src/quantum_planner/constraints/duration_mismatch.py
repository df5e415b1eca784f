"""``duration_mismatch``: each interval lasts its task's duration on its agent."""

from __future__ import annotations

from quantum_planner.constraints.base import EPS, Plan, Rule, Tally, raw_duration, violation
from quantum_planner.model import Violation

NAME = "duration_mismatch"


def validate(plan: Plan) -> list[Violation]:
    """Each scheduled interval lasts the task's duration on its agent, and ends after it starts."""
    out = []
    for tid, (aid, start, end) in plan.timed.items():
        want = raw_duration(plan.tasks[tid], aid)
        if abs((end - start) - want) > EPS:
            out.append(
                violation(
                    NAME,
                    [tid, aid],
                    abs((end - start) - want),
                    f"task {tid!r} runs {end - start:g} on {aid!r}, its duration is {want:g}",
                )
            )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per scheduled task; the matches are the validator's."""
    return Tally.of_violations(NAME, len(plan.timed), validate(plan))


RULE = Rule(
    name=NAME,
    summary="each scheduled interval lasts the task's duration on its agent",
    validate=validate,
    analyse=analyse,
    qubo="not a QUBO term: decode gives every task its duration (time mode: each "
    "variable's end is its start plus the duration in slots)",
)
