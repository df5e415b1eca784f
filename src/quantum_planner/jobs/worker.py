"""Code that runs inside a solver process (spawned, so it imports only what it needs).

The result crosses the process boundary as a plain dict, because our typed
errors take keyword arguments and do not survive pickling intact.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

DEFAULT_ENTRY = "quantum_planner.jobs.worker:planner_solve"
_PROGRESS_EVERY = 0.25  # seconds between progress messages per job


def init_worker(parent_pid: int, database_url: str | None = None) -> None:
    """Solver-process start-up: die with the server; read backend switches from the database."""
    watch_parent(parent_pid)
    if database_url:
        install_backend_store(database_url)


def install_backend_store(database_url: str) -> bool:
    """Make this process's default backend context read the switches every replica shares
    (the ``backend_state`` table of ``database_url``, at most 2 s old)."""
    from quantum_planner.backends import BackendContext, reset_default_context
    from quantum_planner.backends.state import database_store
    from quantum_planner.config import get_settings

    reset_default_context(
        BackendContext(settings=get_settings(), states=database_store(database_url))
    )
    return True


def watch_parent(parent_pid: int) -> None:
    """Exit when the server process dies (SIGKILL leaves no chance to clean up)."""

    def loop() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=loop, daemon=True, name="qp-parent-watch").start()


def warm_up(entry: str) -> int:
    """Import the solve entry and the planner ahead of the first request."""
    _resolve(entry)
    with contextlib.suppress(ImportError):
        importlib.import_module("quantum_planner.planner")
    return os.getpid()


# What the default planner's first solve imports (ortools, numba, scipy, dimod...): about
# 1 s of a cold process, which the first request would otherwise wait for.
SOLVER_STACK = (
    "quantum_planner.planner",
    "quantum_planner.backends",
    "quantum_planner.validate",
    "quantum_planner.solvers.auto",
    "quantum_planner.solvers.assignment",
    "quantum_planner.solvers.cpsat",
    "quantum_planner.solvers.greedy",
    "quantum_planner.solvers.local_search",
    "quantum_planner.solvers.hybrid",
)


def import_solver_stack() -> None:
    """Import :data:`SOLVER_STACK` (only imports, so safe in a process that forks later)."""
    for name in SOLVER_STACK:
        with contextlib.suppress(ImportError):  # an install without the solver extras
            importlib.import_module(name)


def planner_solve(
    problem: Any,
    *,
    time_limit: float,
    seed: int | None,
    backend: str | None,
    progress: Callable[[Any], None] | None,
    stop: threading.Event | None = None,
    replan: dict[str, Any] | None = None,
    pareto: dict[str, Any] | None = None,
    alternatives: dict[str, Any] | None = None,
) -> Any:
    """Default entry: the library's :class:`QuantumTaskPlanner` (imported lazily).

    With ``replan`` (a re-plan job: base problem and previous plan as JSON, the
    changes, freeze time and disruption weights) it re-plans instead of solving.
    With ``pareto`` (objectives, points, reference) it returns the planner's
    ``ParetoFront``; with ``alternatives`` (k, min_distance) its list of plans, best
    first (:func:`run_solve` turns either into the result the runner stores).
    """
    from quantum_planner.model import Problem, Solution
    from quantum_planner.planner import QuantumTaskPlanner

    planner = QuantumTaskPlanner(backend=backend or "auto", time_limit=time_limit, seed=seed)
    if pareto is not None:
        return planner.pareto(
            problem,
            objectives=pareto["objectives"],
            points=pareto.get("points"),
            time_limit=time_limit,
            seed=seed,
            reference=pareto.get("reference"),
            backend=backend or "auto",
        )
    if alternatives is not None:
        return planner.alternatives(
            problem,
            k=alternatives["k"],
            min_distance=alternatives.get("min_distance", 1),
            time_limit=time_limit,
            seed=seed,
            backend=backend or "auto",
        )
    if replan is None:
        return planner.solve(
            problem, time_limit=time_limit, seed=seed, progress=progress, stop=stop
        )
    return planner.replan(
        Problem.from_json(replan["base_problem"]),
        Solution.from_json(replan["previous"]),
        replan["changes"],
        freeze_until=replan.get("freeze_until"),
        disruption=replan.get("disruption"),
        time_limit=time_limit,
        seed=seed,
        progress=progress,
        stop=stop,
        previous_id=replan.get("previous_solution_id"),
    )


def _resolve(entry: str) -> Callable[..., Any]:
    module, attr = entry.split(":")
    return getattr(importlib.import_module(module), attr)


class _Cancelled(Exception):
    """Raised from the progress callback of an entry that takes no ``stop`` event."""


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class _Reporter:
    """One job's side channel from the solving process: progress messages (at most one per
    ``_PROGRESS_EVERY`` seconds, with the best plan so far), and cancellation: a thread
    polls ``cancel_flags`` and sets ``stop``; an entry that takes no ``stop`` event is
    stopped by :class:`_Cancelled` raised from its progress callback."""

    def __init__(self, job_id: str | None, queue: Any, cancel_flags: Any) -> None:
        self.job_id, self.queue, self.flags = job_id, queue, cancel_flags
        self.t0 = time.monotonic()
        self.last = 0.0
        self.stop = threading.Event()
        self.done = threading.Event()
        self.takes_stop = False

    def watch(self) -> None:
        """Start polling the cancel flag (when this job has one)."""
        if self.job_id is not None and self.flags is not None:
            threading.Thread(target=self._poll, daemon=True, name="qp-cancel-watch").start()

    def _poll(self) -> None:
        while not self.done.wait(0.2):
            if self.flags.get(self.job_id):
                self.stop.set()
                return

    def _put(self, **fields: Any) -> None:
        self.queue.put({"job_id": self.job_id, **fields})

    def started(self) -> None:
        """Tell the runner the solve has begun: its time limit counts from now."""
        if self.job_id is not None and self.queue is not None:
            self._put(
                started=True, elapsed=0.0, fraction=0.0, best=None, message="started", solution=None
            )

    def progress(self, p: Any) -> None:
        """The solver's progress callback."""
        if self.job_id is None:
            return
        if self.stop.is_set() and not self.takes_stop:
            raise _Cancelled
        now = time.monotonic()
        if self.queue is None or now - self.last < _PROGRESS_EVERY:
            return
        self.last = now
        sol = getattr(p, "solution", None)
        self._put(
            elapsed=float(getattr(p, "elapsed", now - self.t0) or 0.0),
            fraction=getattr(p, "fraction", None),
            best=getattr(p, "best", None),
            message=str(getattr(p, "message", ""))[:500],
            solution=sol.model_dump_json() if sol is not None else None,
        )


