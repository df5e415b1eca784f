"""``pareto_front``: the trade-off between two or three objectives, as valid plans.

Which method runs (``backend``):

* ``"cpsat"``: the epsilon-constraint sweeps of :mod:`.epsilon` on one CP-SAT
  model (exact for two objectives when every solve is proven).
* ``"hybrid"``: the extreme plans first from the hybrid solver (one solve per
  objective alone; makespan gets most of the time), then the same sweep with those
  plans as hints, CP-SAT on two workers (large problems: CP-SAT alone is slow to
  reach the extremes, the hybrid is fast there, and CP-SAT's own neighbourhood
  search fills the middle from the hints). Cost vs makespan: the hybrid on
  cheaper-agent subsets adds interior points (:mod:`.shop_fill`). Cost vs
  balance_load on assignment problems: no CP-SAT sweep (it cannot bound a
  variance in time); weighted tabu sweeps fill the front (:mod:`.assignment_sweep`).
* ``"simulated_annealing"`` / ``"tabu"``: weighted QUBO sweeps (:mod:`.weighted`).
* ``"auto"``: ``cpsat`` when the planner's automatic choice would start with
  CP-SAT (small problems), ``hybrid`` otherwise.

Every plan is checked by the validator before it is kept; dominated plans are
dropped; the front is anytime (``complete`` is False when the time ran out).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from quantum_planner._version import __version__
from quantum_planner.errors import InfeasibleProblemError, InvalidValueError, UnknownBackendError
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.solvers.auto import choose
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.tradeoffs import assignment_sweep
from quantum_planner.tradeoffs.epsilon import SweepResult, sweep_2d, sweep_3d
from quantum_planner.tradeoffs.front import ParetoFront, ParetoPoint, build_front
from quantum_planner.tradeoffs.lexmodel import LexModel
from quantum_planner.tradeoffs.shop_fill import cheapest_within, fill_shop
from quantum_planner.tradeoffs.spec import (
    DISRUPTION,
    check_time_limit,
    objective_values,
    parse_objectives,
    senses_of,
)
from quantum_planner.validate import check

__all__ = ["BACKENDS", "pareto_front", "work_problem"]

BACKENDS = ("auto", "cpsat", "hybrid", "simulated_annealing", "tabu")  # = planner.TRADEOFF_BACKENDS
HYBRID_SHARE = 0.08  # of the time limit, for each extreme plan the hybrid solver finds
# makespan first: the hybrid is the strongest makespan solver and keeps improving late,
# so the front's makespan end gets most of the time (the other end is easy: polished by CP-SAT)
MAKESPAN_SHARE = 0.75
CPSAT_MAKESPAN_SHARE = 0.3  # small shops (CP-SAT path): the hybrid's makespan end as hint
STALL_SHARE = 0.3  # of the time limit without a better plan: the hybrid's extreme is done
FILL_SHARE = 0.12  # cost/makespan: the hybrid on cheaper-agent subsets, for interior points


def work_problem(problem: Problem, names: Sequence[str]) -> Problem:
    """``problem`` with the named objectives (disruption aside) as its objective list.

    The dense view decides from the objectives whether time matters (makespan), so
    the model solved must name them; the problem is otherwise the same object.
    """
    objs = [Objective(n) for n in names if n != DISRUPTION] or problem.objectives
    return problem.model_copy(update={"objective": objs})


def check_backend(backend: str, allowed: Sequence[str] = BACKENDS) -> str:
    """``backend`` if it is one this method runs, else :class:`UnknownBackendError`."""
    if backend not in allowed:
        raise UnknownBackendError(
            f"unknown backend {backend!r} for trade-offs; use one of: {', '.join(allowed)}",
            field="backend",
        )
    return backend


def resolve_backend(problem: Problem, backend: str, time_limit: float) -> str:
    """``auto`` made concrete: CP-SAT where the planner would start with it, else the hybrid."""
    if backend != "auto":
        return backend
    names, _ = choose(problem, time_limit)
    return "cpsat" if names and names[0] in ("cpsat", "assignment") else "hybrid"


def _check_points(points: int | None, dims: int) -> int | None:
    if points is None:
        return None
    if isinstance(points, bool) or not isinstance(points, int) or points < dims:
        raise InvalidValueError(
            f"points must be an integer of at least {dims} (one per extreme), got {points!r}",
            field="points",
        )
    return points


def _check_reference(reference: Sequence[float] | None, dims: int) -> tuple[float, ...] | None:
    if reference is None:
        return None
    ref = tuple(float(r) for r in reference)
    if len(ref) != dims or not all(math.isfinite(r) for r in ref):
        raise InvalidValueError(
            f"reference must be {dims} finite numbers (one per objective), got {list(reference)}",
            field="reference",
        )
    return ref


def pareto_front(
    problem: Problem,
    objectives: Sequence[str | Objective] | str,
    *,
    points: int | None = None,
    time_limit: float = 10.0,
    seed: int | None = None,
    reference: Sequence[float] | None = None,
    previous: Solution | None = None,
    backend: str = "auto",
) -> ParetoFront:
    """Valid, mutually non-dominated plans of ``problem`` trading off ``objectives``.

    ``points`` caps the number of points (None: as many as the method finds in time;
    the two-objective CP-SAT sweep then looks for every one). ``reference`` is the
    hypervolume's reference point in raw values (None: the rule of :mod:`.front`).
    ``previous`` is the plan being re-planned, needed by ``minimize_disruption``.

    Raises:
        UnknownObjectiveError, InvalidValueError: bad arguments (``field`` names which).
        UnknownBackendError: a backend this method does not run.
        InfeasibleProblemError: no valid plan was found at all.
    """
    t0 = time.monotonic()
    names = parse_objectives(objectives, previous)
    limit = check_time_limit(time_limit)
    npoints = _check_points(points, len(names))
    ref = _check_reference(reference, len(names))
    check_backend(backend)
    seed = 0 if seed is None else int(seed)
    deadline = t0 + limit
    work = work_problem(problem, names)
    method = resolve_backend(work, backend, limit)
    stats: dict[str, Any] = {"backend": method}
    if method in ("simulated_annealing", "tabu"):
        from quantum_planner.tradeoffs.weighted import weighted_sweep

        solutions, complete = weighted_sweep(
            work, names, method, deadline=deadline, time_limit=limit, points=npoints, seed=seed
        )
        label = "qubo-weighted"
    else:
        solutions, complete, label = _epsilon(
            work, names, method, previous, deadline, limit, npoints, seed, stats, backend == "auto"
        )
    if not solutions:
        raise InfeasibleProblemError(
            f"no valid plan found for the trade-off within {limit:g}s; raise time_limit or "
            "check the problem with solve()",
            reason="no valid plan in time",
        )
    elapsed = time.monotonic() - t0
    cands = [
        ParetoPoint(_stamp(s, names, v, seed, elapsed), v)
        for s in solutions
        for v in [objective_values(problem, s, names, previous)]
    ]
    front = build_front(
        names,
        senses_of(names),
        cands,
        ref,
        complete=complete,
        elapsed=time.monotonic() - t0,
        method=label,
        stats={**stats, "candidates": len(cands)},
    )
    return front


def _stamp(
    sol: Solution, names: Sequence[str], values: tuple[float, ...], seed: int, wall: float
) -> Solution:
    meta = {**sol.metadata, "pareto": {"objectives": list(names), "values": list(values)}}
    return sol.model_copy(
        update={"metadata": meta, "seed": seed, "version": __version__, "wall_time": wall}
    )


def _epsilon(
    work: Problem,
    names: tuple[str, ...],
    method: str,
    previous: Solution | None,
    deadline: float,
    limit: float,
    points: int | None,
    seed: int,
    stats: dict[str, Any],
    auto: bool = False,
) -> tuple[list[Solution], bool, str]:
    """The epsilon-constraint sweep (hybrid extremes first for ``method == "hybrid"``;
    ``auto``: the backend was chosen here, so the hybrid may seed a CP-SAT sweep too,
    while an explicit ``cpsat`` stays pure CP-SAT, exact where it can be)."""
    hints: list[Solution | None] = []
    # cost vs balance (assignment): CP-SAT's boxes need bounds on a variance it cannot
    # prove in time (the front kept its two extremes only), so the hybrid finds the
    # extremes and its tabu kernel fills the interior by weighted sums
    weighted = method == "hybrid" and points is None and assignment_sweep.applies(work, names)
    if method == "hybrid" or weighted:
        hints = _hybrid_extremes(work, names, deadline, limit, seed)
        stats["hybrid_extremes"] = sum(h is not None for h in hints)
    elif auto and Objective.MINIMIZE_MAKESPAN.value in names and compile_problem(work).timed:
        # small shops too: CP-SAT is slower than the hybrid to the makespan end (mk02:
        # 27-28 against 26), so the hybrid's plan seeds that extreme as hint
        only = (Objective.MINIMIZE_MAKESPAN.value,)
        hints = _hybrid_extremes(work, names, deadline, limit, seed, only, CPSAT_MAKESPAN_SHARE)
        stats["hybrid_extremes"] = sum(h is not None for h in hints)
    if weighted:
        return _weighted(work, hints, previous, deadline, limit, seed, stats)
    lex = LexModel(work, names, previous, workers=2 if method == "hybrid" else 1, seed=seed)
    fill = method == "hybrid" and points is None and _workload_end(work, names, names[-1])
    if len(names) == 2:
        # cost/makespan on the hybrid path: CP-SAT polishes the ends and splits boxes, the
        # last FILL_SHARE of the time goes to the hybrid on cheaper-agent subsets
        cut = deadline - FILL_SHARE * limit if fill else deadline
        res: SweepResult = sweep_2d(lex, cut, limit, points, hints)
    else:
        res = sweep_3d(lex, deadline, limit, points, seed, hints)
    # exact: every non-dominated vector found (two objectives, proven solves, no cut)
    exact = len(names) == 2 and res.complete and res.exact and points is None
    stats.update(solves=res.solves, exact=exact and method == "cpsat")
    sols = [f.solution for f in res.found]
    sols += [h for h in hints if h is not None]  # the hybrid's (checked) extremes count too
    if fill and len(names) == 2:
        more = fill_shop(work, deadline, limit, seed)
        stats["fill_points"] = len(more)
        sols += more
        res.complete = False
    label = "hybrid-epsilon" if method == "hybrid" else "cpsat-epsilon"
    return sols + _kept(work, previous), res.complete, label


def _kept(work: Problem, previous: Solution | None) -> list[Solution]:
    """The plan being re-planned kept as it is, when still valid (no disruption)."""
    if previous is None:
        return []
    kept = check(work, previous)
    return [kept] if kept.feasible else []


def _weighted(
    work: Problem,
    hints: list[Solution | None],
    previous: Solution | None,
    deadline: float,
    limit: float,
    seed: int,
    stats: dict[str, Any],
) -> tuple[list[Solution], bool, str]:
    """Cost vs balance: the hybrid's extremes, then weighted tabu sweeps until ``deadline``."""
    sols = [h for h in hints if h is not None]
    more = assignment_sweep.assignment_sweep(work, sols, deadline, limit, seed)
    stats.update(weighted_points=len(more), exact=False)
    # a heuristic sweep proves nothing: never complete
    return sols + [s for s in more if s.feasible] + _kept(work, previous), False, "hybrid-weighted"


