"""Independent checker: every constraint a plan violates, recomputed from scratch.

This module deliberately shares no code with the solvers: it does not import
``scheduling``, ``objectives`` or ``solvers``, and it reads the problem's raw
fields (durations, loads, dependencies, windows) rather than the model's helper
methods that solvers use. A bug in a solver, or in a helper the solvers share,
therefore cannot hide itself here.

Each rule is one small function named for the constraint it checks; it returns
a list of :class:`~quantum_planner.model.Violation` whose ``constraint`` is one
of the stable names in :data:`CONSTRAINTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from quantum_planner.model import Agent, Problem, Solution, Task, Violation

__all__ = ["CONSTRAINTS", "RULES", "check", "validate"]

EPS = 1e-6

#: Stable names of every constraint kind the validator reports.
CONSTRAINTS: tuple[str, ...] = (
    "unknown_reference",
    "unassigned",
    "skill_match",
    "allowed_agents",
    "capacity_limit",
    "schedule_mismatch",
    "duration_mismatch",
    "overlap",
    "precedence",
    "time_window",
    "availability",
    "time_horizon",
    "objective_mismatch",
)


@dataclass
class _Plan:
    """The solution restated against the problem; references already known to be valid."""

    problem: Problem
    solution: Solution
    tasks: dict[str, Task]
    agents: dict[str, Agent]
    # task -> agent, only pairs whose ids both exist
    assigned: dict[str, str] = field(default_factory=dict)
    # task -> (agent it is scheduled under, start, end), first occurrence only
    timed: dict[str, tuple[str, float, float]] = field(default_factory=dict)


def _plan(problem: Problem, solution: Solution) -> _Plan:
    tasks = {t.id: t for t in problem.tasks}
    agents = {a.id: a for a in problem.agents}
    plan = _Plan(problem, solution, tasks, agents)
    for tid, aid in solution.assignments.items():
        if tid in tasks and aid in agents:
            plan.assigned[tid] = aid
    for aid, entries in solution.schedule.items():
        for tid, (start, end) in entries.items():
            if tid in tasks and aid in agents and tid not in plan.timed:
                plan.timed[tid] = (aid, float(start), float(end))
    return plan


def _v(constraint: str, items: list[str], amount: float, message: str) -> Violation:
    return Violation(constraint=constraint, items=items, amount=float(amount), message=message)


def _duration(task: Task, agent_id: str) -> float:
    return task.durations.get(agent_id, task.duration)


def _load(task: Task, agent_id: str) -> float:
    return task.loads.get(agent_id, task.load)


def _prerequisites(problem: Problem, task: Task) -> list[str]:
    c = problem.constraints
    if c.precedence is False:
        return []
    extra = c.precedence.get(task.id, []) if isinstance(c.precedence, dict) else []
    return list(dict.fromkeys([*task.dependencies, *extra]))


# --- rules --------------------------------------------------------------------


def unknown_reference(plan: _Plan) -> list[Violation]:
    """Every task and agent the solution names exists in the problem."""
    out = []
    for tid, aid in plan.solution.assignments.items():
        if tid not in plan.tasks:
            out.append(_v("unknown_reference", [tid], 1, f"assignment of unknown task {tid!r}"))
        if aid not in plan.agents:
            out.append(
                _v(
                    "unknown_reference",
                    [tid, aid],
                    1,
                    f"task {tid!r} given to unknown agent {aid!r}",
                )
            )
    for aid, entries in plan.solution.schedule.items():
        if aid not in plan.agents:
            out.append(_v("unknown_reference", [aid], 1, f"schedule names unknown agent {aid!r}"))
        for tid in entries:
            if tid not in plan.tasks:
                out.append(
                    _v("unknown_reference", [tid], 1, f"schedule names unknown task {tid!r}")
                )
    return out


def unassigned(plan: _Plan) -> list[Violation]:
    """Every mandatory (non-optional) task is assigned."""
    return [
        _v("unassigned", [t.id], 1, f"mandatory task {t.id!r} is not assigned{_why_free(plan, t)}")
        for t in plan.problem.tasks
        if not t.optional and t.id not in plan.assigned
    ]


def _why_free(plan: _Plan, task: Task) -> str:
    """A hint for an unassigned task: when every agent able to do it is full, say so."""
    c = plan.problem.constraints
    if not c.capacity_limit:
        return ""
    able = [
        a
        for a in plan.problem.agents
        if (task.allowed_agents is None or a.id in task.allowed_agents)
        and (not c.skill_match or set(task.required_skills) <= set(a.skills))
    ]
    used = {a.id: 0.0 for a in able}
    for tid, aid in plan.assigned.items():
        if aid in used:
            used[aid] += _load(plan.tasks[tid], aid)
    full = [
        a
        for a in able
        if a.capacity is not None and used[a.id] + _load(task, a.id) > a.capacity + EPS
    ]
    if not able or len(full) < len(able):
        return ""
    loads = ", ".join(f"{a.id!r} {used[a.id]:g}/{a.capacity:g}" for a in full)
    return f": every agent able to do it is at its capacity_limit ({loads})"


def skill_match(plan: _Plan) -> list[Violation]:
    """Each assigned agent has every skill its task requires (when skill_match is on)."""
    if not plan.problem.constraints.skill_match:
        return []
    out = []
    for tid, aid in plan.assigned.items():
        missing = sorted(set(plan.tasks[tid].required_skills) - set(plan.agents[aid].skills))
        if missing:
            out.append(
                _v(
                    "skill_match",
                    [tid, aid],
                    len(missing),
                    f"agent {aid!r} lacks skills {missing} needed by task {tid!r}",
                )
            )
    return out


def allowed_agents(plan: _Plan) -> list[Violation]:
    """A task with ``allowed_agents`` goes only to one of them."""
    out = []
    for tid, aid in plan.assigned.items():
        allowed = plan.tasks[tid].allowed_agents
        if allowed is not None and aid not in allowed:
            out.append(
                _v("allowed_agents", [tid, aid], 1, f"task {tid!r} may not go to agent {aid!r}")
            )
    return out


def capacity_limit(plan: _Plan) -> list[Violation]:
    """The total load on each agent is at most its capacity (when capacity_limit is on)."""
    if not plan.problem.constraints.capacity_limit:
        return []
    used: dict[str, float] = {}
    for tid, aid in plan.assigned.items():
        used[aid] = used.get(aid, 0.0) + _load(plan.tasks[tid], aid)
    out = []
    for aid, load in used.items():
        cap = plan.agents[aid].capacity
        if cap is not None and load > cap + EPS:
            out.append(
                _v(
                    "capacity_limit",
                    [aid],
                    load - cap,
                    f"agent {aid!r} carries load {load:g} over its capacity {cap:g}",
                )
            )
    return out


def schedule_mismatch(plan: _Plan) -> list[Violation]:
    """Each assigned task is scheduled exactly once, under its agent, and nothing else is."""
    out = []
    where: dict[str, list[str]] = {}
    for aid, entries in plan.solution.schedule.items():
        for tid in entries:
            where.setdefault(tid, []).append(aid)
    for tid, aid in plan.assigned.items():
        places = where.get(tid, [])
        if not places:
            out.append(_v("schedule_mismatch", [tid], 1, f"assigned task {tid!r} is not scheduled"))
        elif places != [aid]:
            out.append(
                _v(
                    "schedule_mismatch",
                    [tid, *places],
                    1,
                    f"task {tid!r} is assigned to {aid!r} but scheduled under {places}",
                )
            )
    for tid in where:
        if tid in plan.tasks and tid not in plan.solution.assignments:
            out.append(
                _v("schedule_mismatch", [tid], 1, f"task {tid!r} is scheduled but not assigned")
            )
    listed = set(plan.solution.unassigned)
    truly = {t.id for t in plan.problem.tasks if t.id not in plan.solution.assignments}
    if listed != truly:
        wrong = sorted(listed ^ truly)
        out.append(
            _v("schedule_mismatch", wrong, len(wrong), f"'unassigned' list is wrong for {wrong}")
        )
    return out


def duration_mismatch(plan: _Plan) -> list[Violation]:
    """Each scheduled interval lasts the task's duration on its agent, and ends after it starts."""
    out = []
    for tid, (aid, start, end) in plan.timed.items():
        want = _duration(plan.tasks[tid], aid)
        if abs((end - start) - want) > EPS:
            out.append(
                _v(
                    "duration_mismatch",
                    [tid, aid],
                    abs((end - start) - want),
                    f"task {tid!r} runs {end - start:g} on {aid!r}, its duration is {want:g}",
                )
            )
    return out


