"""Property tests: on random small problems every returned plan validates, or the planner
says the problem is infeasible and why; and on tiny ones it never misses a feasible plan."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from quantum_planner import Agent, Problem, QuantumTaskPlanner, Task
from quantum_planner.errors import InfeasibleProblemError, ProblemError
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import make_solution
from quantum_planner.validate import validate

SKILLS = ["a", "b", "c"]
OBJECTIVES = ["minimize_makespan", "maximize_priority", "balance_load", "minimize_cost"]
PLANNER = QuantumTaskPlanner(local_search={"kicks": 5})


@st.composite
def problems(draw, max_tasks: int = 7, max_agents: int = 4) -> Problem:
    n_agents = draw(st.integers(1, max_agents))
    agents = []
    for i in range(n_agents):
        start = draw(st.sampled_from([0, 0, 0, 2]))
        agents.append(
            Agent(
                f"a{i}",
                skills=draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=3)),
                capacity=draw(st.one_of(st.none(), st.integers(1, 4))),
                cost_rate=draw(st.integers(0, 3)),
                available_from=start,
                available_until=draw(st.sampled_from([None, None, start + 12])),
            )
        )
    tasks = []
    n_tasks = draw(st.integers(1, max_tasks))
    for j in range(n_tasks):
        duration = draw(st.integers(0, 5))
        window = draw(st.booleans())
        earliest = draw(st.integers(0, 6)) if window else None
        latest = (earliest or 0) + duration + draw(st.integers(0, 8)) if window else None
        deps = draw(st.lists(st.integers(0, j - 1), unique=True, max_size=2)) if j else []
        tasks.append(
            Task(
                f"t{j}",
                required_skills=draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=2)),
                priority=draw(st.integers(0, 9)),
                duration=duration,
                load=draw(st.sampled_from([1, 1, 2])),
                dependencies=[f"t{d}" for d in deps],
                earliest_start=earliest,
                latest_finish=latest,
                optional=draw(st.booleans()),
            )
        )
    objective = draw(
        st.one_of(
            st.sampled_from(OBJECTIVES),
            st.lists(st.sampled_from(OBJECTIVES), unique=True, min_size=2, max_size=3),
        )
    )
    horizon = draw(st.sampled_from([None, None, 15, 30]))
    try:
        return Problem(agents=agents, tasks=tasks, objective=objective, time_horizon=horizon)
    except ProblemError:
        assume(False)  # an invalid problem is the model tests' business
        raise


def _feasible_by_brute_force(problem: Problem) -> bool:
    """Semi-active schedules over all orders include a feasible plan whenever one exists
    (release times, deadlines and precedence are all regular constraints)."""
    return _brute_force_best(problem) is not None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(problems())
def test_every_returned_plan_validates_or_infeasible_with_reason(problem: Problem) -> None:
    try:
        sol = PLANNER.solve(problem, time_limit=5, seed=1)
    except InfeasibleProblemError as e:
        event("reported infeasible")
        assert e.details["violations"], "an infeasible report must say which constraints fail"
        assert e.message
        return
    event("solved")
    assert sol.feasible and validate(problem, sol) == []
    assert sol.backend_used in {a.backend for a in sol.backends_tried}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(problems(max_tasks=4, max_agents=2))
def test_never_reports_infeasible_when_a_plan_exists(problem: Problem) -> None:
    try:
        PLANNER.solve(problem, time_limit=5, seed=1)
    except InfeasibleProblemError:
        event("reported infeasible")
        assert not _feasible_by_brute_force(problem)


def _brute_force_best(problem: Problem) -> tuple[float, ...] | None:
    """Best objective key over every assignment (or leaving an optional task out) and
    every order, as semi-active schedules; None if no plan is valid."""
    from quantum_planner.objectives import objective_key

    best = None
    options = [
        [a.id for a in problem.agents] + ([None] if t.optional else []) for t in problem.tasks
    ]
    for choice in itertools.product(*options):
        assignments = {t.id: a for t, a in zip(problem.tasks, choice, strict=True) if a}
        for order in itertools.permutations(assignments):
            schedule = build_schedule(problem, assignments, list(order))
            sol = make_solution(problem, assignments, schedule, backend="brute")
            if not validate(problem, sol):
                key = objective_key(problem, sol.objectives)
                best = key if best is None or key < best else best
    return best


def test_local_search_reaches_the_optimum_on_tiny_problems() -> None:
    """A fixed sample (deterministic): 4 tasks, 2 agents, every objective kind."""
    import random

    from quantum_planner.objectives import objective_key
    from quantum_planner.solvers.local_search import LocalSearchSolver

    rng = random.Random(2)
    objectives = [*OBJECTIVES, ["maximize_priority", "minimize_makespan"]]
    checked = 0
    for i in range(40):
        agents = [
            Agent(f"a{k}", skills=rng.sample(SKILLS[:2], rng.randint(1, 2)),
                  capacity=rng.choice([None, 2, 3]), cost_rate=rng.randint(0, 3))
            for k in range(2)
        ]  # fmt: skip
        tasks = [
            Task(f"t{j}", required_skills=rng.sample(SKILLS[:2], rng.randint(0, 1)),
                 duration=rng.randint(1, 6), priority=rng.randint(1, 5),
                 dependencies=[f"t{d}" for d in rng.sample(range(j), min(j, rng.randint(0, 1)))],
                 optional=rng.random() < 0.25)
            for j in range(4)
        ]  # fmt: skip
        try:
            p = Problem(agents=agents, tasks=tasks, objective=objectives[i % len(objectives)],
                        time_horizon=rng.choice([None, 12, 20]))  # fmt: skip
        except ProblemError:
            continue
        best = _brute_force_best(p)
        if best is None:
            continue
        sol = LocalSearchSolver().solve(p, time_limit=5, seed=0)
        assert validate(p, sol) == []
        got = objective_key(p, sol.objectives)
        assert [round(x, 6) for x in got] == [round(x, 6) for x in best], p.model_dump_json()
        checked += 1
    assert checked >= 25
