"""Interior points of cost/makespan fronts from the hybrid on cheaper-agent subsets.

The hybrid is the strongest makespan solver for (flexible) shops but takes no
bound on cost. Restricting each task to the agents that cost at most
``(1 + r)`` times its cheapest one bounds the total cost from above (about
``(1 + r)`` times the least cost) without a constraint the hybrid would have to
handle; its makespan on that problem is a plan between the front's two ends.
Ratios are tried from the middle outwards, each for a short share of the time.
Only for problems without capacities or optional tasks (then the least total
cost puts every task on one of its cheapest agents, and ``r = 0`` is the cost end).
"""

from __future__ import annotations

import time

import numpy as np

from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.solvers.dense_view import Compiled, compile_problem
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.validate import check

__all__ = ["RATIOS", "cheapest_within", "fill_shop"]

RATIOS = (0.3, 0.1, 0.6, 0.05, 0.2, 1.0, 0.45, 0.15)  # middle first, then between
MARGIN = 0.3  # seconds kept back from the deadline (hybrid setup and checks)
STEP_SHARE = 0.05  # of the time limit, for each hybrid solve (at least 0.3 s)


def cheapest_within(work: Problem, ratio: float, comp: Compiled | None = None) -> Problem | None:
    """``work`` with each task allowed only agents costing at most ``(1 + ratio)`` times
    its cheapest, minimising makespan; None where capacities or optional tasks make the
    restriction unsound (see the module docstring). ``comp``: ``work`` compiled, if at hand."""
    comp = comp if comp is not None else compile_problem(work)
    if bool(comp.optional.any()) or bool(np.isfinite(comp.cap).any()):
        return None
    cost = np.where(comp.elig, comp.cost, np.inf)
    best = cost.min(axis=1, keepdims=True)
    limit = best + np.abs(best) * ratio + 1e-9
    tasks = []
    for i, t in enumerate(work.tasks):
        if comp.task_ids[i] != t.id:
            return None
        allowed = [comp.agent_ids[j] for j in np.flatnonzero(cost[i] <= limit[i])]
        tasks.append(t.model_copy(update={"allowed_agents": allowed}))
    objective = [Objective.MINIMIZE_MAKESPAN]
    return work.model_copy(update={"tasks": tasks, "objective": objective})


def fill_shop(work: Problem, deadline: float, time_limit: float, seed: int) -> list[Solution]:
    """Valid plans of ``work`` from the hybrid on each ratio's subset until ``deadline``."""
    out: list[Solution] = []
    step = max(0.3, STEP_SHARE * time_limit)
    comp = compile_problem(work)
    for k, ratio in enumerate(RATIOS):
        # a hybrid solve runs over its limit by its setup: stop short of the deadline
        left = deadline - MARGIN - time.monotonic()
        if left < 0.3:
            break
        p = cheapest_within(work, ratio, comp)
        if p is None:
            break
        sol = check(work, HybridSolver().solve(p, time_limit=min(left, step), seed=seed + k))
        if sol.feasible:
            out.append(sol)
    return out
