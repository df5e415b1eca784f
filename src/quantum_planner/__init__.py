"""quantum-planner: assign and schedule tasks with QUBOs, quantum-inspired samplers and more."""

from importlib.metadata import PackageNotFoundError, version

from quantum_planner.model import (
    Agent,
    Constraints,
    Objective,
    Problem,
    Solution,
    Task,
    TimeWindowTask,
    Violation,
)

try:
    __version__ = version("quantum-planner")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.1.0"

__all__ = [
    "Agent",
    "Constraints",
    "Objective",
    "Problem",
    "Solution",
    "Task",
    "TimeWindowTask",
    "Violation",
    "__version__",
]
