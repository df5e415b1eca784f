"""Small random problems and brute-force fronts for the trade-off tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import strategies as st

from quantum_planner import Agent, Problem, Task
from quantum_planner.objectives import evaluate
from quantum_planner.scheduling import build_schedule
from quantum_planner.tradeoffs.front import dominates


@st.composite
def small_problems(draw: st.DrawFn, optional: bool = False) -> Problem:
    """3-5 tasks, 2-3 agents, integer durations/costs, no precedence or windows (so the
    makespan of an assignment is its busiest agent's load: brute force is exact)."""
    m = draw(st.integers(2, 3))
    n = draw(st.integers(3, 5))
    agents = [Agent(f"a{j}", cost_rate=draw(st.integers(0, 4))) for j in range(m)]
    tasks = []
    for i in range(n):
        durations = {f"a{j}": float(draw(st.integers(1, 5))) for j in range(m)}
        tasks.append(
            Task(
                f"t{i}",
                duration=min(durations.values()),
                durations=durations,
                priority=float(draw(st.integers(1, 5))),
                optional=optional and draw(st.booleans()),
            )
        )
    return Problem(agents=agents, tasks=tasks)


def all_plans(problem: Problem) -> list[dict[str, float]]:
    """Objective values of every assignment (optional tasks also left out), list-scheduled."""
    choices = [
        [a.id for a in problem.eligible_agents(t)] + ([None] if t.optional else [])
        for t in problem.tasks
    ]
    out = []
    for combo in itertools.product(*choices):
        assign = {t.id: a for t, a in zip(problem.tasks, combo, strict=True) if a is not None}
        out.append(evaluate(problem, assign, build_schedule(problem, assign)))
    return out


def brute_front(
    problem: Problem, names: Sequence[str], senses: Sequence[int]
) -> set[tuple[float, ...]]:
    """The exact set of non-dominated objective vectors, by enumeration."""
    vecs = {tuple(round(v[n], 9) for n in names) for v in all_plans(problem)}
    return {v for v in vecs if not any(dominates(w, v, senses) for w in vecs)}
