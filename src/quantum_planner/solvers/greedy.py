"""Classical heuristics: a regret-based constructive solver and a local search on top of it.

``GreedySolver`` ("greedy") builds a plan in one pass: among the tasks whose
prerequisites are placed, it places next the task that would lose most by not
getting its best agent (the *regret*), on that agent. Agents are compared by
(penalty, objectives in lexicographic order, finish time), where the penalty is
how late the task would end past its window and how far over capacity its agent
would go. Mandatory tasks (and the optional tasks they depend on) come first;
other optional tasks follow by priority when ``maximize_priority`` is an
objective, and only where they fit.

``LocalSearchSolver`` ("local_search") starts from that plan (or a warm start)
and applies first-improvement moves (shift a task to another agent, swap the
agents of two tasks, move a task earlier in the scheduling order, add or drop
an optional task) while they improve the key (penalty, objective key, spread),
so deadline and capacity violations are repaired before objectives are
improved. It stops at a local optimum, at the time limit, or when ``stop`` is set.
Both are deterministic for a given seed.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from quantum_planner.model import Objective, Problem, Solution, Task
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import Schedule, build_schedule, precedence_order
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution

__all__ = ["GreedySolver", "LocalSearchSolver", "plan_key"]

_first = itemgetter(0)
_BIG = 1e9  # a unit of penalty outweighs any objective difference in a regret
_ROUND = 9  # keys are rounded so that float noise never counts as an improvement


# --- shared evaluation --------------------------------------------------------


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
    return tuple(round(x, _ROUND) for x in key)


def _required(problem: Problem) -> set[str]:
    """Mandatory tasks and, transitively, every task they depend on."""
    need = [t.id for t in problem.tasks if not t.optional]
    seen = set(need)
    while need:
        for d in problem.prerequisites(need.pop()):
            if d not in seen:
                seen.add(d)
                need.append(d)
    return seen


# --- constructive -------------------------------------------------------------


_PARTS = (
    Objective.MINIMIZE_MAKESPAN,
    Objective.MAXIMIZE_PRIORITY,
    Objective.BALANCE_LOAD,
    Objective.MINIMIZE_COST,
)


@dataclass
class _Cand:
    key: tuple[float, ...]
    scalar: float  # penalty and primary objective folded together, for the regret
    agent: str
    finish: float


class _Builder:
    """Places tasks one at a time, tracking each agent's timeline, load and busy time."""

    def __init__(self, problem: Problem) -> None:
        self.p = problem
        self.ready = {a.id: 0.0 for a in problem.agents}
        self.used = {a.id: 0.0 for a in problem.agents}
        self.busy = {a.id: 0.0 for a in problem.agents}
        self.end_of: dict[str, float] = {}
        self.assignments: dict[str, str] = {}
        self.order: list[str] = []
        self.eligible = {t.id: [a.id for a in problem.eligible_agents(t)] for t in problem.tasks}
        self.index = {a.id: float(i) for i, a in enumerate(problem.agents)}
        # load that tasks only one agent can do will need on that agent: others leave it room
        self.reserved = {a.id: 0.0 for a in problem.agents}
        self.holding: set[str] = set()
        objs = problem.objectives
        primary = next((o for o in objs if o is not Objective.MAXIMIZE_PRIORITY), None)
        self.objs = [_PARTS.index(o) for o in objs]
        self.primary = _PARTS.index(primary) if primary else None
        self.ev = _Evaluator(problem)
        self.timed = _timing_matters(problem)

    def candidate(self, task: Task, aid: str) -> _Cand:
        dur, lo, hi, load, cost = self.ev.pair(task.id, aid)
        est = lo
        for d in self.ev.prereq[task.id]:
            e = self.end_of.get(d)
            if e is not None and e > est:
                est = e
        finish = max(est, self.ready[aid]) + dur
        pen = finish - hi if finish > hi else 0.0
        cap = self.ev.cap[aid]
        if cap is not None:  # None also when capacity_limit is off
            reserved = self.reserved[aid] - (load if task.id in self.holding else 0.0)
            pen += max(0.0, self.used[aid] + load + reserved - cap)
        # per objective, in _PARTS order; the agent does not change the priority gained
        parts = (finish, 0.0, self.busy[aid] + dur, cost)
        primary = parts[self.primary] if self.primary is not None else finish
        # the finish time breaks ties only where timing matters; elsewhere it would
        # change with every placement and force needless re-examination
        tie = finish if self.timed else 0.0
        key = (pen, *[parts[i] for i in self.objs], tie, self.index[aid])
        return _Cand(key, pen * _BIG + primary, aid, finish)

    def _sole(self, tid: str) -> bool:
        """Whether ``tid`` holds a reservation (one possible agent, not placed yet)."""
        return tid in self.holding

    def reserve(self, ids: set[str]) -> None:
        """Reserve capacity for the tasks of ``ids`` that only one agent may do."""
        for tid in ids:
            if len(self.eligible[tid]) == 1 and tid not in self.assignments:
                aid = self.eligible[tid][0]
                self.reserved[aid] += self.p.task(tid).load_on(aid)
                self.holding.add(tid)

    def best_two(self, task: Task) -> list[_Cand]:
        cands = sorted((self.candidate(task, a) for a in self.eligible[task.id]), key=_by_key)
        return cands[:2]

    def place(self, task: Task, aid: str) -> None:
        finish = self.candidate(task, aid).finish
        if self._sole(task.id):
            self.reserved[aid] -= task.load_on(aid)
            self.holding.discard(task.id)
        self.assignments[task.id] = aid
        self.order.append(task.id)
        self.end_of[task.id] = finish
        self.ready[aid] = finish
        self.used[aid] += task.load_on(aid)
        self.busy[aid] += task.duration_on(aid)

    def place_by_regret(self, ids: set[str], deadline: float = math.inf) -> None:
        """Place every task of ``ids`` (closed under prerequisites), highest regret first.

        Each ready task keeps its two best candidates; placing a task on agent ``a``
        only makes ``a`` worse, so only tasks whose two best include ``a`` are
        re-examined (``watch``), and a heap yields the most urgent task. Past
        ``deadline`` the rest is placed without regret, each on its best agent.
        """
        p = self.p
        pos = {t.id: i for i, t in enumerate(p.tasks)}
        waiting = {t: sum(1 for d in p.prerequisites(t) if d in ids) for t in ids}
        succ: dict[str, list[str]] = {t: [] for t in ids}
        for t in ids:
            for d in p.prerequisites(t):
                if d in ids:
                    succ[d].append(t)
        top: dict[str, list[_Cand]] = {}
        urgency: dict[str, tuple[float, ...]] = {}
        watch: dict[str, set[str]] = {a.id: set() for a in p.agents}
        heap: list[tuple[tuple[float, ...], str]] = []

        def examine(t: str) -> None:
            for c in top.get(t, []):
                watch[c.agent].discard(t)
            two = self.best_two(p.task(t))
            top[t] = two
            for c in two:
                watch[c.agent].add(t)
            urgency[t] = self._urgency(t, two, pos[t])
            heapq.heappush(heap, (urgency[t], t))

        for t in sorted(ids, key=pos.__getitem__):
            if waiting[t] == 0:
                examine(t)
        while heap:
            u, tid = heapq.heappop(heap)
            if tid not in top or urgency[tid] != u:
                continue  # stale entry
            if time.monotonic() > deadline:
                self._fill(ids, waiting, succ, top)
                return
            best = top.pop(tid)
            for c in best:
                watch[c.agent].discard(tid)
            if not best:
                continue  # nobody may do it: it and its dependents stay out, the validator says so
            aid = best[0].agent
            self.place(p.task(tid), aid)
            for s in succ[tid]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    examine(s)
            for t in list(watch[aid]):
                old = next(c for c in top[t] if c.agent == aid)
                if self.candidate(p.task(t), aid).key != old.key:
                    examine(t)

    def _fill(
        self,
        ids: set[str],
        waiting: dict[str, int],
        succ: dict[str, list[str]],
        ready: Mapping[str, object],
    ) -> None:
        """Out of time: place what is left in precedence order, each on its best agent."""

        def due(t: str) -> float:
            lf = self.p.task(t).latest_finish
            return math.inf if lf is None else lf

        queue = deque(sorted(ready, key=due))
        while queue:
            tid = queue.popleft()
            cands = [self.candidate(self.p.task(tid), a) for a in self.eligible[tid]]
            if not cands:
                continue
            self.place(self.p.task(tid), min(cands, key=_by_key).agent)
            for s in succ[tid]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    queue.append(s)

    def _urgency(self, tid: str, two: list[_Cand], pos: int) -> tuple[float, ...]:
        task = self.p.task(tid)
        if not two:
            return (-math.inf,)  # take it out of the way first
        regret = two[1].scalar - two[0].scalar if len(two) > 1 else math.inf
        deadline = task.latest_finish if task.latest_finish is not None else math.inf
        return (-regret, deadline, -task.priority, -task.duration, float(pos))

    def add_optional(self, ids: Sequence[str]) -> None:
        """Place optional tasks in the given order where they fit without any penalty."""
        pending = list(ids)
        progressed = True
        while pending and progressed:
            progressed = False
            for tid in list(pending):
                task = self.p.task(tid)
                if any(d not in self.assignments for d in self.p.prerequisites(tid)):
                    continue
                pending.remove(tid)
                cands = sorted((self.candidate(task, a) for a in self.eligible[tid]), key=_by_key)
                if cands and cands[0].key[0] == 0.0:
                    self.place(task, cands[0].agent)
                    progressed = True


