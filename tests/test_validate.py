"""The independent validator: each rule penalises a plan that breaks it, passes one that doesn't."""

from __future__ import annotations

import pytest
from conftest import plan

from quantum_planner import Agent, Problem, Task, TimeWindowTask
from quantum_planner.validate import CONSTRAINTS, check, validate


def names(problem: Problem, sol) -> list[str]:
    return [v.constraint for v in validate(problem, sol)]


@pytest.fixture
def two() -> Problem:
    """Two agents, three tasks, a dependency and skills."""
    return Problem(
        agents=[Agent("a", skills=["py"], capacity=2), Agent("b", skills=["js"], capacity=2)],
        tasks=[
            Task("t1", required_skills=["py"], duration=2),
            Task("t2", required_skills=["js"], duration=3, dependencies=["t1"]),
            Task("t3", duration=1, optional=True),
        ],
    )


def test_valid_plan_has_no_violations(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 5)}})
    assert validate(two, sol) == []
    checked = check(two, sol)
    assert checked.feasible and checked.status == "feasible" and checked.violations == []


def test_check_marks_invalid_plan_infeasible(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (1, 4)}})
    checked = check(two, sol)
    assert not checked.feasible and checked.status == "infeasible"
    assert [v.constraint for v in checked.violations] == ["precedence"]
    assert sol.feasible  # the input is not modified


def test_unassigned_mandatory(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}})
    assert names(two, sol) == ["unassigned"]
    assert validate(two, sol)[0].items == ["t2"]


def test_optional_task_may_be_left_out(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 5)}})
    assert "t3" in sol.unassigned and validate(two, sol) == []


def test_unknown_references(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 5)}})
    bad = sol.model_copy(update={"assignments": {**sol.assignments, "zz": "a", "t3": "ghost"}})
    found = names(two, bad)
    assert found.count("unknown_reference") == 2
    bad = sol.model_copy(update={"schedule": {**sol.schedule, "ghost": {"zz": (0, 1)}}})
    assert names(two, bad).count("unknown_reference") == 2


def test_skill_match(two: Problem) -> None:
    sol = plan(two, {"b": {"t1": (0, 2), "t2": (2, 5)}})
    v = [x for x in validate(two, sol) if x.constraint == "skill_match"]
    assert len(v) == 1 and v[0].items == ["t1", "b"] and "py" in v[0].message


def test_skill_match_off_is_not_checked(two: Problem) -> None:
    p = two.model_copy(
        update={"constraints": two.constraints.model_copy(update={"skill_match": False})}
    )
    sol = plan(p, {"b": {"t1": (0, 2), "t2": (2, 5)}})
    assert "skill_match" not in names(p, sol)


def test_allowed_agents() -> None:
    p = Problem(agents=[Agent("a"), Agent("b")], tasks=[Task("t", allowed_agents=["a"])])
    assert names(p, plan(p, {"b": {"t": (0, 1)}})) == ["allowed_agents"]
    assert names(p, plan(p, {"a": {"t": (0, 1)}})) == []


def test_capacity_limit() -> None:
    p = Problem(
        agents=[Agent("a", capacity=3), Agent("b")],
        tasks=[Task("x", load=2), Task("y", loads={"a": 2})],
    )
    over = validate(p, plan(p, {"a": {"x": (0, 1), "y": (1, 2)}}))
    assert [v.constraint for v in over] == ["capacity_limit"] and over[0].amount == 1
    assert names(p, plan(p, {"a": {"x": (0, 1)}, "b": {"y": (0, 1)}})) == []


def test_capacity_off_is_not_checked() -> None:
    p = Problem(
        agents=[Agent("a", capacity=1)],
        tasks=[Task("x"), Task("y")],
        constraints={"capacity_limit": False},
    )
    assert names(p, plan(p, {"a": {"x": (0, 1), "y": (1, 2)}})) == []


def test_schedule_mismatch(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 5)}})
    moved = sol.model_copy(update={"assignments": {"t1": "b", "t2": "b"}})
    assert "schedule_mismatch" in names(two, moved)
    missing = sol.model_copy(update={"schedule": {"b": {"t2": (2, 5)}}})
    assert "schedule_mismatch" in names(two, missing)
    extra = sol.model_copy(update={"schedule": {**sol.schedule, "a": {"t1": (0, 2), "t3": (2, 3)}}})
    assert "schedule_mismatch" in names(two, extra)
    wrong_list = sol.model_copy(update={"unassigned": []})
    assert names(two, wrong_list) == ["schedule_mismatch"]


def test_duration_mismatch(two: Problem) -> None:
    assert "duration_mismatch" in names(two, plan(two, {"a": {"t1": (0, 1)}, "b": {"t2": (2, 5)}}))


def test_duration_on_agent_override() -> None:
    p = Problem(agents=[Agent("a"), Agent("b")], tasks=[Task("t", duration=4, durations={"b": 1})])
    assert names(p, plan(p, {"b": {"t": (0, 1)}})) == []
    assert names(p, plan(p, {"a": {"t": (0, 1)}})) == ["duration_mismatch"]


