"""Small generated problems for the re-planning tests.

``random_gap`` is the hybrid tests' generator (tests/ is on the path: pytest's rootdir
insertion, tests/replan being a package).
"""

from __future__ import annotations

from quantum_planner.model import Agent, Problem, Task
from tests.solvers.test_hybrid import random_gap

__all__ = ["interchangeable", "random_gap"]


def interchangeable(n: int, m: int, capacity: int) -> Problem:
    """``n`` tasks, ``m`` agents that cost the same for every task: many equal optima, so
    only a preference for a reference plan decides where tasks go."""
    agents = [Agent(f"a{j}", capacity=float(capacity), cost_rate=1.0) for j in range(m)]
    tasks = [Task(f"t{i}") for i in range(n)]
    return Problem(agents=agents, tasks=tasks, objective="minimize_cost")
