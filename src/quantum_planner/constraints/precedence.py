"""``precedence``: a done task's prerequisites are done, and end before it starts."""

from __future__ import annotations

import numpy as np

from quantum_planner.constraints.base import (
    EPS,
    Plan,
    QuboSpace,
    Rule,
    Tally,
    raw_prerequisites,
    violation,
)
from quantum_planner.model import Violation

NAME = "precedence"


def validate(plan: Plan) -> list[Violation]:
    """An assigned task starts after each prerequisite ends, and its prerequisites are done."""
    out = []
    for tid in plan.assigned:
        for dep in raw_prerequisites(plan.problem, plan.tasks[tid]):
            if dep not in plan.assigned:
                out.append(
                    violation(
                        NAME,
                        [tid, dep],
                        1,
                        f"task {tid!r} is done but its prerequisite {dep!r} is not",
                    )
                )
            elif tid in plan.timed and dep in plan.timed:
                start, dep_end = plan.timed[tid][1], plan.timed[dep][2]
                if start < dep_end - EPS:
                    out.append(
                        violation(
                            NAME,
                            [tid, dep],
                            dep_end - start,
                            f"task {tid!r} starts at {start:g}, before {dep!r} ends at {dep_end:g}",
                        )
                    )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per (prerequisite, scheduled task); slack is the gap between them."""
    p = plan.problem
    tally = Tally(NAME, p.constraints.precedence_enabled)
    if not tally.enabled:
        return tally
    for t in p.tasks:
        iv = plan.interval.get(t.id)
        if iv is None:
            continue
        start = iv[0]
        for d in p.prerequisites(t.id):
            div = plan.interval.get(d)
            if div is None:
                tally.record(
                    [d, t.id], -1.0, f"task {t.id} is planned but its prerequisite {d} is not"
                )
            else:
                tally.record(
                    [d, t.id],
                    start - div[1],
                    f"task {t.id} starts at {start:g}, prerequisite {d} ends at {div[1]:g}",
                )
    return tally


def qubo_term(space: QuboSpace) -> None:
    """A done task's prerequisites are done (both modes) and end first (time mode).

    "Done" only needs a term when the prerequisite is optional:
    ``y_t (1 - y_u)`` with ``y = sum of the task's variables`` (0/1 under one-hot).
    """
    p = space.problem
    index = {t.id: i for i, t in enumerate(p.tasks)}
    poly = space.poly()
    any_prec = False
    for ti, t in enumerate(p.tasks):
        after = space.task_vars[ti]
        if after.size == 0:
            continue
        for dep in p.prerequisites(t.id):
            di = index[dep]
            before = space.task_vars[di]
            if p.tasks[di].optional or before.size == 0:
                any_prec = True
                poly.add_linear(after, 1.0)
                if before.size:
                    i, j = np.meshgrid(after, before, indexing="ij")
                    poly.add_quadratic(i.ravel(), j.ravel(), -1.0)
            if space.mode != "time" or before.size == 0:
                continue
            any_prec = True
            # conflict: the successor starts before the prerequisite ends
            bad = space.var.start[after][None, :] < space.var.end[before][:, None]
            bi, ai = np.nonzero(bad)
            poly.add_quadratic(before[bi], after[ai], 1.0)
    if any_prec:
        space.set_term(NAME, poly)


RULE = Rule(
    name=NAME,
    summary="a done task's prerequisites are done and end before it starts",
    validate=validate,
    analyse=analyse,
    qubo="penalty: a done task with an optional (or impossible) prerequisite not done; "
    "time mode also every pair of starts where the task starts before its prerequisite "
    "ends (assignment mode: decode's list scheduler orders them)",
    qubo_term=qubo_term,
)
