"""``time_horizon``: nothing starts before 0 and everything ends by the horizon."""

from __future__ import annotations

import numpy as np

from quantum_planner.constraints.base import EPS, Plan, QuboSpace, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "time_horizon"


def validate(plan: Plan) -> list[Violation]:
    """Nothing starts before time 0 and everything ends by the problem's horizon."""
    out = []
    horizon = plan.problem.time_horizon
    for tid, (_, start, end) in plan.timed.items():
        if start < -EPS:
            out.append(violation(NAME, [tid], -start, f"task {tid!r} starts before time 0"))
        if horizon is not None and end > horizon + EPS:
            out.append(
                violation(
                    NAME,
                    [tid],
                    end - horizon,
                    f"task {tid!r} ends at {end:g}, after the time horizon {horizon:g}",
                )
            )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per scheduled task when a horizon is set; slack is the time left."""
    horizon = plan.problem.time_horizon
    tally = Tally(NAME, horizon is not None)
    if horizon is None:
        return tally
    for t in plan.problem.tasks:
        iv = plan.interval.get(t.id)
        if iv is not None:
            tally.record(
                [t.id], horizon - iv[1], f"task {t.id} ends at {iv[1]:g}, horizon {horizon:g}"
            )
    return tally


def qubo_term(space: QuboSpace) -> None:
    """Assignment mode: per agent, busy time fits ``min(horizon, available_until)`` minus
    ``available_from`` (slack bits). Time mode needs no term: slots end by the horizon."""
    if space.mode != "assignment":
        return
    p = space.problem
    bounds: dict[int, float] = {}
    offsets = np.zeros(len(p.agents))
    for i, a in enumerate(p.agents):
        hi = p.time_horizon
        if p.constraints.availability:
            offsets[i] = a.available_from
            if a.available_until is not None:
                hi = a.available_until if hi is None else min(hi, a.available_until)
        if hi is not None:
            bounds[i] = max(hi - offsets[i], 0.0)
    space.add_budget(NAME, space.duration, bounds)


RULE = Rule(
    name=NAME,
    summary="nothing starts before time 0 and everything ends by time_horizon",
    validate=validate,
    analyse=analyse,
    qubo="assignment mode: penalty (busy time + slack bits - bound)^2 per agent, the bound "
    "being min(time_horizon, available_until) - available_from (it carries availability "
    "too); time mode: by construction, slots end by the horizon",
    qubo_term=qubo_term,
)