def _by_key(c: _Cand) -> tuple[float, ...]:
    return c.key


def construct(problem: Problem, deadline: float = math.inf) -> tuple[dict[str, str], list[str]]:
    """The greedy plan: assignments and the order tasks were placed in (topological).

    Past ``deadline`` (a ``time.monotonic()`` value) the remaining tasks are placed
    without regret, so the construction itself honours a time limit.
    """
    b = _Builder(problem)
    required = _required(problem)
    b.reserve(required)
    b.place_by_regret(required, deadline)
    if Objective.MAXIMIZE_PRIORITY in problem.objectives:
        rest = [t for t in problem.tasks if t.id not in required]
        rest.sort(key=lambda t: (-t.priority, t.load))
        b.add_optional([t.id for t in rest])
    return b.assignments, b.order


class GreedySolver:
    """Regret-based construction, then a list schedule. One pass, no search."""

    name = "greedy"

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> Solution:
        t0 = time.monotonic()
        assignments, order = construct(problem, t0 + time_limit * 0.9)
        schedule = build_schedule(problem, assignments, order)
        sol = make_solution(problem, assignments, schedule, backend=self.name, seed=seed)
        if progress:
            progress(Progress(time.monotonic() - t0, best=_primary(problem, sol), fraction=1.0))
        return sol