def _hybrid_extremes(
    work: Problem,
    names: tuple[str, ...],
    deadline: float,
    limit: float,
    seed: int,
    only: tuple[str, ...] | None = None,
    makespan_share: float = MAKESPAN_SHARE,
) -> list[Solution | None]:
    """Per objective of ``names``, the hybrid's plan for it alone (None where the
    objective is disruption, the plan is invalid or the time ran out).

    Alone, not lexicographically: the hybrid is far weaker on an ordered list (mk10:
    makespan 231 with cost second against 201 alone); the sweep's CP-SAT polish then
    settles the other objectives with the plan as hint."""
    out: list[Solution | None] = []
    for name in names:
        left = deadline - time.monotonic()
        if name == DISRUPTION or left <= 0.1 or (only is not None and name not in only):
            out.append(None)
            continue
        share = makespan_share if name == Objective.MINIMIZE_MAKESPAN.value else HYBRID_SHARE
        p = cheapest_within(work, 0.0) if _workload_end(work, names, name) else None
        if p is None:
            p = work.model_copy(update={"objective": [Objective(name)]})
        sol = check(work, _hybrid_until_stall(p, min(left, share * limit), limit, seed))
        out.append(sol if sol.feasible else None)
    return out


def _hybrid_until_stall(p: Problem, seconds: float, limit: float, seed: int) -> Solution:
    """The hybrid on ``p`` for ``seconds``, stopped early once it found nothing better
    for ``STALL_SHARE`` of the time limit: an easy extreme (mk03: the best-known makespan
    within a second) then leaves its time to the rest of the front."""
    last = [time.monotonic()]
    stop = threading.Event()
    done = threading.Event()

    def seen(_: Any) -> None:
        last[0] = time.monotonic()

    def watch() -> None:
        while not done.wait(0.1):
            if time.monotonic() - last[0] > max(1.0, STALL_SHARE * limit):
                stop.set()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return HybridSolver().solve(p, time_limit=seconds, seed=seed, progress=seen, stop=stop)
    finally:
        done.set()
        watcher.join()


def _workload_end(work: Problem, names: tuple[str, ...], name: str) -> bool:
    """The cost end of a cost/makespan front (the scheduling side keeps it hard)."""
    return name == Objective.MINIMIZE_COST.value and Objective.MINIMIZE_MAKESPAN.value in names
