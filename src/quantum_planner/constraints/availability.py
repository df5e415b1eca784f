"""``availability``: an agent works only inside its availability window."""

from __future__ import annotations

from quantum_planner.constraints.base import EPS, Plan, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "availability"


def validate(plan: Plan) -> list[Violation]:
    """Each agent works only inside its availability window (when availability is on)."""
    if not plan.problem.constraints.availability:
        return []
    out = []
    for tid, (aid, start, end) in plan.timed.items():
        a = plan.agents[aid]
        if start < a.available_from - EPS:
            out.append(
                violation(
                    NAME,
                    [aid, tid],
                    a.available_from - start,
                    f"agent {aid!r} starts {tid!r} at {start:g}, before it is available "
                    f"({a.available_from:g})",
                )
            )
        if a.available_until is not None and end > a.available_until + EPS:
            out.append(
                violation(
                    NAME,
                    [aid, tid],
                    end - a.available_until,
                    f"agent {aid!r} ends {tid!r} at {end:g}, after it leaves "
                    f"({a.available_until:g})",
                )
            )
    return out


def analyse(plan: Plan) -> Tally:
    """Per busy agent: its first start against ``available_from``, last end against
    ``available_until``."""
    tally = Tally(NAME, plan.problem.constraints.availability)
    if not tally.enabled:
        return tally
    for a in plan.problem.agents:
        ids = plan.tasks_of[a.id]
        if not ids:
            continue
        ivs = sorted(iv for t in ids if (iv := plan.interval[t]) is not None)
        finish = max((e for _, e in ivs), default=0.0)
        first = min((s for s, _ in ivs), default=a.available_from)
        if a.available_from > 0 or first < 0:
            tally.record(
                [a.id],
                first - a.available_from,
                f"agent {a.id} starts work at {first:g}, available from {a.available_from:g}",
            )
        if a.available_until is not None:
            tally.record(
                [a.id],
                a.available_until - finish,
                f"agent {a.id} works until {finish:g}, available until {a.available_until:g}",
            )
    return tally


RULE = Rule(
    name=NAME,
    summary="each agent works only inside [available_from, available_until]",
    validate=validate,
    analyse=analyse,
    qubo="time mode: by construction, start slots exist only inside the agent's window; "
    "assignment mode: shares time_horizon's busy-time budget per agent "
    "(busy time <= min(time_horizon, available_until) - available_from)",
)
