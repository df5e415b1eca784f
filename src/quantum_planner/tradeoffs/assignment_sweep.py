"""Weighted-sum sweeps of cost against load balance on assignment problems (GAP type).

CP-SAT proves bounds on cost fast, but not on ``balance_load`` (a variance: a
quadratic expression of the agents' busy times), so its epsilon boxes stay open
and the front keeps only its extremes. Here the hybrid's GAP tabu kernel
(:func:`~quantum_planner.solvers.generalized_assignment.tabu_search`), which
minimises ``cost + beta * variance`` natively, fills the interior instead:

* the points found so far (the CP-SAT extremes, valid plans) are sorted by cost;
* the pair of neighbours ``A`` (cheaper) and ``B`` (better balanced) with the
  largest normalised box (area / 4**tries) is taken; ``beta`` is the slope
  between them, ``(cost_B - cost_A) / (var_A - var_B)``, so a plan below the line
  ``AB`` is a new supported point between them (dichotomic / NISE scheme);
* the tabu search runs from ``A`` or ``B`` (alternating) for a short budget; its
  best feasible plan joins the points.

Boxes are never closed, only made less urgent, so the sweep uses the time it is
given (anytime). Every plan is checked by the validator by the caller.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np

from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.solution import make_solution
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.generalized_assignment import (
    TabuState,
    candidates,
    regret_greedy,
    tabu_search,
)
from quantum_planner.solvers.hybrid.parts import from_solution, plan_from_vector
from quantum_planner.solvers.lp import extended
from quantum_planner.validate import check

__all__ = ["applies", "assignment_sweep"]

PAIR = {Objective.MINIMIZE_COST.value, Objective.BALANCE_LOAD.value}
STEP_SHARE = 0.02  # of the time limit, for each weighted solve (clamped below)
CHUNK = 50  # tabu iterations between clock checks


def applies(problem: Problem, names: Sequence[str]) -> bool:
    """Whether ``names`` are cost and balance_load on an untimed assignment problem."""
    if set(names) != PAIR or len(names) != 2:
        return False
    return not compile_problem(problem).timed


class _Sweep:
    """The arrays of one problem, the points found and the tabu runs between them."""

    def __init__(self, problem: Problem, seed: int) -> None:
        cost_only = problem.model_copy(update={"objective": [Objective.MINIMIZE_COST]})
        self.problem = problem
        self.comp = compile_problem(cost_only)
        self.W, self.L, self.D, self.cap, _ = extended(self.comp)
        self.m = self.comp.m
        k = min(self.W.shape[1], max(10, self.m // 2 + 1))
        self.cand = candidates(self.W, k)
        n = self.comp.n
        per_sample = max(1, k * n // max(self.m, 1))
        self.swaps = min(max(n, 1), 400, max(10, 40_000 // per_sample))
        self.rng = np.random.default_rng(seed)
        self.points: dict[tuple[float, float], np.ndarray] = {}

    def values(self, a: np.ndarray) -> tuple[float, float]:
        """(cost, variance of busy time) of assignment vector ``a``."""
        n = a.shape[0]
        cost = float(self.W[np.arange(n), a].sum())
        busy = np.zeros(self.m + 1)
        np.add.at(busy, a, self.D[np.arange(n), a])
        return cost, float(busy[: self.m].var()) if self.m else 0.0

    def feasible(self, a: np.ndarray) -> bool:
        used = np.zeros(self.m + 1)
        np.add.at(used, a, self.L[np.arange(a.shape[0]), a])
        return bool((used <= self.cap + 1e-9).all()) and bool(np.isfinite(self.values(a)[0]))

    def add(self, a: np.ndarray) -> bool:
        """Keep ``a`` if feasible and not dominated; True if it is a new point."""
        if not self.feasible(a):
            return False
        v = self.values(a)
        if v in self.points or any(p[0] <= v[0] and p[1] <= v[1] for p in self.points):
            return False
        self.points = {p: x for p, x in self.points.items() if not (v[0] <= p[0] and v[1] <= p[1])}
        self.points[v] = a.copy()
        return True

    def run(self, start: np.ndarray, beta: float, stop_at: float, seed: int) -> None:
        """Tabu search on ``cost + beta * variance`` from ``start`` until ``stop_at``."""
        st = TabuState(self.W, self.L, self.D, self.cap, start)
        first = seed
        while time.monotonic() < stop_at:
            tabu_search(
                self.W, self.L, self.D, self.cap, beta, self.m,
                st.assign, st.used, st.busy, st.tabu, st.best, st.f,
                self.cand, st.members, st.cnt, st.pos, CHUNK, self.swaps, first,
            )  # fmt: skip
            first = -1
        if np.isfinite(st.f[1]):
            self.add(st.best)

    def solution(self, a: np.ndarray) -> Solution:
        return check(
            self.problem,
            make_solution(self.problem, *plan_from_vector(self.comp, a), backend="hybrid"),
        )


def assignment_sweep(
    problem: Problem, seeds: Sequence[Solution], deadline: float, time_limit: float, seed: int
) -> list[Solution]:
    """Valid plans of ``problem`` spread between its cost and balance extremes (see the
    module docstring), found until ``deadline``; ``seeds`` are valid plans to start from."""
    sw = _Sweep(problem, seed)
    for s in seeds:
        a = from_solution(sw.comp, s)
        if a is not None:
            sw.add(a)
    step = min(max(STEP_SHARE * time_limit, 0.1), 1.0)
    if not sw.points:  # no extreme from CP-SAT: the cheapest plan from a greedy start
        sw.run(regret_greedy(sw.W, sw.L, sw.cap), 0.0, min(deadline, time.monotonic() + step), seed)
    tries: dict[tuple[tuple[float, float], tuple[float, float]], int] = {}
    k = 0
    while time.monotonic() < deadline - 0.25 and sw.points:
        pts = sorted(sw.points)
        if len(pts) == 1:  # only one end known: push towards balance
            a = sw.points[pts[0]]
            beta = 10.0 * max(pts[0][0], 1.0) / max(pts[0][1], 1e-9)
        else:
            span = (pts[-1][0] - pts[0][0] or 1.0, pts[0][1] - pts[-1][1] or 1.0)
            boxes = [
                (
                    (q[0] - p[0]) / span[0] * ((p[1] - q[1]) / span[1]) / 4 ** tries.get((p, q), 0),
                    p,
                    q,
                )
                for p, q in itertools.pairwise(pts)
            ]
            _, p, q = max(boxes)
            tries[(p, q)] = tries.get((p, q), 0) + 1
            beta = (q[0] - p[0]) / max(p[1] - q[1], 1e-12)
            a = sw.points[p] if k % 2 == 0 else sw.points[q]
        k += 1
        sw.run(a, beta, min(deadline - 0.25, time.monotonic() + step), int(sw.rng.integers(2**31)))
    return [sw.solution(a) for a in sw.points.values()]
