"""Top-k distinct plans: the best plans that differ pairwise in at least ``min_distance``
task->agent assignments (start times ignored, as Gurobi's pool ignores chosen variables).

Methods (``backend``, ``auto`` as for fronts):

* ``cpsat``: no-good cuts. Solve the problem's lexicographic objectives (with
  their tolerances); add the cut "at least ``min_distance`` tasks on another
  agent than in this plan"; solve again hinted with the last plan; repeat until
  ``k`` plans, no plan is left, or the time is up. With proven solves the i-th
  plan is the best plan at distance ``>= min_distance`` from all earlier ones.
* ``hybrid``: the hybrid solver has no elite pool, so diversity-constrained
  restarts: after each plan, the next hybrid solve runs on the problem with,
  for every plan kept so far, ``min_distance`` of its tasks barred from their
  agent there (the tasks whose next-best agent costs least extra), which
  guarantees the distance; plans are checked against the original problem.
* ``simulated_annealing`` / ``tabu``: one QUBO solve's decoded samples, checked,
  sorted by objective, then filtered greedily for diversity (a plan is kept when
  it is at distance ``>= min_distance`` from every plan kept before it).

The plans come sorted by the problem's objectives (lexicographic key with the
levels' tolerances); each carries ``metadata["alternative"]``:
``{"rank", "distance_to_best", "min_distance"}`` and its values in ``objectives``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from quantum_planner._version import __version__
from quantum_planner.errors import InfeasibleProblemError, InvalidValueError
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.objectives import objective_key, tolerant_best
from quantum_planner.solvers.dense_view import Compiled, compile_problem
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.tradeoffs.lexmodel import LexModel
from quantum_planner.tradeoffs.pareto import check_backend, resolve_backend
from quantum_planner.tradeoffs.spec import assignment_distance, check_time_limit
from quantum_planner.tradeoffs.weighted import sample_candidates
from quantum_planner.validate import check

__all__ = ["alternatives", "diverse"]


def _check_counts(problem: Problem, k: int, min_distance: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidValueError(f"k must be an integer of at least 1, got {k!r}", field="k")
    n = len(problem.tasks)
    if isinstance(min_distance, bool) or not isinstance(min_distance, int) or min_distance < 1:
        raise InvalidValueError(
            f"min_distance must be an integer of at least 1, got {min_distance!r}",
            field="min_distance",
        )
    if min_distance > n:
        raise InvalidValueError(
            f"min_distance ({min_distance}) is larger than the task count ({n}); no two plans "
            "can differ in more tasks than there are",
            field="min_distance",
        )


def alternatives(
    problem: Problem,
    k: int = 5,
    min_distance: int = 1,
    *,
    time_limit: float = 10.0,
    seed: int | None = None,
    backend: str = "auto",
) -> list[Solution]:
    """Up to ``k`` valid plans, pairwise at least ``min_distance`` assignments apart, best first.

    Raises:
        InvalidValueError: ``k < 1``, ``min_distance`` < 1 or above the task count, or a
            bad ``time_limit`` (``field`` names which).
        UnknownBackendError: a backend this method does not run.
        InfeasibleProblemError: not even one valid plan was found.
    """
    t0 = time.monotonic()
    _check_counts(problem, k, min_distance)
    limit = check_time_limit(time_limit)
    check_backend(backend)
    seed = 0 if seed is None else int(seed)
    deadline = t0 + limit
    method = resolve_backend(problem, backend, limit)
    best: dict[str, float] | None = None  # each level's optimum, where CP-SAT proved it
    if method == "cpsat":
        plans, best = _cpsat(problem, k, min_distance, deadline, seed)
    elif method == "hybrid":
        plans = _hybrid(problem, k, min_distance, deadline, seed)
    else:
        found = sample_candidates(problem, method, None, deadline - time.monotonic(), seed)
        plans = diverse(problem, found, k, min_distance)
    if not plans:
        raise InfeasibleProblemError(
            f"no valid plan found within {limit:g}s; raise time_limit or check the problem "
            "with solve()",
            reason="no valid plan in time",
        )
    return _finish(problem, plans, best, min_distance, seed, time.monotonic() - t0)


def _sorted(
    problem: Problem, plans: Sequence[Solution], best: Mapping[str, float] | None = None
) -> list[Solution]:
    """By the lexicographic key with tolerances from ``best`` (default: the plans' own)."""
    if best is None:
        best = tolerant_best(problem, [p.objectives for p in plans])
    return sorted(plans, key=lambda p: objective_key(problem, p.objectives, best))


def diverse(
    problem: Problem, plans: Sequence[Solution], k: int, min_distance: int
) -> list[Solution]:
    """Greedy diversity filter: best first, then each plan far enough from every kept one."""
    tasks = [t.id for t in problem.tasks]
    kept: list[Solution] = []
    for p in _sorted(problem, plans):
        if all(
            assignment_distance(p.assignments, q.assignments, tasks) >= min_distance for q in kept
        ):
            kept.append(p)
            if len(kept) == k:
                break
    return kept


def _finish(
    problem: Problem,
    plans: list[Solution],
    best: Mapping[str, float] | None,
    min_distance: int,
    seed: int,
    wall: float,
) -> list[Solution]:
    tasks = [t.id for t in problem.tasks]
    ordered = _sorted(problem, plans, best)
    best = ordered[0]
    out = []
    for rank, p in enumerate(ordered):
        d = assignment_distance(p.assignments, best.assignments, tasks)
        meta = {
            **p.metadata,
            "alternative": {"rank": rank, "distance_to_best": d, "min_distance": min_distance},
        }
        out.append(
            p.model_copy(
                update={"metadata": meta, "seed": seed, "version": __version__, "wall_time": wall}
            )
        )
    return out


def _cpsat(
    problem: Problem, k: int, min_distance: int, deadline: float, seed: int
) -> tuple[list[Solution], dict[str, float] | None]:
    """No-good cuts (module docstring); the plans, and each level's proven optimum (the
    anchor of the tolerances: plans are ranked against it, not against the best kept)."""
    names = [o.value for o in problem.objectives]
    lex = LexModel(problem, names, seed=seed)
    order = list(range(len(names)))
    out: list[Solution] = []
    best: dict[str, float] | None = None
    while len(out) < k:
        left = deadline - time.monotonic()
        if left <= 0.01:
            break
        lex.hint(out[-1] if out else None)
        f = lex.lexmin(order, deadline, budget=left / (k - len(out)), tolerance=problem.tolerances)
        if f is None:
            break  # no plan left at that distance, or none found in time
        if not out and f.proven:
            best = {names[j]: lex.real(j, v) for j, v in lex.stage_values.items()}
        out.append(f.solution)
        lex.forbid_near(f.solution, min_distance)
    return out, best


def _hybrid(
    problem: Problem, k: int, min_distance: int, deadline: float, seed: int
) -> list[Solution]:
    comp = compile_problem(problem)
    weight = comp.cost if problem.objectives[0] is Objective.MINIMIZE_COST else comp.dur
    weight = np.where(comp.elig, weight, np.inf)
    out: list[Solution] = []
    barred: dict[str, set[str]] = {}
    for r in range(k):
        left = deadline - time.monotonic()
        if left <= 0.1:
            break
        target = problem
        if out:
            target = _barred(problem, comp, weight, out[-1], min_distance, barred)
            if target is None:
                break
        sol = HybridSolver().solve(target, time_limit=left / (k - r), seed=seed + r)
        sol = check(problem, sol)
        if not sol.feasible:
            break
        out.append(sol)
    return out


def _barred(
    problem: Problem,
    comp: Compiled,
    weight: np.ndarray,
    plan: Solution,
    distance: int,
    barred: dict[str, set[str]],
) -> Problem | None:
    """``problem`` with ``distance`` more of ``plan``'s tasks barred from their agent there
    (added to ``barred``, which already holds the bars for earlier plans)."""
    t_index = {t: i for i, t in enumerate(comp.task_ids)}
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    options: list[tuple[float, str]] = []
    for tid, aid in plan.assignments.items():
        i, j = t_index[tid], a_index[aid]
        left = [
            jj
            for jj in comp.options[i]
            if jj != j and comp.agent_ids[jj] not in barred.get(tid, set())
        ]
        if left:
            options.append((float(min(weight[i, jj] for jj in left) - weight[i, j]), tid))
    if len(options) < distance:
        return None
    for _, tid in sorted(options)[:distance]:
        barred.setdefault(tid, set()).add(plan.assignments[tid])
    data = problem.model_dump()
    for t in data["tasks"]:
        if t["id"] in barred:
            eligible = [a.id for a in problem.eligible_agents(t["id"])]
            t["allowed_agents"] = [a for a in eligible if a not in barred[t["id"]]]
    return Problem.from_dict(data)