def overlap(plan: _Plan) -> list[Violation]:
    """An agent does one task at a time."""
    out = []
    for aid, entries in plan.solution.schedule.items():
        ivs = sorted((float(s), float(e), tid) for tid, (s, e) in entries.items())
        for i, (_, e1, t1) in enumerate(ivs):
            for s2, e2, t2 in ivs[i + 1 :]:
                if s2 >= e1 - EPS:
                    break  # sorted by start: no later interval overlaps this one
                amount = min(e1, e2) - s2
                if amount > EPS:
                    out.append(
                        _v(
                            "overlap",
                            [aid, t1, t2],
                            amount,
                            f"agent {aid!r} runs {t1!r} and {t2!r} at the same time",
                        )
                    )
    return out


def precedence(plan: _Plan) -> list[Violation]:
    """An assigned task starts after each prerequisite ends, and its prerequisites are done."""
    out = []
    for tid in plan.assigned:
        for dep in _prerequisites(plan.problem, plan.tasks[tid]):
            if dep not in plan.assigned:
                out.append(
                    _v(
                        "precedence",
                        [tid, dep],
                        1,
                        f"task {tid!r} is done but its prerequisite {dep!r} is not",
                    )
                )
            elif tid in plan.timed and dep in plan.timed:
                start, dep_end = plan.timed[tid][1], plan.timed[dep][2]
                if start < dep_end - EPS:
                    out.append(
                        _v(
                            "precedence",
                            [tid, dep],
                            dep_end - start,
                            f"task {tid!r} starts at {start:g}, before {dep!r} ends at {dep_end:g}",
                        )
                    )
    return out


