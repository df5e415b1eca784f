"""Living plans: apply changes to a planned problem and re-plan with little disruption.

``QuantumTaskPlanner.replan`` is the entry point; this package holds the change
types (:mod:`.changes`), how they turn into a new problem with pins
(:mod:`.apply`), the disruption measure (:mod:`.disruption`) and the re-planning
strategy (:mod:`.strategy`).
"""

from quantum_planner.replan.apply import Pin, ReplanInput, apply_changes
from quantum_planner.replan.changes import (
    AddAgent,
    AddTask,
    Change,
    CompleteTask,
    RemoveAgent,
    RemoveTask,
    StartTask,
    UpdateAgent,
    UpdateTask,
    parse_changes,
)
from quantum_planner.replan.disruption import DisruptionWeights, diff, measure
from quantum_planner.replan.strategy import replan

__all__ = [
    "AddAgent",
    "AddTask",
    "Change",
    "CompleteTask",
    "DisruptionWeights",
    "Pin",
    "RemoveAgent",
    "RemoveTask",
    "ReplanInput",
    "StartTask",
    "UpdateAgent",
    "UpdateTask",
    "apply_changes",
    "diff",
    "measure",
    "parse_changes",
    "replan",
]
