"""Per-level tolerance of lexicographic objectives: model, JSON, CP-SAT stages, the key."""

from __future__ import annotations

import itertools
import json

import pytest

from quantum_planner import Agent, Problem, QuantumTaskPlanner, Task
from quantum_planner.errors import InvalidValueError, UnknownObjectiveError
from quantum_planner.formulation.decode import best_of
from quantum_planner.model import ObjectiveLevel
from quantum_planner.objectives import evaluate, objective_key, tolerant_best
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution


def _data(objective: object) -> dict:
    return {
        "agents": [
            {"id": "a", "cost_rate": 3},
            {"id": "b", "cost_rate": 1},
            {"id": "c", "cost_rate": 2},
        ],
        "tasks": [{"id": f"t{i}", "duration": 1 + i % 3} for i in range(5)],
        "objective": objective,
    }


def test_tuple_dict_and_plain_forms_and_json_round_trip() -> None:
    p = Problem.from_dict(_data([("minimize_cost", 0.02), "minimize_makespan"]))
    q = Problem.from_dict(
        _data([{"name": "minimize_cost", "tolerance": 0.02}, "minimize_makespan"])
    )
    assert [o.value for o in p.objectives] == ["minimize_cost", "minimize_makespan"]
    assert p.tolerances == q.tolerances == [0.02, 0.0]
    again = Problem.from_json(p.to_json())
    assert again.tolerances == [0.02, 0.0] and again.objectives == p.objectives
    dumped = json.loads(p.to_json())["objective"]
    assert dumped == [{"name": "minimize_cost", "tolerance": 0.02}, "minimize_makespan"]
    assert isinstance(p.objective[0], ObjectiveLevel)
    assert Problem.from_dict(_data("minimize_cost")).tolerances == [0.0]


@pytest.mark.parametrize(
    ("objective", "error", "field"),
    [
        ([("minimize_cost", -0.1)], InvalidValueError, "objective[0].tolerance"),
        ([("minimize_cost", "x")], InvalidValueError, "objective[0].tolerance"),
        (["minimize_makespan", {"name": "minimize_cost", "tolerance": 11}], InvalidValueError,
         "objective[1].tolerance"),
        ([{"name": "minimize_cost", "slack": 1}], UnknownObjectiveError, "objective[0]"),
        ([("fastest", 0.1)], UnknownObjectiveError, "objective"),
        ([("minimize_cost", 0.1, 2)], UnknownObjectiveError, "objective[0]"),
    ],
)  # fmt: skip
def test_bad_tolerances_name_the_field(objective: object, error: type, field: str) -> None:
    with pytest.raises(error) as info:
        Problem.from_dict(_data(objective))
    assert info.value.field == field


def _all(problem: Problem) -> list[dict[str, float]]:
    out = []
    for combo in itertools.product([a.id for a in problem.agents], repeat=len(problem.tasks)):
        assign = dict(zip([t.id for t in problem.tasks], combo, strict=True))
        out.append(evaluate(problem, assign, build_schedule(problem, assign)))
    return out


@pytest.mark.parametrize("tol", [0.0, 0.1, 0.5])
def test_cpsat_stages_stay_within_the_tolerance(tol: float) -> None:
    problem = Problem.from_dict(_data([("minimize_cost", tol), "minimize_makespan"]))
    sol = QuantumTaskPlanner(backend="cpsat").solve(problem, time_limit=10)
    values = _all(problem)
    best_cost = min(v["minimize_cost"] for v in values)
    bound = best_cost * (1 + tol)
    assert sol.objectives["minimize_cost"] <= bound + 1e-9
    assert sol.makespan == min(
        v["minimize_makespan"] for v in values if v["minimize_cost"] <= bound
    )
    if tol == 0.5:  # the tolerance buys a shorter plan than the strict order gives
        strict = [v for v in values if v["minimize_cost"] == best_cost]
        assert sol.makespan < min(v["minimize_makespan"] for v in strict)


def test_key_ties_values_within_tolerance_of_the_best() -> None:
    problem = Problem.from_dict(_data([("minimize_cost", 0.1), "minimize_makespan"]))
    cheap = {"minimize_cost": 100.0, "minimize_makespan": 9.0}
    near = {"minimize_cost": 109.0, "minimize_makespan": 5.0}
    far = {"minimize_cost": 111.0, "minimize_makespan": 1.0}
    for v in (cheap, near, far):
        v.update(maximize_priority=0.0, balance_load=0.0)
    best = tolerant_best(problem, [cheap, near, far])
    assert best == {"minimize_cost": 100.0, "minimize_makespan": 5.0}
    ranked = sorted([far, cheap, near], key=lambda v: objective_key(problem, v, best))
    assert ranked == [near, cheap, far]
    # without best the key stays exact (the strict order)
    assert sorted([far, near, cheap], key=lambda v: objective_key(problem, v)) == [cheap, near, far]


def test_best_of_honours_the_tolerance() -> None:
    problem = Problem(
        agents=[Agent("a", cost_rate=1), Agent("b", cost_rate=1.05)],
        tasks=[Task("x", duration=2), Task("y", duration=2)],
        objective=[("minimize_cost", 0.1), "minimize_makespan"],
    )
    same = make_solution(
        problem, {"x": "a", "y": "a"}, build_schedule(problem, {"x": "a", "y": "a"}), backend="t"
    )
    split = make_solution(
        problem, {"x": "a", "y": "b"}, build_schedule(problem, {"x": "a", "y": "b"}), backend="t"
    )
    assert same.objectives["minimize_cost"] < split.objectives["minimize_cost"]
    assert best_of(problem, [same, split]) is split  # 2.5% dearer, half the makespan
