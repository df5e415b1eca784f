"""``GreedySolver`` ("greedy"): a regret-based constructive solver.

It builds a plan in one pass: among the tasks whose prerequisites are placed,
it places next the task that would lose most by not getting its best agent
(the *regret*), on that agent. Agents are compared by (penalty, objectives in
lexicographic order, finish time), where the penalty is how late the task
would end past its window and how far over capacity its agent would go.
Mandatory tasks (and the optional tasks they depend on) come first; other
optional tasks follow by priority when ``maximize_priority`` is an objective,
and only where they fit. Deterministic. :func:`construct` is also the start of
the local search (:mod:`~quantum_planner.solvers.local_search`).
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from quantum_planner.model import Objective, Problem, Solution, Task
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.plan_evaluation import PlanEvaluator, timing_matters

__all__ = ["GreedySolver", "construct"]

_BIG = 1e9  # a unit of penalty outweighs any objective difference in a regret


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
        self.ev = PlanEvaluator(problem)
        self.timed = timing_matters(problem)

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
