"""The constraint catalogue: one entry per hard rule, under one name everywhere.

Each rule lives in its own module (``quantum_planner.constraints.<name>``) and
carries, side by side:

* ``validate(plan)``: the independent check, yielding
  :class:`~quantum_planner.model.Violation` objects named for the rule
  (what :mod:`quantum_planner.validate` runs);
* ``analyse(plan)``: the per-constraint analysis (instances checked, the
  violated matches with their penalty and justification, binding ones, least
  slack), what :mod:`quantum_planner.analysis` and ``GET /api/jobs/{id}/analysis``
  report;
* ``qubo_term(space)``: the penalty the BQM builder adds under the rule's name,
  or ``None`` with ``qubo`` saying how the formulation honours the rule instead
  (variables that cannot break it, decode/repair, or a check on reports).

The names (:data:`NAMES`) are stable: violations, analysis entries, QUBO penalty
kinds, the CLI and the docs all use them. Adding a rule means one new module
and one line in :data:`RULES`.
"""

from __future__ import annotations

from quantum_planner.constraints import (
    allowed_agents,
    availability,
    capacity_limit,
    duration_mismatch,
    objective_mismatch,
    overlap,
    precedence,
    schedule_mismatch,
    skill_match,
    time_horizon,
    time_window,
    unassigned,
    unknown_reference,
)
from quantum_planner.constraints.base import Plan, QuboSpace, Rule, Tally, make_plan

__all__ = ["CATALOGUE", "NAMES", "RULES", "Plan", "QuboSpace", "Rule", "Tally", "make_plan", "rule"]

#: Every rule, in the order violations and analysis entries are listed.
RULES: tuple[Rule, ...] = (
    unknown_reference.RULE,
    unassigned.RULE,
    skill_match.RULE,
    allowed_agents.RULE,
    capacity_limit.RULE,
    schedule_mismatch.RULE,
    duration_mismatch.RULE,
    overlap.RULE,
    precedence.RULE,
    time_window.RULE,
    availability.RULE,
    time_horizon.RULE,
    objective_mismatch.RULE,
)

#: Rule name -> rule.
CATALOGUE: dict[str, Rule] = {r.name: r for r in RULES}

#: The stable names, in catalogue order.
NAMES: tuple[str, ...] = tuple(CATALOGUE)


def rule(name: str) -> Rule:
    """The rule called ``name`` (KeyError names the known ones)."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown constraint {name!r}; known: {', '.join(NAMES)}") from None
