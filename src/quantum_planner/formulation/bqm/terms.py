"""Constraint terms: each rule of the catalogue that is a QUBO penalty adds its term.

The terms themselves live with their rules (``quantum_planner.constraints.<rule>
.qubo_term``); this part of the builder is the :class:`~quantum_planner.constraints.
QuboSpace` they write into. A rule that is not a penalty (eliminated variables,
decode/repair) adds nothing and says so in its ``qubo`` field.
"""

from __future__ import annotations

import warnings

import numpy as np

from quantum_planner.constraints import CATALOGUE
from quantum_planner.formulation.bqm.slack import Check, Filler, SlackBudgets
from quantum_planner.formulation.poly import Poly

__all__ = ["CONSTRAINT_KINDS", "LEGACY_KINDS", "QUBO_RULES", "ConstraintTerms", "canonical_kind"]

#: Catalogue rules with a QUBO term, in build order. The order fixes the labels of
#: slack variables and the order terms are summed in, so it stays as it was.
QUBO_RULES = ("unassigned", "capacity_limit", "time_horizon", "overlap", "precedence")

#: Penalty kinds, each with its own weight: the rules above plus ``makespan_bound``
#: (every agent's finish <= the makespan bits, part of the exact makespan objective).
CONSTRAINT_KINDS = (*QUBO_RULES, "makespan_bound")

#: Names the kinds had before the catalogue, still accepted in ``penalties``.
LEGACY_KINDS = {"assignment": "unassigned", "horizon": "time_horizon"}


def canonical_kind(kind: str) -> str:
    """``kind`` under its catalogue name (an old name warns once and is translated)."""
    if kind in LEGACY_KINDS:
        new = LEGACY_KINDS[kind]
        warnings.warn(
            f"penalty kind {kind!r} is now called {new!r}", DeprecationWarning, stacklevel=3
        )
        return new
    return kind


class ConstraintTerms(SlackBudgets):
    """Builder part holding the unit-weight penalty of each constraint kind."""

    capacity_encoding: str
    _lagrange_terms: list[tuple[int, np.ndarray, np.ndarray, float]]

    def poly(self) -> Poly:
        """A fresh, empty polynomial (for a rule's term)."""
        return Poly()

    def set_term(self, kind: str, poly: Poly) -> None:
        """Make ``poly`` the unit-weight penalty of ``kind`` (zero iff the rule holds)."""
        self._constraints[kind] = poly

    def add_lagrangian(self, agent: int, idx: np.ndarray, weight: np.ndarray, cap: float) -> None:
        """Price ``sum weight x`` above ``cap`` by per-agent multipliers (no slack bits)."""
        self._lagrange_terms.append((agent, idx, weight, cap))

    def _build_constraints(self) -> None:
        self._slack_checks: dict[str, list[Check]] = {}
        self._slack_fillers: list[Filler] = []
        for name in QUBO_RULES:
            term = CATALOGUE[name].qubo_term
            assert term is not None, name  # a test keeps QUBO_RULES and the catalogue in step
            term(self)
