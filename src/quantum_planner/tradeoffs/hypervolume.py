"""Exact hypervolume of a set of objective vectors in two or three dimensions.

The hypervolume of a front is the volume of the region it dominates, bounded by
a reference point: the larger, the better the front (closer to the ideal, wider
spread). Each objective has a sense (+1 minimise, -1 maximise); values are
turned into minimisation first (multiplied by the sense). Points that do not
strictly beat the reference on every objective add nothing.

Two dimensions: one sweep over the points sorted by the first objective
(``O(n log n)``). Three dimensions: slices along the third objective, each an
exact 2-D hypervolume of the points below it (``O(n^2 log n)``, fine for the
fronts of hundreds of points this package returns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from quantum_planner.errors import InvalidValueError

__all__ = ["as_senses", "hypervolume"]

Sense = int | str


def as_senses(senses: Sequence[Sense], dims: int) -> tuple[int, ...]:
    """``senses`` as +1 (minimise) / -1 (maximise); ``"min"``/``"max"`` are accepted."""
    out = []
    for s in senses:
        if s in (1, "min", "minimize"):
            out.append(1)
        elif s in (-1, "max", "maximize"):
            out.append(-1)
        else:
            raise InvalidValueError(
                f"each sense must be 1/'min' or -1/'max', got {s!r}", field="senses"
            )
    if len(out) != dims:
        raise InvalidValueError(
            f"{len(out)} senses for {dims}-dimensional values; give one per objective",
            field="senses",
        )
    return tuple(out)


def _front_2d(points: list[tuple[float, float]], ref: tuple[float, float]) -> float:
    """Area dominated by ``points`` (minimised, each strictly better than ``ref``)."""
    area = 0.0
    best_y = ref[1]
    for x, y in sorted(points):
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return area


def hypervolume(
    values: Sequence[Sequence[float]], reference: Sequence[float], senses: Sequence[Sense]
) -> float:
    """Exact hypervolume of ``values`` against ``reference`` (raw values, their own senses).

    Raises:
        InvalidValueError: not 2 or 3 objectives, vectors of different lengths, a
            non-finite number, or a sense that is neither minimise nor maximise.
    """
    dims = len(reference)
    if dims not in (2, 3):
        raise InvalidValueError(
            f"hypervolume is exact for 2 or 3 objectives; the reference has {dims}",
            field="reference",
        )
    sign = as_senses(senses, dims)
    ref = tuple(float(r) * s for r, s in zip(reference, sign, strict=True))
    if not all(math.isfinite(r) for r in ref):
        raise InvalidValueError(
            f"reference must be finite, got {list(reference)}", field="reference"
        )
    pts: list[tuple[float, ...]] = []
    for i, v in enumerate(values):
        if len(v) != dims:
            raise InvalidValueError(
                f"values[{i}] has {len(v)} numbers; the reference has {dims}", field="values"
            )
        p = tuple(float(x) * s for x, s in zip(v, sign, strict=True))
        if not all(math.isfinite(x) for x in p):
            raise InvalidValueError(f"values[{i}] is not finite: {list(v)}", field="values")
        if all(x < r for x, r in zip(p, ref, strict=True)):
            pts.append(p)
    if not pts:
        return 0.0
    if dims == 2:
        return _front_2d([(p[0], p[1]) for p in pts], (ref[0], ref[1]))
    # 3-D: between consecutive z levels, the points at or below the level dominate a
    # 2-D area that is constant over the slab
    pts.sort(key=lambda p: p[2])
    volume = 0.0
    for k, p in enumerate(pts):
        z_next = pts[k + 1][2] if k + 1 < len(pts) else ref[2]
        if z_next > p[2]:
            area = _front_2d([(q[0], q[1]) for q in pts[: k + 1]], (ref[0], ref[1]))
            volume += area * (z_next - p[2])
    return volume
