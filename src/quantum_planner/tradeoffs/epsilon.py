"""Epsilon-constraint sweeps on one CP-SAT model (:class:`~.lexmodel.LexModel`).

**Two objectives: boxes.** First the two extreme plans (lexicographic minimum
of ``(f1, f2)`` and of ``(f2, f1)``). Every pair of neighbouring points ``A``
(better ``f1``) and ``B`` (better ``f2``) bounds a box where unknown
non-dominated points can lie. The largest box (area normalised by the front's
ranges) is split first: minimise ``f1`` with ``f2`` at most halfway between them
(then ``f2`` with that ``f1`` held). A new point splits the box in two; if the
answer is ``B`` itself, minimise ``f2`` with ``f1 < B.f1``: a new point splits
the box, ``A`` closes it. When every box is closed and every solve was proven
optimal the front is exact (every non-dominated objective vector, one plan
each). Largest box first makes the sweep anytime: cut at any moment, the points
found spread over the whole front.

**Three objectives: grids.** The three extreme plans give each objective's range
(best to worst among them); ``f2`` and ``f3`` are bounded on a ``g x g`` grid of
levels across those ranges (cells in a seeded random order, so a cut sweep
still covers the ranges), minimising ``f1`` then ``f2`` then ``f3`` in each
cell. With ``points`` one grid is sized for them; without, grids of 3, 5, 9 and
17 levels follow each other until one adds no new point. Not exact in general:
points between grid levels may be missed.

Every solve starts from the nearest point found so far as hint.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.tradeoffs.lexmodel import Found, LexModel

__all__ = ["SweepResult", "sweep_2d", "sweep_3d"]

EXTREME_SHARE = 0.25  # of the time limit, at most, for each extreme point
STEP_SHARE = 0.1  # of the time limit, at most, for each later lexicographic solve
GRIDS = (3, 5, 9, 17)  # three objectives, no ``points``: grid sizes tried in turn


def _grid(lo: Sequence[int], hi: Sequence[int], g: int) -> list[tuple[int, int]]:
    """Bounds on the 2nd and 3rd objectives: ``g`` levels each, up to the worst extreme."""
    levels = [
        sorted({lo[k] + math.floor((hi[k] - lo[k]) * (i + 1) / g) for i in range(g)})
        for k in (1, 2)
    ]
    return [(e1, e2) for e1 in levels[0] for e2 in levels[1]]


@dataclass
class SweepResult:
    """Points found (each checked valid), whether the sweep ran to its end, and counts."""

    found: list[Found] = field(default_factory=list)
    complete: bool = False
    exact: bool = True  # every solve proven optimal
    solves: int = 0


def _nearest(found: Sequence[Found], target: Sequence[float]) -> Solution | None:
    if not found:
        return None
    best = min(found, key=lambda f: sum((a - b) ** 2 for a, b in zip(f.ints, target, strict=True)))
    return best.solution


def _solve(
    lex: LexModel,
    order: Sequence[int],
    bounds: dict[int, int | None],
    hint: Solution | None,
    deadline: float,
    budget: float,
    out: SweepResult,
) -> Found | None:
    lex.clear_bounds()
    lex.set_bounds(bounds)
    lex.hint(hint)
    f = lex.lexmin(order, deadline, budget=budget)
    out.solves = lex.solves
    if f is not None:
        out.exact = out.exact and f.proven
        if all(f.ints != g.ints for g in out.found):
            out.found.append(f)
    return f


def sweep_2d(
    lex: LexModel,
    deadline: float,
    time_limit: float,
    points: int | None,
    hints: Sequence[Solution] = (),
) -> SweepResult:
    """The box sweep of the module docstring, until done, ``points`` found or ``deadline``."""
    out = SweepResult()
    extreme, step = EXTREME_SHARE * time_limit, STEP_SHARE * time_limit
    a = _solve(lex, (0, 1), {}, hints[0] if hints else None, deadline, extreme, out)
    b = _solve(
        lex, (1, 0), {}, hints[1] if len(hints) > 1 else a and a.solution, deadline, extreme, out
    )
    if a is None or b is None:
        return out  # incomplete: an extreme point was not reached in time
    r1 = max(b.ints[0] - a.ints[0], 1)
    r2 = max(a.ints[1] - b.ints[1], 1)
    boxes: list[tuple[float, int, Found, Found]] = []
    count = 0

    def push(p: Found, q: Found) -> None:
        nonlocal count
        # an integer point strictly inside needs a gap of at least 2 on both axes
        if q.ints[0] - p.ints[0] >= 2 and p.ints[1] - q.ints[1] >= 2:
            area = (q.ints[0] - p.ints[0]) / r1 * ((p.ints[1] - q.ints[1]) / r2)
            count += 1
            heapq.heappush(boxes, (-area, count, p, q))

    push(a, b)
    while boxes:
        if points is not None and len(out.found) >= points:
            out.complete = True
            return out
        if time.monotonic() >= deadline:
            return out
        _, _, p, q = heapq.heappop(boxes)
        eps = (p.ints[1] + q.ints[1]) // 2
        c = _solve(
            lex, (0, 1), {1: eps}, _nearest(out.found, (p.ints[0], eps)), deadline, step, out
        )
        if c is None:
            return out  # out of time inside the box (B itself is feasible)
        if c.ints != q.ints:
            push(p, c)
            push(c, q)
            continue
        d = _solve(lex, (1, 0), {0: q.ints[0] - 1}, p.solution, deadline, step, out)
        if d is None:
            if time.monotonic() >= deadline:
                return out
            continue  # proven empty (A satisfies the bound, so only time stops it)
        if d.ints != p.ints:
            push(p, d)
            push(d, q)
    out.complete = True
    return out


def sweep_3d(
    lex: LexModel,
    deadline: float,
    time_limit: float,
    points: int | None,
    seed: int,
    hints: Sequence[Solution] = (),
) -> SweepResult:
    """The grid sweep of the module docstring (``points``: stop once that many are found)."""
    out = SweepResult()
    extreme, step = EXTREME_SHARE * time_limit / 1.5, STEP_SHARE * time_limit / 2
    extremes = []
    for k, order in enumerate(((0, 1, 2), (1, 2, 0), (2, 0, 1))):
        hint = hints[k] if k < len(hints) else _nearest(out.found, (0, 0, 0))
        f = _solve(lex, order, {}, hint, deadline, extreme, out)
        if f is None:
            return out
        extremes.append(f)
    lo = [min(f.ints[k] for f in extremes) for k in range(3)]
    hi = [max(f.ints[k] for f in extremes) for k in range(3)]
    rng = np.random.default_rng(seed)
    done: set[tuple[int, int]] = set()
    # points given: one grid sized for them; else finer grids until one adds no point
    sizes = [max(2, math.ceil(math.sqrt(max(points - 3, 1))))] if points else list(GRIDS)
    for g in sizes:
        before = len(out.found)
        cells = [c for c in _grid(lo, hi, g) if c not in done]
        rng.shuffle(cells)
        for e1, e2 in cells:
            if points is not None and len(out.found) >= points:
                break
            if time.monotonic() >= deadline:
                return out
            done.add((e1, e2))
            hint = _nearest(out.found, (lo[0], e1, e2))
            _solve(lex, (0, 1, 2), {1: e1, 2: e2}, hint, deadline, step, out)
        if points is None and len(out.found) == before:
            break
    out.complete = True
    return out
