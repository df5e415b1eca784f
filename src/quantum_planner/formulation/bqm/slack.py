"""Inequalities as squared equalities with slack bits, and how to set those bits.

``sum_v w_v x_v <= bound`` becomes ``(sum_v w_v x_v + sum_k c_k s_k - bound)^2``
with bounded-binary slack coefficients ``c_k`` (:func:`slack_coefficients`),
after scaling every value to an integer (:func:`integer_scale`). Each budget
also leaves a *check* (how far a sample's decision variables exceed the bound,
ignoring the slack bits) and a *filler* (sets the slack bits of a sample so the
term is zero where the plan fits), used by ``QUBOBuilder.violations`` and
``QUBOBuilder.encode``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from quantum_planner.formulation.bqm.variables import VariableSpace
from quantum_planner.formulation.poly import Poly

__all__ = ["SlackBudgets", "integer_scale", "set_bits", "slack_coefficients"]

_SCALES = (1, 2, 4, 5, 10, 20, 50, 100, 1000)

Check = Callable[[np.ndarray], float]
Filler = Callable[[np.ndarray], None]


def integer_scale(values: Sequence[float]) -> tuple[int, bool]:
    """Smallest factor that makes all ``values`` integers, and whether it is exact."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    for q in _SCALES:
        if arr.size == 0 or np.allclose(arr * q, np.round(arr * q), atol=1e-9):
            return q, True
    return _SCALES[-1], False


def slack_coefficients(upper: int) -> list[int]:
    """Bit weights whose subset sums are exactly ``0..upper`` (bounded binary encoding)."""
    if upper <= 0:
        return []
    k = upper.bit_length()
    coefs = [1 << i for i in range(k - 1)]
    coefs.append(upper - (sum(coefs)))
    return [c for c in coefs if c > 0]


class SlackBudgets(VariableSpace):
    """Builder part that turns per-agent budgets into slack-bit penalty terms."""

    _constraints: dict[str, Poly]
    _slack_checks: dict[str, list[Check]]
    _slack_fillers: list[Filler]

    def add_budget(self, kind: str, weight: np.ndarray, bounds: Mapping[int, float]) -> None:
        """``sum_v weight_v x_v <= bound`` per agent, as ``(sum + slack - bound)^2``."""
        poly = Poly()
        checks, q_vals = [], [*weight.tolist(), *bounds.values()]
        q, exact = integer_scale(q_vals)
        if not exact:
            self.notes.append(f"{kind}: values rounded to 1/{q}")
        for ai, bound in bounds.items():
            idx = self.agent_vars[ai]
            w = np.round(weight[idx] * q)
            if idx.size == 0 or w.sum() <= round(bound * q) + 1e-9:
                continue  # cannot be exceeded
            upper = round(bound * q)
            coefs = slack_coefficients(upper)
            agent = self.problem.agents[ai].id
            sl = self.new_vars([("slack", kind, agent, k) for k in range(len(coefs))])
            poly.add_square(
                np.concatenate([idx, sl]), np.concatenate([w, coefs]), float(upper), 1.0
            )
            checks.append(_over(idx, w, upper))
            self._slack_fillers.append(_filler(idx, w, sl, coefs, upper))
        if checks:
            self._constraints[kind] = poly
            self._slack_checks[kind] = checks


def _over(idx: np.ndarray, w: np.ndarray, upper: int) -> Check:
    def check(x: np.ndarray) -> float:
        return float(x[idx] @ w - upper)

    return check


def _filler(idx: np.ndarray, w: np.ndarray, sl: np.ndarray, coefs: list[int], upper: int) -> Filler:
    def fill(x: np.ndarray) -> None:
        set_bits(x, sl, coefs, int(upper - round(float(x[idx] @ w))))

    return fill


def set_bits(x: np.ndarray, bits: np.ndarray, coefs: Sequence[float], value: int) -> None:
    """Bounded-binary encoding of ``value`` (clipped to ``0..sum(coefs)``).

    ``coefs`` is ``[1, 2, ..., 2**(k-2), last]`` (see :func:`slack_coefficients`):
    take ``last`` if the powers of two alone cannot reach ``value``, then write
    the rest in binary.
    """
    if len(coefs) == 0:
        return
    value = max(0, min(int(value), int(sum(coefs))))
    x[bits] = 0
    rest = int(sum(coefs[:-1]))
    if value > rest:
        x[bits[-1]] = 1
        value -= int(coefs[-1])
    for k in range(len(coefs) - 1):
        if value >> k & 1:
            x[bits[k]] = 1


def makespan_over(idx, d, o, mbits, mcoefs, lower) -> Check:
    """How far agent finish ``o + sum d x`` exceeds the makespan bits' value."""
    mc = np.asarray(mcoefs, dtype=float)

    def check(x: np.ndarray) -> float:
        return float(o + x[idx] @ d - (lower + x[mbits] @ mc))

    return check


def makespan_filler(idx, d, o, sl, scoefs, mbits, mcoefs, lower) -> Filler:
    """Slack bits of one agent's ``finish <= makespan`` bound, from the makespan bits."""
    mc = np.asarray(mcoefs, dtype=float)

    def fill(x: np.ndarray) -> None:
        m = lower + x[mbits] @ mc
        set_bits(x, sl, scoefs, round(m - o - float(x[idx] @ d)))

    return fill
