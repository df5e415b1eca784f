"""Pareto fronts: validity, non-domination, exactness against brute force, anytime, inputs."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantum_planner import Agent, Problem, QuantumTaskPlanner, Task
from quantum_planner.errors import (
    InfeasibleProblemError,
    InvalidValueError,
    UnknownBackendError,
    UnknownObjectiveError,
)
from quantum_planner.tradeoffs import ParetoFront, hypervolume, pareto_front
from quantum_planner.tradeoffs import epsilon as eps_module
from quantum_planner.tradeoffs.front import dominates
from quantum_planner.tradeoffs.spec import objective_values, senses_of
from quantum_planner.validate import validate

from .conftest import brute_front, small_problems

PAIRS = [
    ("minimize_cost", "minimize_makespan"),
    ("minimize_makespan", "balance_load"),
    ("minimize_cost", "balance_load"),
]


def assert_sound(problem: Problem, front: ParetoFront) -> None:
    """Every point valid, values right, mutually non-dominated, sorted, knee and HV consistent."""
    senses = senses_of(front.objectives)
    for p in front.points:
        assert validate(problem, p.solution) == []
        assert p.values == objective_values(problem, p.solution, front.objectives, None)
        assert p.solution.metadata["pareto"]["values"] == list(p.values)
    for a in front.points:
        assert not any(dominates(b.values, a.values, senses) for b in front.points)
    keys = [tuple(s * v for s, v in zip(senses, p.values, strict=True)) for p in front.points]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert (front.knee is None) == (not front.points)
    values = [p.values for p in front.points]
    assert front.hypervolume == pytest.approx(hypervolume(values, front.reference, senses))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(problem=small_problems(), pair=st.sampled_from(PAIRS))
def test_cpsat_front_is_the_brute_force_front(problem: Problem, pair: tuple[str, str]) -> None:
    front = pareto_front(problem, pair, time_limit=20, backend="cpsat")
    assert_sound(problem, front)
    assert front.complete and front.stats["exact"]
    got = {tuple(round(v, 9) for v in p.values) for p in front.points}
    assert got == brute_front(problem, pair, senses_of(pair))


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(problem=small_problems(optional=True))
def test_three_objectives_with_priority_are_valid_and_non_dominated(problem: Problem) -> None:
    names = ("minimize_cost", "minimize_makespan", "maximize_priority")
    front = pareto_front(problem, names, time_limit=20, backend="cpsat")
    assert_sound(problem, front)
    assert front.complete
    # the extremes are on the front: no plan beats the best value found of each objective
    exact = brute_front(problem, names, senses_of(names))
    for k, s in enumerate(senses_of(names)):
        assert min(s * p.values[k] for p in front.points) == pytest.approx(
            min(s * v[k] for v in exact)
        )
    assert all(tuple(round(v, 9) for v in p.values) in exact for p in front.points)


def _team() -> Problem:
    agents = [Agent("a", cost_rate=3), Agent("b", cost_rate=1), Agent("c", cost_rate=2)]
    tasks = [Task(f"t{i}", duration=1 + i % 3) for i in range(6)]
    return Problem(agents=agents, tasks=tasks)


def test_knee_reference_and_json_of_a_known_front() -> None:
    problem = _team()
    front = QuantumTaskPlanner().pareto(problem, ["minimize_cost", "minimize_makespan"])
    values = [p.values for p in front.points]
    assert values == [(12 + i, 12 - i) for i in range(7)] + [(21.0, 5.0), (24.0, 4.0)]
    # reference: worst + 10% of the range on each axis
    assert front.reference == pytest.approx((24 + 1.2, 12 + 0.8))
    # knee: least normalised sum; (18, 6) -> 0.5 + 0.25
    assert values[front.knee] == (18.0, 6.0)
    body = json.loads(json.dumps(front.to_dict()))
    assert body["objectives"] == ["minimize_cost", "minimize_makespan"]
    assert body["knee"] == front.knee and body["complete"] is True
    assert body["points"][0]["values"] == [12.0, 12.0]
    assert body["points"][0]["solution"]["assignments"]


def test_points_caps_the_front_and_keeps_both_extremes() -> None:
    front = pareto_front(_team(), ["minimize_cost", "minimize_makespan"], points=3)
    assert len(front.points) == 3 and front.complete
    assert front.points[0].values == (12.0, 12.0) and front.points[-1].values == (24.0, 4.0)
    assert not front.stats["exact"]


def test_given_reference_is_used_for_the_hypervolume() -> None:
    front = pareto_front(_team(), ["minimize_cost", "minimize_makespan"], reference=(30, 20))
    assert front.reference == (30.0, 20.0)
    assert front.hypervolume == pytest.approx(
        hypervolume([p.values for p in front.points], (30, 20), (1, 1))
    )


class _Clock:
    """``time`` for the sweep whose clock jumps past every deadline after ``calls`` reads."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def monotonic(self) -> float:
        self.calls -= 1
        return time.monotonic() + (0.0 if self.calls > 0 else 1e6)


