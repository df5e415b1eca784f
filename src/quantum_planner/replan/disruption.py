"""How much a new plan disturbs the previous one, and what that disturbance weighs.

Counted over the tasks present in both plans (tasks added or removed by the
changes are not disruption, they are the change itself):

* ``reassigned``: tasks now on another agent;
* ``moved``: tasks on the same agent whose start changed;
* ``unchanged``: tasks on the same agent at the same start;
* ``start_shift``: total ``|new start - old start|`` over the tasks in both plans
  (reassigned ones included).

A task the previous plan left unassigned and the new plan assigns counts as
reassigned, and so does the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantum_planner.errors import ChangeError

__all__ = ["DisruptionWeights", "measure"]

EPS = 1e-6
Intervals = Mapping[str, tuple[str, float, float]]  # task -> (agent, start, end)


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


def diff(before: Any, after: Any) -> list[dict[str, Any]]:
    """Per task that differs between two plans: agent and start before and after.

    ``change`` is ``added``, ``removed``, ``reassigned`` or ``moved``; tasks the
    same in both are left out.
    """
    old, new = intervals(before), intervals(after)
    rows: list[dict[str, Any]] = []
    for tid in sorted(set(old) | set(new)):
        o, n = old.get(tid), new.get(tid)
        if o is not None and n is not None and o[0] == n[0] and abs(o[1] - n[1]) <= EPS:
            continue
        kind = (
            "added"
            if o is None
            else "removed"
            if n is None
            else "reassigned"
            if o[0] != n[0]
            else "moved"
        )
        rows.append(
            {
                "task": tid,
                "change": kind,
                "agent_before": o[0] if o else None,
                "start_before": o[1] if o else None,
                "agent_after": n[0] if n else None,
                "start_after": n[1] if n else None,
            }
        )
    return rows
