"""Is a backend's answer a valid plan for this problem?

Backends are untrusted: a remote service or a buggy adapter can return plans
that name unknown tasks or agents, drop mandatory tasks, break constraints or
carry NaN times. Every candidate goes through the independent checker
:func:`quantum_planner.validate.validate`, plus a guard against non-finite
numbers (NaN compares false, so it could slip through ordinary comparisons).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from quantum_planner.backends.base import InvalidResultError
from quantum_planner.model import Problem, Solution, Violation
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.validate import validate


def non_finite(sol: Solution) -> list[Violation]:
    """Intervals or objective values that are NaN or infinite."""
    bad = [
        tid
        for tasks in sol.schedule.values()
        for tid, (start, end) in tasks.items()
        if not (math.isfinite(start) and math.isfinite(end))
    ]
    out = []
    if bad:
        out.append(
            Violation(
                constraint="corrupted",
                items=bad,
                amount=len(bad),
                message=f"non-finite start/end for {len(bad)} task(s), e.g. {bad[0]!r}",
            )
        )
    nan_obj = [k for k, v in sol.objectives.items() if not math.isfinite(v)]
    if nan_obj:
        out.append(
            Violation(
                constraint="corrupted",
                items=nan_obj,
                message=f"non-finite objective values: {nan_obj}",
            )
        )
    return out


def candidate_violations(problem: Problem, sol: Solution) -> list[Violation]:
    """Every reason to reject ``sol`` (empty: a valid plan)."""
    return non_finite(sol) or validate(problem, sol)


def summary(violations: list[Violation], limit: int = 5) -> str:
    """``"N violation(s): constraint: message; ..."`` for attempt reasons and errors."""
    parts = [f"{v.constraint}: {v.message}" for v in violations[:limit]]
    if len(violations) > limit:
        parts.append(f"... and {len(violations) - limit} more")
    return f"{len(violations)} violation(s): " + "; ".join(parts)


def candidate_problems(problem: Problem, sol: Solution) -> list[str]:
    """:func:`candidate_violations` as readable strings (empty: a valid plan)."""
    return [f"{v.constraint}: {v.message}" for v in candidate_violations(problem, sol)]


# violations that mean a broken answer whatever the problem (not an infeasible problem)
_CORRUPTION = {
    "corrupted",
    "unknown_reference",
    "schedule_mismatch",
    "duration_mismatch",
    "objective_mismatch",
}


def best_valid(
    name: str,
    problem: Problem,
    candidates: list[Solution],
    validator: Callable[[Problem, Solution], list[Violation]] = candidate_violations,
) -> Solution:
    """The best of ``name``'s candidates that ``validator`` finds no fault with.

    Raises :class:`InvalidResultError` (attributes ``best_invalid``: the candidate with
    fewest violations, marked infeasible; ``corrupted``: whether its faults mean a broken
    answer rather than a possibly infeasible problem) when none is valid.
    """
    best: tuple[tuple[float, ...], Solution] | None = None
    invalid: Solution | None = None
    for sol in candidates:
        try:
            violations = validator(problem, sol)
            values = {} if violations else evaluate(problem, sol.assignments, sol.schedule)
        except Exception as e:  # a candidate so broken the checker itself fails
            violations = [Violation(constraint="corrupted", message=f"{type(e).__name__}: {e}")]
        if violations:
            checked = sol.model_copy(
                update={
                    "feasible": False,
                    "violations": violations,
                    "status": "infeasible",
                    "backend_used": name,
                }
            )
            if invalid is None or len(violations) < len(invalid.violations):
                invalid = checked
            continue
        key = objective_key(problem, values)
        if best is None or key < best[0]:
            best = (key, sol)
    if best is None:
        assert invalid is not None
        err = InvalidResultError(
            f"{len(candidates)} candidate(s), none valid; best has " + summary(invalid.violations),
            backend=name,
        )
        err.best_invalid = invalid  # type: ignore[attr-defined]
        err.corrupted = any(  # type: ignore[attr-defined]
            v.constraint in _CORRUPTION for v in invalid.violations
        )
        raise err
    return best[1]
