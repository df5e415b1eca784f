"""How much a new plan disturbs the previous one: the per-task difference of two plans.

The disruption measure, its weights and the rule re-planning picks plans by live in
:mod:`quantum_planner.disruption` (one place for every solver path); they are
re-exported here.
"""

from __future__ import annotations

from typing import Any

from quantum_planner.disruption import EPS, DisruptionWeights, intervals, measure

__all__ = ["DisruptionWeights", "diff", "intervals", "measure"]


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
