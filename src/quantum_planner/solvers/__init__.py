"""Solvers: strategies that turn a Problem into a Solution."""

from quantum_planner.solvers.base import Progress, ProgressCallback, Solver, make_solution

__all__ = ["Progress", "ProgressCallback", "Solver", "make_solution"]