def _primary(problem: Problem, sol: Solution) -> float:
    return sol.objectives[problem.objectives[0].value]


# --- local search -------------------------------------------------------------


class _Evaluator:
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
        return tuple(round(x, _ROUND) for x in key)


class _Search:
    """State of one local search: current plan, its key, and the clock."""

    def __init__(
        self,
        problem: Problem,
        assignments: dict[str, str],
        order: list[str],
        deadline: float,
        stop: threading.Event | None,
    ) -> None:
        self.p = problem
        self.assignments = dict(assignments)
        self.rank = {t: float(i) for i, t in enumerate(order)}
        self.deadline = deadline
        self.stop = stop
        self.eligible = {t.id: [a.id for a in problem.eligible_agents(t)] for t in problem.tasks}
        self.fast = _Evaluator(problem)
        self.timing_matters = _timing_matters(problem)
        # when timing matters, let a task fill an idle gap earlier on its agent: many
        # more orders then give tight schedules (Brandimarte mk02: 30 instead of 38)
        self.insert = self.timing_matters
        self.key = self.score(self.assignments, self.rank)
        self.evaluations = 0
        self.on_improve: Callable[[str], None] | None = None
        self._reported = time.monotonic()

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline or (self.stop is not None and self.stop.is_set())

    def schedule(self, assignments: Mapping[str, str], rank: Mapping[str, float]) -> Schedule:
        seq = self.fast.sequence(assignments, rank)
        return build_schedule(self.p, assignments, seq, insert=self.insert)

    def score(self, assignments: Mapping[str, str], rank: Mapping[str, float]) -> tuple:
        return self.fast.key(assignments, rank, insert=self.insert)

    def try_move(self, assignments: dict[str, str], rank: dict[str, float]) -> bool:
        """Accept the candidate if it improves the key."""
        self.evaluations += 1
        key = self.score(assignments, rank)
        if key < self.key:
            self.assignments, self.rank, self.key = assignments, rank, key
            now = time.monotonic()
            if self.on_improve is not None and now - self._reported > 0.25:
                self._reported = now  # at most four reports a second
                self.on_improve("improving")
            return True
        return False

    # -- neighbourhoods: each returns True on the first improving move -------
    def shift(self, tid: str) -> bool:
        """Move ``tid`` to another agent, at its place in the order or before one of theirs."""
        cur = self.assignments[tid]
        mine, ancestors = self.rank[tid], self._ancestors(tid)
        for aid in self.eligible[tid]:
            if aid == cur:
                continue
            moved = {**self.assignments, tid: aid}
            ranks = [self.rank]
            earlier = self._earlier_on(aid, mine, ancestors) if self.timing_matters else []
            for t in _nearest(earlier, self.rank):
                ranks.append(_renumber({**self.rank, tid: self.rank[t] - 0.5}))
            for rank in ranks:
                if self.out_of_time():
                    return False
                if self.try_move(moved, rank):
                    return True
        return False

    def _earlier_on(self, aid: str, before: float, skip: set[str]) -> list[str]:
        """Tasks of agent ``aid`` ranked before ``before``, except ``skip``."""
        return [
            t
            for t, a in self.assignments.items()
            if a == aid and self.rank[t] < before and t not in skip
        ]

    def swap(self, tid: str, others: Sequence[str]) -> bool:
        a1 = self.assignments[tid]
        for other in others:
            if self.out_of_time():
                return False
            a2 = self.assignments.get(other)
            if a2 is None or a2 == a1 or tid == other:
                continue
            if (
                a2 in self.eligible[tid]
                and a1 in self.eligible[other]
                and self.try_move({**self.assignments, tid: a2, other: a1}, self.rank)
            ):
                return True
        return False

    def advance(self, tid: str) -> bool:
        """Move ``tid`` just before an earlier task of its agent (a reordering)."""
        if not self.timing_matters:
            return False
        before = self._earlier_on(self.assignments[tid], self.rank[tid], self._ancestors(tid))
        for t in _nearest(before, self.rank):
            if self.out_of_time():
                return False
            rank = {**self.rank, tid: self.rank[t] - 0.5}
            if self.try_move(self.assignments, _renumber(rank)):
                return True
        return False

    def toggle(self, tid: str) -> bool:
        """Add an optional task that is out, or drop one that is in (and has no dependents)."""
        p = self.p
        if tid in self.assignments:
            if any(tid in p.prerequisites(t) for t in self.assignments):
                return False
            rest = {t: a for t, a in self.assignments.items() if t != tid}
            return self.try_move(rest, self.rank)
        if any(d not in self.assignments for d in p.prerequisites(tid)):
            return False
        for aid in self.eligible[tid]:
            if self.out_of_time():
                return False
            rank = {**self.rank, tid: max(self.rank.values(), default=0.0) + 1.0}
            if self.try_move({**self.assignments, tid: aid}, rank):
                return True
        return False

    def _ancestors(self, tid: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.p.prerequisites(tid))
        while stack:
            d = stack.pop()
            if d not in seen:
                seen.add(d)
                stack.extend(self.p.prerequisites(d))
        return seen


