"""Named solvers, imported lazily so that heavy dependencies load only when used.

The planner and the backends layer resolve names here. Third-party code adds
its own with :func:`register_solver`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from quantum_planner.errors import UnknownBackendError
from quantum_planner.solvers.base import Solver

# name -> "module:attribute" of a Solver class (or factory) taking keyword options
_BUILTIN: dict[str, str] = {
    "greedy": "quantum_planner.solvers.greedy:GreedySolver",
    "local_search": "quantum_planner.solvers.local_search:LocalSearchSolver",
    "simulated_annealing": "quantum_planner.solvers.qubo_sampling:SimulatedAnnealingQUBOSolver",
    "tabu": "quantum_planner.solvers.qubo_sampling:TabuQUBOSolver",
    "cpsat": "quantum_planner.solvers.cpsat:CPSATSolver",
    "hybrid": "quantum_planner.solvers.hybrid:HybridSolver",
    "assignment": "quantum_planner.solvers.assignment:AssignmentSolver",
}
_EXTRA: dict[str, Callable[..., Solver]] = {}


def register_solver(name: str, factory: Callable[..., Solver]) -> None:
    """Make ``factory(**options)`` available under ``name``."""
    _EXTRA[name] = factory


def solver_names() -> list[str]:
    return [*_BUILTIN, *(n for n in _EXTRA if n not in _BUILTIN)]


def get_solver(name: str, **options: Any) -> Solver:
    """Instantiate the solver registered as ``name``."""
    if name in _EXTRA:
        return _EXTRA[name](**options)
    target = _BUILTIN.get(name)
    if target is None:
        raise UnknownBackendError(
            f"unknown solver {name!r}; known: {', '.join(solver_names())}", field="backend"
        )
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)(**options)
