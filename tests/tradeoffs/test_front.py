"""Front rules: dominance filter, order, reference point and knee."""

from __future__ import annotations

import pytest

from quantum_planner import Solution
from quantum_planner.tradeoffs import ParetoPoint
from quantum_planner.tradeoffs.front import (
    build_front,
    dominates,
    knee_index,
    non_dominated,
    reference_point,
)


def _pts(*values: tuple[float, ...]) -> list[ParetoPoint]:
    return [ParetoPoint(Solution(), tuple(float(x) for x in v)) for v in values]


def test_dominance_respects_senses() -> None:
    assert dominates((1, 5), (2, 5), (1, 1))
    assert not dominates((1, 5), (1, 5), (1, 1))  # equal: no
    assert not dominates((1, 6), (2, 5), (1, 1))  # a trade-off: no
    assert dominates((1, 6), (2, 5), (1, -1))  # second maximised: 6 beats 5


def test_non_dominated_drops_dominated_and_duplicates_and_sorts() -> None:
    kept = non_dominated(_pts((3, 1), (1, 3), (2, 2), (2, 3), (1, 3)), (1, 1))
    assert [p.values for p in kept] == [(1, 3), (2, 2), (3, 1)]
    # maximised first objective: best (largest) first
    kept = non_dominated(_pts((1, 1), (3, 3), (2, 2)), (-1, 1))
    assert [p.values for p in kept] == [(3, 3), (2, 2), (1, 1)]


def test_reference_rule_adds_ten_percent_of_the_range_beyond_the_worst() -> None:
    assert reference_point([(0, 10), (10, 0)], (1, 1)) == pytest.approx((11, 11))
    # maximised: beyond the worst means below the smallest value
    assert reference_point([(0, 10), (10, 20)], (1, -1)) == pytest.approx((11, 9))
    # a single point: max(10% of |worst|, 1)
    assert reference_point([(50, 0.5)], (1, 1)) == pytest.approx((55, 1.5))


def test_knee_is_the_least_normalised_sum() -> None:
    # a clear elbow at (1, 1) between (0, 10) and (10, 0)
    assert knee_index([(0, 10), (1, 1), (10, 0)], (1, 1)) == 1
    # a straight line: every point ties at 1, so the first wins
    assert knee_index([(0, 2), (1, 1), (2, 0)], (1, 1)) == 0
    # senses: maximise the second, elbow at (1, 9)
    assert knee_index([(0, 0), (1, 9), (10, 10)], (1, -1)) == 1
    assert knee_index([(5, 5, 5)], (1, 1, 1)) == 0
    assert knee_index([], (1, 1)) is None
    # three objectives: (1, 1, 1) is near the ideal corner of (0..10)^3
    assert knee_index([(0, 10, 10), (10, 0, 10), (10, 10, 0), (1, 1, 1)], (1, 1, 1)) == 3


def test_knee_is_farthest_from_the_line_between_the_extremes_in_2d() -> None:
    values = [(0.0, 8.0), (1.0, 5.0), (3.0, 2.0), (6.0, 1.0), (9.0, 0.0)]

    def distance(v: tuple[float, float]) -> float:  # to the line x/9 + y/8 = 1, normalised
        return 1 - v[0] / 9 - v[1] / 8

    assert knee_index(values, (1, 1)) == max(range(5), key=lambda i: distance(values[i]))


def test_build_front_of_nothing_has_no_knee_and_zero_volume() -> None:
    front = build_front(("a", "b"), (1, 1), [], None, complete=False, elapsed=0.0, method="x")
    assert front.points == [] and front.knee is None and front.hypervolume == 0.0
