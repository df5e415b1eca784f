"""``capacity_limit``: the total load on an agent is at most its capacity (flag on)."""

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
from quantum_planner.model import Violation

NAME = "capacity_limit"


def validate(plan: Plan) -> list[Violation]:
    """The total load on each agent is at most its capacity (when capacity_limit is on)."""
    if not plan.problem.constraints.capacity_limit:
        return []
    used: dict[str, float] = {}
    for tid, aid in plan.assigned.items():
        used[aid] = used.get(aid, 0.0) + raw_load(plan.tasks[tid], aid)
    out = []
    for aid, load in used.items():
        cap = plan.agents[aid].capacity
        if cap is not None and load > cap + EPS:
            out.append(
                violation(
                    NAME,
                    [aid],
                    load - cap,
                    f"agent {aid!r} carries load {load:g} over its capacity {cap:g}",
                )
            )
    return out


def analyse(plan: Plan) -> Tally:
    """One instance per agent with a capacity; slack is the capacity left."""
    p = plan.problem
    tally = Tally(NAME, p.constraints.capacity_limit)
    if not tally.enabled:
        return tally
    for a in p.agents:
        if a.capacity is None:
            continue
        load = sum(p.task(t).load_on(a.id) for t in plan.tasks_of[a.id])
        tally.record(
            [a.id], a.capacity - load, f"agent {a.id} uses {load:g} of capacity {a.capacity:g}"
        )
    return tally


def qubo_term(space: QuboSpace) -> None:
    """Per agent ``sum load x + slack == capacity`` squared, or lagrangian pricing."""
    p = space.problem
    if not p.constraints.capacity_limit:
        return
    loads = np.array(
        [
            p.tasks[ti].load_on(p.agents[ai].id)
            for ti, ai in zip(space.var.task, space.var.agent, strict=True)
        ]
    )
    caps = {i: a.capacity for i, a in enumerate(p.agents) if a.capacity is not None}
    if space.capacity_encoding == "lagrangian":
        for ai, cap in caps.items():
            idx = space.agent_vars[ai]
            if idx.size and loads[idx].sum() > cap + 1e-9:
                space.add_lagrangian(ai, idx, loads[idx], float(cap))
    else:
        space.add_budget(NAME, loads, caps)


RULE = Rule(
    name=NAME,
    summary="the total load on each agent is at most its capacity",
    validate=validate,
    analyse=analyse,
    qubo="penalty: (sum of loads + slack bits - capacity)^2 per agent that can overflow "
    "(capacity='lagrangian': solver-tuned multipliers instead); loads above a capacity "
    "on their own are eliminated with the variable",
    qubo_term=qubo_term,
)