def test_a_cut_sweep_returns_a_partial_front_of_valid_plans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = _team()
    full = pareto_front(problem, ["minimize_cost", "minimize_makespan"])
    # the two extremes, then the clock runs out between boxes
    monkeypatch.setattr(eps_module, "time", _Clock(calls=4))
    front = pareto_front(problem, ["minimize_cost", "minimize_makespan"], time_limit=30)
    assert not front.complete
    assert 2 <= len(front.points) < len(full.points)
    assert_sound(problem, front)
    assert front.hypervolume < full.hypervolume or front.reference != full.reference


def test_disruption_front_against_a_previous_plan() -> None:
    problem = _team()
    planner = QuantumTaskPlanner(seed=1)
    previous = planner.solve(problem)  # makespan-optimal plan
    front = planner.pareto(problem, ["minimize_cost", "minimize_disruption"], previous=previous)
    senses = senses_of(front.objectives)
    assert front.points[-1].values[1] == 0.0  # keeping the previous plan is on the front
    assert front.points[-1].values[0] == previous.objectives["minimize_cost"]
    assert front.points[0].values[0] == 12.0  # the cheapest plan moves some tasks
    for p in front.points:
        moved = sum(
            1 for t in problem.tasks if p.solution.assignments[t.id] != previous.assignments[t.id]
        )
        assert p.values[1] == moved
    assert all(
        not dominates(a.values, b.values, senses) for a in front.points for b in front.points
    )


@pytest.mark.parametrize("backend", ["hybrid", "simulated_annealing"])
def test_other_methods_return_valid_non_dominated_fronts(backend: str) -> None:
    problem = _team()
    front = pareto_front(problem, ["minimize_cost", "balance_load"], time_limit=3, backend=backend)
    assert_sound(problem, front)
    assert len(front.points) >= 2
    assert (
        front.method
        == {"hybrid": "hybrid-weighted", "simulated_annealing": "qubo-weighted"}[backend]
    )


def test_an_infeasible_problem_raises() -> None:
    problem = Problem(
        agents=[Agent("a", capacity=1)], tasks=[Task("x"), Task("y")], objective="minimize_cost"
    )
    with pytest.raises(InfeasibleProblemError):
        pareto_front(problem, ["minimize_cost", "minimize_makespan"], time_limit=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"objectives": ["minimize_cost", "fastest"]}, UnknownObjectiveError, "objectives"),
        ({"objectives": ["minimize_cost"]}, InvalidValueError, "objectives"),
        (
            {
                "objectives": [
                    "minimize_cost",
                    "minimize_makespan",
                    "balance_load",
                    "maximize_priority",
                ]
            },
            InvalidValueError,
            "objectives",
        ),
        ({"objectives": ["minimize_cost", "minimize_cost"]}, InvalidValueError, "objectives"),
        ({"objectives": ["minimize_cost", "minimize_disruption"]}, InvalidValueError, "previous"),
        ({"time_limit": 0}, InvalidValueError, "time_limit"),
        ({"time_limit": -1.0}, InvalidValueError, "time_limit"),
        ({"time_limit": math.nan}, InvalidValueError, "time_limit"),
        ({"points": 1}, InvalidValueError, "points"),
        ({"reference": [1.0]}, InvalidValueError, "reference"),
        ({"backend": "quantum"}, UnknownBackendError, "backend"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_argument(
    kwargs: dict, error: type[Exception], field: str
) -> None:
    args = {"objectives": ["minimize_cost", "minimize_makespan"], **kwargs}
    with pytest.raises(error) as info:
        QuantumTaskPlanner().pareto(_team(), **args)
    assert info.value.field == field


@pytest.mark.parametrize("backend", ["cpsat", "hybrid"])
def test_disruption_first_and_an_invalid_previous_plan_never_on_the_front(backend: str) -> None:
    problem = _team()
    valid = QuantumTaskPlanner(seed=1).solve(problem)
    # every task on agent a at time 0: overlapping, so invalid as it stands
    broken = valid.model_copy(
        update={
            "assignments": {t.id: "a" for t in problem.tasks},
            "schedule": {"a": {t.id: (0.0, t.duration) for t in problem.tasks}},
        }
    )
    front = pareto_front(
        problem,
        ["minimize_disruption", "minimize_makespan"],
        previous=broken,
        time_limit=5,
        backend=backend,
    )
    for p in front.points:
        assert validate(problem, p.solution) == []
    # the least disruption keeps tasks on a, but must schedule them one after another
    assert front.points[0].values == (0.0, sum(t.duration for t in problem.tasks))
    assert front.points[-1].values[1] == 4.0  # the fastest plan (LPT over three agents)


def test_the_planner_passes_its_backend_when_the_sweeps_run_it() -> None:
    from quantum_planner.planner import TRADEOFF_BACKENDS
    from quantum_planner.tradeoffs.pareto import BACKENDS

    assert TRADEOFF_BACKENDS == BACKENDS
    names = ["minimize_cost", "minimize_makespan"]
    front = QuantumTaskPlanner(backend="simulated_annealing").pareto(_team(), names, time_limit=2)
    assert front.method == "qubo-weighted"
    front = QuantumTaskPlanner(backend="greedy").pareto(_team(), names, time_limit=2)
    assert front.method == "cpsat-epsilon"  # greedy has no sweep: auto (small: CP-SAT)
