"""Re-planning terms for CP-SAT: how far a plan moved from a reference plan.

``disruption_expr`` builds, on a CP-SAT model of :mod:`quantum_planner.solvers.cpsat`,
the weighted sum ``reassign_weight x (tasks off their reference agent) +
shift_weight x (sum of |start - reference start|)`` (start shifts only in the
scheduling model, where starts are variables). CP-SAT needs integers, so every
weight is multiplied by ``WEIGHT_SCALE x`` the model's time scale and rounded.
"""

from __future__ import annotations

from typing import Any

from quantum_planner.disruption import DisruptionTerms

__all__ = ["DisruptionTerms", "disruption_expr"]

WEIGHT_SCALE = 100  # two decimals of the weights survive the rounding


def disruption_expr(model: Any, terms: DisruptionTerms) -> Any:
    """The weighted disruption of ``model``'s plan against ``terms.reference``."""
    comp, cp, ts = model.comp, model.cp, model.tscale
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    wr = round(terms.reassign_weight * WEIGHT_SCALE * ts)
    ws = round(terms.shift_weight * WEIGHT_SCALE)  # per time unit / ts
    parts: list[Any] = []
    for i, tid in enumerate(comp.task_ids):
        ref = terms.reference.get(tid)
        if ref is None:
            continue
        x = model.x.get((i, a_index.get(ref[0], -1)))
        parts.append(wr * (1 - x) if x is not None else wr)
        if model.start and ws > 0:
            old = round(ref[1] * ts)
            hi = max(old, model.makespan_bound)
            d = cp.NewIntVar(0, hi, f"shift_{i}")
            cp.Add(d >= model.start[i] - old)
            cp.Add(d >= old - model.start[i])
            parts.append(ws * d)
    return sum(parts)
