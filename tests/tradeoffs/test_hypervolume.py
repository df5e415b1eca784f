"""Exact hypervolume in 2-D and 3-D: known values, senses, clipping, bad input."""

from __future__ import annotations

import itertools
import random

import pytest

from quantum_planner.errors import InvalidValueError
from quantum_planner.tradeoffs import hypervolume


def test_single_point_2d_is_the_rectangle_to_the_reference() -> None:
    assert hypervolume([[1, 2]], [4, 5], [1, 1]) == pytest.approx(3 * 3)


def test_staircase_2d() -> None:
    # (1,3), (2,2), (3,1) against (4,4): 3 + 2 + 1 unit columns... area 6
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4], [1, 1]) == pytest.approx(6.0)


def test_dominated_and_duplicate_points_add_nothing() -> None:
    base = hypervolume([[1, 3], [3, 1]], [4, 4], [1, 1])
    assert base == pytest.approx(5.0)
    assert hypervolume([[1, 3], [3, 1], [3, 3], [1, 3]], [4, 4], [1, 1]) == pytest.approx(base)


def test_points_beyond_the_reference_are_clipped_away() -> None:
    assert hypervolume([[5, 1]], [4, 4], [1, 1]) == 0.0
    assert hypervolume([[4, 1]], [4, 4], [1, 1]) == 0.0  # on the boundary: no volume
    assert hypervolume([], [4, 4], [1, 1]) == 0.0


def test_maximised_objectives_flip_their_axis() -> None:
    # maximise the second: point (1, 8) against reference (4, 5) spans 3 x 3
    assert hypervolume([[1, 8]], [4, 5], [1, -1]) == pytest.approx(9.0)
    assert hypervolume([[1, 8]], [4, 5], ["min", "max"]) == pytest.approx(9.0)


def test_3d_known_values() -> None:
    assert hypervolume([[0, 0, 0]], [1, 2, 3], [1, 1, 1]) == pytest.approx(6.0)
    # two unit-offset boxes: union of [0,2]x[1,2]x[0,2] and [1,2]x[0,2]x[0,2]...
    pts = [[0, 1, 0], [1, 0, 0]]
    # box A: 2*1*2 = 4, box B: 1*2*2 = 4, overlap [1,2]x[1,2]x[0,2] = 2
    assert hypervolume(pts, [2, 2, 2], [1, 1, 1]) == pytest.approx(6.0)
    # the classic: (1,0,0), (0,1,0), (0,0,1) against (2,2,2): 8 - 1 (the cube [0,1]^3 corner
    # not dominated) = 7
    assert hypervolume([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 2, 2], [1, 1, 1]) == pytest.approx(
        7.0
    )


def _grid_volume(points: list[list[int]], ref: list[int]) -> int:
    """Count unit cells of the integer grid dominated by some point (brute force)."""
    cells = itertools.product(*(range(min(p[k] for p in points), ref[k]) for k in range(len(ref))))
    return sum(1 for c in cells if any(all(p[k] <= c[k] for k in range(len(ref))) for p in points))


@pytest.mark.parametrize("dims", [2, 3])
def test_matches_a_brute_force_cell_count(dims: int) -> None:
    rng = random.Random(7)
    for _ in range(30):
        pts = [[rng.randint(0, 6) for _ in range(dims)] for _ in range(rng.randint(1, 6))]
        ref = [7] * dims
        assert hypervolume(pts, ref, [1] * dims) == pytest.approx(_grid_volume(pts, ref))


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(InvalidValueError) as e:
        hypervolume([[1, 2, 3, 4]], [5, 5, 5, 5], [1, 1, 1, 1])
    assert e.value.field == "reference"
    with pytest.raises(InvalidValueError) as e:
        hypervolume([[1, 2, 3]], [5, 5], [1, 1])
    assert e.value.field == "values"
    with pytest.raises(InvalidValueError) as e:
        hypervolume([[1, 2]], [5, 5], [1, 0])
    assert e.value.field == "senses"
    with pytest.raises(InvalidValueError) as e:
        hypervolume([[1, float("nan")]], [5, 5], [1, 1])
    assert e.value.field == "values"
