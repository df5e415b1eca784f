"""``overlap``: an agent does one task at a time."""

from __future__ import annotations

import itertools

import numpy as np

from quantum_planner.constraints.base import EPS, Plan, QuboSpace, Rule, Tally, violation
from quantum_planner.model import Violation

NAME = "overlap"


def validate(plan: Plan) -> list[Violation]:
    """An agent does one task at a time."""
    out = []
    for aid, entries in plan.solution.schedule.items():
        ivs = sorted((float(s), float(e), tid) for tid, (s, e) in entries.items())
        for i, (_, e1, t1) in enumerate(ivs):
            for s2, e2, t2 in ivs[i + 1 :]:
                if s2 >= e1 - EPS:
                    break  # sorted by start: no later interval overlaps this one
                amount = min(e1, e2) - s2
                if amount > EPS:
                    out.append(
                        violation(
                            NAME,
                            [aid, t1, t2],
                            amount,
                            f"agent {aid!r} runs {t1!r} and {t2!r} at the same time",
                        )
                    )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per pair of consecutive tasks of an agent; slack is the gap between."""
    tally = Tally(NAME, True)
    for a in plan.problem.agents:
        ivs = sorted(iv for t in plan.tasks_of[a.id] if (iv := plan.interval[t]) is not None)
        for (_s1, e1), (s2, _e2) in itertools.pairwise(ivs):
            tally.record([a.id], s2 - e1, f"agent {a.id}: tasks back to back at {e1:g}")
    return tally


def qubo_term(space: QuboSpace) -> None:
    """Time mode: ``x_i x_j`` for two starts of different tasks on one agent that clash."""
    if space.mode != "time":
        return
    poly = space.poly()
    for ai in range(len(space.problem.agents)):
        idx = space.agent_vars[ai]
        if idx.size < 2:
            continue
        s, e, t = space.var.start[idx], space.var.end[idx], space.var.task[idx]
        i, j = np.triu_indices(idx.size, k=1)
        clash = (s[i] < e[j]) & (s[j] < e[i]) & (t[i] != t[j])
        poly.add_quadratic(idx[i[clash]], idx[j[clash]], 1.0)
    space.set_term(NAME, poly)


RULE = Rule(
    name=NAME,
    summary="an agent does one task at a time",
    validate=validate,
    analyse=analyse,
    qubo="time mode: penalty on every pair of clashing start slots of one agent; "
    "assignment mode: not a QUBO term, decode's list scheduler runs each agent's tasks "
    "one after another",
    qubo_term=qubo_term,
)
