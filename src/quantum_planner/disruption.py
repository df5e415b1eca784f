"""Disruption of a plan against a previous one, and **the rule** re-planning picks plans by.

This module is the one place the rule is defined; every re-planning path applies it
through :func:`rule_key` / :func:`choose` (the strategy in
:mod:`quantum_planner.replan.strategy`, CP-SAT's disruption stage, the hybrid's
disruption phase, the QUBO solver's pick among decoded samples).

The rule
--------
Plans of the changed problem compare lexicographically:

1. valid plans before invalid ones;
2. plans whose **first objective** (minimised sense, ``objective_key(...)[0]``) is at
   most the **bound** before the others, where ``bound = best + tolerance x |best|``
   and ``best`` is the best first-objective value known (of all plans compared, and
   :attr:`DisruptionTerms.best_known` when a caller knows a better one); among plans
   over the bound the smaller first objective wins;
3. among plans within the bound, the **least weighted disruption**:
   ``reassign_weight x reassigned + shift_weight x start_shift`` (:func:`measure`);
4. then the problem's own objectives in order (``objective_key``).

``tolerance`` defaults to 1% (relative). A solver that cannot compare whole plans
(a QUBO's energy, a CP-SAT stage) approximates step 2-3 as documented where it does.

Disruption is counted over the tasks present in both plans (tasks added or removed
by the changes are the change itself, not disruption):

* ``reassigned``: tasks now on another agent;
* ``moved``: tasks on the same agent whose start changed;
* ``unchanged``: tasks on the same agent at the same start;
* ``start_shift``: total ``|new start - old start|`` over the tasks in both plans
  (reassigned ones included).

A task the previous plan left unassigned and the new plan assigns counts as
reassigned, and so does the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from quantum_planner.errors import ChangeError
from quantum_planner.model import Problem, Solution
from quantum_planner.objectives import objective_key

__all__ = [
    "BEST_FIRST",
    "DisruptionTerms",
    "DisruptionWeights",
    "choose",
    "intervals",
    "measure",
    "rule_key",
    "tolerance_bound",
]

EPS = 1e-6
#: ``Solution.metadata`` key under which a solver that follows the rule reports the best
#: first-objective value (minimised sense) it found, which may belong to a plan it did not
#: return (the rule traded it for less disruption); callers comparing plans take it as
#: ``best_known``
BEST_FIRST = "best_first"
Intervals = Mapping[str, tuple[str, float, float]]  # task -> (agent, start, end)
K = TypeVar("K")


@dataclass(frozen=True)
class DisruptionWeights:
    """Weight of one reassigned task and of one time unit of start shift."""

    reassign_weight: float = 1.0
    shift_weight: float = 0.01
    tolerance: float = 0.01  # how much the primary objective may worsen to disrupt less

    @classmethod
    def parse(cls, value: DisruptionWeights | Mapping[str, Any] | None) -> DisruptionWeights:
        """From a mapping such as ``{"reassign_weight": 2}``; unknown keys are an error."""
        if value is None:
            return cls()
        if isinstance(value, DisruptionWeights):
            return value
        known = {"reassign_weight", "shift_weight", "tolerance"}
        for key, x in value.items():
            if key not in known:
                raise ChangeError(
                    f"disruption: unknown key {key!r}; use {', '.join(sorted(known))}",
                    field=f"disruption.{key}",
                )
            if isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x < 1e9:
                raise ChangeError(
                    f"disruption.{key} must be a number in [0, 1e9), got {x!r}",
                    field=f"disruption.{key}",
                )
        return cls(**{k: float(v) for k, v in value.items()})

    def cost(self, d: Mapping[str, float]) -> float:
        """Weighted disruption of a :func:`measure` result."""
        return self.reassign_weight * d["reassigned"] + self.shift_weight * d["start_shift"]


@dataclass(frozen=True)
class DisruptionTerms:
    """The previous plan and what moving away from it weighs: what a solver needs.

    ``reference`` maps each task of the previous plan that is still in the problem to
    its ``(agent, start)`` there (the agent may be gone). ``best_known``: a first-
    objective value (minimised sense) some other plan already reaches; the bound is
    ``tolerance`` above the better of it and the solver's own best.
    """

    reference: Mapping[str, tuple[str, float]]
    reassign_weight: float = 1.0
    shift_weight: float = 0.01
    tolerance: float = 0.01
    best_known: float | None = None

    @classmethod
    def of(
        cls,
        previous: Intervals,
        weights: DisruptionWeights,
        best_known: float | None = None,
    ) -> DisruptionTerms:
        """Terms from a previous plan's intervals and the re-plan's weights."""
        return cls(
            reference={t: (a, s) for t, (a, s, _) in previous.items()},
            reassign_weight=weights.reassign_weight,
            shift_weight=weights.shift_weight,
            tolerance=weights.tolerance,
            best_known=best_known,
        )

    @property
    def weights(self) -> DisruptionWeights:
        """The weights alone."""
        return DisruptionWeights(self.reassign_weight, self.shift_weight, self.tolerance)

    def cost(self, solution: Solution) -> float:
        """Weighted disruption of ``solution`` against the reference (:func:`measure`)."""
        previous = {t: (a, s, s) for t, (a, s) in self.reference.items()}
        return self.weights.cost(measure(previous, intervals(solution), set(previous)))

    def bound(self, best: float) -> float:
        """The bound of the rule, given the best first-objective value of the plans compared."""
        if self.best_known is not None:
            best = min(best, self.best_known)
        return tolerance_bound(best, self.tolerance)


def tolerance_bound(best: float, tolerance: float) -> float:
    """The worst first-objective value (minimised sense) a plan may have to stay admissible."""
    return best + tolerance * abs(best) + 1e-9


def rule_key(
    first: float, disruption: float, key: tuple[float, ...], bound: float, valid: bool = True
) -> tuple[Any, ...]:
    """The rule's sort key (smaller is better) of a plan with these values.

    ``first`` is the first objective (minimised sense), ``disruption`` the weighted
    disruption, ``key`` the whole ``objective_key``.
    """
    if not valid:
        return (2, first, disruption, key)
    if first > bound:
        return (1, first, disruption, key)
    return (0, disruption, first, key)


def choose(
    problem: Problem, plans: Iterable[tuple[K, Solution]], terms: DisruptionTerms
) -> tuple[K, Solution]:
    """The plan the rule prefers among ``(name, solution)`` pairs (at least one).

    The best first objective counts the values the plans' solvers report under
    :data:`BEST_FIRST` too.
    """
    items = list(plans)
    reported = [s.metadata.get(BEST_FIRST) for _, s in items]
    known = [float(v) for v in reported if v is not None]
    if known:
        best = min(known) if terms.best_known is None else min(*known, terms.best_known)
        terms = DisruptionTerms(
            terms.reference, terms.reassign_weight, terms.shift_weight, terms.tolerance, best
        )
    firsts = [objective_key(problem, s.objectives)[0] for _, s in items]
    feasible = [f for f, (_, s) in zip(firsts, items, strict=True) if s.feasible]
    bound = terms.bound(min(feasible or firsts))

    def key(i: int) -> tuple[Any, ...]:
        sol = items[i][1]
        okey = objective_key(problem, sol.objectives)
        return rule_key(firsts[i], terms.cost(sol), okey, bound, sol.feasible)

    return items[min(range(len(items)), key=key)]


def measure(previous: Intervals, new: Intervals, tasks: set[str] | None = None) -> dict[str, float]:
    """Disruption of ``new`` against ``previous`` over ``tasks`` (default: those in both)."""
    common = tasks if tasks is not None else set(previous) & set(new)
    reassigned = moved = unchanged = 0
    shift = 0.0
    for tid in common:
        old, cur = previous.get(tid), new.get(tid)
        if old is None and cur is None:
            continue
        if old is None or cur is None:
            reassigned += 1  # assigned in one plan only
            continue
        delta = abs(cur[1] - old[1])
        shift += delta
        if cur[0] != old[0]:
            reassigned += 1
        elif delta > EPS:
            moved += 1
        else:
            unchanged += 1
    return {
        "reassigned": float(reassigned),
        "moved": float(moved),
        "start_shift": float(shift),
        "unchanged": float(unchanged),
    }


def intervals(solution: Any) -> dict[str, tuple[str, float, float]]:
    """``task -> (agent, start, end)`` of a :class:`~quantum_planner.model.Solution`."""
    out: dict[str, tuple[str, float, float]] = {}
    for aid, entries in solution.schedule.items():
        for tid, (s, e) in entries.items():
            out[tid] = (aid, float(s), float(e))
    return out
