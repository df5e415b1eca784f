"""A small team problem and a plan of it, for re-planning tests."""

from __future__ import annotations

import pytest

from quantum_planner import Problem, QuantumTaskPlanner


def team_problem() -> Problem:
    skills = [["py", "js"], ["py"], ["js", "ops"], ["py", "ops"]]
    agents = [{"id": f"a{i + 1}", "skills": s, "capacity": 6} for i, s in enumerate(skills)]
    need = [["py"], ["js"], ["ops"], ["py"], ["js"], ["py"], ["ops"], ["py"], ["js"], ["py"]]
    tasks = [
        {"id": f"t{i + 1}", "required_skills": s, "duration": 1 + i % 3, "priority": 1 + i % 4}
        for i, s in enumerate(need)
    ]
    tasks[3]["dependencies"] = ["t1"]
    tasks[7]["dependencies"] = ["t4", "t2"]
    return Problem.from_dict(
        {"agents": agents, "tasks": tasks, "objective": ["minimize_makespan", "balance_load"]}
    )


@pytest.fixture(scope="session")
def team() -> Problem:
    return team_problem()


@pytest.fixture(scope="session")
def team_plan(team: Problem):
    return QuantumTaskPlanner(backend="cpsat", time_limit=5).solve(team, seed=1)
