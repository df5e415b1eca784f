"""Local backends: thin adapters over the solvers in :mod:`quantum_planner.solvers`.

Always available, no credentials. ``simulated_annealing`` and ``tabu`` sample the QUBO
formulation with quantum-inspired samplers; the others are classical.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import threading
from typing import Any

from quantum_planner.backends.base import BackendKind, BackendProperties, BaseBackend
from quantum_planner.backends.probe import one_to_one_probe, probe_problem
from quantum_planner.errors import BackendUnavailableError, InvalidSolutionError, SolverError
from quantum_planner.model import Problem, Solution
from quantum_planner.solvers.base import ProgressCallback
from quantum_planner.solvers.registry import get_solver

_KINDS = {
    "simulated_annealing": BackendKind.QUANTUM_INSPIRED,
    "tabu": BackendKind.QUANTUM_INSPIRED,
}
_NATIVE = {"cpsat", "greedy", "local_search", "hybrid"}
# solvers made for one problem class are probed with a problem of that class
_ONE_TO_ONE = {"assignment"}
_DESCRIPTIONS = {
    "greedy": "constructive heuristic (fast, always feasible when a plan exists)",
    "local_search": "greedy start improved by local search",
    "simulated_annealing": "QUBO formulation sampled by simulated annealing, then repaired",
    "tabu": "QUBO formulation sampled by tabu search, then repaired",
    "cpsat": "OR-Tools CP-SAT exact model",
    "hybrid": "large-neighbourhood search mixing QUBO sampling and CP-SAT",
    "assignment": "exact one-to-one assignment (each agent takes at most one task)",
}


def _import_solver(name: str) -> None:
    """Import the solver's module now, in the creating thread: heavy native extensions
    (OR-Tools, numba) are better loaded once, up front, than inside a worker thread that
    may be abandoned at its deadline."""
    from quantum_planner.solvers.registry import _BUILTIN

    target = _BUILTIN.get(name)
    if target is not None:
        with contextlib.suppress(ImportError):  # reported by solve(), as a fail-over
            importlib.import_module(target.split(":")[0])


class SolverBackend(BaseBackend):
    """Backend ``name`` running the solver ``solver`` (default: the same name)."""

    def __init__(self, name: str, solver: str | None = None, **options: Any) -> None:
        self.name = name
        self.solver_name = solver or name
        self.options = options
        _import_solver(self.solver_name)
        self.properties = BackendProperties(
            kind=_KINDS.get(self.solver_name, BackendKind.CLASSICAL),
            native_constraints=self.solver_name in _NATIVE,
            description=_DESCRIPTIONS.get(self.solver_name, f"local solver {self.solver_name!r}"),
        )

    def probe_problem(self) -> Problem:
        """The health probe's problem: of the class this solver takes."""
        return one_to_one_probe() if self.solver_name in _ONE_TO_ONE else probe_problem()

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        stop: threading.Event | None = None,
        progress: ProgressCallback | None = None,
        disruption: Any = None,
    ) -> Solution:
        """The solver's plan; ``disruption`` (re-planning's terms) reaches solvers that take it."""
        # a fresh solver per call: solvers keep per-solve state and calls run in parallel
        try:
            solver = get_solver(self.solver_name, **self.options)
        except ImportError as e:
            raise BackendUnavailableError(
                f"solver {self.solver_name!r} not installed or not importable: {e}",
                backend=self.name,
            ) from None
        try:
            return solver.solve(
                problem,
                time_limit=time_limit,
                seed=seed,
                warm_start=warm_start,
                progress=progress,
                stop=stop,
                **_disruption_kw(solver, disruption),
            )
        except InvalidSolutionError:
            raise
        except SolverError as e:
            # a solver refusing this problem (wrong class, too large): the next one serves
            raise BackendUnavailableError(
                f"{self.name}: {e.message}", backend=self.name, solver_code=e.code
            ) from None


def _disruption_kw(solver: Any, disruption: Any) -> dict[str, Any]:
    """``{"disruption": ...}`` for a solver whose ``solve`` takes it, else nothing."""
    if disruption is None:
        return {}
    try:
        params = inspect.signature(solver.solve).parameters
    except (TypeError, ValueError):
        return {}
    takes = "disruption" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    return {"disruption": disruption} if takes else {}
