"""Weighted QUBO sweeps: the sampler path's fronts and its diverse alternatives.

A weighted sum ``sum_k w_k f_k / R_k`` of the objectives' QUBO polynomials
(``R_k`` each polynomial's range, so the weights compare objectives of
different units) replaces the lexicographic weights; the weights walk a simplex
lattice (two objectives: ``w, 1 - w`` in ``points`` steps; three: every
``(i, j, l) / s`` with ``i + j + l = s``). Each weighting is sampled by the QUBO
solver (penalties adapted as in any solve), and **every** plan its samples
decode to is a candidate, not only the best: the sample set's spread fills the
front between the weightings. Candidates are checked by the validator; the
caller keeps the non-dominated ones.

Note: the QUBO's makespan is a proxy (assignment mode: sum of squared agent
finish times), so makespan weights steer the samples only roughly; the front
is measured on the plans' real values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from quantum_planner.errors import InvalidValueError
from quantum_planner.formulation.bqm import QUBOBuilder
from quantum_planner.model import Problem, Solution
from quantum_planner.solvers.qubo_sampling import SimulatedAnnealingQUBOSolver, TabuQUBOSolver
from quantum_planner.tradeoffs.spec import DISRUPTION
from quantum_planner.validate import check

__all__ = ["sample_candidates", "weight_lattice", "weighted_sweep"]

DEFAULT_POINTS = {2: 7, 3: 10}  # weightings when the caller gives no ``points``


def weight_lattice(dims: int, count: int) -> list[tuple[float, ...]]:
    """About ``count`` weight vectors spread over the simplex, the pure ones first."""
    if dims == 2:
        n = max(count, 2)
        ws = [(1.0, 0.0), (0.0, 1.0)] + [(1 - i / (n - 1), i / (n - 1)) for i in range(1, n - 1)]
        return ws
    s = 1
    while (s + 1) * (s + 2) // 2 < count:
        s += 1
    pure = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
    rest = [
        (i / s, j / s, (s - i - j) / s)
        for i in range(s + 1)
        for j in range(s + 1 - i)
        if max(i, j, s - i - j) < s
    ]
    return pure + rest


def _solver(
    method: str, weights: dict[str, float]
) -> SimulatedAnnealingQUBOSolver | TabuQUBOSolver:
    options = {"objective_weights": weights}
    if method == "tabu":
        return TabuQUBOSolver(builder_options=options)
    return SimulatedAnnealingQUBOSolver(builder_options=options)


def sample_candidates(
    problem: Problem, method: str, weights: dict[str, float] | None, seconds: float, seed: int
) -> list[Solution]:
    """Every valid plan one QUBO solve decodes (``weights``: None keeps the lexicographic
    weights of the problem's objectives)."""
    solver = (
        _solver(method, weights)
        if weights is not None
        else (TabuQUBOSolver() if method == "tabu" else SimulatedAnnealingQUBOSolver())
    )
    best = solver.solve(problem, time_limit=max(0.05, seconds), seed=seed)
    out: list[Solution] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for cand in [best, *solver.candidates]:
        key = tuple(sorted(cand.assignments.items()))
        if key in seen:
            continue
        seen.add(key)
        checked = check(problem, cand)
        if checked.feasible:
            out.append(checked.model_copy(update={"backend_used": method}))
    return out


def weighted_sweep(
    work: Problem,
    names: Sequence[str],
    method: str,
    *,
    deadline: float,
    time_limit: float,
    points: int | None,
    seed: int,
) -> tuple[list[Solution], bool]:
    """Candidates of every weighting within ``deadline``; whether every weighting ran."""
    if DISRUPTION in names:
        raise InvalidValueError(
            "minimize_disruption is not in the QUBO; use backend 'cpsat', 'hybrid' or 'auto'",
            field="backend",
        )
    builder = QUBOBuilder(work, capacity="lagrangian")
    parts = builder.objective_parts
    scale = {n: 1.0 / max(parts[n].total_range(builder.n), 1e-9) for n in names}
    lattice = weight_lattice(len(names), points or DEFAULT_POINTS[len(names)])
    found: list[Solution] = []
    for i, w in enumerate(lattice):
        left = deadline - time.monotonic()
        if left <= 0.05:
            return found, False
        weights = {n: wk * scale[n] for n, wk in zip(names, w, strict=True)}
        share = left / (len(lattice) - i)
        found += sample_candidates(work, method, weights, share, seed + i)
    return found, True