def time_window(plan: _Plan) -> list[Violation]:
    """Each task runs inside ``[earliest_start, latest_finish]`` (when time_windows is on)."""
    if not plan.problem.constraints.time_windows:
        return []
    out = []
    for tid, (_, start, end) in plan.timed.items():
        t = plan.tasks[tid]
        if t.earliest_start is not None and start < t.earliest_start - EPS:
            out.append(
                _v(
                    "time_window",
                    [tid],
                    t.earliest_start - start,
                    f"task {tid!r} starts at {start:g}, before its earliest start "
                    f"{t.earliest_start:g}",
                )
            )
        if t.latest_finish is not None and end > t.latest_finish + EPS:
            out.append(
                _v(
                    "time_window",
                    [tid],
                    end - t.latest_finish,
                    f"task {tid!r} ends at {end:g}, after its deadline {t.latest_finish:g}",
                )
            )
    return out


def availability(plan: _Plan) -> list[Violation]:
    """Each agent works only inside its availability window (when availability is on)."""
    if not plan.problem.constraints.availability:
        return []
    out = []
    for tid, (aid, start, end) in plan.timed.items():
        a = plan.agents[aid]
        if start < a.available_from - EPS:
            out.append(
                _v(
                    "availability",
                    [aid, tid],
                    a.available_from - start,
                    f"agent {aid!r} starts {tid!r} at {start:g}, before it is available "
                    f"({a.available_from:g})",
                )
            )
        if a.available_until is not None and end > a.available_until + EPS:
            out.append(
                _v(
                    "availability",
                    [aid, tid],
                    end - a.available_until,
                    f"agent {aid!r} ends {tid!r} at {end:g}, after it leaves "
                    f"({a.available_until:g})",
                )
            )
    return out


def time_horizon(plan: _Plan) -> list[Violation]:
    """Nothing starts before time 0 and everything ends by the problem's horizon."""
    out = []
    horizon = plan.problem.time_horizon
    for tid, (_, start, end) in plan.timed.items():
        if start < -EPS:
            out.append(_v("time_horizon", [tid], -start, f"task {tid!r} starts before time 0"))
        if horizon is not None and end > horizon + EPS:
            out.append(
                _v(
                    "time_horizon",
                    [tid],
                    end - horizon,
                    f"task {tid!r} ends at {end:g}, after the time horizon {horizon:g}",
                )
            )
    return out


def _recomputed_objectives(plan: _Plan) -> dict[str, float]:
    """The four objective values, recomputed from the definitions in docs/MODEL.md."""
    ends = [float(e) for entries in plan.solution.schedule.values() for _, e in entries.values()]
    busy = {aid: 0.0 for aid in plan.agents}
    cost = 0.0
    for tid, aid in plan.assigned.items():
        task, agent = plan.tasks[tid], plan.agents[aid]
        dur = _duration(task, aid)
        busy[aid] += dur
        cost += task.costs[aid] if aid in task.costs else agent.cost_rate * dur
    n = len(busy)
    mean = sum(busy.values()) / n if n else 0.0
    return {
        "minimize_makespan": max(ends, default=0.0),
        "maximize_priority": sum(plan.tasks[t].priority for t in plan.assigned),
        "balance_load": sum((b - mean) ** 2 for b in busy.values()) / n if n else 0.0,
        "minimize_cost": cost,
    }


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= EPS * max(1.0, abs(a), abs(b))


def objective_mismatch(plan: _Plan) -> list[Violation]:
    """The reported makespan and objective values equal their recomputation."""
    true = _recomputed_objectives(plan)
    out = []
    reported = [("makespan", plan.solution.makespan, true["minimize_makespan"])]
    reported += [(k, v, true[k]) for k, v in plan.solution.objectives.items() if k in true]
    for name, got, want in reported:
        if not _close(got, want):
            out.append(
                _v(
                    "objective_mismatch",
                    [name],
                    abs(got - want),
                    f"reported {name} is {got:g}, the plan's is {want:g}",
                )
            )
    return out


Rule = Callable[[_Plan], list[Violation]]

#: Every rule, in the order violations are listed.
RULES: tuple[Rule, ...] = (
    unknown_reference,
    unassigned,
    skill_match,
    allowed_agents,
    capacity_limit,
    schedule_mismatch,
    duration_mismatch,
    overlap,
    precedence,
    time_window,
    availability,
    time_horizon,
    objective_mismatch,
)


def _violations(problem: Problem, solution: Solution) -> Iterator[Violation]:
    plan = _plan(problem, solution)
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
