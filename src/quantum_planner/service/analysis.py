"""Per-constraint score analysis of a plan (in the spirit of Timefold's ScoreAnalysis).

For each kind of hard constraint: how many instances were checked, which are
*violated* (with the amount), which *bind* (no slack left: a capacity used in
full, a precedence with no gap, a deadline met exactly) and the least slack of
the rest. For each objective, in lexicographic order: its value and what
contributes to it (per agent, and the critical chain for the makespan).
"""

from __future__ import annotations

import itertools
from typing import Any

from quantum_planner.model import Objective, Problem, Solution

EPS = 1e-9


def _entry(name: str, enabled: bool) -> dict[str, Any]:
    return {
        "constraint": name,
        "enabled": enabled,
        "status": "inactive" if not enabled else "satisfied",
        "checked": 0,
        "violated": [],
        "binding": [],
        "min_slack": None,
    }


def _record(entry: dict[str, Any], items: list[str], slack: float | None, what: str) -> None:
    """One constraint instance: ``slack`` < 0 violated by -slack, 0 binding, None plain yes."""
    entry["checked"] += 1
    if slack is None:
        return
    if slack < -EPS:
        entry["violated"].append({"items": items, "amount": -slack, "message": what})
    elif slack <= EPS:
        entry["binding"].append({"items": items, "message": what})
    else:
        cur = entry["min_slack"]
        entry["min_slack"] = slack if cur is None else min(cur, slack)


def analyse(problem: Problem, solution: Solution) -> dict[str, Any]:
    """The analysis of ``solution`` against ``problem`` (pure; no I/O)."""
    c = problem.constraints
    interval = {t: solution.interval_of(t) for t in solution.assignments}
    kinds = {
        "assignment": _entry("assignment", True),
        "skill_match": _entry("skill_match", c.skill_match),
        "allowed_agents": _entry("allowed_agents", True),
        "capacity_limit": _entry("capacity_limit", c.capacity_limit),
        "precedence": _entry("precedence", c.precedence_enabled),
        "time_windows": _entry("time_windows", c.time_windows),
        "availability": _entry("availability", c.availability),
        "time_horizon": _entry("time_horizon", problem.time_horizon is not None),
        "no_overlap": _entry("no_overlap", True),
    }
    tasks_of: dict[str, list[str]] = {a.id: [] for a in problem.agents}
    for t in problem.tasks:
        aid = solution.assignments.get(t.id)
        if aid is None:
            if not t.optional:
                _record(kinds["assignment"], [t.id], -1.0, f"mandatory task {t.id} is unassigned")
            continue
        kinds["assignment"]["checked"] += 1
        if aid not in tasks_of:
            _record(kinds["assignment"], [t.id, aid], -1.0, f"task {t.id} on unknown agent {aid}")
            continue
        tasks_of[aid].append(t.id)
        agent = problem.agent(aid)
        if c.skill_match:
            missing = sorted(set(t.required_skills) - set(agent.skills))
            _record(
                kinds["skill_match"],
                [t.id, aid],
                -float(len(missing)) if missing else None,
                f"agent {aid} lacks {missing} for task {t.id}" if missing else "",
            )
        if t.allowed_agents is not None:
            ok = aid in t.allowed_agents
            _record(
                kinds["allowed_agents"],
                [t.id, aid],
                None if ok else -1.0,
                "" if ok else f"agent {aid} is not allowed to do task {t.id}",
            )
        iv = interval[t.id]
        if iv is None:
            continue
        start, end = iv
        if c.time_windows and t.earliest_start is not None:
            _record(
                kinds["time_windows"],
                [t.id],
                start - t.earliest_start,
                f"task {t.id} starts at its release time {t.earliest_start:g}",
            )
        if c.time_windows and t.latest_finish is not None:
            _record(
                kinds["time_windows"],
                [t.id],
                t.latest_finish - end,
                f"task {t.id} ends at {end:g}, deadline {t.latest_finish:g}",
            )
        if problem.time_horizon is not None:
            _record(
                kinds["time_horizon"],
                [t.id],
                problem.time_horizon - end,
                f"task {t.id} ends at {end:g}, horizon {problem.time_horizon:g}",
            )
        if c.precedence_enabled:
            for d in problem.prerequisites(t.id):
                div = interval.get(d)
                if div is None:
                    _record(
                        kinds["precedence"],
                        [d, t.id],
                        -1.0,
                        f"task {t.id} is planned but its prerequisite {d} is not",
                    )
                else:
                    _record(
                        kinds["precedence"],
                        [d, t.id],
                        start - div[1],
                        f"task {t.id} starts at {start:g}, prerequisite {d} ends at {div[1]:g}",
                    )
    per_agent: dict[str, dict[str, float]] = {}
    for a in problem.agents:
        ids = tasks_of[a.id]
        load = sum(problem.task(t).load_on(a.id) for t in ids)
        busy = sum(problem.task(t).duration_on(a.id) for t in ids)
        ivs = sorted(interval[t] for t in ids if interval[t] is not None)  # type: ignore[misc]
        finish = max((e for _, e in ivs), default=0.0)
        cost = sum(problem.task(t).cost_on(a) for t in ids)
        prio = sum(problem.task(t).priority for t in ids)
        per_agent[a.id] = {
            "tasks": len(ids),
            "load": load,
            "busy": busy,
            "finish": finish,
            "cost": cost,
            "priority": prio,
        }
        if c.capacity_limit and a.capacity is not None:
            _record(
                kinds["capacity_limit"],
                [a.id],
                a.capacity - load,
                f"agent {a.id} uses {load:g} of capacity {a.capacity:g}",
            )
        if c.availability and ids:
            first = min((s for s, _ in ivs), default=a.available_from)
            if a.available_from > 0 or first < 0:
                _record(
                    kinds["availability"],
                    [a.id],
                    first - a.available_from,
                    f"agent {a.id} starts work at {first:g}, available from {a.available_from:g}",
                )
            if a.available_until is not None:
                _record(
                    kinds["availability"],
                    [a.id],
                    a.available_until - finish,
                    f"agent {a.id} works until {finish:g}, available until {a.available_until:g}",
                )
        for (_s1, e1), (s2, _e2) in itertools.pairwise(ivs):
            _record(
                kinds["no_overlap"], [a.id], s2 - e1, f"agent {a.id}: tasks back to back at {e1:g}"
            )
    for entry in kinds.values():
        if entry["enabled"]:
            entry["status"] = (
                "violated" if entry["violated"] else "binding" if entry["binding"] else "satisfied"
            )
    violated = [k for k, e in kinds.items() if e["status"] == "violated"]
    checked = _validator_violations(problem, solution)
    return {
        "feasible": solution.feasible and not violated and not checked,
        "reported_feasible": solution.feasible,
        "reported_violations": [v.model_dump(mode="json") for v in solution.violations],
        "validator_violations": [v.model_dump(mode="json") for v in checked],
        "violated_constraints": violated,
        "binding_constraints": [k for k, e in kinds.items() if e["status"] == "binding"],
        "constraints": list(kinds.values()),
        "objectives": _objectives(problem, solution, per_agent, interval),
        "agents": [{"agent": a, **v} for a, v in per_agent.items()],
        "unassigned": [t.id for t in problem.tasks if t.id not in solution.assignments],
    }


