"""Problem -> ``dimod.ConstrainedQuadraticModel``: what D-Wave's LeapHybridCQMSampler takes.

Same decision variables and objective as :class:`QUBOBuilder` (so samples decode
with the same code), but constraints stay constraints: no penalties, no slack bits.

Each constraint's label starts with the name of its rule in the constraint catalogue
(or penalty kind):

* ``unassigned[task]``: discrete (one-hot) for a mandatory task, ``<= 1`` for an optional one.
* ``capacity_limit[agent]``: ``sum(load * x) <= capacity`` (only where it can bind).
* ``time_horizon[agent]`` (assignment mode): busy time fits the horizon / availability.
* ``overlap[agent,t]`` (time mode): at most one task runs on ``agent`` during slot ``t``.
* ``precedence[task,prerequisite,done]``: a done task's optional prerequisite is done too.
* ``precedence[task,prerequisite]`` (time mode): start of task >= end of prerequisite.
* ``makespan_bound[agent]`` (``makespan="exact"``): agent finish <= the makespan bits' value.
"""

from __future__ import annotations

from typing import Any

import dimod
import numpy as np

from quantum_planner.formulation.bqm import QUBOBuilder
from quantum_planner.model import Problem

__all__ = ["build_cqm", "cqm_sample"]


def build_cqm(
    problem: Problem, builder: QUBOBuilder | None = None, **builder_options: Any
) -> dimod.ConstrainedQuadraticModel:
    """The CQM of ``problem`` (``builder_options`` as for :class:`QUBOBuilder`)."""
    b = builder or QUBOBuilder(problem, **builder_options)
    p = b.problem
    cqm = dimod.ConstrainedQuadraticModel()
    objective = b.objective_bqm()
    for v in b.labels:
        if v[0] != "slack" and v not in objective.variables:
            objective.add_variable(v)  # every decision variable appears, even at zero cost
    slack = [v for v in objective.variables if v[0] == "slack"]
    objective.remove_variables_from(slack)
    cqm.set_objective(objective)
    labels = b.labels
    var = b.var
    for ti, t in enumerate(p.tasks):
        idx = b.task_vars[ti]
        names = [labels[i] for i in idx]
        if not names:
            continue
        if t.optional or len(names) == 1:
            sense = "<=" if t.optional else "=="
            cqm.add_constraint_from_iterable(
                [(v, 1) for v in names], sense, rhs=1, label=f"unassigned[{t.id}]"
            )
        else:
            cqm.add_discrete(names, label=f"unassigned[{t.id}]")
    if p.constraints.capacity_limit:
        for ai, a in enumerate(p.agents):
            idx = b.agent_vars[ai]
            if a.capacity is None or idx.size == 0:
                continue
            loads = [p.tasks[var.task[i]].load_on(a.id) for i in idx]
            if sum(loads) <= a.capacity:
                continue
            cqm.add_constraint_from_iterable(
                [(labels[i], w) for i, w in zip(idx, loads, strict=True)],
                "<=",
                rhs=a.capacity,
                label=f"capacity_limit[{a.id}]",
            )
    _prerequisites_done(cqm, b)
    if b.mode == "assignment":
        _horizon(cqm, b)
    else:
        _busy(cqm, b)
        _precedence(cqm, b)
    if b.makespan_encoding == "exact":
        _makespan(cqm, b)
    return cqm


def cqm_sample(builder: QUBOBuilder, x: np.ndarray | dict[Any, int]) -> dict[Any, int]:
    """A builder sample restricted to the CQM's variables (slack bits dropped)."""
    if not isinstance(x, dict):
        x = {v: int(x[i]) for i, v in enumerate(builder.labels)}
    return {v: val for v, val in x.items() if v[0] != "slack"}


def _horizon(cqm: dimod.ConstrainedQuadraticModel, b: QUBOBuilder) -> None:
    p = b.problem
    for ai, a in enumerate(p.agents):
        hi, lo = p.time_horizon, 0.0
        if p.constraints.availability:
            lo = a.available_from
            if a.available_until is not None:
                hi = a.available_until if hi is None else min(hi, a.available_until)
        idx = b.agent_vars[ai]
        if hi is None or idx.size == 0 or b.duration[idx].sum() <= hi - lo:
            continue
        cqm.add_constraint_from_iterable(
            [(b.labels[i], b.duration[i]) for i in idx],
            "<=",
            rhs=hi - lo,
            label=f"time_horizon[{a.id}]",
        )


def _prerequisites_done(cqm: dimod.ConstrainedQuadraticModel, b: QUBOBuilder) -> None:
    """``done(task) <= done(prerequisite)`` where the prerequisite is optional."""
    p = b.problem
    index = {t.id: i for i, t in enumerate(p.tasks)}
    for ti, t in enumerate(p.tasks):
        after = b.task_vars[ti]
        for dep in p.prerequisites(t.id):
            if after.size == 0 or not p.tasks[index[dep]].optional:
                continue
            terms = [(b.labels[i], 1.0) for i in after]
            terms += [(b.labels[i], -1.0) for i in b.task_vars[index[dep]]]
            cqm.add_constraint_from_iterable(
                terms, "<=", rhs=0, label=f"precedence[{t.id},{dep},done]"
            )


def _busy(cqm: dimod.ConstrainedQuadraticModel, b: QUBOBuilder) -> None:
    for ai, a in enumerate(b.problem.agents):
        idx = b.agent_vars[ai]
        if idx.size < 2:
            continue
        s, e = b.var.start[idx], b.var.end[idx]
        for slot in range(int(s.min()), int(e.max())):
            running = idx[(s <= slot) & (slot < e)]
            if len({int(b.var.task[i]) for i in running}) < 2:
                continue  # one task's slots are already one-hot
            cqm.add_constraint_from_iterable(
                [(b.labels[i], 1) for i in running], "<=", rhs=1, label=f"overlap[{a.id},{slot}]"
            )


def _precedence(cqm: dimod.ConstrainedQuadraticModel, b: QUBOBuilder) -> None:
    p = b.problem
    index = {t.id: i for i, t in enumerate(p.tasks)}
    for ti, t in enumerate(p.tasks):
        after = b.task_vars[ti]
        for dep in p.prerequisites(t.id):
            before = b.task_vars[index[dep]]
            if after.size == 0 or before.size == 0:
                continue
            terms = [(b.labels[i], float(b.var.start[i])) for i in after]
            terms += [(b.labels[i], -float(b.var.end[i])) for i in before]
            cqm.add_constraint_from_iterable(terms, ">=", rhs=0, label=f"precedence[{t.id},{dep}]")


def _makespan(cqm: dimod.ConstrainedQuadraticModel, b: QUBOBuilder) -> None:
    p = b.problem
    mbits, mcoefs, lower, q = b.makespan_bits
    for ai, a in enumerate(p.agents):
        idx = b.agent_vars[ai]
        if idx.size == 0:
            continue
        o = a.available_from if p.constraints.availability else 0.0
        terms = [(b.labels[i], float(b.duration[i])) for i in idx]
        terms += [(b.labels[i], -float(c) / q) for i, c in zip(mbits, mcoefs, strict=True)]
        cqm.add_constraint_from_iterable(
            terms, "<=", rhs=lower / q - o, label=f"makespan_bound[{a.id}]"
        )
