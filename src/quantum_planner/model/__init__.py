"""Domain model: agents, tasks, problems and solutions (pydantic v2, JSON in and out).

Semantics (docs/MODEL.md has the full text and a worked example):

* Every assigned task runs once, without interruption, on one agent. An agent
  runs one task at a time. A task's interval is ``[start, start + duration)``
  where the duration may depend on the agent (``Task.durations``).
* ``Agent.capacity`` is the most *load* an agent may take in one plan, in the
  units of ``Task.load`` (default 1, so by default capacity counts tasks).
  ``None`` means unlimited.
* ``priority`` is the value of doing a task: ``maximize_priority`` maximises the
  total priority of the tasks done, which matters when tasks are ``optional``.
* ``makespan`` is the latest end time of any task in the plan (0 if none).
* Precedence: a task starts no earlier than every prerequisite ends.

The package imports nothing else of quantum-planner but :mod:`errors` and :mod:`bounds`:
:mod:`.entities` (agents, tasks, objectives, constraint switches), :mod:`.problem` (the
problem, its lookups and the consistency checks it passes when built) and :mod:`.solution`
(plans).
"""

from quantum_planner.model.entities import Agent, Constraints, Objective, Task, TimeWindowTask
from quantum_planner.model.problem import ObjectiveLevel, Problem
from quantum_planner.model.solution import BackendAttempt, Solution, Violation

__all__ = [
    "Agent",
    "BackendAttempt",
    "Constraints",
    "Objective",
    "ObjectiveLevel",
    "Problem",
    "Solution",
    "Task",
    "TimeWindowTask",
    "Violation",
]