def run_solve(
    entry: str,
    problem_json: str,
    options: dict[str, Any],
    job_id: str | None = None,
    progress_queue: Any = None,
    cancel_flags: Any = None,
) -> dict[str, Any]:
    """Solve one problem; never raises (errors come back as ``{"ok": False, ...}``).

    Cancellation (``cancel_flags.get(job_id)`` turning true) reaches an entry that takes
    a ``stop`` event through it, so the solver returns its best plan; an entry without
    one is stopped by an exception raised from its progress callback.
    """
    from quantum_planner.model import Problem

    rep = _Reporter(job_id, progress_queue, cancel_flags)
    t0 = rep.t0
    try:
        problem = Problem.from_json(problem_json)
        solve = _resolve(entry)
        rep.takes_stop = _accepts(solve, "stop")
        rep.watch()
        rep.started()
        kwargs: dict[str, Any] = {"stop": rep.stop} if rep.takes_stop else {}
        for kind in _JOB_KINDS:  # what else the job asks of the entry
            if options.get(kind) is not None:
                if not _accepts(solve, kind):
                    return _error("solver_error", f"entry {entry} cannot run {kind} jobs", t0)
                kwargs[kind] = options[kind]
        found = solve(
            problem,
            time_limit=float(options["time_limit"]),
            seed=options.get("seed"),
            backend=options.get("backend"),
            progress=rep.progress,
            **kwargs,
        )
        return _ok(found, t0)
    except Exception as e:
        return _failure(e, t0)
    finally:
        rep.done.set()


def _failure(e: Exception, t0: float) -> dict[str, Any]:
    """The ``{"ok": False, ...}`` answer for an exception out of a solve (called while it
    is being handled)."""
    from quantum_planner.errors import PlannerError

    cancelled = isinstance(e, PlannerError) and isinstance(e.__context__, _Cancelled)
    if isinstance(e, _Cancelled) or cancelled:
        return _error("cancelled", "cancelled at the caller's request", t0)
    if isinstance(e, PlannerError):
        out = _error(e.code, e.message, t0, field=e.field)
        out["error"]["details"] = _jsonable(e.details)
        return out
    # a bug in a solver: reported, never a traceback to the caller
    out = _error("solver_error", f"the solver failed unexpectedly ({type(e).__name__})", t0)
    out["trace"] = traceback.format_exc(limit=20)  # called from the except block
    return out


_JOB_KINDS = ("replan", "pareto", "alternatives")


def _ok(found: Any, t0: float) -> dict[str, Any]:
    """The result of a successful entry call: a plan, a Pareto front or a list of plans.

    ``solution`` is always the one plan the job stands for (the front's knee, else its
    first point; the best alternative); ``front`` (``ParetoFront.to_dict()``) or
    ``alternatives`` (each plan's JSON) carry the rest for the store.
    """
    out: dict[str, Any] = {"ok": True, "seconds": time.monotonic() - t0}
    plans = found if isinstance(found, list) else getattr(found, "points", [found])
    if not plans:  # the library raises instead; an entry of one's own might not
        return _error("infeasible", "no valid plan found; raise time_limit", t0)
    if isinstance(found, list):  # alternatives, best first
        main = found[0]
        out["alternatives"] = [s.model_dump(mode="json") for s in found]
    elif hasattr(found, "points") and hasattr(found, "to_dict"):  # a ParetoFront
        main = found.points[found.knee if found.knee is not None else 0].solution
        out["front"] = found.to_dict()
    else:
        main = found
    out["solution"] = main.model_dump_json()
    out["backend"] = main.backend_used or "unknown"
    return out


def _error(code: str, message: str, t0: float, field: str | None = None) -> dict[str, Any]:
    return {
        "ok": False,
        "error": {"code": code, "message": message, "field": field},
        "seconds": time.monotonic() - t0,
    }


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    import json

    try:
        json.dumps(details)
        return details
    except (TypeError, ValueError):
        return {k: str(v) for k, v in details.items()}
