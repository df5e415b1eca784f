"""Per-constraint score analysis of a plan (in the spirit of Timefold's ScoreAnalysis).

For each rule of the constraint catalogue (:mod:`quantum_planner.constraints`):
how many instances were checked, which are *violated* (the matches, each with
its amount and a justifying message, summed into ``penalty``), which *bind* (no
slack left: a capacity used in full, a precedence with no gap, a deadline met
exactly) and the least slack of the rest. For each objective, in lexicographic
order: its value and what contributes to it (per agent, and the critical chain
for the makespan). The independent validator's verdict comes with it.

Used by ``QuantumTaskPlanner.analyze``, ``quantum-planner analyze`` and
``GET /api/jobs/{id}/analysis``.
"""

from __future__ import annotations

from typing import Any

from quantum_planner.constraints import RULES
from quantum_planner.constraints.base import SLACK_EPS, Plan, make_plan
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.validate import validate

__all__ = ["analyse", "analyze"]


def analyse(problem: Problem, solution: Solution) -> dict[str, Any]:
    """The analysis of ``solution`` against ``problem`` (pure; no I/O)."""
    plan = make_plan(problem, solution)
    tallies = [r.analyse(plan) for r in RULES]
    violated = [t.constraint for t in tallies if t.status == "violated"]
    checked = validate(problem, solution)
    per_agent = _per_agent(plan)
    return {
        "feasible": solution.feasible and not violated and not checked,
        "reported_feasible": solution.feasible,
        "reported_violations": [v.model_dump(mode="json") for v in solution.violations],
        "validator_violations": [v.model_dump(mode="json") for v in checked],
        "violated_constraints": violated,
        "binding_constraints": [t.constraint for t in tallies if t.status == "binding"],
        "constraints": [t.as_dict() for t in tallies],
        "objectives": _objectives(plan, per_agent),
        "agents": [{"agent": a, **v} for a, v in per_agent.items()],
        "unassigned": [t.id for t in problem.tasks if t.id not in solution.assignments],
    }


#: American spelling, matching ``QuantumTaskPlanner.analyze`` and the CLI command.
analyze = analyse


def _per_agent(plan: Plan) -> dict[str, dict[str, float]]:
    """Per agent: tasks, load, busy time, finish, cost and priority of what it does."""
    p = plan.problem
    out: dict[str, dict[str, float]] = {}
    for a in p.agents:
        ids = plan.tasks_of[a.id]
        ends = [iv[1] for t in ids if (iv := plan.interval[t]) is not None]
        out[a.id] = {
            "tasks": len(ids),
            "load": sum(p.task(t).load_on(a.id) for t in ids),
            "busy": sum(p.task(t).duration_on(a.id) for t in ids),
            "finish": max(ends, default=0.0),
            "cost": sum(p.task(t).cost_on(a) for t in ids),
            "priority": sum(p.task(t).priority for t in ids),
        }
    return out


def _critical_chain(plan: Plan) -> list[str]:
    """Tasks ending at the makespan and, backwards, what each waited for with no gap."""
    done = {t: iv for t, iv in plan.interval.items() if iv is not None}
    if not done:
        return []
    assignments = plan.assigned
    last = max(done, key=lambda t: done[t][1])
    chain = [last]
    while True:
        cur = chain[-1]
        start = done[cur][0]
        agent = assignments[cur]
        before = [
            t
            for t, iv in done.items()
            if t not in chain
            and abs(iv[1] - start) <= SLACK_EPS
            and (assignments[t] == agent or t in plan.problem.prerequisites(cur))
        ]
        if not before:
            return list(reversed(chain))
        chain.append(before[0])


def _objectives(plan: Plan, per_agent: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    problem, solution = plan.problem, plan.solution
    out = []
    for rank, obj in enumerate(problem.objectives):
        item: dict[str, Any] = {
            "objective": obj.value,
            "rank": rank,
            "sense": "maximize" if obj.sense < 0 else "minimize",
            "value": solution.objectives.get(obj.value),
        }
        if obj is Objective.MINIMIZE_MAKESPAN:
            item["contributions"] = {a: v["finish"] for a, v in per_agent.items()}
            item["critical_chain"] = _critical_chain(plan)
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
