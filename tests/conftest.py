"""Shared fixtures: the issue's snippet data, the team example, and a plan builder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from quantum_planner import Agent, Problem, Solution, Task
from quantum_planner.config import Settings
from quantum_planner.solvers.base import make_solution

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def snippet_agents() -> list[Agent]:
    return [
        Agent("a1", skills=["python", "ml"], capacity=3),
        Agent("a2", skills=["javascript", "react"], capacity=2),
        Agent("a3", skills=["python", "devops"], capacity=2),
    ]


@pytest.fixture
def snippet_tasks() -> list[Task]:
    return [
        Task("api", required_skills=["python"], priority=5, duration=2),
        Task("ui", required_skills=["javascript", "react"], priority=3, duration=3),
        Task("ml", required_skills=["python", "ml"], priority=8, duration=4),
        Task("deploy", required_skills=["devops"], priority=6, duration=1),
    ]


@pytest.fixture
def snippet_problem(snippet_agents: list[Agent], snippet_tasks: list[Task]) -> Problem:
    return Problem(
        agents=snippet_agents,
        tasks=snippet_tasks,
        constraints={"precedence": {"ml": ["api"]}},
    )


@pytest.fixture
def team_problem() -> Problem:
    return Problem.load(EXAMPLES / "team.json")


def plan(
    problem: Problem,
    schedule: Mapping[str, Mapping[str, tuple[float, float]]],
    **fields: object,
) -> Solution:
    """A solution whose assignments follow ``schedule`` and whose reported values are right."""
    assignments = {t: a for a, ts in schedule.items() for t in ts}
    return make_solution(problem, assignments, schedule, backend="test", **fields)


def random_problem(n_tasks: int, n_agents: int, seed: int = 0, **kw: object) -> Problem:
    """A feasible-by-construction problem: every agent has every skill, no capacities."""
    import random

    rng = random.Random(seed)
    agents = [Agent(f"a{i}", skills=["s"], cost_rate=rng.randint(1, 5)) for i in range(n_agents)]
    tasks = []
    for j in range(n_tasks):
        deps = [f"t{d}" for d in rng.sample(range(j), min(j, rng.randint(0, 2)))]
        tasks.append(
            Task(
                f"t{j}",
                required_skills=["s"],
                duration=rng.randint(1, 9),
                dependencies=deps,
                priority=rng.randint(1, 9),
            )
        )
    return Problem(agents=agents, tasks=tasks, **kw)


@pytest.fixture
def default_context():
    """A fresh default backend context (what the playbook's module-level calls use) for
    one test, built from the current environment; the previous one comes back after."""
    from quantum_planner.backends import BackendContext, reset_default_context

    ctx = BackendContext.from_settings(Settings())
    old = reset_default_context(ctx)
    yield ctx
    reset_default_context(old)
