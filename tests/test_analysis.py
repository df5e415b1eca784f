"""quantum_planner.analysis through the planner: one entry per catalogue rule, the
validator's verdict alongside, and plans naming unknown ids analysed, not crashing."""

from __future__ import annotations

from conftest import plan

from quantum_planner import Agent, Problem, QuantumTaskPlanner, Task
from quantum_planner.constraints import NAMES


def _problem() -> Problem:
    return Problem(
        agents=[Agent("a", skills=["x"], capacity=2), Agent("b")],
        tasks=[
            Task("t1", duration=2, required_skills=["x"]),
            Task("t2", duration=1, dependencies=["t1"]),
        ],
    )


def test_planner_analyze_covers_every_rule_of_a_solved_plan() -> None:
    p = _problem()
    planner = QuantumTaskPlanner(backend="greedy", time_limit=5)
    report = planner.analyze(p, planner.solve(p))
    assert [c["constraint"] for c in report["constraints"]] == list(NAMES)
    assert report["feasible"] and report["violated_constraints"] == []
    assert report["validator_violations"] == []
    assert all(c["penalty"] == 0 for c in report["constraints"])


def test_analyze_explains_a_broken_plan_with_justified_matches() -> None:
    p = _problem()
    bad = plan(p, {"b": {"t1": (0, 2)}, "a": {"t2": (1, 2)}})
    report = QuantumTaskPlanner().analyze(p, bad)
    kinds = {c["constraint"]: c for c in report["constraints"]}
    assert set(report["violated_constraints"]) == {"skill_match", "precedence"}
    assert kinds["precedence"]["penalty"] == 1.0
    assert "prerequisite t1 ends at 2" in kinds["precedence"]["violated"][0]["message"]
    assert kinds["capacity_limit"]["status"] == "satisfied"  # a holds 1 of 2


def test_analyze_reports_unknown_ids_instead_of_crashing() -> None:
    p = _problem()
    good = plan(p, {"a": {"t1": (0, 2)}, "b": {"t2": (2, 3)}})
    ghost = good.model_copy(
        update={
            "assignments": {**good.assignments, "ghost": "a"},
            "schedule": {**good.schedule, "a": {**good.schedule["a"], "ghost": (2.0, 3.0)}},
        }
    )
    report = QuantumTaskPlanner().analyze(p, ghost)
    assert "unknown_reference" in report["violated_constraints"]
    assert not report["feasible"]