def _validator_violations(problem: Problem, solution: Solution) -> list[Any]:
    """The library's independent validator, when installed (it checks objectives too)."""
    try:
        from quantum_planner.validate import validate
    except ImportError:
        return []
    return list(validate(problem, solution))


def _critical_chain(
    problem: Problem, solution: Solution, interval: dict[str, tuple[float, float] | None]
) -> list[str]:
    """Tasks ending at the makespan and, backwards, what each waited for with no gap."""
    done = {t: iv for t, iv in interval.items() if iv is not None}
    if not done:
        return []
    last = max(done, key=lambda t: done[t][1])
    chain = [last]
    while True:
        cur = chain[-1]
        start = done[cur][0]
        agent = solution.assignments[cur]
        before = [
            t
            for t, iv in done.items()
            if t not in chain
            and abs(iv[1] - start) <= EPS
            and (solution.assignments[t] == agent or t in problem.prerequisites(cur))
        ]
        if not before:
            return list(reversed(chain))
        chain.append(before[0])


def _objectives(
    problem: Problem,
    solution: Solution,
    per_agent: dict[str, dict[str, float]],
    interval: dict[str, tuple[float, float] | None],
) -> list[dict[str, Any]]:
    out = []
    for rank, obj in enumerate(problem.objectives):
        value = solution.objectives.get(obj.value)
        item: dict[str, Any] = {
            "objective": obj.value,
            "rank": rank,
            "sense": "maximize" if obj.sense < 0 else "minimize",
            "value": value,
        }
        if obj is Objective.MINIMIZE_MAKESPAN:
            item["contributions"] = {a: v["finish"] for a, v in per_agent.items()}
            item["critical_chain"] = _critical_chain(problem, solution, interval)
        elif obj is Objective.MAXIMIZE_PRIORITY:
            item["contributions"] = {a: v["priority"] for a, v in per_agent.items()}
            item["lost"] = sum(
                t.priority for t in problem.tasks if t.id not in solution.assignments
            )
        elif obj is Objective.BALANCE_LOAD:
            n = len(per_agent) or 1
            mean = sum(v["busy"] for v in per_agent.values()) / n
            item["contributions"] = {a: (v["busy"] - mean) ** 2 / n for a, v in per_agent.items()}
            item["mean_busy"] = mean
        elif obj is Objective.MINIMIZE_COST:
            item["contributions"] = {a: v["cost"] for a, v in per_agent.items()}
        out.append(item)
    return out
