"""quantum-planner: assign and schedule tasks with QUBOs, quantum-inspired samplers and more."""

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("quantum-planner")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.1.0"

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
