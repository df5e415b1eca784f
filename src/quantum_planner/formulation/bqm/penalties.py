"""Penalty weights: one per constraint kind, tuned from the objective's scale.

``"local"`` (default): each weight is ``margin`` times the most one variable flip
can change the objective among the variables the kind touches, so breaking a
constraint always costs more than any objective gain of one move. ``"safe"``:
each weight exceeds the objective's whole range, so the ground state is feasible
and optimal (for exact solvers). Also the coefficient resolution helpers the
lexicographic objective weights and the annealing temperatures use.
"""

from __future__ import annotations

import math

import numpy as np

from quantum_planner.errors import InvalidValueError
from quantum_planner.formulation.bqm.slack import integer_scale
from quantum_planner.formulation.poly import Poly

__all__ = ["auto_penalties", "resolution", "resolution_min"]


def auto_penalties(
    objective: Poly, constraints: dict[str, Poly], n: int, strategy: str, margin: float
) -> dict[str, float]:
    """The automatic weight of each constraint kind (see the module docstring)."""
    if strategy == "safe":
        w = objective.total_range(n) + 1.0
        return {kind: w for kind in constraints}
    if strategy != "local":
        raise InvalidValueError(f"unknown penalty strategy {strategy!r}", field="penalty_strategy")
    field = objective.local_field_bound(n)
    out = {}
    for kind, poly in constraints.items():
        lin, i, j, _ = poly.compact(n)
        touched = np.zeros(n, dtype=bool)
        touched[np.flatnonzero(lin)] = True
        touched[i] = True
        touched[j] = True
        bound = float(field[touched].max()) if touched.any() else 0.0
        out[kind] = margin * bound if bound > 0 else 1.0
    return out


def resolution(poly: Poly, n: int) -> float:
    """The smallest possible nonzero change of ``poly``'s value.

    With rational coefficients (multiples of ``1/q``) every change is a multiple of
    ``gcd(q * coefficients) / q``; otherwise the smallest coefficient is a guess.
    """
    lin, _, _, w = poly.compact(n)
    vals = np.abs(np.concatenate([lin, w]))
    vals = vals[vals > 1e-12]
    if not vals.size:
        return 0.0
    q, exact = integer_scale(vals.tolist())
    if exact:
        return math.gcd(*(int(v) for v in np.round(vals * q))) / q
    return float(vals.min())


def resolution_min(poly: Poly, n: int) -> float:
    """The smallest nonzero coefficient of ``poly`` (0 when it has none)."""
    lin, _, _, w = poly.compact(n)
    vals = np.abs(np.concatenate([lin, w]))
    vals = vals[vals > 1e-12]
    return float(vals.min()) if vals.size else 0.0
