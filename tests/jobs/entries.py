"""Solve entries for worker tests, loaded by real worker processes via ``--solve-entry``.

The problem's ``name`` says how to behave, so one worker serves every test:
``sleep:S`` solves greedily after S seconds (reporting progress every 0.1 s, so
cancellation reaches it), ``hang:S`` sleeps S seconds without reporting progress (only a
time limit stops it), anything else solves at once.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from quantum_planner.model import Problem, Solution
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import make_solution


def _greedy(problem: Problem) -> Solution:
    load: dict[str, int] = {a.id: 0 for a in problem.agents}
    assignments = {}
    for task in problem.tasks:
        able = [a for a in problem.agents if set(task.required_skills) <= set(a.skills)]
        if able:
            best = min(able, key=lambda a: load[a.id])
            assignments[task.id] = best.id
            load[best.id] += 1
    return make_solution(
        problem, assignments, build_schedule(problem, assignments), backend="test-greedy"
    )


def slow_greedy(
    problem: Problem,
    *,
    time_limit: float,
    seed: Any,
    backend: Any,
    progress: Any,
    stop: Any = None,
    **_: Any,
) -> Solution:
    """See the module docstring."""
    kind, _, arg = (problem.name or "").partition(":")
    t0 = time.monotonic()
    if kind == "hang":
        time.sleep(float(arg))
    elif kind == "sleep":
        while time.monotonic() - t0 < float(arg) and not (stop is not None and stop.is_set()):
            if progress is not None:
                progress(SimpleNamespace(elapsed=time.monotonic() - t0, fraction=None, best=None,
                                         message="working", solution=None))  # fmt: skip
            time.sleep(0.1)
    return _greedy(problem)
