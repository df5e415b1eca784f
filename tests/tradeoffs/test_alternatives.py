"""Top-k distinct plans: distance, order, brute-force optimality, inputs."""

from __future__ import annotations

import itertools

import pytest

from quantum_planner import Agent, Problem, QuantumTaskPlanner, Task
from quantum_planner.errors import InvalidValueError, UnknownBackendError
from quantum_planner.objectives import evaluate, objective_key, tolerant_best
from quantum_planner.scheduling import build_schedule
from quantum_planner.tradeoffs import alternatives
from quantum_planner.tradeoffs.spec import assignment_distance
from quantum_planner.validate import validate


def _problem(objective: object = ("minimize_cost", "minimize_makespan")) -> Problem:
    agents = [Agent("a", cost_rate=3), Agent("b", cost_rate=1), Agent("c", cost_rate=2)]
    tasks = [Task(f"t{i}", duration=1 + i % 3) for i in range(5)]
    return Problem(agents=agents, tasks=tasks, objective=list(objective))


def _check(problem: Problem, plans: list, k: int, d: int) -> None:
    ids = [t.id for t in problem.tasks]
    assert 1 <= len(plans) <= k
    for p in plans:
        assert validate(problem, p) == []
    for a, b in itertools.combinations(plans, 2):
        assert assignment_distance(a.assignments, b.assignments, ids) >= d
    keys = [objective_key(problem, p.objectives) for p in plans]
    assert keys == sorted(keys)
    for rank, p in enumerate(plans):
        meta = p.metadata["alternative"]
        assert meta["rank"] == rank and meta["min_distance"] == d
        assert meta["distance_to_best"] == assignment_distance(
            p.assignments, plans[0].assignments, ids
        )


def _brute(problem: Problem) -> list[tuple[tuple[float, ...], dict[str, str]]]:
    agents = [a.id for a in problem.agents]
    out = []
    for combo in itertools.product(agents, repeat=len(problem.tasks)):
        assign = dict(zip([t.id for t in problem.tasks], combo, strict=True))
        values = evaluate(problem, assign, build_schedule(problem, assign))
        out.append((objective_key(problem, values), assign))
    return sorted(out, key=lambda kv: kv[0])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_cpsat_alternatives_are_the_greedy_best_at_distance(d: int) -> None:
    problem = _problem()
    plans = alternatives(problem, k=4, min_distance=d, backend="cpsat")
    _check(problem, plans, 4, d)
    assert len(plans) == 4
    ids = [t.id for t in problem.tasks]
    everything = _brute(problem)
    kept: list[dict[str, str]] = []
    for plan in plans:
        # the best plan at distance >= d from every earlier one, by brute force
        allowed = [
            key for key, a in everything if all(assignment_distance(a, q, ids) >= d for q in kept)
        ]
        assert objective_key(problem, plan.objectives) == allowed[0]
        kept.append(plan.assignments)


@pytest.mark.parametrize("backend", ["hybrid", "simulated_annealing"])
def test_other_methods_keep_the_distance(backend: str) -> None:
    problem = _problem()
    plans = alternatives(problem, k=3, min_distance=2, time_limit=3, backend=backend)
    _check(problem, plans, 3, 2)
    assert len(plans) >= 2


def test_k_larger_than_the_plans_that_exist() -> None:
    problem = Problem(
        agents=[Agent("a"), Agent("b")], tasks=[Task("x"), Task("y")], objective="minimize_makespan"
    )
    plans = QuantumTaskPlanner().alternatives(problem, k=10, min_distance=1, time_limit=5)
    assert len(plans) == 4  # 2 agents ^ 2 tasks: every assignment once
    assert len({tuple(sorted(p.assignments.items())) for p in plans}) == 4


def test_tolerance_ranks_against_the_proven_optimum() -> None:
    problem = _problem([("minimize_cost", 0.1), "minimize_makespan"])
    plans = alternatives(problem, k=3, min_distance=1, backend="cpsat")
    best_cost = min(v[0] for v, _ in _brute(_problem(["minimize_cost"])))
    # the first plan keeps cost within 10% of the optimum, and has the least makespan there
    assert plans[0].objectives["minimize_cost"] <= best_cost * 1.1 + 1e-9
    within = [
        v
        for v, a in _brute(_problem(["minimize_makespan", "minimize_cost"]))
        if evaluate(problem, a, build_schedule(problem, a))["minimize_cost"] <= best_cost * 1.1
    ]
    assert plans[0].makespan == min(v[0] for v in within)
    best = tolerant_best(problem, [p.objectives for p in plans])
    assert best["minimize_cost"] >= best_cost


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": -2}, "k"),
        ({"min_distance": 0}, "min_distance"),
        ({"min_distance": 6}, "min_distance"),
        ({"time_limit": 0.0}, "time_limit"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        QuantumTaskPlanner().alternatives(_problem(), **kwargs)
    assert info.value.field == field


def test_unknown_backend() -> None:
    with pytest.raises(UnknownBackendError) as info:
        alternatives(_problem(), backend="greedy")
    assert info.value.field == "backend"
