"""Small generated problems for the re-planning tests (GAP-like and interchangeable agents)."""

from __future__ import annotations

import numpy as np

from quantum_planner.model import Agent, Problem, Task


def random_gap(n: int, m: int, seed: int, slack: float = 1.3) -> Problem:
    """A generalized assignment problem: random costs 10-50 and loads 5-25, tight capacities."""
    rng = np.random.default_rng(seed)
    loads = rng.integers(5, 26, size=(n, m))
    costs = rng.integers(10, 51, size=(n, m))
    cap = np.floor(slack * loads.mean(axis=0) * n / m)
    agents = [Agent(f"a{j}", capacity=float(cap[j])) for j in range(m)]
    tasks = [
        Task(
            f"t{i}",
            costs={f"a{j}": float(costs[i, j]) for j in range(m)},
            loads={f"a{j}": float(loads[i, j]) for j in range(m)},
        )
        for i in range(n)
    ]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")


def interchangeable(n: int, m: int, capacity: int) -> Problem:
    """``n`` tasks, ``m`` agents that cost the same for every task: many equal optima, so
    only a preference for a reference plan decides where tasks go."""
    agents = [Agent(f"a{j}", capacity=float(capacity), cost_rate=1.0) for j in range(m)]
    tasks = [Task(f"t{i}") for i in range(n)]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")
