"""How the classical heuristics compare plans: :func:`plan_key` and fast ways to compute it.

:func:`plan_key` is the reference: (penalty, objective key..., spread), where
the penalty is lateness past windows plus load over capacity, so repairing a
plan comes before improving its objectives. The local search
(:mod:`~quantum_planner.solvers.local_search`) evaluates thousands of plans:
:class:`PlanEvaluator` replays the same computation from per-pair numbers
cached once, and :class:`AdditivePlan` scores a move in O(1) from running
totals when the order of tasks cannot change the key (:func:`timing_matters`).
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Callable, Mapping
from operator import itemgetter

from quantum_planner.model import Objective, Problem
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import Schedule

__all__ = [
    "AdditivePlan",
    "Change",
    "PlanEvaluator",
    "additive_descent",
    "additive_kick",
    "plan_key",
    "timing_matters",
]

_first = itemgetter(0)
ROUND = 9  # keys are rounded so that float noise never counts as an improvement


def _penalty(problem: Problem, assignments: Mapping[str, str], schedule: Schedule) -> float:
    """How far a plan is from feasible: lateness past windows plus load over capacity."""
    total = 0.0
    used: dict[str, float] = {}
    for aid, entries in schedule.items():
        agent = problem.agent(aid)
        for tid, (_, end) in entries.items():
            _, hi = problem.window_on(problem.task(tid), agent)
            if hi is not None and end > hi:
                total += end - hi
    for tid, aid in assignments.items():
        used[aid] = used.get(aid, 0.0) + problem.task(tid).load_on(aid)
    if problem.constraints.capacity_limit:
        for aid, load in used.items():
            cap = problem.agent(aid).capacity
            if cap is not None and load > cap:
                total += load - cap
    return total


def plan_key(
    problem: Problem, assignments: Mapping[str, str], schedule: Schedule
) -> tuple[float, ...]:
    """What the heuristics minimise: (penalty, objective key..., spread of agents' end times).

    The last component breaks ties (plateaus of the makespan) towards plans whose
    agents finish evenly early, which lets single moves make progress. It is 0
    unless the makespan is an objective: elsewhere it would only make the search
    chase end times that nobody asked for.
    """
    values = evaluate(problem, assignments, schedule)
    spread = 0.0
    if Objective.MINIMIZE_MAKESPAN in problem.objectives:
        ends = (max((e for _, e in ts.values()), default=0.0) for ts in schedule.values())
        spread = sum(e * e for e in ends)
    key = (_penalty(problem, assignments, schedule), *objective_key(problem, values), spread)
    return tuple(round(x, ROUND) for x in key)


class PlanEvaluator:
    """:func:`plan_key` for many candidate plans of one problem, fast.

    The local search evaluates thousands of plans; this precomputes every per-task
    and per-(task, agent) number once and then replays exactly what
    :func:`~quantum_planner.scheduling.build_schedule` and :func:`plan_key` compute
    (the tests check that the two agree), about ten times faster.
    """

    def __init__(self, problem: Problem) -> None:
        self.p = problem
        self.prereq = {t.id: tuple(problem.prerequisites(t.id)) for t in problem.tasks}
        self.succ: dict[str, list[str]] = {t.id: [] for t in problem.tasks}
        for t, deps in self.prereq.items():
            for d in deps:
                self.succ[d].append(t)
        self.prio = {t.id: t.priority for t in problem.tasks}
        self.agents = [a.id for a in problem.agents]
        limit = problem.constraints.capacity_limit
        self.cap = {a.id: a.capacity if limit else None for a in problem.agents}
        self.senses = [(o.value, o.sense) for o in problem.objectives]
        self.makespan_matters = Objective.MINIMIZE_MAKESPAN in problem.objectives
        self._pairs: dict[tuple[str, str], tuple[float, float, float, float, float]] = {}

    def pair(self, tid: str, aid: str) -> tuple[float, float, float, float, float]:
        """(duration, earliest start, latest end, load, cost) of ``tid`` on ``aid``."""
        got = self._pairs.get((tid, aid))
        if got is None:
            task, agent = self.p.task(tid), self.p.agent(aid)
            lo, hi = self.p.window_on(task, agent)
            got = (
                task.duration_on(aid),
                lo,
                math.inf if hi is None else hi,
                task.load_on(aid),
                task.cost_on(agent),
            )
            self._pairs[(tid, aid)] = got
        return got

    def sequence(self, assignments: Mapping[str, str], rank: Mapping[str, float]) -> list[str]:
        """Assigned tasks in rank order, made topological (lowest rank first among ready)."""
        tasks = sorted(assignments, key=lambda t: rank.get(t, math.inf))
        pos = {t: i for i, t in enumerate(tasks)}
        indeg = {t: sum(1 for d in self.prereq[t] if d in pos) for t in tasks}
        heap = [(pos[t], t) for t in tasks if indeg[t] == 0]
        heapq.heapify(heap)
        out = []
        while heap:
            _, t = heapq.heappop(heap)
            out.append(t)
            for s in self.succ[t]:
                if s in indeg:
                    indeg[s] -= 1
                    if indeg[s] == 0:
                        heapq.heappush(heap, (pos[s], s))
        return out

    def key(
        self, assignments: Mapping[str, str], rank: Mapping[str, float], *, insert: bool = False
    ) -> tuple:
        ready = dict.fromkeys(self.agents, 0.0)
        intervals: dict[str, list[tuple[float, float]]] = {a: [] for a in self.agents}
        busy = dict.fromkeys(self.agents, 0.0)
        used = dict.fromkeys(self.agents, 0.0)
        end_of: dict[str, float] = {}
        penalty = cost = priority = 0.0
        for tid in self.sequence(assignments, rank):
            aid = assignments[tid]
            dur, lo, hi, load, c = self.pair(tid, aid)
            est = lo
            for d in self.prereq[tid]:
                e = end_of.get(d)
                if e is not None and e > est:
                    est = e
            start = est if est > ready[aid] else ready[aid]
            if insert:  # scheduling._earliest_gap and _insert_interval, inlined
                iv, prev = intervals[aid], 0.0
                for s0, e0 in iv:
                    st = est if est > prev else prev
                    if st + dur <= s0:
                        start = st
                        break
                    if e0 > prev:
                        prev = e0
                else:
                    start = est if est > prev else prev
                bisect.insort_left(iv, (start, start + dur), key=_first)
            end = start + dur
            end_of[tid] = end
            if end > ready[aid]:
                ready[aid] = end
            if end > hi:
                penalty += end - hi
            busy[aid] += dur
            used[aid] += load
            cost += c
            priority += self.prio[tid]
        for aid, load in used.items():
            cap = self.cap[aid]
            if cap is not None and load > cap:
                penalty += load - cap
        n = len(busy)
        mean = sum(busy.values()) / n if n else 0.0
        values = {
            "minimize_makespan": max(end_of.values(), default=0.0),
            "maximize_priority": priority,
            "balance_load": sum((b - mean) ** 2 for b in busy.values()) / n if n else 0.0,
            "minimize_cost": cost,
        }
        spread = sum(r * r for r in ready.values()) if self.makespan_matters else 0.0
        key = (penalty, *(sense * values[name] for name, sense in self.senses), spread)
        return tuple(round(x, ROUND) for x in key)


def timing_matters(problem: Problem) -> bool:
    """Whether the order of tasks can change the key (else reordering moves are skipped)."""
    c = problem.constraints
    return (
        Objective.MINIMIZE_MAKESPAN in problem.objectives
        or problem.time_horizon is not None
        or (c.time_windows and any(t.latest_finish is not None for t in problem.tasks))
        or (c.availability and any(a.available_until is not None for a in problem.agents))
    )


Change = list[tuple[str, str | None, str | None]]  # (task, from agent, to agent); None: out


class AdditivePlan:
    """O(1) evaluation of moves where order cannot matter (see :func:`timing_matters`).

    Then every objective in the key and the penalty (load over capacity) are sums
    over agents, so a move that touches two agents is scored from running totals
    (per-agent load and busy time, total cost and priority) without rescheduling.
    Generalized assignment problems take this path.
    """

    def __init__(self, problem: Problem, assignments: Mapping[str, str], ev: PlanEvaluator) -> None:
        self.ev = ev
        self.cap = {a: math.inf if ev.cap[a] is None else ev.cap[a] for a in ev.agents}
        self.reset(assignments)

    def reset(self, assignments: Mapping[str, str]) -> None:
        ev = self.ev
        self.assign = dict(assignments)
        self.used = dict.fromkeys(ev.agents, 0.0)
        self.busy = dict.fromkeys(ev.agents, 0.0)
        self.cost = self.prio = 0.0
        for t, a in self.assign.items():
            dur, _, _, load, c = ev.pair(t, a)
            self.used[a] += load
            self.busy[a] += dur
            self.cost += c
            self.prio += ev.prio[t]
        self.sum_b = sum(self.busy.values())
        self.sum_b2 = sum(b * b for b in self.busy.values())
        self.excess = sum(max(0.0, self.used[a] - self.cap[a]) for a in ev.agents)
        self.key = self._key(self.excess, self.cost, self.prio, self.sum_b, self.sum_b2)

    def _key(self, excess: float, cost: float, prio: float, sb: float, sb2: float) -> tuple:
        n = len(self.ev.agents)
        var = max(0.0, sb2 / n - (sb / n) ** 2) if n else 0.0
        values = {
            "minimize_makespan": 0.0,  # never an objective on this path
            "maximize_priority": prio,
            "balance_load": var,
            "minimize_cost": cost,
        }
        key = (excess, *(sense * values[name] for name, sense in self.ev.senses))
        return tuple(round(x, ROUND) for x in key)

    def _deltas(self, change: Change) -> tuple[dict[str, list[float]], float, float]:
        per: dict[str, list[float]] = {}  # agent -> [load delta, busy delta]
        dcost = dprio = 0.0
        for t, src, dst in change:
            for agent, sign in ((src, -1.0), (dst, 1.0)):
                if agent is None:
                    continue
                dur, _, _, load, c = self.ev.pair(t, agent)
                d = per.setdefault(agent, [0.0, 0.0])
                d[0] += sign * load
                d[1] += sign * dur
                dcost += sign * c
            dprio += self.ev.prio[t] * ((dst is not None) - (src is not None))
        return per, dcost, dprio

    def score(self, change: Change) -> tuple:
        per, dcost, dprio = self._deltas(change)
        excess, sb, sb2 = self.excess, self.sum_b, self.sum_b2
        for a, (dl, db) in per.items():
            u, cap, b = self.used[a], self.cap[a], self.busy[a]
            excess += max(0.0, u + dl - cap) - max(0.0, u - cap)
            sb += db
            sb2 += (b + db) ** 2 - b * b
        return self._key(excess, self.cost + dcost, self.prio + dprio, sb, sb2)

    def apply(self, change: Change, key: tuple) -> None:
        per, dcost, dprio = self._deltas(change)
        for a, (dl, db) in per.items():
            u, cap, b = self.used[a], self.cap[a], self.busy[a]
            self.excess += max(0.0, u + dl - cap) - max(0.0, u - cap)
            self.sum_b += db
            self.sum_b2 += (b + db) ** 2 - b * b
            self.used[a] = u + dl
            self.busy[a] = b + db
        self.cost += dcost
        self.prio += dprio
        for t, _, dst in change:
            if dst is None:
                del self.assign[t]
            else:
                self.assign[t] = dst
        self.key = key


def additive_descent(
    st: AdditivePlan,
    problem: Problem,
    eligible: Mapping[str, list[str]],
    rng: random.Random,
    out_of_time: Callable[[], bool],
    counter: list[int],
) -> int:
    """Best-shift / swap / add-drop passes until none improves; returns the pass count."""
    optional = [t.id for t in problem.tasks if t.optional]
    has_dependents = {d for t in problem.tasks for d in problem.prerequisites(t.id)}
    passes = 0
    improved = True
    while improved and not out_of_time():
        improved, passes = False, passes + 1
        tasks = list(st.assign)
        rng.shuffle(tasks)
        for t in tasks:
            if out_of_time():
                return passes
            a = st.assign.get(t)
            if a is None:
                continue
            moves: list[Change] = [[(t, a, b)] for b in eligible[t] if b != a]
            for u in rng.sample(tasks, min(len(tasks), 30)):
                b = st.assign.get(u)
                if b is not None and b != a and b in eligible[t] and a in eligible[u]:
                    moves.append([(t, a, b), (u, b, a)])
            improved |= _take_best(st, moves, counter)
        for t in sorted(optional, key=lambda _: rng.random()):
            a = st.assign.get(t)
            if a is not None:
                if t not in has_dependents or not any(
                    t in problem.prerequisites(x) for x in st.assign
                ):
                    improved |= _take_best(st, [[(t, a, None)]], counter)
            elif all(d in st.assign for d in problem.prerequisites(t)):
                improved |= _take_best(st, [[(t, None, b)] for b in eligible[t]], counter)
    return passes


def additive_kick(
    st: AdditivePlan, problem: Problem, eligible: Mapping[str, list[str]], rng: random.Random
) -> None:
    """Move one to three tasks at random: to another agent, or in/out if optional."""
    pool = [t.id for t in problem.tasks if eligible[t.id] and (t.optional or t.id in st.assign)]
    for t in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
        a = st.assign.get(t)
        b: str | None = rng.choice(eligible[t])
        if problem.task(t).optional and rng.random() < 0.5:
            b = None if a is not None else b  # toggle
        if b is None and any(t in problem.prerequisites(x) for x in st.assign):
            continue  # a done task depends on it
        if a is None and any(d not in st.assign for d in problem.prerequisites(t)):
            continue  # its prerequisites are not done
        if a != b:
            st.apply([(t, a, b)], st.score([(t, a, b)]))


def _take_best(st: AdditivePlan, moves: list[Change], counter: list[int]) -> bool:
    """Apply the best of ``moves`` if it improves the key."""
    best, best_key = None, st.key
    for m in moves:
        counter[0] += 1
        k = st.score(m)
        if k < best_key:
            best, best_key = m, k
    if best is None:
        return False
    st.apply(best, best_key)
    return True
