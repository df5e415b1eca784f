"""Independent checker: every constraint a plan violates, recomputed from scratch.

The rules themselves live in the constraint catalogue
(:mod:`quantum_planner.constraints`, one module per rule); this module runs each
rule's check. Like the catalogue, it deliberately shares no code with the
solvers: it does not import ``scheduling``, ``objectives`` or ``solvers``, and
the checks read the problem's raw fields (durations, loads, dependencies,
windows) rather than the model's helper methods that solvers use. A bug in a
solver, or in a helper the solvers share, therefore cannot hide itself here.

Each violation's ``constraint`` is one of the stable names in :data:`CONSTRAINTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from quantum_planner.constraints import NAMES
from quantum_planner.constraints import RULES as _CATALOGUE
from quantum_planner.constraints.base import EPS, Plan, make_plan
from quantum_planner.model import Problem, Solution, Violation

__all__ = ["CONSTRAINTS", "EPS", "RULES", "check", "validate"]

#: Stable names of every constraint kind the validator reports (the catalogue's names).
CONSTRAINTS: tuple[str, ...] = NAMES

Rule = Callable[[Plan], list[Violation]]

#: Every rule's check, in the order violations are listed.
RULES: tuple[Rule, ...] = tuple(r.validate for r in _CATALOGUE)


def _violations(problem: Problem, solution: Solution) -> Iterator[Violation]:
    plan = make_plan(problem, solution)
    for rule in RULES:
        yield from rule(plan)


def validate(problem: Problem, solution: Solution) -> list[Violation]:
    """Every constraint ``solution`` violates against ``problem`` (empty when the plan is valid)."""
    return list(_violations(problem, solution))


def check(problem: Problem, solution: Solution) -> Solution:
    """A copy of ``solution`` with ``feasible``, ``violations`` and ``status`` set by validation.

    A valid plan keeps an ``optimal`` status and otherwise becomes ``feasible``; a
    plan with violations becomes ``infeasible``.
    """
    violations = validate(problem, solution)
    if violations:
        status = "infeasible"
    else:
        status = "optimal" if solution.status == "optimal" else "feasible"
    return solution.model_copy(
        update={"feasible": not violations, "violations": violations, "status": status}
    )