def test_overlap() -> None:
    p = Problem(agents=[Agent("a")], tasks=[Task("x", duration=2), Task("y", duration=2)])
    v = validate(p, plan(p, {"a": {"x": (0, 2), "y": (1, 3)}}))
    assert [x.constraint for x in v] == ["overlap"] and v[0].amount == 1
    assert names(p, plan(p, {"a": {"x": (0, 2), "y": (2, 4)}})) == []


def test_zero_length_tasks_do_not_overlap() -> None:
    p = Problem(agents=[Agent("a")], tasks=[Task("x", duration=0), Task("y", duration=2)])
    assert names(p, plan(p, {"a": {"x": (1, 1), "y": (0, 2)}})) == []


def test_precedence_order(two: Problem) -> None:
    v = validate(two, plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (1, 4)}}))
    assert [x.constraint for x in v] == ["precedence"] and v[0].items == ["t2", "t1"]
    assert v[0].amount == 1


def test_precedence_prerequisite_must_be_done() -> None:
    p = Problem(
        agents=[Agent("a")],
        tasks=[Task("x", optional=True), Task("y", dependencies=["x"], optional=True)],
    )
    assert names(p, plan(p, {"a": {"y": (0, 1)}})) == ["precedence"]
    assert names(p, plan(p, {"a": {"x": (0, 1), "y": (1, 2)}})) == []


def test_precedence_from_constraints_mapping_and_off() -> None:
    tasks = [Task("x"), Task("y")]
    p = Problem(
        agents=[Agent("a"), Agent("b")], tasks=tasks, constraints={"precedence": {"y": ["x"]}}
    )
    early = {"a": {"x": (0, 1)}, "b": {"y": (0, 1)}}
    assert names(p, plan(p, early)) == ["precedence"]
    off = Problem(
        agents=[Agent("a"), Agent("b")],
        tasks=[Task("x"), Task("y", dependencies=["x"])],
        constraints={"precedence": False},
    )
    assert names(off, plan(off, early)) == []


def test_time_window() -> None:
    p = Problem(
        agents=[Agent("a")],
        tasks=[TimeWindowTask("w", earliest_start=2, latest_finish=5, duration=2)],
    )
    assert names(p, plan(p, {"a": {"w": (1, 3)}})) == ["time_window"]
    assert names(p, plan(p, {"a": {"w": (4, 6)}})) == ["time_window"]
    assert names(p, plan(p, {"a": {"w": (3, 5)}})) == []


def test_availability() -> None:
    p = Problem(
        agents=[Agent("a", available_from=2, available_until=6)], tasks=[Task("t", duration=2)]
    )
    assert names(p, plan(p, {"a": {"t": (0, 2)}})) == ["availability"]
    assert names(p, plan(p, {"a": {"t": (5, 7)}})) == ["availability"]
    assert names(p, plan(p, {"a": {"t": (2, 4)}})) == []


def test_time_horizon() -> None:
    p = Problem(agents=[Agent("a")], tasks=[Task("t", duration=2)], time_horizon=5)
    assert names(p, plan(p, {"a": {"t": (4, 6)}})) == ["time_horizon"]
    assert "time_horizon" in names(p, plan(p, {"a": {"t": (-1, 1)}}))
    assert names(p, plan(p, {"a": {"t": (3, 5)}})) == []


def test_objective_mismatch_catches_corrupted_results(two: Problem) -> None:
    sol = plan(two, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 5)}})
    assert names(two, sol.model_copy(update={"makespan": 4.0})) == ["objective_mismatch"]
    corrupted = {**sol.objectives, "minimize_cost": 99.0}
    v = validate(two, sol.model_copy(update={"objectives": corrupted}))
    assert [x.constraint for x in v] == ["objective_mismatch"] and v[0].items == ["minimize_cost"]


def test_objective_values_recomputed_independently() -> None:
    p = Problem(
        agents=[Agent("a", cost_rate=2), Agent("b", cost_rate=1)],
        tasks=[
            Task("x", duration=3, priority=4),
            Task("y", duration=1, costs={"b": 10}, priority=1),
        ],
    )
    sol = plan(p, {"a": {"x": (0, 3)}, "b": {"y": (0, 1)}})
    # cost: 2*3 + 10 (override); busy 3 and 1 -> variance 1; priority 5; makespan 3
    assert sol.objectives == {
        "minimize_makespan": 3.0,
        "maximize_priority": 5.0,
        "balance_load": 1.0,
        "minimize_cost": 16.0,
    }
    assert validate(p, sol) == []


def test_constraint_names_are_stable() -> None:
    assert set(CONSTRAINTS) >= {
        "skill_match", "capacity_limit", "precedence", "time_window", "availability",
        "time_horizon", "overlap", "unassigned", "unknown_reference", "schedule_mismatch",
        "duration_mismatch", "objective_mismatch",
    }  # fmt: skip


def test_validator_shares_no_code_with_solvers() -> None:
    import ast
    from pathlib import Path

    import quantum_planner.validate as v

    tree = ast.parse(Path(v.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    banned = ("quantum_planner.scheduling", "quantum_planner.objectives", "quantum_planner.solvers")
    assert not [m for m in imported if m.startswith(banned)]
