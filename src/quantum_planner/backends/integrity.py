"""Is a backend's answer a well-formed plan for this problem? (corruption guard)

Backends are untrusted: a remote service or a buggy adapter can return plans
that name unknown tasks or agents, drop mandatory tasks, carry NaN times or
disagree between ``assignments`` and ``schedule``. :func:`candidate_problems`
catches those structural faults and then runs the independent constraint
checker of :mod:`quantum_planner.validate` (when installed) for the rest.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

from quantum_planner.model import Problem, Solution

_TOL = 1e-6


def structural_problems(problem: Problem, sol: Solution) -> list[str]:
    """Reasons ``sol`` is not even a well-formed plan for ``problem`` (empty: well-formed)."""
    out: list[str] = []
    task_ids = {t.id for t in problem.tasks}
    agent_ids = {a.id for a in problem.agents}
    for tid, aid in sol.assignments.items():
        if tid not in task_ids:
            out.append(f"assigns unknown task {tid!r}")
        if aid not in agent_ids:
            out.append(f"assigns task {tid!r} to unknown agent {aid!r}")
    for t in problem.tasks:
        if not t.optional and t.id not in sol.assignments:
            out.append(f"mandatory task {t.id!r} is not assigned")
    scheduled: dict[str, str] = {}
    for aid, tasks in sol.schedule.items():
        if aid not in agent_ids:
            out.append(f"schedule names unknown agent {aid!r}")
            continue
        for tid, iv in tasks.items():
            scheduled[tid] = aid
            if tid not in task_ids:
                out.append(f"schedule names unknown task {tid!r}")
                continue
            start, end = iv
            if not (math.isfinite(start) and math.isfinite(end)) or start < -_TOL:
                out.append(f"task {tid!r} has an invalid interval {iv!r}")
            elif abs((end - start) - problem.task(tid).duration_on(aid)) > _TOL * max(1.0, end):
                out.append(f"task {tid!r} on {aid!r} lasts {end - start:g}, not its duration")
    for tid, aid in sol.assignments.items():
        if tid in task_ids and scheduled.get(tid) != aid:
            out.append(
                f"task {tid!r} is assigned to {aid!r} but scheduled on {scheduled.get(tid)!r}"
            )
    for tid in scheduled:
        if tid not in sol.assignments and tid in task_ids:
            out.append(f"task {tid!r} is scheduled but not assigned")
    return out


def _core_checker() -> Callable[[Problem, Solution], Any] | None:
    try:
        mod = importlib.import_module("quantum_planner.validate")
    except ImportError:
        return None
    return getattr(mod, "check", None) or getattr(mod, "validate", None)


def constraint_problems(problem: Problem, sol: Solution) -> list[str]:
    """Hard-constraint violations found by :mod:`quantum_planner.validate` (if installed)."""
    check = _core_checker()
    if check is None:
        return []
    result = check(problem, sol)
    violations = getattr(result, "violations", result)  # a report object or a list
    if isinstance(violations, bool):
        return [] if violations else ["validate.check rejected the plan"]
    return [
        getattr(v, "message", "") or f"{getattr(v, 'constraint', v)} {getattr(v, 'items', '')}"
        for v in violations or []
    ]


def candidate_problems(problem: Problem, sol: Solution) -> list[str]:
    """Every reason to reject ``sol`` (structural first; empty: a valid plan)."""
    return structural_problems(problem, sol) or constraint_problems(problem, sol)