def _timing_matters(problem: Problem) -> bool:
    """Whether the order of tasks can change the key (else reordering moves are skipped)."""
    c = problem.constraints
    return (
        Objective.MINIMIZE_MAKESPAN in problem.objectives
        or problem.time_horizon is not None
        or (c.time_windows and any(t.latest_finish is not None for t in problem.tasks))
        or (c.availability and any(a.available_until is not None for a in problem.agents))
    )


_POSITIONS = 8  # insertion points tried per move: the nearest earlier ones in the order


def _nearest(tasks: list[str], rank: Mapping[str, float]) -> list[str]:
    """The ``_POSITIONS`` tasks of ``tasks`` latest in ``rank``, earliest first."""
    return sorted(tasks, key=rank.__getitem__)[-_POSITIONS:]


def _renumber(rank: Mapping[str, float]) -> dict[str, float]:
    return {t: float(i) for i, t in enumerate(sorted(rank, key=lambda t: rank[t]))}


def _warm_plan(problem: Problem, warm: Solution) -> tuple[dict[str, str], list[str]] | None:
    """The warm start's assignments and start order, if they still fit the problem."""
    known = {t.id for t in problem.tasks}
    assignments = {}
    for tid, aid in warm.assignments.items():
        if tid not in known or aid not in {a.id for a in problem.eligible_agents(tid)}:
            return None
        assignments[tid] = aid
    if any(t.id not in assignments for t in problem.tasks if not t.optional):
        return None
    start = {t: (warm.interval_of(t) or (math.inf, math.inf))[0] for t in assignments}
    return assignments, sorted(assignments, key=lambda t: start[t])


