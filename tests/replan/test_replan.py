"""Re-planning on every solver path: valid plans, pins kept, disruption counted right."""

from __future__ import annotations

import pytest

from quantum_planner import QuantumTaskPlanner, Solution
from quantum_planner.objectives import objective_key
from quantum_planner.replan import apply_changes, parse_changes
from quantum_planner.validate import validate

CHANGES = {
    "add_task": [{"type": "add_task", "task": {"id": "n1", "required_skills": ["py"]}}],
    "remove_task": [{"type": "remove_task", "task": "t1"}],  # t4 depended on it
    "update_task": [{"type": "update_task", "task": "t5", "duration": 4}],
    "complete_task": [{"type": "complete_task", "task": "t3", "at": 2}],
    "start_task": [{"type": "start_task", "task": "t2", "at": 1}],
    "add_agent": [{"type": "add_agent", "agent": {"id": "a5", "skills": ["py", "js"]}}],
    "remove_agent": [{"type": "remove_agent", "agent": "a2", "at": 1}],
    "update_agent": [{"type": "update_agent", "agent": "a1", "capacity": 1}],
}
BACKENDS = ["auto", "cpsat", "hybrid", "greedy", "local_search", "simulated_annealing"]


def _independent_disruption(previous: Solution, new: Solution, tasks: set[str]) -> dict:
    """Recount reassigned / moved / unchanged from the raw schedules."""
    old = {t: (a, s) for a, ts in previous.schedule.items() for t, (s, _) in ts.items()}
    cur = {t: (a, s) for a, ts in new.schedule.items() for t, (s, _) in ts.items()}
    out = {"reassigned": 0, "moved": 0, "unchanged": 0, "start_shift": 0.0}
    for t in tasks:
        if t not in cur:
            out["reassigned"] += 1
            continue
        out["start_shift"] += abs(cur[t][1] - old[t][1])
        if cur[t][0] != old[t][0]:
            out["reassigned"] += 1
        elif cur[t][1] != old[t][1]:
            out["moved"] += 1
        else:
            out["unchanged"] += 1
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_replan_is_valid_keeps_pins_and_counts_disruption(team, team_plan, backend, kind):
    changes = CHANGES[kind]
    planner = QuantumTaskPlanner(backend=backend, fallback="greedy", time_limit=2)
    sol = planner.replan(team, team_plan, changes, freeze_until=1, time_limit=2, seed=3)
    inp = apply_changes(team, team_plan, parse_changes(changes), freeze_until=1)
    assert validate(inp.problem, sol) == []
    assert sol.feasible
    for tid, pin in inp.pins.items():
        assert sol.assignments[tid] == pin.agent
        assert sol.schedule[pin.agent][tid] == pytest.approx((pin.start, pin.end))
    # the pins include every task the previous plan started before the freeze
    for tid, (a, s, _) in inp.previous.items():
        if s < 1:
            assert sol.assignments[tid] == a
    expected = _independent_disruption(team_plan, sol, set(inp.previous))
    assert sol.disruption == pytest.approx(expected)
    # every task the new problem has is planned (all are mandatory)
    assert set(sol.assignments) == {t.id for t in inp.problem.tasks}


def test_replan_disturbs_less_than_solving_again(team, team_plan):
    """Removing an agent: the re-plan moves fewer tasks than a fresh solve of the same problem."""
    changes = [{"type": "remove_agent", "agent": "a2", "at": 0}]
    planner = QuantumTaskPlanner(backend="cpsat", time_limit=3)
    replanned = planner.replan(team, team_plan, changes, seed=1, disruption={"tolerance": 0.3})
    inp = apply_changes(team, team_plan, parse_changes(changes))
    fresh = planner.solve(inp.problem, seed=1)
    moved_fresh = _independent_disruption(team_plan, fresh, set(inp.previous))["reassigned"]
    assert replanned.disruption["reassigned"] <= moved_fresh
    # a2's tasks had to move; nothing else needed to
    forced = sum(1 for a in team_plan.assignments.values() if a == "a2")
    assert replanned.disruption["reassigned"] >= forced


def test_nothing_changed_keeps_the_plan(team, team_plan):
    sol = QuantumTaskPlanner(backend="greedy", time_limit=1).replan(team, team_plan, [])
    assert sol.disruption["reassigned"] == 0
    assert sol.disruption["unchanged"] == len(team_plan.assignments)


def test_replan_records_previous_id_and_candidate(team, team_plan):
    sol = QuantumTaskPlanner(backend="greedy", time_limit=1).replan(
        team, team_plan, CHANGES["add_task"], previous_id="plan-7"
    )
    assert sol.previous_id == "plan-7"
    assert sol.metadata["replan"]["added"] == ["n1"]
    assert sol.metadata["replan"]["candidate"] in {
        "repair",
        "solve",
        "relink",
        "relink-solved-order",
        "cpsat-disruption",
    }


def test_solve_accepts_an_initial_plan(team, team_plan):
    """Local search started from CP-SAT's proven optimum cannot end anywhere worse."""
    sol = QuantumTaskPlanner(backend="local_search", time_limit=1).solve(team, initial=team_plan)
    assert sol.feasible
    assert objective_key(team, sol.objectives) <= objective_key(team, team_plan.objectives)
