"""Solve entries for the runner that let tests control timing.

``anytime_solve`` is a real (if plain) solver: greedy earliest-finish
assignment on top of the library's list scheduler, re-run with random tie
breaks until the time limit, reporting each improvement as progress. It lets
tests hold a job "running" for a known time (cancel, crash-recovery) without
depending on how fast the planner's own solvers prove optimality.
"""

from __future__ import annotations

import random
import time
from typing import Any

from quantum_planner.model import Problem, Solution
from quantum_planner.objectives import objective_key
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import Progress, make_solution


def _greedy(problem: Problem, rng: random.Random) -> Solution:
    finish: dict[str, float] = {a.id: a.available_from for a in problem.agents}
    load: dict[str, float] = {a.id: 0.0 for a in problem.agents}
    assignments: dict[str, str] = {}
    for tid in problem.topological_order():
        task = problem.task(tid)
        options = [
            a
            for a in problem.eligible_agents(task)
            if a.capacity is None or load[a.id] + task.load_on(a.id) <= a.capacity
        ]
        if not options:
            continue
        rng.shuffle(options)
        best = min(options, key=lambda a: finish[a.id] + task.duration_on(a.id))
        assignments[tid] = best.id
        finish[best.id] += task.duration_on(best.id)
        load[best.id] += task.load_on(best.id)
    schedule = build_schedule(problem, assignments)
    return make_solution(problem, assignments, schedule, backend="test_greedy", status="feasible")


def anytime_solve(
    problem: Problem,
    *,
    time_limit: float,
    seed: int | None,
    backend: str | None,
    progress: Any,
    stop: Any = None,
) -> Solution:
    rng = random.Random(seed)
    t0 = time.monotonic()
    best: Solution | None = None
    while True:
        sol = _greedy(problem, rng)
        key = objective_key(problem, sol.objectives)
        if best is None or key < objective_key(problem, best.objectives):
            best = sol
        elapsed = time.monotonic() - t0
        if progress is not None:
            progress(
                Progress(
                    elapsed=elapsed,
                    best=key[0],
                    fraction=min(1.0, elapsed / time_limit),
                    message="greedy restarts",
                    solution=best,
                )
            )
        if elapsed >= time_limit or (stop is not None and stop.is_set()):
            return best.model_copy(update={"wall_time": elapsed, "seed": seed})
        time.sleep(0.05)
