"""quantum-planner: assign and schedule tasks with QUBOs, quantum-inspired samplers and more."""

from quantum_planner._version import __version__
from quantum_planner.errors import InfeasibleProblemError, PlannerError, ProblemError
from quantum_planner.model import (
    Agent,
    BackendAttempt,
    Constraints,
    Objective,
    Problem,
    Solution,
    Task,
    TimeWindowTask,
    Violation,
)
from quantum_planner.planner import QuantumTaskPlanner

__all__ = [
    "Agent",
    "BackendAttempt",
    "Constraints",
    "InfeasibleProblemError",
    "Objective",
    "PlannerError",
    "Problem",
    "ProblemError",
    "QuantumTaskPlanner",
    "Solution",
    "Task",
    "TimeWindowTask",
    "Violation",
    "__version__",
]
