"""Pieces of the hybrid's assignment search: starts, restarts, QUBO steps, plans as solutions.

Free functions on the dense arrays (``W`` cost/score weights, ``L`` loads,
``D`` the dispersion term, ``cap`` capacities; the last agent is the virtual
"undone" one), used by :class:`~quantum_planner.solvers.hybrid.assignment.AssignmentSearch`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.scheduling import Schedule, build_schedule
from quantum_planner.solvers.base import make_solution
from quantum_planner.solvers.cpsat import relative_gap
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.generalized_assignment import TabuState, regret_greedy, score
from quantum_planner.solvers.lp import lagrangian_prices, repair_choice
from quantum_planner.solvers.subqubo import solve_subproblem

__all__ = [
    "assignment_solution",
    "carry_state",
    "constructive_starts",
    "from_solution",
    "plan_from_vector",
    "primary_bound",
    "qubo_step",
    "restart_state",
]


def qubo_step(
    W: np.ndarray,
    L: np.ndarray,
    D: np.ndarray,
    cap: np.ndarray,
    beta: float,
    m: int,
    best: np.ndarray,
    sampler: Any,
    rng: np.random.Generator,
    stats: dict[str, Any],
    cand: np.ndarray,
    qubo_agents: int,
) -> tuple[float, np.ndarray | None]:
    """One QUBO subproblem on the best plan: (score, decoded feasible plan or None).

    Reads ``best`` and never writes it, so a step cut off by the time limit in its
    thread cannot touch the plan being returned.
    """
    k = min(qubo_agents, m)
    # agents that share candidate tasks make a neighbourhood where moves are possible
    first = int(rng.integers(m))
    tasks_first = np.flatnonzero(best == first)
    pool = [first]
    if tasks_first.size:
        # the agents its tasks would most like to move to (candidate lists), noisy
        c = cand[tasks_first]
        counts = np.bincount(c[(c >= 0) & (c < m)].ravel(), minlength=m)[:m].astype(float)
        counts[first] = -1.0
        counts += rng.random(m) * 0.5
        pool += [int(j) for j in np.argsort(-counts)[: k - 1] if counts[j] > 0]
    agents = np.array(sorted(set(pool)), dtype=np.int64)
    stats["qubo_subproblems"] += 1
    res = solve_subproblem(W, L, cap, best, agents, sampler, seed=int(rng.integers(2**31 - 1)))
    stats["qubo_last_penalties"] = res.penalties
    if res.assign is None:
        return np.inf, None
    stats["qubo_feasible"] += 1
    cand_plan = best.copy()
    cand_plan[res.tasks] = res.assign
    return float(score(W, D, beta, cand_plan, m)), cand_plan


def assignment_solution(
    comp: Compiled,
    assign: np.ndarray,
    stats: dict[str, Any],
    seed: int,
    t0: float,
    is_feasible: bool,
    name: str = "hybrid",
) -> Solution:
    """The solution of an assignment vector, with the LP/CP-SAT bound and the gap to it."""
    problem = comp.problem
    assignments = {comp.task_ids[i]: comp.agent_ids[j] for i, j in enumerate(assign) if j < comp.m}
    schedule = build_schedule(problem, assignments)
    sol = make_solution(
        problem,
        assignments,
        schedule,
        backend=name,
        status="feasible" if is_feasible else "unknown",
        feasible=is_feasible,
        wall_time=time.perf_counter() - t0,
        seed=seed,
        metadata={"hybrid": {k: v for k, v in stats.items() if k != "history"}},
        penalties=stats.get("penalties", {}),
    )
    bounds = [primary_bound(problem, stats.get("lp_bound"))]
    if stats.get("cpsat_bound") is not None:
        bounds.append(float(stats["cpsat_bound"]))
    primary = problem.objectives[0]
    known = [b for b in bounds if b is not None]
    if known:
        # the tighter bound: largest for minimisation, smallest for maximisation
        bound = max(known) if primary.sense > 0 else min(known)
        value = sol.objectives[primary.value]
        sol.lower_bound = bound
        sol.gap = relative_gap(value, bound, primary.sense)
        if sol.gap is not None and sol.gap <= 1e-9 and is_feasible:
            sol.status = "optimal"
    if stats.get("proven_optimal") and is_feasible and stats.get("winner") == "cpsat":
        sol.status, sol.gap = "optimal", 0.0
    return sol


def restart_state(
    W: np.ndarray,
    L: np.ndarray,
    D: np.ndarray,
    cap: np.ndarray,
    state: TabuState,
    plan: np.ndarray,
    cand: np.ndarray,
    rng: np.random.Generator,
    kick: float,
) -> TabuState:
    """A fresh tabu state at ``plan`` with a ``kick`` fraction of tasks moved at random.

    The kicked tasks go to a random candidate agent (capacity may break; the
    penalty repairs it). The best plan, its score and the penalty weight carry over.
    """
    new_plan = plan.copy()
    n = new_plan.size
    k = max(2, int(kick * n)) if kick > 0 else 0
    for i in rng.choice(n, size=min(k, n), replace=False):
        opts = cand[i][cand[i] >= 0]
        if opts.size:
            new_plan[i] = opts[rng.integers(opts.size)]
    new = TabuState(W, L, D, cap, new_plan)
    new.f[:] = state.f
    new.best[:] = state.best
    return new


def carry_state(
    W: np.ndarray, L: np.ndarray, D: np.ndarray, cap: np.ndarray, state: TabuState, plan: np.ndarray
) -> TabuState:
    """A tabu state at ``plan`` that keeps ``state``'s tabu list, weights and best plan."""
    new = TabuState(W, L, D, cap, plan)
    new.tabu[:] = state.tabu
    new.f[:] = state.f
    new.best[:] = state.best
    return new


