"""From a sample back to a plan: decode, repair, schedule, and a quick feasibility check.

The checks here are the solver's own, to steer its search (adaptive penalties,
best-of-samples); the planner still runs the independent validator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from quantum_planner.formulation.bqm import QUBOBuilder
from quantum_planner.model import Agent, Objective, Problem, Solution, Task, Violation
from quantum_planner.objectives import objective_key, tolerant_best
from quantum_planner.scheduling import Schedule, build_schedule
from quantum_planner.solution import make_solution

__all__ = ["best_of", "decode", "plan_violations", "repair", "schedule_plan"]

_EPS = 1e-9


def decode(
    builder: QUBOBuilder,
    x: np.ndarray | Mapping[Any, int],
    *,
    backend: str = "qubo",
    do_repair: bool = True,
    **fields: Any,
) -> Solution:
    """The :class:`Solution` of one sample (a 0/1 row in builder order, or a label mapping).

    Duplicates are resolved (and, with ``do_repair``, missing mandatory tasks
    assigned and overloaded agents relieved) by :func:`repair`; the schedule
    follows the sample's start slots in time-indexed mode, otherwise the list
    scheduler. ``feasible`` and ``violations`` come from :func:`plan_violations`.
    """
    if isinstance(x, Mapping):
        x = np.asarray([x.get(v, 0) for v in builder.labels], dtype=np.int8)
    choices = builder.decode_x(x)
    problem = builder.problem
    starts = {t: float(s) for t, opts in choices.items() for _, s in opts[:1] if s is not None}
    candidates = {t: [a for a, _ in opts] for t, opts in choices.items()}
    if do_repair:
        assignments = repair(problem, candidates)
    else:
        assignments = {t: opts[0] for t, opts in candidates.items()}
    schedule = schedule_plan(problem, assignments, starts)
    violations = plan_violations(problem, assignments, schedule)
    return make_solution(
        problem,
        assignments,
        schedule,
        backend=backend,
        feasible=not violations,
        violations=[
            Violation(constraint=k, items=items, amount=float(len(items)))
            for k, items in violations.items()
        ],
        status="feasible" if not violations else "infeasible",
        **fields,
    )


def schedule_plan(
    problem: Problem, assignments: Mapping[str, str], starts: Mapping[str, float] | None = None
) -> Schedule:
    """Times for an assignment: tasks taken in order of ``starts`` (if given), each as early
    as possible (never later than its slot, so a feasible slotted plan stays feasible)."""
    order = None
    if starts:
        order = sorted(assignments, key=lambda t: (starts.get(t, float("inf")), t))
    has_prec = any(problem.prerequisites(t) for t in assignments)
    return build_schedule(problem, assignments, order, insert=has_prec)


def plan_violations(
    problem: Problem, assignments: Mapping[str, str], schedule: Schedule
) -> dict[str, list[str]]:
    """Hard constraints a plan breaks, by catalogue rule, naming the items (empty: feasible)."""
    out: dict[str, list[str]] = {}
    c = problem.constraints
    for t in problem.tasks:
        a = assignments.get(t.id)
        if a is None:
            if not t.optional:
                out.setdefault("unassigned", []).append(t.id)
        elif not problem.is_eligible(t, problem.agent(a)):
            out.setdefault(_ineligible(problem, t, problem.agent(a)), []).append(t.id)
    if c.capacity_limit:
        for a, used in _loads(problem, assignments).items():
            cap = problem.agent(a).capacity
            if cap is not None and used > cap + _EPS:
                out.setdefault("capacity_limit", []).append(a)
    for a, tasks in schedule.items():
        agent = problem.agent(a)
        for tid, (start, end) in tasks.items():
            rule = _outside(problem, problem.task(tid), agent, start, end)
            if rule:
                out.setdefault(rule, []).append(tid)
    for t in problem.tasks:
        if t.id not in assignments:
            continue
        for d in problem.prerequisites(t.id):
            if d not in assignments:
                out.setdefault("precedence", []).append(t.id)
    return out


def _ineligible(problem: Problem, task: Task, agent: Agent) -> str:
    """The rule an ineligible pair breaks (the first of :meth:`Problem.is_eligible`'s tests)."""
    c = problem.constraints
    if task.allowed_agents is not None and agent.id not in task.allowed_agents:
        return "allowed_agents"
    if c.skill_match and not set(task.required_skills) <= set(agent.skills):
        return "skill_match"
    if c.capacity_limit and agent.capacity is not None and task.load_on(agent.id) > agent.capacity:
        return "capacity_limit"
    d = task.duration_on(agent.id)
    if c.time_windows and _too_short(task.earliest_start or 0.0, task.latest_finish, d):
        return "time_window"
    if c.availability and _too_short(agent.available_from, agent.available_until, d):
        return "availability"
    if problem.time_horizon is not None and _too_short(0.0, problem.time_horizon, d):
        return "time_horizon"
    # only the windows together leave too little time
    return "time_window" if c.time_windows else "availability"


def _too_short(lo: float, hi: float | None, duration: float) -> bool:
    return hi is not None and hi - lo < duration


def _outside(problem: Problem, task: Task, agent: Agent, start: float, end: float) -> str | None:
    """The rule an interval outside ``problem.window_on(task, agent)`` breaks, if any."""
    lo, hi = problem.window_on(task, agent)
    if start >= lo - _EPS and (hi is None or end <= hi + _EPS):
        return None
    c = problem.constraints
    if c.time_windows and (
        (task.earliest_start is not None and start < task.earliest_start - _EPS)
        or (task.latest_finish is not None and end > task.latest_finish + _EPS)
    ):
        return "time_window"
    if c.availability and (
        start < agent.available_from - _EPS
        or (agent.available_until is not None and end > agent.available_until + _EPS)
    ):
        return "availability"
    return "time_horizon"


def _loads(problem: Problem, assignments: Mapping[str, str]) -> dict[str, float]:
    used = {a.id: 0.0 for a in problem.agents}
    for t, a in assignments.items():
        used[a] += problem.task(t).load_on(a)
    return used


def repair(problem: Problem, assignments: Mapping[str, str | Sequence[str]]) -> dict[str, str]:
    """Make a near-feasible assignment feasible where a greedy fix can.

    1. Each task keeps one eligible agent among those given (the cheapest move for
       the problem's objective); unknown tasks and ineligible agents are dropped.
    2. Agents over capacity (or over their busy-time budget: horizon,
       availability) shed tasks, largest load first, until they fit.
    3. Unassigned mandatory tasks and their prerequisites (hardest first) go to the
       best eligible agent with room, else make room by moving one task elsewhere;
       under ``maximize_priority`` optional tasks are added by priority where they fit.
    4. Optional tasks whose prerequisites are not done are dropped.
    Tasks that fit nowhere stay unassigned (the plan then reports them).
    """
    budget = _Budget(problem)
    out: dict[str, str] = {}
    for t in problem.tasks:
        given = assignments.get(t.id)
        if given is None:
            continue
        opts = [given] if isinstance(given, str) else list(given)
        opts = [a for a in opts if a in budget.agents and problem.is_eligible(t, budget.agents[a])]
        if not opts:
            continue
        a = min(opts, key=lambda a: budget.score(t, a))
        out[t.id] = a
        budget.add(t, a)
    # 2. shed load from agents over a budget
    for a in problem.agents:
        mine = sorted(
            (tid for tid, ag in out.items() if ag == a.id),
            key=lambda tid: -problem.task(tid).load_on(a.id),
        )
        for tid in mine:
            if not budget.over(a.id):
                break
            budget.remove(problem.task(tid), a.id)
            del out[tid]
    # 3. place what is missing
    required = _required(problem)
    missing = [t for t in problem.tasks if t.id not in out and t.id in required]
    missing.sort(key=lambda t: -min((t.load_on(a.id) for a in problem.agents), default=0.0))
    extra: list[Task] = []
    if problem.objectives[0] is Objective.MAXIMIZE_PRIORITY:
        extra = sorted(
            (t for t in problem.tasks if t.id not in out and t.optional), key=lambda t: -t.priority
        )
    for t in [*missing, *extra]:
        fits = [a for a in problem.eligible_agents(t) if budget.fits(t, a.id)]
        if fits:
            a = min(fits, key=lambda ag: budget.score(t, ag.id))
            out[t.id] = a.id
            budget.add(t, a.id)
        elif t.id in required:
            _eject(problem, budget, out, t)
    # 4. a done task needs its prerequisites done: drop optional tasks that lack one
    changed = True
    while changed:
        changed = False
        for tid in list(out):
            t = problem.task(tid)
            if t.optional and any(d not in out for d in problem.prerequisites(tid)):
                budget.remove(t, out.pop(tid))
                changed = True
    return out


def _required(problem: Problem) -> set[str]:
    """Mandatory tasks and, transitively, their prerequisites (optional or not)."""
    todo = [t.id for t in problem.tasks if not t.optional]
    seen = set(todo)
    while todo:
        for d in problem.prerequisites(todo.pop()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def _eject(problem: Problem, budget: _Budget, out: dict[str, str], t: Task) -> bool:
    """Make room for ``t`` by moving one task to another agent (a one-step ejection chain)."""
    for a in sorted(problem.eligible_agents(t), key=lambda ag: budget.score(t, ag.id)):
        for uid in [u for u, ag in out.items() if ag == a.id]:
            u = problem.task(uid)
            budget.remove(u, a.id)
            if budget.fits(t, a.id):
                budget.add(t, a.id)
                dest = [
                    b for b in problem.eligible_agents(u) if b.id != a.id and budget.fits(u, b.id)
                ]
                if dest:
                    b = min(dest, key=lambda ag: budget.score(u, ag.id))
                    budget.add(u, b.id)
                    out[uid], out[t.id] = b.id, a.id
                    return True
                budget.remove(t, a.id)
            budget.add(u, a.id)
    return False


class _Budget:
    """Per-agent load and busy time against capacity and the horizon/availability."""

    def __init__(self, problem: Problem) -> None:
        self.p = problem
        self.agents = {a.id: a for a in problem.agents}
        self.load = dict.fromkeys(self.agents, 0.0)
        self.busy = dict.fromkeys(self.agents, 0.0)
        self.cap: dict[str, float | None] = {
            a.id: a.capacity if problem.constraints.capacity_limit else None for a in problem.agents
        }
        self.time: dict[str, float | None] = {}
        self.start: dict[str, float] = {}
        for a in problem.agents:
            lo, hi = 0.0, problem.time_horizon
            if problem.constraints.availability:
                lo = a.available_from
                if a.available_until is not None:
                    hi = a.available_until if hi is None else min(hi, a.available_until)
            self.start[a.id] = lo
            self.time[a.id] = None if hi is None else hi - lo
        self.primary = problem.objectives[0]

    def add(self, t: Task, a: str) -> None:
        self.load[a] += t.load_on(a)
        self.busy[a] += t.duration_on(a)

    def remove(self, t: Task, a: str) -> None:
        self.load[a] -= t.load_on(a)
        self.busy[a] -= t.duration_on(a)

    def over(self, a: str) -> bool:
        cap, time = self.cap[a], self.time[a]
        return (cap is not None and self.load[a] > cap + _EPS) or (
            time is not None and self.busy[a] > time + _EPS
        )

    def fits(self, t: Task, a: str) -> bool:
        cap, time = self.cap[a], self.time[a]
        if cap is not None and self.load[a] + t.load_on(a) > cap + _EPS:
            return False
        return time is None or self.busy[a] + t.duration_on(a) <= time + _EPS

    def score(self, t: Task, a: str) -> tuple[float, ...]:
        """Lower is better: the objective's increment, then the finish time."""
        finish = self.start[a] + self.busy[a] + t.duration_on(a)
        if self.primary is Objective.MINIMIZE_COST:
            return (t.cost_on(self.agents[a]), finish)
        return (finish, t.cost_on(self.agents[a]))


def best_of(problem: Problem, solutions: Sequence[Solution]) -> Solution:
    """Feasible before infeasible (fewest violations), then the objective key (with the
    levels' tolerances measured from the best plans without violations)."""
    clean = [s.objectives for s in solutions if not s.violations]
    best = tolerant_best(problem, clean) if any(problem.tolerances) and clean else None
    return min(solutions, key=lambda s: _rank(problem, s, best))


def _rank(problem: Problem, s: Solution, best: Mapping[str, float] | None) -> tuple[Any, ...]:
    return (sum(v.amount for v in s.violations), objective_key(problem, s.objectives, best))
