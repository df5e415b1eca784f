"""``LocalSearchSolver`` ("local_search"): a local search on top of the greedy plan.

It starts from the greedy plan (:mod:`~quantum_planner.solvers.greedy`) or a
warm start and applies first-improvement moves (shift a task to another agent,
swap the agents of two tasks, move a task earlier in the scheduling order, add
or drop an optional task) while they improve the key
(:func:`~quantum_planner.solvers.plan_evaluation.plan_key`: penalty, objective
key, spread), so deadline and capacity violations are repaired before
objectives are improved. It stops at a local optimum, at the time limit, or
when ``stop`` is set. Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from quantum_planner.model import Problem, Solution
from quantum_planner.objectives import evaluate
from quantum_planner.scheduling import Schedule, build_schedule, precedence_order
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.greedy import construct
from quantum_planner.solvers.plan_evaluation import (
    AdditivePlan,
    PlanEvaluator,
    additive_descent,
    additive_kick,
    timing_matters,
)

__all__ = ["LocalSearchSolver", "Search"]


class Search:
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
        self.fast = PlanEvaluator(problem)
        self.timing_matters = timing_matters(problem)
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
        if not timing_matters(problem):
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
        ev = PlanEvaluator(problem)
        # the construction may use up to half the budget; the search repairs the rest
        st = AdditivePlan(problem, construct(problem, (t0 + deadline) / 2)[0], ev)
        warm = _warm_plan(problem, warm_start) if warm_start is not None else None
        if warm is not None:
            other = AdditivePlan(problem, warm[0], ev)
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
        passes = additive_descent(st, problem, eligible, rng, out_of_time, counter)
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
            additive_kick(st, problem, eligible, rng)
            passes += additive_descent(st, problem, eligible, rng, out_of_time, counter)
        if st.key < best[0]:
            best = (st.key, dict(st.assign))
        schedule = build_schedule(problem, best[1])
        return self._result(problem, best[1], schedule, seed, passes, kicks, counter[0])

    def _descend(
        self, search: Search, rng: random.Random, report: Callable[[str], None] | None = None
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

    def _kick(self, search: Search, best: tuple, rng: random.Random) -> None:
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
    ) -> Search:
        # the construction may use up to half the budget; the search repairs the rest
        assignments, order = construct(problem, (time.monotonic() + deadline) / 2)
        search = Search(problem, assignments, order, deadline, stop)
        # an earliest-deadline order is a cheap first repair when windows are tight
        search.try_move(
            dict(assignments), {t: float(i) for i, t in enumerate(_edd_order(problem, order))}
        )
        if warm_start is not None:
            warm = _warm_plan(problem, warm_start)
            if warm is not None:
                search.try_move(warm[0], {t: float(i) for i, t in enumerate(warm[1])})
        return search

    def _pass(self, search: Search, rng: random.Random, optional: list[str]) -> bool:
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