def constructive_starts(
    W: np.ndarray,
    L: np.ndarray,
    D: np.ndarray,
    cap: np.ndarray,
    beta: float,
    m: int,
    feasible: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Best constructive start, the search's start, the Lagrangian prices and bound.

    Starts: regret greedy on priced costs ``W + r L`` (r = mean cost / mean
    load, a load-aware desirability), the same on the Lagrangian prices, and
    the Lagrangian relaxation's own choice per task (may overflow; the search
    repairs it). Feasible beats infeasible, then the lower score wins. The search
    itself starts from the relaxation's choice (near the LP optimum).
    """
    fin = np.isfinite(W)
    n = W.shape[0]
    if n == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(W.shape[1]), 0.0
    lpos = L[fin]
    ratio = float(np.abs(W[fin]).mean() / max(lpos.mean(), 1e-9)) if lpos.size else 0.0
    # priced costs built in place (one (n, m+1) array, not three: 400 MB each at 50,000
    # x 1,000), +inf where ineligible
    priced = ratio * L
    priced += W
    priced[~fin] = np.inf
    first = regret_greedy(priced, L, cap)
    # Polyak target: the greedy plan's value (an estimate even when it overflows)
    target = score(W, D, beta, first, m)
    prices, bound = lagrangian_prices(W, L, cap, target)
    np.multiply(prices[None, :], L, out=priced)
    priced += W
    priced[~fin] = np.inf
    options = [first, regret_greedy(priced, L, cap)]
    relaxed = priced.argmin(axis=1).astype(np.int64)
    del priced
    repaired = repair_choice(relaxed, W, L, cap, prices)
    options.append(repaired)

    def key(a: np.ndarray) -> tuple[float, float]:
        used = np.zeros(W.shape[1])
        np.add.at(used, a, L[np.arange(n), a])
        return (float(np.maximum(used - cap, 0.0).sum()), float(score(W, D, beta, a, m)))

    return min(options, key=key), repaired, prices, bound


def primary_bound(problem: Problem, lp_bound: float | None) -> float | None:
    """The LP bound in the primary objective's units, when the score is that objective alone."""
    if lp_bound is None or len(problem.objectives) != 1:
        return None
    obj = problem.objectives[0]
    if obj is Objective.MINIMIZE_COST:
        return float(lp_bound)
    if obj is Objective.MAXIMIZE_PRIORITY:
        return -float(lp_bound)  # the score is -priority: an upper bound on priority
    return None


def from_solution(comp: Compiled, sol: Solution) -> np.ndarray | None:
    """A warm start as an assignment vector (None if it names unknown or ineligible pairs)."""
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    out = np.full(comp.n, comp.m, dtype=np.int64)
    for i, t in enumerate(comp.task_ids):
        a = sol.assignments.get(t)
        if a is None:
            if not comp.optional[i]:
                return None
            continue
        j = a_index.get(a)
        if j is None or not comp.elig[i, j]:
            return None
        out[i] = j
    return out


def plan_from_vector(comp: Compiled, assign: np.ndarray) -> tuple[dict[str, str], Schedule]:
    """Assignments and list schedule of an assignment vector (virtual agent = undone)."""
    assignments = {comp.task_ids[i]: comp.agent_ids[j] for i, j in enumerate(assign) if j < comp.m}
    return assignments, build_schedule(comp.problem, assignments)
