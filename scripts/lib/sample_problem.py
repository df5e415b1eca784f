"""A deterministic sample planning problem as JSON (standard library only).

    python3 scripts/lib/sample_problem.py [AGENTS] [TASKS] [SEED]

Default: 10 agents, 30 tasks (the size the reliability targets are stated for). Skills are
spread so every task has at least two capable agents; a few tasks depend on earlier ones.
"""

from __future__ import annotations

import json
import random
import sys

SKILLS = ["python", "sql", "ml", "ops", "frontend", "security"]


def sample_problem(n_agents: int = 10, n_tasks: int = 30, seed: int = 7) -> dict:
    """A Problem as a JSON-ready dict (the shape of quantum_planner.model.Problem)."""
    rng = random.Random(seed)
    agents = [
        {
            "id": f"agent-{i}",
            "skills": sorted({SKILLS[i % len(SKILLS)], SKILLS[(i + 1) % len(SKILLS)]}),
            "capacity": 10.0,
        }
        for i in range(n_agents)
    ]
    tasks = []
    for j in range(n_tasks):
        deps = [f"task-{j - 1}"] if j % 5 == 4 else []
        tasks.append(
            {
                "id": f"task-{j}",
                "required_skills": [SKILLS[j % len(SKILLS)]],
                "duration": float(rng.randint(1, 5)),
                "priority": float(rng.randint(1, 9)),
                "dependencies": deps,
            }
        )
    return {"name": f"sample-{n_agents}x{n_tasks}", "agents": agents, "tasks": tasks}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    json.dump(sample_problem(*args), sys.stdout)