def _edd_order(problem: Problem, order: list[str]) -> list[str]:
    """The same tasks, earliest deadline first where precedence allows."""

    def deadline(t: str) -> float:
        lf = problem.task(t).latest_finish
        return lf if lf is not None else math.inf

    ranked = sorted(order, key=lambda t: (deadline(t), order.index(t)))
    return precedence_order(problem, order, {t: i for i, t in enumerate(ranked)})


Change = list[tuple[str, str | None, str | None]]  # (task, from agent, to agent); None: out


class _Additive:
    """O(1) evaluation of moves where order cannot matter (see :func:`_timing_matters`).

    Then every objective in the key and the penalty (load over capacity) are sums
    over agents, so a move that touches two agents is scored from running totals
    (per-agent load and busy time, total cost and priority) without rescheduling.
    Generalized assignment problems take this path.
    """

    def __init__(self, problem: Problem, assignments: Mapping[str, str], ev: _Evaluator) -> None:
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
        return tuple(round(x, _ROUND) for x in key)

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


def _additive_descent(
    st: _Additive,
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


def _additive_kick(
    st: _Additive, problem: Problem, eligible: Mapping[str, list[str]], rng: random.Random
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


def _take_best(st: _Additive, moves: list[Change], counter: list[int]) -> bool:
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


class LocalSearchSolver:
    """Greedy start, then shift / swap / reorder / add-drop moves to a local optimum.

    From the local optimum it makes random perturbations (a few tasks moved to
    another agent or place in the order), each followed by another descent,
    keeping the best plan. It stops after ``kicks`` perturbations in a row without
    improvement, or once ``patience`` task-evaluations (plan evaluations times
    tasks, a size-independent unit of work) have passed without improvement, so
    it ends by itself, deterministically, well before a generous time limit.
    """

    name = "local_search"

    def __init__(
        self, max_passes: int | None = None, kicks: int = 30, patience: int = 40_000
    ) -> None:
        self.max_passes = max_passes
        self.kicks = kicks
        self.patience = patience

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> Solution:
        t0 = time.monotonic()
        # keep a margin so the caller gets the plan back within its limit
        deadline = t0 + max(0.0, time_limit * 0.95 - 0.01)
        rng = random.Random(0 if seed is None else seed)
        if not _timing_matters(problem):
            return self._solve_additive(
                problem, t0, deadline, time_limit, rng, seed, warm_start, progress, stop
            )
        search = self._start(problem, deadline, stop, warm_start)
        best = (search.key, dict(search.assignments), dict(search.rank))

        def report(message: str) -> None:
            """Progress with the better of the best plan and the current one."""
            if progress:
                elapsed = time.monotonic() - t0
                plan = (
                    best if best[0] <= search.key else (search.key, search.assignments, search.rank)
                )
                values = evaluate(problem, plan[1], search.schedule(plan[1], plan[2]))
                frac = min(1.0, elapsed / time_limit) if time_limit > 0 else None
                value = values[problem.objectives[0].value]
                progress(Progress(elapsed, best=value, fraction=frac, message=message))

        report("greedy start")
        search.on_improve = report if progress else None
        passes = self._descend(search, rng, report)
        kicks = stale = 0
        n = max(1, len(problem.tasks))
        since = search.evaluations  # evaluations at the last improvement
        while (
            stale < self.kicks
            and (search.evaluations - since) * n < self.patience
            and not search.out_of_time()
        ):
            if search.key < best[0]:
                best = (search.key, dict(search.assignments), dict(search.rank))
                stale, since = 0, search.evaluations
                report(f"kick {kicks}: improved")
            kicks += 1
            stale += 1
            self._kick(search, best, rng)
            passes += self._descend(search, rng, report)
        if search.key < best[0]:
            best = (search.key, dict(search.assignments), dict(search.rank))
        schedule = search.schedule(best[1], best[2])
        return self._result(problem, best[1], schedule, seed, passes, kicks, search.evaluations)

    def _result(
        self,
        problem: Problem,
        assignments: Mapping[str, str],
        schedule: Schedule,
        seed: int | None,
        passes: int,
        kicks: int,
        evaluations: int,
    ) -> Solution:
        stats = {"passes": passes, "kicks": kicks, "evaluations": evaluations}
        return make_solution(
            problem, assignments, schedule, backend=self.name, seed=seed, metadata=stats
        )

    def _solve_additive(
        self,
        problem: Problem,
        t0: float,
        deadline: float,
        time_limit: float,
        rng: random.Random,
        seed: int | None,
        warm_start: Solution | None,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
    ) -> Solution:
        """The same search where order cannot matter, with O(1) move evaluation."""
        ev = _Evaluator(problem)
        # the construction may use up to half the budget; the search repairs the rest
        st = _Additive(problem, construct(problem, (t0 + deadline) / 2)[0], ev)
        warm = _warm_plan(problem, warm_start) if warm_start is not None else None
        if warm is not None:
            other = _Additive(problem, warm[0], ev)
            st = other if other.key < st.key else st
        eligible = {t.id: [a.id for a in problem.eligible_agents(t)] for t in problem.tasks}
        counter = [0]  # move evaluations

        def out_of_time() -> bool:
            return time.monotonic() >= deadline or (stop is not None and stop.is_set())

        def report(message: str, key: tuple) -> None:
            if progress:
                elapsed = time.monotonic() - t0
                frac = min(1.0, elapsed / time_limit) if time_limit > 0 else None
                value = key[1] * problem.objectives[0].sense
                progress(Progress(elapsed, best=value, fraction=frac, message=message))

        report("greedy start", st.key)
        passes = _additive_descent(st, problem, eligible, rng, out_of_time, counter)
        best = (st.key, dict(st.assign))
        kicks = stale = 0
        since = counter[0]
        while stale < self.kicks and counter[0] - since < self.patience and not out_of_time():
            if st.key < best[0]:
                best = (st.key, dict(st.assign))
                stale, since = 0, counter[0]
                report(f"kick {kicks}: improved", st.key)
            kicks += 1
            stale += 1
            st.reset(best[1])  # also clears float drift of the running totals
            _additive_kick(st, problem, eligible, rng)
            passes += _additive_descent(st, problem, eligible, rng, out_of_time, counter)
        if st.key < best[0]:
            best = (st.key, dict(st.assign))
        schedule = build_schedule(problem, best[1])
        return self._result(problem, best[1], schedule, seed, passes, kicks, counter[0])

    def _descend(
        self, search: _Search, rng: random.Random, report: Callable[[str], None] | None = None
    ) -> int:
        """Improving passes until none improves (or the clock stops them); returns the count."""
        passes = 0
        optional = [t.id for t in search.p.tasks if t.optional]
        while not search.out_of_time() and (self.max_passes is None or passes < self.max_passes):
            passes += 1
            if not self._pass(search, rng, optional):
                break
            if report:
                report(f"descent pass {passes}")
        return passes

    def _kick(self, search: _Search, best: tuple, rng: random.Random) -> None:
        """Restart from ``best`` with a few tasks moved at random (agent and/or order)."""
        assignments, rank = dict(best[1]), dict(best[2])
        p = search.p
        pool = [
            t.id for t in p.tasks if search.eligible[t.id] and (t.optional or t.id in assignments)
        ]
        for tid in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
            if p.task(tid).optional and rng.random() < 0.3:  # take it in or out
                if tid in assignments:
                    if not any(tid in p.prerequisites(x) for x in assignments):
                        del assignments[tid]
                elif all(d in assignments for d in p.prerequisites(tid)):
                    assignments[tid] = rng.choice(search.eligible[tid])
                    rank[tid] = rng.uniform(-1.0, len(rank))
            elif tid not in assignments:
                continue
            elif rng.random() < 0.5 and len(search.eligible[tid]) > 1:
                assignments[tid] = rng.choice(search.eligible[tid])
            else:
                rank[tid] = rng.uniform(-1.0, len(rank))
        rank = _renumber(rank)
        search.assignments, search.rank = assignments, rank
        search.key = search.score(assignments, rank)

    def _start(
        self,
        problem: Problem,
        deadline: float,
        stop: threading.Event | None,
        warm_start: Solution | None,
    ) -> _Search:
        # the construction may use up to half the budget; the search repairs the rest
        assignments, order = construct(problem, (time.monotonic() + deadline) / 2)
        search = _Search(problem, assignments, order, deadline, stop)
        # an earliest-deadline order is a cheap first repair when windows are tight
        search.try_move(
            dict(assignments), {t: float(i) for i, t in enumerate(_edd_order(problem, order))}
        )
        if warm_start is not None:
            warm = _warm_plan(problem, warm_start)
            if warm is not None:
                search.try_move(warm[0], {t: float(i) for i, t in enumerate(warm[1])})
        return search

    def _pass(self, search: _Search, rng: random.Random, optional: list[str]) -> bool:
        """One sweep over every neighbourhood; True if any move improved the plan."""
        improved = False
        tasks = list(search.assignments)
        rng.shuffle(tasks)
        for tid in tasks:
            if search.out_of_time():
                return improved
            if tid not in search.assignments:
                continue  # dropped earlier in this pass
            # a random handful of swap partners: all of them makes a pass quadratic
            others = rng.sample(list(search.assignments), min(len(search.assignments), 10))
            if search.shift(tid) or search.swap(tid, others) or search.advance(tid):
                improved = True
        for tid in sorted(optional, key=lambda _: rng.random()):
            if search.out_of_time():
                return improved
            if search.toggle(tid):
                improved = True
        return improved
