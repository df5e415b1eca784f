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
import itertools
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
MAX_TRIES = 3  # solves of a box without a proof before it is given up
HINTED_SHARE = 0.2  # of an extreme's time, when a valid plan from the hybrid is the hint
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


def _within(found: Sequence[Found], e1: int, e2: int) -> Solution | None:
    """A feasible hint for the bounds ``f2 <= e1, f3 <= e2``: the found point meeting them
    with the best ``f1`` (else the one closest to meeting them)."""
    if not found:
        return None
    inside = [f for f in found if f.ints[1] <= e1 and f.ints[2] <= e2]
    if inside:
        return min(inside, key=lambda f: f.ints).solution
    return min(found, key=lambda f: max(f.ints[1] - e1, 0) + max(f.ints[2] - e2, 0)).solution


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


def _extreme(
    lex: LexModel,
    order: Sequence[int],
    given: Sequence[Solution | None],
    deadline: float,
    seconds: float,
    out: SweepResult,
    near: Found | None = None,
) -> Found | None:
    """The lexicographic minimum of ``order``. From a ``given`` plan (an extreme plan of
    the hybrid, valid) CP-SAT only polishes, briefly, and the plan stands if CP-SAT finds
    nothing; else the sweep's ``near`` point is the hint."""
    given = [g for g in given if g is not None]
    if not given:
        return _solve(lex, order, {}, near.solution if near else None, deadline, seconds, out)
    f = _solve(lex, order, {}, given[0], deadline, seconds * HINTED_SHARE, out)
    if f is None:
        f = lex.found(given[0])
        out.exact = False
        if all(f.ints != g.ints for g in out.found):
            out.found.append(f)
    return f


class _Boxes:
    """The two-objective sweep's state: found points, open boxes, what stayed unproven."""

    def __init__(self, lex: LexModel, deadline: float, time_limit: float, out: SweepResult):
        self.lex, self.deadline, self.out = lex, deadline, out
        self.step = STEP_SHARE * time_limit
        self.heap: list[tuple[float, int, int, Found, Found]] = []
        self.count = 0
        self.unresolved = 0  # boxes given up: no proof in MAX_TRIES solves
        self.closed: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()  # empty or given up
        self.ranges = (1, 1)

    def rebuild(self, a: Found, b: Found) -> None:
        """Boxes between neighbouring non-dominated points found (after new extremes)."""
        self.ranges = (max(b.ints[0] - a.ints[0], 1), max(a.ints[1] - b.ints[1], 1))
        pts = sorted(
            (
                f
                for f in self.out.found
                if not any(_dominates(g.ints, f.ints) for g in self.out.found)
            ),
            key=lambda f: f.ints,
        )
        self.heap.clear()
        for p, q in itertools.pairwise(pts):
            if (p.ints, q.ints) not in self.closed:
                self.push(p, q)

    def push(self, p: Found, q: Found, tries: int = 0) -> None:
        # an integer point strictly inside needs a gap of at least 2 on both axes
        if q.ints[0] - p.ints[0] >= 2 and p.ints[1] - q.ints[1] >= 2:
            r1, r2 = self.ranges
            area = (q.ints[0] - p.ints[0]) / r1 * ((p.ints[1] - q.ints[1]) / r2)
            self.count += 1
            heapq.heappush(self.heap, (-area / 4**tries, self.count, tries, p, q))

    def run(self, points: int | None) -> bool:
        """Split boxes until none is left (True), ``points`` are found (True) or time is up."""
        lex, out = self.lex, self.out
        while self.heap:
            if points is not None and len(out.found) >= points:
                return True
            if time.monotonic() >= self.deadline:
                return False
            _, _, tries, p, q = heapq.heappop(self.heap)
            budget = self.step * 2**tries  # a box not closed in time gets longer next time
            eps = (p.ints[1] + q.ints[1]) // 2
            # q meets the bound: a feasible hint to improve on
            c = _solve(lex, (0, 1), {1: eps}, q.solution, self.deadline, budget, out)
            if c is not None and c.ints != q.ints:
                self.push(p, c)
                self.push(c, q)
                continue
            if c is not None and c.proven:  # nothing below eps: look above it
                d = _solve(lex, (1, 0), {0: q.ints[0] - 1}, p.solution, self.deadline, budget, out)
                if d is not None and d.ints != p.ints:
                    self.push(p, d)
                    self.push(d, q)
                    continue
                if d is not None and d.proven:
                    self.closed.add((p.ints, q.ints))  # the box is empty, proven
                    continue
            if tries + 1 < MAX_TRIES:
                self.push(p, q, tries + 1)
            else:
                self.unresolved += 1
                self.closed.add((p.ints, q.ints))
        return True


def _dominates(a: Sequence[int], b: Sequence[int]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def sweep_2d(
    lex: LexModel,
    deadline: float,
    time_limit: float,
    points: int | None,
    hints: Sequence[Solution | None] = (),
) -> SweepResult:
    """The box sweep of the module docstring, until done, ``points`` found or ``deadline``.

    An extreme point not proven optimal is solved again, with twice the time, once
    the boxes are done (up to ``MAX_TRIES`` times); a sweep that ends with an
    unproven extreme or box is not complete.
    """
    out = SweepResult()
    share = EXTREME_SHARE * time_limit
    a = _extreme(lex, (0, 1), hints[:1], deadline, share, out)
    b = _extreme(lex, (1, 0), hints[1:2], deadline, share, out, a)
    if a is None or b is None:
        return out  # incomplete: an extreme point was not reached in time
    boxes = _Boxes(lex, deadline, time_limit, out)
    boxes.rebuild(a, b)
    for attempt in range(1, MAX_TRIES + 1):
        if not boxes.run(points):
            return out
        if points is not None and len(out.found) >= points:
            break
        if a.proven and b.proven:
            break
        if attempt == MAX_TRIES or time.monotonic() >= deadline:
            return out  # an extreme stayed unproven
        budget = share * 2**attempt
        if not a.proven:
            a = _solve(lex, (0, 1), {}, a.solution, deadline, budget, out) or a
        if not b.proven:
            b = _solve(lex, (1, 0), {}, b.solution, deadline, budget, out) or b
        boxes.rebuild(a, b)
    out.complete = not boxes.unresolved
    return out


def sweep_3d(
    lex: LexModel,
    deadline: float,
    time_limit: float,
    points: int | None,
    seed: int,
    hints: Sequence[Solution | None] = (),
) -> SweepResult:
    """The grid sweep of the module docstring (``points``: stop once that many are found)."""
    out = SweepResult()
    extreme, step = EXTREME_SHARE * time_limit / 1.5, STEP_SHARE * time_limit / 2
    extremes = []
    for k, order in enumerate(((0, 1, 2), (1, 2, 0), (2, 0, 1))):
        near = out.found[-1] if out.found else None
        f = _extreme(lex, order, hints[k : k + 1], deadline, extreme, out, near)
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
            _solve(lex, (0, 1, 2), {1: e1, 2: e2}, _within(out.found, e1, e2), deadline, step, out)
        if points is None and len(out.found) == before:
            break
    out.complete = True
    return out
