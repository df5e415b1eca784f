"""Domain model: typed errors for bad input, and JSON round trips."""

from __future__ import annotations

import json

import pytest

from quantum_planner import Agent, Problem, Solution, Task, TimeWindowTask
from quantum_planner.bounds import (
    COST_MAX,
    ID_MAX_LENGTH,
    ID_PATTERN,
    LOAD_MAX,
    PRIORITY_MAX,
    TIME_MAX,
)
from quantum_planner.errors import (
    DependencyCycleError,
    DuplicateIdError,
    FormatError,
    InvalidValueError,
    NoEligibleAgentError,
    PlannerError,
    ProblemError,
    TimeWindowError,
    UnknownObjectiveError,
    UnknownReferenceError,
)
from quantum_planner.planner import QuantumTaskPlanner


def test_unknown_prerequisite_names_both_tasks() -> None:
    with pytest.raises(UnknownReferenceError) as e:
        Problem(agents=[Agent("a")], tasks=[Task("t", dependencies=["ghost"])])
    assert "'t'" in e.value.message and "'ghost'" in e.value.message
    assert e.value.code == "unknown_reference"


def test_unknown_task_in_precedence_mapping() -> None:
    with pytest.raises(UnknownReferenceError, match="ghost"):
        Problem(
            agents=[Agent("a")],
            tasks=[Task("t")],
            constraints={"precedence": {"t": ["ghost"]}},
        )


def test_cycle_is_named() -> None:
    tasks = [
        Task("a", dependencies=["c"]),
        Task("b", dependencies=["a"]),
        Task("c", dependencies=["b"]),
        Task("d"),
    ]
    with pytest.raises(DependencyCycleError) as e:
        Problem(agents=[Agent("x")], tasks=tasks)
    cycle = e.value.details["cycle"]
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert " -> ".join(cycle) in e.value.message


def test_cycle_through_precedence_mapping() -> None:
    with pytest.raises(DependencyCycleError, match=r"x -> y -> x|y -> x -> y"):
        Problem(
            agents=[Agent("a")],
            tasks=[Task("x", dependencies=["y"]), Task("y")],
            constraints={"precedence": {"y": ["x"]}},
        )


def test_task_no_agent_can_do_names_task_and_skills() -> None:
    with pytest.raises(NoEligibleAgentError) as e:
        Problem(
            agents=[Agent("a1", skills=["python"]), Agent("a2", skills=["go"])],
            tasks=[Task("ml", required_skills=["python", "cuda"])],
        )
    msg = e.value.message
    assert "'ml'" in msg and "cuda" in msg and "python" in msg and "'a1'" in msg
    assert e.value.details["task"] == "ml"


def test_optional_task_no_agent_can_do_is_allowed() -> None:
    p = Problem(agents=[Agent("a")], tasks=[Task("t", required_skills=["x"], optional=True)])
    assert p.eligible_agents("t") == []


@pytest.mark.parametrize("field", ["duration", "priority", "load"])
def test_negative_numbers_rejected(field: str) -> None:
    with pytest.raises(InvalidValueError, match=field):
        Task("t", **{field: -1})


def test_negative_capacity_rejected() -> None:
    with pytest.raises(InvalidValueError, match="capacity"):
        Agent("a", capacity=-2)


@pytest.mark.parametrize("kind", ["agents", "tasks"])
def test_duplicate_ids(kind: str) -> None:
    agents = [Agent("a"), Agent("a")] if kind == "agents" else [Agent("a")]
    tasks = [Task("t"), Task("t")] if kind == "tasks" else [Task("t")]
    with pytest.raises(DuplicateIdError, match=r"'a'|'t'"):
        Problem(agents=agents, tasks=tasks)


def test_window_shorter_than_duration() -> None:
    with pytest.raises(TimeWindowError, match="shorter than its duration"):
        TimeWindowTask("w", earliest_start=2, latest_finish=3, duration=2)


def test_unknown_objective_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownObjectiveError) as e:
        Problem(agents=[Agent("a")], tasks=[Task("t")], objective="fastest")
    assert "minimize_makespan" in e.value.message and "'fastest'" in e.value.message


def test_unknown_objective_through_assign() -> None:
    with pytest.raises(UnknownObjectiveError):
        QuantumTaskPlanner().assign([Agent("a")], [Task("t")], objective="nope")


def test_bad_constraint_through_assign_is_typed() -> None:
    with pytest.raises(ProblemError, match="capacity_limt"):
        QuantumTaskPlanner().assign([Agent("a")], [Task("t")], constraints={"capacity_limt": 1})


def test_bad_json_is_format_error() -> None:
    with pytest.raises(FormatError, match="not valid JSON"):
        Problem.from_json("{not json")


def test_wrong_type_names_the_field() -> None:
    with pytest.raises(ProblemError) as e:
        Problem.from_dict({"agents": [{"id": "a", "capacity": "lots"}], "tasks": []})
    assert e.value.field is not None and "capacity" in e.value.field


