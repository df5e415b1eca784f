"""``time_window``: each task runs inside ``[earliest_start, latest_finish]``."""

from __future__ import annotations

from quantum_planner.constraints.base import EPS, Plan, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "time_window"


def validate(plan: Plan) -> list[Violation]:
    """Each task runs inside ``[earliest_start, latest_finish]`` (when time_windows is on)."""
    if not plan.problem.constraints.time_windows:
        return []
    out = []
    for tid, (_, start, end) in plan.timed.items():
        t = plan.tasks[tid]
        if t.earliest_start is not None and start < t.earliest_start - EPS:
            out.append(
                violation(
                    NAME,
                    [tid],
                    t.earliest_start - start,
                    f"task {tid!r} starts at {start:g}, before its earliest start "
                    f"{t.earliest_start:g}",
                )
            )
        if t.latest_finish is not None and end > t.latest_finish + EPS:
            out.append(
                violation(
                    NAME,
                    [tid],
                    end - t.latest_finish,
                    f"task {tid!r} ends at {end:g}, after its deadline {t.latest_finish:g}",
                )
            )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per release time and per deadline of a scheduled task."""
    tally = Tally(NAME, plan.problem.constraints.time_windows)
    if not tally.enabled:
        return tally
    for t in plan.problem.tasks:
        iv = plan.interval.get(t.id)
        if iv is None:
            continue
        start, end = iv
        if t.earliest_start is not None:
            tally.record(
                [t.id],
                start - t.earliest_start,
                f"task {t.id} starts at its release time {t.earliest_start:g}",
            )
        if t.latest_finish is not None:
            tally.record(
                [t.id],
                t.latest_finish - end,
                f"task {t.id} ends at {end:g}, deadline {t.latest_finish:g}",
            )
    return tally


RULE = Rule(
    name=NAME,
    summary="each task runs inside [earliest_start, latest_finish]",
    validate=validate,
    analyse=analyse,
    qubo="time mode: by construction, start slots exist only inside the window; "
    "assignment mode: not expressible as a QUBO term, decode's list scheduler places tasks "
    "and the plan reports a missed window",
)
