"""Each rule of the constraint catalogue penalises a plan breaking it and leaves a plan
keeping it alone -- in the validator, the analysis and the QUBO (see checks.py)."""

from __future__ import annotations

import pytest

from .checks import CHECKERS, penalized, unpenalized

each_view = pytest.mark.parametrize("view", CHECKERS)


@each_view
def test_unknown_reference_penalized(view: str) -> None:
    penalized("unknown_reference", view)


@each_view
def test_unknown_reference_unpenalized(view: str) -> None:
    unpenalized("unknown_reference", view)


@each_view
def test_unassigned_penalized(view: str) -> None:
    penalized("unassigned", view)


@each_view
def test_unassigned_unpenalized(view: str) -> None:
    unpenalized("unassigned", view)


@each_view
def test_skill_match_penalized(view: str) -> None:
    penalized("skill_match", view)


@each_view
def test_skill_match_unpenalized(view: str) -> None:
    unpenalized("skill_match", view)


@each_view
def test_allowed_agents_penalized(view: str) -> None:
    penalized("allowed_agents", view)


@each_view
def test_allowed_agents_unpenalized(view: str) -> None:
    unpenalized("allowed_agents", view)


@each_view
def test_capacity_limit_penalized(view: str) -> None:
    penalized("capacity_limit", view)


@each_view
def test_capacity_limit_unpenalized(view: str) -> None:
    unpenalized("capacity_limit", view)


@each_view
def test_schedule_mismatch_penalized(view: str) -> None:
    penalized("schedule_mismatch", view)


@each_view
def test_schedule_mismatch_unpenalized(view: str) -> None:
    unpenalized("schedule_mismatch", view)


@each_view
def test_duration_mismatch_penalized(view: str) -> None:
    penalized("duration_mismatch", view)


@each_view
def test_duration_mismatch_unpenalized(view: str) -> None:
    unpenalized("duration_mismatch", view)


@each_view
def test_overlap_penalized(view: str) -> None:
    penalized("overlap", view)


@each_view
def test_overlap_unpenalized(view: str) -> None:
    unpenalized("overlap", view)


@each_view
def test_precedence_penalized(view: str) -> None:
    penalized("precedence", view)


@each_view
def test_precedence_unpenalized(view: str) -> None:
    unpenalized("precedence", view)


@each_view
def test_time_window_penalized(view: str) -> None:
    penalized("time_window", view)


@each_view
def test_time_window_unpenalized(view: str) -> None:
    unpenalized("time_window", view)


@each_view
def test_availability_penalized(view: str) -> None:
    penalized("availability", view)


@each_view
def test_availability_unpenalized(view: str) -> None:
    unpenalized("availability", view)


@each_view
def test_time_horizon_penalized(view: str) -> None:
    penalized("time_horizon", view)


@each_view
def test_time_horizon_unpenalized(view: str) -> None:
    unpenalized("time_horizon", view)


@each_view
def test_objective_mismatch_penalized(view: str) -> None:
    penalized("objective_mismatch", view)


@each_view
def test_objective_mismatch_unpenalized(view: str) -> None:
    unpenalized("objective_mismatch", view)
