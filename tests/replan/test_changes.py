"""Changes apply to a planned problem: pins, removals, and a typed error for bad ones."""

from __future__ import annotations

import pytest

from quantum_planner import Problem, Solution
from quantum_planner.errors import ChangeError
from quantum_planner.replan import (
    AddAgent,
    CompleteTask,
    RemoveAgent,
    StartTask,
    apply_changes,
    parse_changes,
)


def _apply(problem: Problem, plan: Solution, changes: list, **kw):
    return apply_changes(problem, plan, parse_changes(changes), **kw)


def test_dicts_and_objects_parse_to_the_same_changes():
    as_dicts = parse_changes([{"type": "remove_agent", "agent": "a1", "at": 2}])
    assert as_dicts == [RemoveAgent(agent="a1", at=2)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "explode", "task": "t1"}, "changes[0]"),
        ({"type": "start_task", "task": "t1", "at": -1}, "changes[0].at"),
        ({"type": "remove_task"}, "changes[0].task"),
    ],
)
def test_malformed_change_names_the_field(change, field):
    with pytest.raises(ChangeError) as e:
        parse_changes([change])
    assert e.value.field == field
    assert e.value.code == "invalid_change"


def test_started_task_is_pinned_to_its_agent_and_start(team, team_plan):
    agent = team_plan.assignments["t2"]
    inp = _apply(team, team_plan, [StartTask(task="t2", at=1.5)])
    task = inp.problem.task("t2")
    assert task.allowed_agents == [agent]
    assert (task.earliest_start, task.latest_finish) == (1.5, 1.5 + team.task("t2").duration)
    assert inp.pins["t2"].reason == "started"


def test_completed_task_keeps_its_start_and_ends_when_done(team, team_plan):
    agent = team_plan.assignments["t3"]
    start = team_plan.schedule[agent]["t3"][0]
    inp = _apply(team, team_plan, [CompleteTask(task="t3", at=start + 0.5)])
    pin = inp.pins["t3"]
    assert (pin.agent, pin.start, pin.end, pin.reason) == (agent, start, start + 0.5, "completed")


def test_freeze_pins_what_started_before_and_delays_the_rest(team, team_plan):
    inp = _apply(team, team_plan, [], freeze_until=1)
    started = {t for t, (_, s, _) in inp.previous.items() if s < 1}
    assert set(inp.pins) == started
    for t in inp.problem.tasks:
        if t.id not in started:
            assert t.earliest_start >= 1


def test_removed_agent_keeps_only_what_it_started(team, team_plan):
    agent = team_plan.assignments["t1"]
    first = min(s for s, _ in team_plan.schedule[agent].values())
    inp = _apply(team, team_plan, [RemoveAgent(agent=agent, at=first + 0.1)])
    kept = {t for t, p in inp.pins.items() if p.agent == agent}
    assert kept == {t for t, (s, _) in team_plan.schedule[agent].items() if s < first + 0.1}
    # nothing new may start on it after it leaves
    assert inp.problem.agent(agent).available_until is not None


def test_removed_agent_without_started_work_is_gone(team, team_plan):
    inp = _apply(team, team_plan, [RemoveAgent(agent="a3", at=0)])
    assert not inp.problem.has_agent("a3")


def test_pinned_flag_keeps_the_previous_agent_and_start(team, team_plan):
    data = team.model_dump()
    data["tasks"][4]["pinned"] = True
    problem = Problem.from_dict(data)
    inp = _apply(problem, team_plan, [])
    assert inp.pins["t5"].reason == "pinned"
    assert inp.pins["t5"].agent == team_plan.assignments["t5"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ([{"type": "remove_task", "task": "nope"}], "changes[0].task", "unknown task"),
        ([{"type": "update_agent", "agent": "zz", "capacity": 1}], "changes[0].agent", "unknown"),
        (
            [{"type": "complete_task", "task": "t1", "at": 5}] * 2,
            "changes[1].task",
            "already completed",
        ),
        (
            [{"type": "add_task", "task": {"id": "t1"}}],
            "changes[0].task.id",
            "already exists",
        ),
        # a2 is the only agent with nothing but py; a1 and a4 also have py, so remove the
        # only two agents with ops instead: t3 and t7 need ops
        (
            [
                {"type": "remove_agent", "agent": "a3"},
                {"type": "remove_agent", "agent": "a4"},
            ],
            "changes[1]",
            "ops",
        ),
        (
            [{"type": "update_task", "task": "t1", "duration": -2}],
            "changes[0]",
            "duration",
        ),
    ],
)
def test_bad_change_is_a_typed_error_naming_it(team, team_plan, changes, field, words):
    before = (team.model_dump(), team_plan.model_dump())
    with pytest.raises(ChangeError) as e:
        _apply(team, team_plan, changes)
    assert e.value.field == field
    assert words in e.value.message
    assert (team.model_dump(), team_plan.model_dump()) == before  # nothing altered


def test_pin_into_impossible_window_is_an_error(team, team_plan):
    changes = [
        AddAgent(agent={"id": "a9", "skills": ["py", "js", "ops"], "available_until": 2}),
        StartTask(task="t6", at=1, agent="a9"),  # t6 lasts 3: ends at 4, after a9 leaves
    ]
    with pytest.raises(ChangeError) as e:
        _apply(team, team_plan, changes)
    assert e.value.field == "changes[1]"
    assert "availability" in e.value.message


def test_two_pins_over_each_other_are_an_error(team, team_plan):
    changes = [
        StartTask(task="t1", at=0, agent="a1"),
        StartTask(task="t6", at=0, agent="a1"),
    ]
    with pytest.raises(ChangeError, match="over each other"):
        _apply(team, team_plan, changes)


def test_update_task_load_scales_per_agent_loads():
    """A task with per-agent loads (GAP) gets them scaled like per-agent durations."""
    p = Problem.from_dict(
        {
            "agents": [{"id": "a", "capacity": 10}, {"id": "b", "capacity": 10}],
            "tasks": [{"id": "t", "loads": {"a": 2, "b": 4}, "load": 1}],
            "objective": "minimize_cost",
        }
    )
    plan = Solution(assignments={"t": "a"}, schedule={"a": {"t": (0.0, 1.0)}, "b": {}})
    inp = apply_changes(p, plan, parse_changes([{"type": "update_task", "task": "t", "load": 1.5}]))
    t = inp.problem.task("t")
    assert t.load == 1.5
    assert t.loads == {"a": 3.0, "b": 6.0}
