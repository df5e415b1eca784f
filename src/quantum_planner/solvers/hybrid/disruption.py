"""Re-planning phase of the hybrid's assignment path: least disruption within the bound.

With ``disruption`` terms (:class:`~quantum_planner.disruption.DisruptionTerms`) the
assignment search runs in two phases. Phase A is the usual search for the best
score (a share of the time). Phase B (:class:`DisruptionPhase`) applies the rule of
:mod:`quantum_planner.disruption` to the search itself: with ``C`` the best first
objective found (or the caller's ``best_known``) and ``B = C + tolerance x |C|``,
plans compare by (first objective within ``B``, weighted reassignments, score):

1. the start is the best of phase A's plan and the warm start by that key;
2. cheap reverts: each task off its reference agent goes back when the agent has room
   (or once a guest there moves out: a one-step ejection) and the first objective stays
   within ``B``, at most at the current price each;
3. large-neighbourhood steps: a few agents around a moved task (its agent, its
   reference agent, the agents their moved tasks came from or went to; random ones now
   and then) and all their tasks are re-assigned by CP-SAT with the subproblem's first
   objective capped at ``B`` minus the rest of the plan's, minimising ``score + price
   x disruption``. The price starts at the 25th percentile of what single reverts cost
   (cheap ones first, so that combined moves can pull back more for the same slack)
   and rises when no step gains or when the slack is spent slower than the time, until
   it is lexicographic (disruption first, then score); with nothing left to pull back,
   the steps lower the score at equal disruption. The best plan by the rule's key is
   kept throughout.

Start shifts are not part of this phase: an assignment plan's starts come from the
list scheduler after the search. The re-planning strategy's final choice weighs
them (``shift_weight``) with the rest of the rule. Runs when the first objective
is cost or priority and the score is linear (no ``balance_load``); otherwise phase
A's plan is returned as it is.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from quantum_planner.disruption import DisruptionTerms, rule_key
from quantum_planner.model import Objective
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.lns import solve_agents_cpsat

__all__ = ["PHASE_A_SHARE", "DisruptionPhase", "phase_b_applies"]

PHASE_A_SHARE = 0.65  # of the time limit for the score; the rest for disruption
SUB_TIME = 0.3  # seconds per CP-SAT subproblem at most
PATIENCE = 5  # steps without a gain before the price of disruption rises
PRICE_GROWTH = 1.6
RANDOM_SHARE = 0.2  # of the neighbourhoods: random agents (the score gains room there)


class DisruptionPhase:
    """Phase B on the dense arrays ``W, L, cap`` (virtual "undone" agent last)."""

    def __init__(
        self,
        comp: Compiled,
        W: np.ndarray,
        L: np.ndarray,
        cap: np.ndarray,
        terms: DisruptionTerms,
        seed: int,
        workers: int = 1,
    ) -> None:
        self.comp, self.W, self.L, self.cap, self.terms = comp, W, L, cap, terms
        self.n, self.m = comp.n, comp.m
        self.P = primary_matrix(comp)
        self.R, self.ref = disruption_matrix(comp, terms)
        self.rng = np.random.default_rng(seed + 7)
        self.workers = max(1, workers)
        self.k = max(2, min(self.m, round(60 * self.m / max(self.n, 1))))
        self.k_max = max(2, min(self.m, round(400 * self.m / max(self.n, 1))))
        self.stats: dict[str, Any] = {"disruption_steps": 0, "disruption_gains": 0}
        self.best_first: float | None = None  # of the plans phase B started from

    # ------------------------------------------------------------- values
    def feasible(self, a: np.ndarray) -> bool:
        used = np.zeros(self.m + 1)
        np.add.at(used, a, self.L[np.arange(self.n), a])
        return bool((used <= self.cap + 1e-9).all()) and bool(np.isfinite(self._score(a)))

    def _score(self, a: np.ndarray) -> float:
        return float(self.W[np.arange(self.n), a].sum())

    def first(self, a: np.ndarray) -> float:
        """The first objective (minimised sense) of plan ``a``."""
        assert self.P is not None
        return float(self.P[np.arange(self.n), a].sum())

    def disruption(self, a: np.ndarray) -> float:
        """Weighted reassignments of plan ``a`` against the reference."""
        return float(self.R[np.arange(self.n), a].sum())

    def key(self, a: np.ndarray, bound: float) -> tuple[Any, ...]:
        """The rule's key of plan ``a`` (score as the objectives' stand-in)."""
        return rule_key(self.first(a), self.disruption(a), (self._score(a),), bound)

    # ------------------------------------------------------------- search
    def run(
        self,
        plans: list[np.ndarray],
        deadline: float,
        stop: threading.Event | None = None,
    ) -> np.ndarray:
        """The plan the rule prefers after phase B (``plans``: phase A's and the warm start)."""
        ok = [p for p in plans if p is not None and self.feasible(p)]
        if not ok:
            return plans[0]
        self.best_first = min(self.first(p) for p in ok)
        self.bound = self.terms.bound(self.best_first)
        best = min(ok, key=lambda p: self.key(p, self.bound)).copy()
        self.stats["disruption_bound"] = self.bound
        self.stats["disruption_start"] = self.disruption(best)
        self.price = self.start_price(best)
        best = self.cheap(best, self.price)  # the cheap reverts only: combined moves may
        cur = best.copy()  # pull back more for the same slack
        idle = 0
        t_start, f_start = time.perf_counter(), self.first(cur)
        while time.perf_counter() < deadline - 0.05 and not (stop is not None and stop.is_set()):
            if not self.moved(best).size and self.price is not None:
                # nothing left to pull back: the rest of the time lowers the score at
                # this disruption (the rule's last step)
                self.price, cur = None, best.copy()
            cur, gained = self.step(cur, self.moved(cur), deadline, stop)
            if self.key(cur, self.bound) < self.key(best, self.bound):
                best = cur.copy()
            idle = 0 if gained else idle + 1
            # the price rises when nothing is left at it, or when the slack under the
            # bound is being spent slower than the time
            spent = (self.first(cur) - f_start) / max(self.bound - f_start, 1e-9)
            late = (time.perf_counter() - t_start) / max(deadline - t_start, 1e-9) > spent
            if (idle >= PATIENCE or late) and self.price is not None:
                # nothing left at this price: disruption gets dearer, in the end lexicographic
                idle = 0
                self.price *= PRICE_GROWTH
                cur = self.cheap(cur, self.price)  # plain reverts at the new price
                if self.key(cur, self.bound) < self.key(best, self.bound):
                    best = cur.copy()
                if self.price > self.price_max:
                    self.price, cur = None, best.copy()
        best = self.cheap(best)  # whatever slack is left
        self.stats["disruption_end"] = self.disruption(best)
        self.stats["disruption_price_final"] = self.price
        return best

    def cheap(self, a: np.ndarray, price: float | None = None) -> np.ndarray:
        """Greedy and ejection reverts (at most ``price`` each), repeated while they gain."""
        for _ in range(5):
            before = self.disruption(a)
            a = self.eject(self.greedy(a, price), price)
            if self.disruption(a) >= before:
                break
        return a

    def start_price(self, a: np.ndarray) -> float | None:
        """The first price of one unit of disruption, in score units: cheap reverts first.

        The 25th percentile of what undoing each reassignment alone would cost (at least
        a hundredth of the mean such cost); None (lexicographic at once) when none costs.
        """
        moved = self.moved(a)
        d = self.W[moved, self.ref[moved]] - self.W[moved, a[moved]]
        d = d[d > 1e-9] / max(self.terms.reassign_weight, 1e-9)
        if not d.size:
            return None
        self.price_max = float(d.max()) * 2.0
        return max(float(np.percentile(d, 25)), 0.01 * float(d.mean()))

    def lagrangian(self, a: np.ndarray) -> float:
        """Score plus priced disruption: what steps at a price minimise."""
        assert self.price is not None
        return self._score(a) + self.price * self.disruption(a)

    def moved(self, a: np.ndarray) -> np.ndarray:
        """Tasks off a reference agent that could still do them."""
        r = self.ref
        can = (r >= 0) & (a != r)
        idx = np.flatnonzero(can)
        return idx[np.isfinite(self.W[idx, r[idx]])]

    def greedy(self, a: np.ndarray, price: float | None = None) -> np.ndarray:
        """Reverts that fit capacity and keep the first objective within the bound,
        cheapest first; with a ``price``, only those whose score cost is at most it."""
        assert self.P is not None
        a = a.copy()
        used = np.zeros(self.m + 1)
        np.add.at(used, a, self.L[np.arange(self.n), a])
        first = self.first(a)
        moved = self.moved(a)
        delta = self.P[moved, self.ref[moved]] - self.P[moved, a[moved]]
        for i in moved[np.argsort(delta, kind="stable")]:
            j, r = a[i], self.ref[i]
            d = self.P[i, r] - self.P[i, j]
            if first + d > self.bound or used[r] + self.L[i, r] > self.cap[r] + 1e-9:
                continue
            if price is not None and self.W[i, r] - self.W[i, j] > price * self.R[i, j]:
                continue
            used[r] += self.L[i, r]
            used[j] -= self.L[i, j]
            a[i] = r
            first += d
        self.stats["disruption_greedy"] = self.disruption(a)
        return a

    def eject(self, a: np.ndarray, price: float | None = None) -> np.ndarray:
        """Reverts that make room first: task ``i`` goes back to its reference agent ``r``
        once a task ``k`` that is not at home on ``r`` moves to an agent with room (home,
        if it can), with the first objective within the bound. With a ``price``, only
        ejections whose score cost is at most it."""
        assert self.P is not None
        P, L, R, W, cap, ref = self.P, self.L, self.R, self.W, self.cap, self.ref
        a = a.copy()
        used = np.zeros(self.m + 1)
        np.add.at(used, a, L[np.arange(self.n), a])
        first = self.first(a)
        for i in self.moved(a):
            j, r = int(a[i]), int(ref[i])
            need = used[r] + L[i, r] - cap[r]
            if need <= 1e-9:
                continue  # the greedy pass would have taken it; capacity moved since
            guests = np.flatnonzero((a == r) & (ref != r) & (L[:, r] >= need - 1e-9))
            for k in guests:
                room = cap - used - L[k]  # room for k on every agent
                room[j] += L[i, j]  # i leaves j
                gain = R[k, r] - R[k]  # disruption saved by moving k there (>= 0 wanted)
                dp = P[i, r] - P[i, j] + P[k] - P[k, r]
                ok = (
                    (room >= -1e-9)
                    & np.isfinite(self.W[k])
                    & (gain >= 0)
                    & (first + dp <= self.bound)
                    & (price is None or W[i, r] - W[i, j] + W[k] - W[k, r] <= price * R[i, j])
                )
                ok[r] = False
                if not ok.any():
                    continue
                t = int(np.flatnonzero(ok)[np.argmin(dp[ok] - 1e6 * gain[ok])])
                used[j] -= L[i, j]
                used[r] += L[i, r] - L[k, r]
                used[t] += L[k, t]
                first += float(dp[t])
                a[i], a[k] = r, t
                break
        self.stats["disruption_eject"] = self.disruption(a)
        return a

    def step(
        self,
        cur: np.ndarray,
        moved: np.ndarray,
        deadline: float,
        stop: threading.Event | None,
    ) -> tuple[np.ndarray, bool]:
        """One CP-SAT subproblem around a moved task: the plan after it, and whether it
        gained (the priced objective at a price, else the rule's key), within the bound."""
        assert self.P is not None
        agents = self.neighbourhood(cur, moved)
        tasks = np.flatnonzero(np.isin(cur, agents))
        limit = self.bound - (self.first(cur) - float(self.P[tasks, cur[tasks]].sum()))
        budget = min(SUB_TIME, deadline - 0.05 - time.perf_counter())
        if budget <= 0.01:
            return cur, False
        self.stats["disruption_steps"] += 1
        sub = solve_agents_cpsat(
            self.W, self.L, self.cap, cur, agents, budget, int(self.rng.integers(2**31 - 1)),
            stop, params={"num_workers": self.workers}, deadline=deadline - 0.05,
            lex=(self.R, self.P, limit, self.price),
        )  # fmt: skip
        gained = False
        if sub.assign is not None:
            cand = cur.copy()
            cand[sub.tasks] = sub.assign
            if self.feasible(cand) and self.first(cand) <= self.bound:
                if self.price is not None:
                    gained = self.lagrangian(cand) < self.lagrangian(cur) - 1e-9
                else:
                    gained = self.key(cand, self.bound) < self.key(cur, self.bound)
            if gained:
                cur = cand
                self.stats["disruption_gains"] += 1
        # neighbourhoods closed quickly without a gain grow; ones not closed shrink
        if not gained:
            if sub.optimal and sub.seconds < 0.5 * SUB_TIME:
                self.k = min(self.k_max, self.k + 1)
            elif not sub.optimal:
                self.k = max(2, self.k - 1)
        return cur, gained

    def neighbourhood(self, a: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """A moved task's agent and reference agent, then agents linked to them by other
        moved tasks (where those came from or went to), then random ones, ``k`` in all;
        at random ones alone now and then, or when no task is moved (lowering the score)."""
        if not moved.size or self.rng.random() < RANDOM_SHARE:
            return np.sort(self.rng.permutation(self.m)[: self.k]).astype(np.int64)
        i = int(self.rng.choice(moved))
        chosen = [int(a[i]), int(self.ref[i])]
        linked = moved[self.rng.permutation(moved.size)]
        for _ in range(2):  # two rounds of links
            for t in linked:
                if len(chosen) >= self.k:
                    break
                cur, ref = int(a[t]), int(self.ref[t])
                if (cur in chosen) != (ref in chosen):
                    chosen.append(ref if cur in chosen else cur)
        rest = [j for j in self.rng.permutation(self.m) if int(j) not in chosen]
        chosen += [int(j) for j in rest[: max(0, self.k - len(chosen))]]
        return np.array(sorted(set(c for c in chosen if c < self.m)), dtype=np.int64)


def phase_b_applies(comp: Compiled) -> bool:
    """Whether the hybrid runs its disruption phase on ``comp`` (assignment path, first
    objective linear per pair, linear score)."""
    return (
        not comp.timed
        and comp.objectives[0] in (Objective.MINIMIZE_COST, Objective.MAXIMIZE_PRIORITY)
        and Objective.BALANCE_LOAD not in comp.objectives
        and comp.n > 0
    )


def primary_matrix(comp: Compiled) -> np.ndarray | None:
    """The first objective per (task, agent) pair, minimised sense, "undone" last (None:
    not linear per pair)."""
    first = comp.objectives[0]
    P = np.zeros((comp.n, comp.m + 1))
    if first is Objective.MINIMIZE_COST:
        P[:, : comp.m] = np.where(comp.elig, comp.cost, np.inf)
    elif first is Objective.MAXIMIZE_PRIORITY:
        P[:, : comp.m] = np.where(comp.elig, -comp.prio[:, None], np.inf)
    else:
        return None
    return P


def disruption_matrix(comp: Compiled, terms: DisruptionTerms) -> tuple[np.ndarray, np.ndarray]:
    """``reassign_weight`` on every pair but the reference one (tasks with a reference),
    and each task's reference agent index (-1: none, or gone)."""
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    R = np.zeros((comp.n, comp.m + 1))
    ref = np.full(comp.n, -1, dtype=np.int64)
    for i, tid in enumerate(comp.task_ids):
        r = terms.reference.get(tid)
        if r is None:
            continue
        R[i, :] = terms.reassign_weight
        j = a_index.get(r[0])
        if j is not None:
            R[i, j] = 0.0
            ref[i] = j
    return R, ref