def test_missing_file_is_format_error(tmp_path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        Problem.load(tmp_path / "nope.json")


def test_every_error_is_a_planner_error_with_a_code() -> None:
    with pytest.raises(PlannerError) as e:
        Problem.from_json("[")
    assert e.value.to_dict()["code"] == "invalid_format"


def test_problem_json_round_trip(team_problem: Problem) -> None:
    again = Problem.from_json(team_problem.to_json())
    assert again == team_problem
    assert json.loads(again.to_json()) == json.loads(team_problem.to_json())


def test_time_window_task_round_trip() -> None:
    p = Problem(
        agents=[Agent("a", available_from=1, available_until=9)],
        tasks=[TimeWindowTask("w", earliest_start=2, latest_finish=6, duration=2)],
        objective=["minimize_makespan", "minimize_cost"],
        time_horizon=10,
    )
    again = Problem.from_json(p.to_json())
    assert again.task("w").latest_finish == 6 and again.objectives == p.objectives


def test_solution_json_round_trip(snippet_problem: Problem) -> None:
    sol = QuantumTaskPlanner().solve(snippet_problem, seed=3)
    again = Solution.from_json(sol.to_json())
    assert again == sol
    assert again.schedule["a2"]["ui"] == sol.schedule["a2"]["ui"]
    assert isinstance(again.schedule["a2"]["ui"], tuple)


def test_bad_solution_json_is_format_error() -> None:
    with pytest.raises(FormatError):
        Solution.from_json('{"assignments": 3}')


# --- bounds, ids and error paths (issue 18) -------------------------------------------------


def _four_tasks(**task3: object) -> dict:
    tasks = [{"id": f"t{i}"} for i in range(1, 5)]
    tasks[3].update(task3)
    return {"agents": [{"id": "a1"}], "tasks": tasks}


@pytest.mark.parametrize("value", [1e308, 10**40, float("inf"), float("nan"), True, -0.5])
def test_duration_out_of_bounds_names_index_id_and_bound(value: object) -> None:
    with pytest.raises(InvalidValueError) as e:
        Problem.from_dict(_four_tasks(duration=value))
    assert e.value.field == "tasks[3].duration"
    assert e.value.details == {"id": "t4", "minimum": 0, "maximum": TIME_MAX}
    assert "1e+09" in e.value.message and "'t4'" in e.value.message


@pytest.mark.parametrize(
    ("where", "field", "value", "bound"),
    [
        ("task", "priority", 1e7, PRIORITY_MAX),
        ("task", "load", 1e10, LOAD_MAX),
        ("task", "latest_finish", 1e300, TIME_MAX),
        ("agent", "capacity", 1e308, LOAD_MAX),
        ("agent", "cost_rate", float("inf"), COST_MAX),
        ("agent", "available_from", 1e10, TIME_MAX),
    ],
)
def test_every_number_has_a_finite_bound(
    where: str, field: str, value: float, bound: float
) -> None:
    data = _four_tasks(**({field: value} if where == "task" else {}))
    if where == "agent":
        data["agents"][0][field] = value
    with pytest.raises(InvalidValueError) as e:
        Problem.from_dict(data)
    assert e.value.details["maximum"] == bound
    assert e.value.field == (f"tasks[3].{field}" if where == "task" else f"agents[0].{field}")


def test_bounds_are_in_the_json_schema() -> None:
    schema = Problem.model_json_schema()
    task = schema["$defs"]["Task"]["properties"]
    assert (task["duration"]["minimum"], task["duration"]["maximum"]) == (0, TIME_MAX)
    assert task["id"]["pattern"] == ID_PATTERN and task["id"]["maxLength"] == ID_MAX_LENGTH
    assert task["durations"]["propertyNames"]["pattern"] == ID_PATTERN
    horizon = next(b for b in schema["properties"]["time_horizon"]["anyOf"] if "maximum" in b)
    assert horizon["maximum"] == TIME_MAX


@pytest.mark.parametrize("bad", ["x" * (ID_MAX_LENGTH + 1), "a\x00b", "a\u202eb", "\u200b", ""])
def test_ids_follow_the_rule_and_are_not_echoed(bad: str) -> None:
    with pytest.raises(InvalidValueError) as e:
        Problem.from_dict(_four_tasks(id=bad))
    assert e.value.field == "tasks[3].id"
    assert not bad or bad not in e.value.message


def test_well_formed_ids_of_any_script_are_accepted() -> None:
    p = Problem.from_dict({"agents": [{"id": "José"}], "tasks": [{"id": "job 3/a"}]})
    assert p.tasks[0].id == "job 3/a"


def test_flags_are_booleans() -> None:
    with pytest.raises(ProblemError) as e:
        Problem.from_dict(_four_tasks(optional=1))
    assert e.value.field == "tasks[3].optional"


def test_horizon_shorter_than_a_task_is_named_as_the_cause() -> None:
    with pytest.raises(TimeWindowError) as e:
        Problem.from_dict({**_four_tasks(duration=8), "time_horizon": 5})
    assert e.value.field == "time_horizon" and e.value.details["task"] == "t4"
    assert "time_horizon" in e.value.message


def test_semantic_errors_use_index_paths() -> None:
    with pytest.raises(UnknownReferenceError) as e:
        Problem.from_dict(_four_tasks(dependencies=["ghost"]))
    assert e.value.field == "tasks[3].dependencies" and e.value.details["id"] == "t4"
    with pytest.raises(DuplicateIdError) as e:
        Problem.from_dict(_four_tasks(id="t1"))
    assert e.value.field == "tasks[3].id"
    with pytest.raises(TimeWindowError) as e:
        Problem.from_dict(_four_tasks(earliest_start=5, latest_finish=5.5))
    assert e.value.field == "tasks[3].latest_finish" and e.value.details["id"] == "t4"


def test_map_keys_are_quoted_in_paths_whatever_they_hold() -> None:
    data = {"agents": [{"id": "a[1]"}], "tasks": [{"id": "t", "durations": {"a[1]": -1}}]}
    with pytest.raises(InvalidValueError) as e:
        Problem.from_dict(data)
    assert e.value.field == 'tasks[0].durations["a[1]"]'
    with pytest.raises(ProblemError) as e:
        data["tasks"][0]["durations"] = {"a[1]": 1}
        Problem.from_dict({**data, "constraints": {"precedence": {"t": [5]}}})
    assert e.value.field == 'constraints.precedence["t"][0]'
