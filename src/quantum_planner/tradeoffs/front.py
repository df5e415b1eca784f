"""A Pareto front of plans: its points, reference point, hypervolume and knee.

Rules (docs/TRADEOFFS.md says the same in prose):

* **Dominance.** Plan ``a`` dominates ``b`` when ``a`` is no worse on every named
  objective and better on at least one (each objective in its own sense). A
  front holds only mutually non-dominated plans; of plans with equal vectors the
  first found is kept.
* **Order.** By the first objective, best first; ties by the next objectives.
* **Reference point** (when the caller gives none): per objective, the front's
  worst value pushed 10% of the front's range further in the worse direction
  (by ``max(10% of |worst|, 1)`` when the range is 0), so the extreme points
  count too.
* **Knee.** Objectives are normalised to ``[0, 1]`` between the front's best and
  worst values (0 = best); the knee is the point with the smallest sum of
  normalised values (ties: the earlier one). With two objectives that is the
  point farthest from the line through the two extreme points, on the ideal
  side. An objective with zero range counts 0 for every point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from quantum_planner.model import Solution
from quantum_planner.tradeoffs.hypervolume import hypervolume

__all__ = [
    "REFERENCE_MARGIN",
    "ParetoFront",
    "ParetoPoint",
    "dominates",
    "knee_index",
    "non_dominated",
    "reference_point",
]

REFERENCE_MARGIN = 0.1  # of the front's range, beyond its worst value


@dataclass(frozen=True)
class ParetoPoint:
    """One plan of a front and its objective values (in the order of the front's objectives)."""

    solution: Solution
    values: tuple[float, ...]


@dataclass
class ParetoFront:
    """Mutually non-dominated valid plans, sorted, with hypervolume and knee."""

    objectives: tuple[str, ...]
    points: list[ParetoPoint]
    reference: tuple[float, ...]
    hypervolume: float
    knee: int | None
    complete: bool
    elapsed: float
    method: str = ""  # how the front was built: "cpsat-epsilon", "hybrid-epsilon", "qubo-weighted"
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; each point's plan as ``Solution.model_dump(mode="json")``."""
        return {
            "objectives": list(self.objectives),
            "reference": list(self.reference),
            "hypervolume": self.hypervolume,
            "knee": self.knee,
            "complete": self.complete,
            "elapsed": self.elapsed,
            "method": self.method,
            "stats": dict(self.stats),
            "points": [
                {"values": list(p.values), "solution": p.solution.model_dump(mode="json")}
                for p in self.points
            ],
        }


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[int]) -> bool:
    """Whether vector ``a`` dominates ``b`` (no worse everywhere, better somewhere)."""
    better = False
    for x, y, s in zip(a, b, senses, strict=True):
        if s * x > s * y:
            return False
        if s * x < s * y:
            better = True
    return better


def non_dominated(points: Sequence[ParetoPoint], senses: Sequence[int]) -> list[ParetoPoint]:
    """The non-dominated points, one per distinct vector (the first found), sorted."""
    kept: list[ParetoPoint] = []
    seen: set[tuple[float, ...]] = set()
    for p in points:
        if p.values in seen:
            continue
        if any(dominates(q.values, p.values, senses) for q in points):
            continue
        seen.add(p.values)
        kept.append(p)
    kept.sort(key=lambda p: tuple(s * v for s, v in zip(senses, p.values, strict=True)))
    return kept


def reference_point(values: Sequence[Sequence[float]], senses: Sequence[int]) -> tuple[float, ...]:
    """The default reference point of a front's ``values`` (see the module docstring)."""
    ref = []
    for k, s in enumerate(senses):
        col = [s * v[k] for v in values]  # minimised
        best, worst = min(col), max(col)
        margin = REFERENCE_MARGIN * (worst - best)
        if margin <= 0:
            margin = max(REFERENCE_MARGIN * abs(worst), 1.0)
        ref.append(s * (worst + margin))
    return tuple(ref)


def knee_index(values: Sequence[Sequence[float]], senses: Sequence[int]) -> int | None:
    """Index of the knee of ``values`` (see the module docstring); None for no points."""
    if not values:
        return None
    norm = [[0.0] * len(values) for _ in senses]
    for k, s in enumerate(senses):
        col = [s * v[k] for v in values]
        lo, hi = min(col), max(col)
        if hi > lo:
            norm[k] = [(x - lo) / (hi - lo) for x in col]
    sums = [sum(norm[k][i] for k in range(len(senses))) for i in range(len(values))]
    return min(range(len(values)), key=lambda i: (sums[i], i))


def build_front(
    objectives: Sequence[str],
    senses: Sequence[int],
    candidates: Sequence[ParetoPoint],
    reference: Sequence[float] | None,
    *,
    complete: bool,
    elapsed: float,
    method: str,
    stats: dict[str, Any] | None = None,
) -> ParetoFront:
    """The front of ``candidates``: filtered, sorted, measured, with its knee marked."""
    points = non_dominated(candidates, senses)
    values = [p.values for p in points]
    if reference is not None:
        ref = tuple(float(r) for r in reference)
    elif values:
        ref = reference_point(values, senses)
    else:
        ref = tuple(0.0 for _ in senses)
    hv = hypervolume(values, ref, senses) if values else 0.0
    return ParetoFront(
        objectives=tuple(objectives),
        points=points,
        reference=ref,
        hypervolume=hv,
        knee=knee_index(values, senses),
        complete=complete,
        elapsed=elapsed,
        method=method,
        stats=dict(stats or {}),
    )
