"""``unassigned``: every mandatory task is done (once); an optional one at most once."""

from __future__ import annotations

import numpy as np

from quantum_planner.constraints.base import (
    EPS,
    Plan,
    QuboSpace,
    Rule,
    Tally,
    raw_load,
    violation,
)
from quantum_planner.model import Task, Violation

NAME = "unassigned"


def validate(plan: Plan) -> list[Violation]:
    """Every mandatory (non-optional) task is assigned."""
    return [
        violation(NAME, [t.id], 1, f"mandatory task {t.id!r} is not assigned{_why_free(plan, t)}")
        for t in plan.problem.tasks
        if not t.optional and t.id not in plan.assigned
    ]


def _why_free(plan: Plan, task: Task) -> str:
    """A hint for an unassigned task: when every agent able to do it is full, say so."""
    c = plan.problem.constraints
    if not c.capacity_limit:
        return ""
    able = [
        a
        for a in plan.problem.agents
        if (task.allowed_agents is None or a.id in task.allowed_agents)
        and (not c.skill_match or set(task.required_skills) <= set(a.skills))
    ]
    used = {a.id: 0.0 for a in able}
    for tid, aid in plan.assigned.items():
        if aid in used:
            used[aid] += raw_load(plan.tasks[tid], aid)
    full = [
        a
        for a in able
        if a.capacity is not None and used[a.id] + raw_load(task, a.id) > a.capacity + EPS
    ]
    if not able or len(full) < len(able):
        return ""
    loads = ", ".join(f"{a.id!r} {used[a.id]:g}/{a.capacity:g}" for a in full)
    return f": every agent able to do it is at its capacity_limit ({loads})"


def analyse(plan: Plan) -> Tally:
    """One instance per task: assigned, optional and left out, or a mandatory one missing."""
    tally = Tally(NAME, True)
    for t in plan.problem.tasks:
        if t.id in plan.solution.assignments:
            tally.record([t.id], None, "")
        elif not t.optional:
            tally.record([t.id], -1.0, f"mandatory task {t.id} is unassigned")
    return tally


def qubo_term(space: QuboSpace) -> None:
    """Mandatory task: ``(1 - sum_a x_ta)^2`` (one-hot); optional: ``sum_{a<b} x_ta x_tb``."""
    onehot = space.poly()
    for ti, t in enumerate(space.problem.tasks):
        idx = space.task_vars[ti]
        if t.optional:
            onehot.add_pairs_within(idx, 1.0)
        else:
            onehot.add_square(idx, np.ones(idx.size), 1.0, 1.0)
            if idx.size == 0:
                space.notes.append(f"task {t.id!r} has no variable (no slot fits)")
    space.set_term(NAME, onehot)


RULE = Rule(
    name=NAME,
    summary="every mandatory task is assigned (optional ones may be left out)",
    validate=validate,
    analyse=analyse,
    qubo="penalty: one-hot per mandatory task, at-most-one per optional task",
    qubo_term=qubo_term,
)
