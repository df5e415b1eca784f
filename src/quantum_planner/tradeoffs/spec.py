"""What a trade-off request names, checked: objectives, counts, limits, the previous plan.

``minimize_disruption`` (only with ``previous=``) is the number of tasks of the
previous plan that the new plan gives another agent (or assigns when the
previous plan left them out, or leaves out when it did not); start times do not
count, so the value is an integer and the front stays small and exact. Tasks
the previous plan does not know are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from quantum_planner.errors import InvalidValueError, UnknownObjectiveError
from quantum_planner.model import Objective, Problem, Solution

__all__ = [
    "DISRUPTION",
    "assignment_distance",
    "check_time_limit",
    "objective_values",
    "parse_objectives",
    "senses_of",
]

DISRUPTION = "minimize_disruption"
_NAMES = [o.value for o in Objective]


def parse_objectives(
    objectives: Sequence[str | Objective] | str, previous: Solution | None
) -> tuple[str, ...]:
    """The objective names of a front: 2 or 3 distinct known names, in the given order.

    Raises:
        UnknownObjectiveError: an unknown name (``field="objectives"``).
        InvalidValueError: fewer than two, more than three, a repeat, or
            ``minimize_disruption`` without a previous plan.
    """
    if isinstance(objectives, str):
        objectives = [o.strip() for o in objectives.split(",") if o.strip()]
    names: list[str] = []
    for i, o in enumerate(objectives):
        name = o.value if isinstance(o, Objective) else str(o)
        if name not in _NAMES and name != DISRUPTION:
            known = ", ".join([*_NAMES, DISRUPTION])
            raise UnknownObjectiveError(
                f"objectives[{i}]: unknown objective {name!r}; use two or three of: {known}",
                field="objectives",
            )
        if name in names:
            raise InvalidValueError(f"objectives names {name!r} twice", field="objectives")
        names.append(name)
    if len(names) < 2:
        raise InvalidValueError(
            f"a trade-off needs two or three objectives, got {len(names)} ({names}); for one "
            "objective use solve()",
            field="objectives",
        )
    if len(names) > 3:
        raise InvalidValueError(
            f"at most three objectives (hypervolume and fronts are exact up to three), got "
            f"{len(names)}",
            field="objectives",
        )
    if DISRUPTION in names and previous is None:
        raise InvalidValueError(
            "minimize_disruption needs the previous plan: pass previous=", field="previous"
        )
    return tuple(names)


def senses_of(names: Sequence[str]) -> tuple[int, ...]:
    """+1 for objectives to minimise, -1 for those to maximise."""
    return tuple(1 if n == DISRUPTION else Objective(n).sense for n in names)


def check_time_limit(time_limit: float) -> float:
    """``time_limit`` as a float, refused unless positive and finite."""
    if isinstance(time_limit, bool) or not isinstance(time_limit, int | float):
        raise InvalidValueError(
            f"time_limit must be a number, got {time_limit!r}", field="time_limit"
        )
    if not (time_limit > 0 and math.isfinite(time_limit)):
        raise InvalidValueError(
            f"time_limit must be > 0 seconds, got {time_limit!r}", field="time_limit"
        )
    return float(time_limit)


def assignment_distance(a: Mapping[str, str], b: Mapping[str, str], tasks: Sequence[str]) -> int:
    """Tasks among ``tasks`` whose agent differs between ``a`` and ``b`` (None counts)."""
    return sum(1 for t in tasks if a.get(t) != b.get(t))


def disruption(problem: Problem, solution: Solution, previous: Solution) -> float:
    """``minimize_disruption`` of ``solution`` against ``previous`` (see the module docstring)."""
    known = [
        t.id
        for t in problem.tasks
        if t.id in previous.assignments or t.id in set(previous.unassigned)
    ]
    return float(assignment_distance(solution.assignments, previous.assignments, known))


def objective_values(
    problem: Problem, solution: Solution, names: Sequence[str], previous: Solution | None
) -> tuple[float, ...]:
    """The values of ``names`` for ``solution`` (raw, each in its own sense)."""
    out = []
    for n in names:
        if n == DISRUPTION:
            assert previous is not None  # parse_objectives refuses it otherwise
            out.append(disruption(problem, solution, previous))
        else:
            out.append(float(solution.objectives[n]))
    return tuple(out)
