"""``QuantumTaskPlanner``: the library's front door.

It turns arguments into a :class:`~quantum_planner.model.Problem`, picks a chain
of backends (``backend`` then each ``fallback``), runs them within one shared
wall-clock budget, validates every candidate plan independently
(:func:`quantum_planner.validate.check`) and returns the first valid one. A
backend that crashes or returns an invalid plan is recorded in
``solution.backends_tried`` and the next one serves; the planner never hides an
invalid plan. If no backend yields a valid plan it raises
:class:`~quantum_planner.errors.InfeasibleProblemError` (or
:class:`~quantum_planner.errors.SolverError` when every backend crashed) whose
details list the violations of the best plan found.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from quantum_planner.analysis import analyse
from quantum_planner.disruption import DisruptionTerms
from quantum_planner.errors import (
    BackendDisabledError,
    BackendUnavailableError,
    CredentialsError,
    InfeasibleProblemError,
    InvalidValueError,
    PlannerError,
    SolverError,
    SolveTimeoutError,
    UnknownBackendError,
)
from quantum_planner.model import Agent, BackendAttempt, Problem, Solution, Task
from quantum_planner.replan import Change, DisruptionWeights
from quantum_planner.replan import replan as replan_plan
from quantum_planner.solvers.base import Progress, ProgressCallback
from quantum_planner.solvers.registry import solver_names

if TYPE_CHECKING:
    from quantum_planner.backends import BackendContext
    from quantum_planner.tradeoffs import ParetoFront

#: backends the trade-off methods run (:mod:`quantum_planner.tradeoffs.pareto`)
TRADEOFF_BACKENDS = ("auto", "cpsat", "hybrid", "simulated_annealing", "tabu")

__all__ = ["QuantumTaskPlanner", "known_backends", "resolve_auto"]


def resolve_auto(problem: Problem, time_limit: float) -> tuple[list[str], str]:
    """Backends that ``backend="auto"`` stands for on ``problem``, and why.

    The rule lives in :func:`quantum_planner.solvers.auto.choose` (exact assignment
    for one-to-one problems, CP-SAT for problems it closes quickly, the hybrid
    large-neighbourhood solver otherwise); see docs/SOLVERS.md.
    """
    from quantum_planner.solvers.auto import choose

    return choose(problem, time_limit)


def _as_chain(fallback: str | Sequence[str] | None) -> list[str]:
    if fallback is None:
        return []
    return [fallback] if isinstance(fallback, str) else list(fallback)


def known_backends(context: BackendContext | None = None) -> list[str]:
    """Every name ``backend`` and ``fallback`` accept besides ``"auto"``: solvers, then backends."""
    from quantum_planner.backends.context import default_context

    solvers = solver_names()
    backends = (context or default_context()).list_backends()
    return [*solvers, *(n for n in backends if n not in solvers)]


def _check_limit(limit: float) -> None:
    if not limit > 0:  # also NaN; +inf means "no limit" here
        raise InvalidValueError(
            f"time_limit must be > 0 seconds, got {limit!r}", field="time_limit"
        )


def _known(name: str, context: BackendContext) -> None:
    known = known_backends(context)
    if name != "auto" and name not in known:
        raise UnknownBackendError(
            f"unknown backend {name!r}; use 'auto' or one of: {', '.join(known)}",
            field="backend",
        )


class QuantumTaskPlanner:
    """Assigns tasks to agents and schedules them.

    Args:
        backend: solver name (see :func:`quantum_planner.solvers.registry.solver_names`)
            or ``"auto"`` to let the planner choose (see :func:`resolve_auto`).
        fallback: backend name, or list of names, tried in order when the previous
            one fails or returns an invalid plan.
        time_limit: default wall-clock budget in seconds for a whole solve,
            shared along the chain.
        seed: default random seed (``None``: 0, so plans are reproducible).
        context: the backends, breakers, switches, counters and alerts to use
            (default: :func:`quantum_planner.backends.default_context`, looked up per solve).
        **options: per-backend constructor options, keyed by backend name, e.g.
            ``QuantumTaskPlanner(local_search={"max_passes": 5})``.
    """

    def __init__(
        self,
        backend: str = "auto",
        fallback: str | Sequence[str] | None = None,
        time_limit: float = 10.0,
        seed: int | None = None,
        *,
        context: BackendContext | None = None,
        **options: Mapping[str, Any],
    ) -> None:
        self.backend = backend
        self.fallback = _as_chain(fallback)
        self._context = context
        for name in [backend, *self.fallback, *options]:
            _known(name, self.context)
        _check_limit(time_limit)
        self.time_limit = float(time_limit)
        self.seed = seed
        self.options = {k: dict(v) for k, v in options.items()}

    @property
    def context(self) -> BackendContext:
        """The backend context this planner solves with."""
        if self._context is not None:
            return self._context
        # imported on first use, not with the planner: the backends layer loads the
        # settings and alerting machinery, ~0.3 s of a cold `import quantum_planner`
        from quantum_planner.backends import default_context

        return default_context()

    # -- building problems ------------------------------------------------------
    def assign(
        self,
        agents: Sequence[Agent | Mapping[str, Any]],
        tasks: Sequence[Task | Mapping[str, Any]],
        objective: str | Sequence[str] = "minimize_makespan",
        constraints: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
        seed: int | None = None,
        time_horizon: float | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> Solution:
        """Assign (and schedule) ``tasks`` to ``agents``; see :meth:`solve`."""
        problem = _problem(agents, tasks, objective, constraints, time_horizon)
        return self.solve(problem, time_limit=time_limit, seed=seed, progress=progress)

    def assign_with_time(
        self,
        agents: Sequence[Agent | Mapping[str, Any]],
        tasks: Sequence[Task | Mapping[str, Any]],
        time_horizon: float,
        objective: str | Sequence[str] = "minimize_makespan",
        constraints: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
        seed: int | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> Solution:
        """Like :meth:`assign`, with every task ending by ``time_horizon``."""
        return self.assign(
            agents,
            tasks,
            objective=objective,
            constraints=constraints,
            time_limit=time_limit,
            seed=seed,
            time_horizon=time_horizon,
            progress=progress,
        )

    # -- explaining ---------------------------------------------------------------
    def analyze(self, problem: Problem, solution: Solution) -> dict[str, Any]:
        """Per-constraint analysis of ``solution``: for each rule of the constraint
        catalogue its matches (violated instances with penalty and justification),
        binding instances and least slack; objective contributions; the validator's
        verdict. See :func:`quantum_planner.analysis.analyse`."""
        return analyse(problem, solution)

    # -- solving ----------------------------------------------------------------
    def chain(self, problem: Problem, time_limit: float) -> tuple[list[str], str | None]:
        """Backend names to try in order, and the reason when ``auto`` chose them."""
        if self.backend == "auto":
            names, reason = resolve_auto(problem, time_limit)
        else:
            names, reason = [self.backend], None
        out: list[str] = []
        for n in [*names, *self.fallback]:
            if n not in out:
                out.append(n)
        return out, reason

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float | None = None,
        seed: int | None = None,
        progress: ProgressCallback | None = None,
        warm_start: Solution | None = None,
        stop: threading.Event | None = None,
        initial: Solution | None = None,
        disruption: DisruptionTerms | None = None,
        reserve: bool = True,
    ) -> Solution:
        """Solve ``problem`` and return a validated plan.

        ``initial`` (or its older name ``warm_start``) is a plan to start from: CP-SAT
        takes it as a hint, the hybrid as its start plan when it is valid.
        ``disruption`` (re-planning, :class:`~quantum_planner.disruption.DisruptionTerms`)
        reaches the solvers that take it (CP-SAT, hybrid, the QUBO samplers), which then
        follow the rule of :mod:`quantum_planner.disruption` against its reference plan.
        ``reserve=False`` gives the first backend all the time instead of keeping
        ``failover_reserve_fraction`` for the fallbacks (re-planning, whose repaired plan
        is its fallback).

        Raises:
            InfeasibleProblemError: no backend found a plan satisfying every hard
                constraint; ``details["violations"]`` lists the best plan's.
            SolverError: every backend failed without producing a plan.
        """
        t0 = time.monotonic()
        warm_start = initial if initial is not None else warm_start
        limit = self.time_limit if time_limit is None else float(time_limit)
        _check_limit(limit)
        seed = self.seed if seed is None else seed
        seed = 0 if seed is None else seed
        names, reason = self.chain(problem, limit)
        attempts: list[BackendAttempt] = []
        progress = _validated_progress(problem, progress)
        best = _run_chain(
            self,
            problem,
            names,
            attempts,
            deadline=t0 + limit,
            seed=seed,
            progress=progress,
            warm_start=warm_start,
            stop=stop,
            disruption=disruption,
            reserve=reserve,
        )
        wall = time.monotonic() - t0
        if best is None or not best.feasible:
            raise _no_plan(best, attempts)
        from quantum_planner._version import __version__

        metadata = dict(best.metadata)
        if reason:
            metadata["auto_reason"] = reason
        return best.model_copy(
            update={
                "backends_tried": attempts,
                "wall_time": wall,
                "seed": seed,
                "version": __version__,
                "metadata": metadata,
            }
        )

    # -- trade-offs ----------------------------------------------------------------
    def pareto(
        self,
        problem: Problem,
        objectives: Sequence[str] | str = ("minimize_cost", "minimize_makespan"),
        points: int | None = None,
        time_limit: float | None = None,
        seed: int | None = None,
        reference: Sequence[float] | None = None,
        previous: Solution | None = None,
        backend: str | None = None,
    ) -> ParetoFront:
        """Valid, mutually non-dominated plans trading off two or three ``objectives``.

        ``backend`` (default: this planner's, when it is one the sweeps run, else
        ``"auto"``) picks the method: CP-SAT epsilon-constraint sweeps, the hybrid's
        extreme plans then the sweep, or weighted QUBO sweeps (``simulated_annealing``,
        ``tabu``). See :func:`quantum_planner.tradeoffs.pareto_front` and docs/TRADEOFFS.md.
        """
        # imported on use: the sweeps load the hybrid's numba kernels (~0.3 s cold)
        from quantum_planner.tradeoffs import pareto_front

        return pareto_front(
            problem,
            objectives,
            points=points,
            time_limit=self.time_limit if time_limit is None else time_limit,
            seed=self.seed if seed is None else seed,
            reference=reference,
            previous=previous,
            backend=self._tradeoff_backend(backend),
        )

    def alternatives(
        self,
        problem: Problem,
        k: int = 5,
        min_distance: int = 1,
        time_limit: float | None = None,
        seed: int | None = None,
        backend: str | None = None,
    ) -> list[Solution]:
        """Up to ``k`` valid plans, pairwise ``min_distance`` task->agent assignments apart,
        best first; see :func:`quantum_planner.tradeoffs.alternatives`."""
        from quantum_planner.tradeoffs import alternatives

        return alternatives(
            problem,
            k,
            min_distance,
            time_limit=self.time_limit if time_limit is None else time_limit,
            seed=self.seed if seed is None else seed,
            backend=self._tradeoff_backend(backend),
        )

    def _tradeoff_backend(self, backend: str | None) -> str:
        if backend is not None:
            return backend
        return self.backend if self.backend in TRADEOFF_BACKENDS else "auto"

    def replan(
        self,
        problem: Problem,
        previous: Solution,
        changes: Sequence[Change | Mapping[str, Any]],
        *,
        freeze_until: float | None = None,
        disruption: DisruptionWeights | Mapping[str, float] | None = None,
        time_limit: float | None = None,
        seed: int | None = None,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
        previous_id: str | None = None,
    ) -> Solution:
        """Re-plan ``previous`` (a plan of ``problem``) after ``changes``, disturbing it little.

        ``changes`` are :mod:`quantum_planner.replan` change objects or their JSON
        dicts (``{"type": "remove_agent", "agent": "bob", "at": 6}``). Tasks completed,
        started, marked ``pinned`` or started before ``freeze_until`` keep agent and
        start. ``disruption`` weighs reassignments and start shifts
        (``{"reassign_weight": 1, "shift_weight": 0.01, "tolerance": 0.01}``); the
        returned plan carries ``disruption`` counts against ``previous``. The rule that
        picks the plan is in :mod:`quantum_planner.replan.strategy` and docs/API.md.

        Raises:
            ChangeError: a change cannot apply; the message names it.
            InfeasibleProblemError: no valid plan keeps the pins and the changes.
        """
        return replan_plan(
            self,
            problem,
            previous,
            changes,
            freeze_until=freeze_until,
            disruption=disruption,
            time_limit=time_limit,
            seed=seed,
            progress=progress,
            stop=stop,
            previous_id=previous_id,
        )


def _validated_progress(
    problem: Problem, progress: ProgressCallback | None
) -> ProgressCallback | None:
    """Pass progress on, with any best-so-far plan checked first: nobody sees an invalid one."""
    if progress is None:
        return None
    from dataclasses import replace

    from quantum_planner.validate import check

    def report(p: Progress) -> None:
        if p.solution is not None:
            checked = check(problem, p.solution)
            p = replace(p, solution=checked if checked.feasible else None)
        progress(p)

    return report


def _problem(
    agents: Sequence[Agent | Mapping[str, Any]],
    tasks: Sequence[Task | Mapping[str, Any]],
    objective: str | Sequence[str],
    constraints: Mapping[str, Any] | None,
    time_horizon: float | None,
) -> Problem:
    data: dict[str, Any] = {
        "agents": list(agents),
        "tasks": list(tasks),
        "objective": objective if isinstance(objective, str) else list(objective),
        "time_horizon": time_horizon,
    }
    if constraints is not None:
        data["constraints"] = dict(constraints)
    return Problem.from_dict(data)


def _run_chain(
    planner: QuantumTaskPlanner,
    problem: Problem,
    names: Sequence[str],
    attempts: list[BackendAttempt],
    *,
    deadline: float,
    seed: int,
    progress: ProgressCallback | None,
    warm_start: Solution | None,
    stop: threading.Event | None,
    disruption: DisruptionTerms | None = None,
    reserve: bool = True,
) -> Solution | None:
    """Run ``names`` through the backends layer's failover executor within the deadline.

    The executor skips disabled backends and open circuit breakers, bounds each
    backend's time, retries transient errors, validates every candidate and alerts on
    failovers (see :mod:`quantum_planner.backends.failover`). Appends one
    :class:`BackendAttempt` per backend to ``attempts`` and returns the first valid
    plan, else the invalid plan with fewest violations, else ``None``.
    """
    from quantum_planner.backends import FailoverExecutor
    from quantum_planner.backends.local import SolverBackend

    chain: list[Any] = [
        SolverBackend(n, **planner.options[n]) if planner.options.get(n) else n for n in names
    ]
    try:
        sol = FailoverExecutor(context=planner.context).solve(
            problem,
            chain,
            time_limit=max(0.0, deadline - time.monotonic()),
            seed=seed,
            warm_start=warm_start,
            stop=stop,
            progress=progress,
            # one backend named and no fallback: the caller asked for that backend only
            last_resort=None if planner.backend != "auto" and not planner.fallback else "",
            disruption=disruption,
            reserve=reserve,
        )
    except BackendUnavailableError as e:
        attempts.extend(BackendAttempt(**a) for a in e.details.get("attempts", []))
        return getattr(e, "best_invalid", None)
    attempts.extend(sol.backends_tried)
    return sol


def _summary(sol: Solution, limit: int = 5) -> str:
    parts = [f"{v.constraint}: {v.message}" for v in sol.violations[:limit]]
    more = len(sol.violations) - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return f"{len(sol.violations)} violation(s): " + "; ".join(parts)


def _could_not_serve(a: BackendAttempt) -> bool:
    """Whether attempt ``a`` ended because the backend refused (unavailable, credentials)."""
    reason = a.reason or ""
    return (
        a.outcome == "skipped"
        or reason.startswith("credentials")
        or (reason.startswith("failover") and "Unavailable" in reason)
    )


def _no_plan(best: Solution | None, attempts: list[BackendAttempt]) -> PlannerError:
    tried = [a.model_dump() for a in attempts]
    if best is None:
        reasons = "; ".join(f"{a.backend} {a.outcome} ({a.reason})" for a in attempts)
        outcomes = {a.outcome for a in attempts}
        # say which kind of "no plan" it was, so callers (the HTTP API) can answer 503/504
        if outcomes == {"skipped"}:
            disabled = all("disabled" in (a.reason or "") for a in attempts)
            cls = BackendDisabledError if disabled else BackendUnavailableError
            return cls(
                f"no backend could serve: {reasons}; enable one (switch_backend) or name "
                "another backend",
                backends_tried=tried,
            )
        if attempts and all(_could_not_serve(a) for a in attempts):
            # named backends that refused this problem (empty, too large) or lack
            # credentials: the caller's choice, not a fault of ours (503/502, not 500)
            creds = any((a.reason or "").startswith("credentials") for a in attempts)
            cls = CredentialsError if creds else BackendUnavailableError
            return cls(
                f"no backend could serve this problem: {reasons}; name another backend or "
                "use 'auto'",
                backends_tried=tried,
            )
        if outcomes <= {"skipped", "timeout"} and "timeout" in outcomes:
            return SolveTimeoutError(
                f"no backend produced a plan within the time limit: {reasons}; raise the "
                "time limit",
                backends_tried=tried,
            )
        return SolverError(f"no backend produced a plan: {reasons}", backends_tried=tried)
    return InfeasibleProblemError(
        f"no backend found a plan that satisfies every constraint; the best plan "
        f"(from {best.backend_used}) has {_summary(best)}",
        reason=_summary(best),
        violations=[v.model_dump() for v in best.violations],
        backends_tried=tried,
    )
