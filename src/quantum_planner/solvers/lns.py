"""Agent large-neighbourhood search: re-optimise every task of a few agents exactly.

A neighbourhood is ``k`` agents (a random one, then the agents its tasks
would most like to move to, by the candidate lists) and all tasks currently
on them. The rest of the plan is fixed, so the subproblem is a small
generalized assignment problem of its own: those tasks among those agents,
each agent's full capacity. CP-SAT (one worker, the current plan as hint)
solves it, usually to optimality in milliseconds; the same subproblem can
also be formulated as a one-hot QUBO (:mod:`subqubo`) and sampled, so the two
can be compared on identical neighbourhoods.

:class:`AgentLNS` runs these steps in a background thread (CP-SAT releases
the GIL; the tabu search's numba kernel does too) on the other core, reading
the best plan the caller publishes and publishing improvements back. An
improvement is a change on the neighbourhood's agents only, so it is merged
into the caller's *current* best plan whenever that plan still has the same
tasks on those agents (the loads of the other agents are untouched by it).

The neighbourhood size adapts: it grows while subproblems are closed (solved
to optimality) in under half the slice without a gain, and shrinks when CP-SAT
runs out of its time slice without one; measured on Yagiura C/E plans from the tabu search, gains
appear where CP-SAT needs a sizeable fraction of a second (about 100-200
tasks: 8-12 of 40 agents, 5 of 10).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from quantum_planner.solvers.cpsat import _solve_stoppable, integer_scale
from quantum_planner.solvers.subqubo import solve_subproblem

__all__ = ["AgentLNS", "SubResult", "choose_agents", "solve_agents_cpsat"]


@dataclass
class SubResult:
    """New agents for ``tasks`` (None: no plan), whether proven optimal, and seconds."""

    tasks: np.ndarray
    assign: np.ndarray | None
    optimal: bool
    seconds: float


def choose_agents(
    assign: np.ndarray, cand: np.ndarray, m: int, k: int, rng: np.random.Generator
) -> np.ndarray:
    """``k`` related agents: a random seed agent, then, one at a time, the agent most
    named in the candidate lists of the tasks already in the neighbourhood (noisy).

    (Seeding by excess cost or by tight capacity instead of at random gave no more
    gains in a test on a tabu-search plan of e40400.)"""
    k = max(1, min(k, m))
    chosen = [int(rng.integers(m))]
    counts = np.zeros(m)
    while len(chosen) < k:
        tasks = np.flatnonzero(assign == chosen[-1])
        if tasks.size:
            c = cand[tasks]
            c = c[(c >= 0) & (c < m)]
            counts += np.bincount(c, minlength=m)[:m]
        score = counts + rng.random(m) * (1.0 + 0.25 * counts.max(initial=0.0))
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return np.array(sorted(chosen), dtype=np.int64)


def solve_agents_cpsat(
    W: np.ndarray,
    L: np.ndarray,
    cap: np.ndarray,
    assign: np.ndarray,
    agents: np.ndarray,
    time_limit: float,
    seed: int = 0,
    stop: threading.Event | None = None,
    params: dict[str, Any] | None = None,
    deadline: float | None = None,
    lex: tuple[np.ndarray, np.ndarray, float, float | None] | None = None,
) -> SubResult:
    """Re-assign the tasks of ``agents`` among ``agents`` (capacity: each agent's full cap).

    Costs and loads are scaled to integers (loads rounded up, capacities down, so a
    plan found is feasible); the caller re-scores the plan with the real costs.
    ``deadline`` (perf_counter time) also caps the search, model building included.
    ``lex = (R, P, limit, price)`` (re-planning, :mod:`.hybrid.disruption`): the
    primary objective ``P`` of the subproblem's tasks at most ``limit`` (rounded: the
    caller re-checks), minimising ``W + price x R`` (``R`` the disruption), or the
    disruption first and ``W`` second when ``price`` is None.
    """
    t0 = time.perf_counter()
    tasks = np.flatnonzero(np.isin(assign, agents))
    if tasks.size == 0:
        return SubResult(tasks, None, False, 0.0)
    sw = W[np.ix_(tasks, agents)]
    sl = L[np.ix_(tasks, agents)]
    ok = np.isfinite(sw)
    cscale = integer_scale(sw[ok])
    lscale = integer_scale(np.concatenate([sl[ok], cap[agents]]))
    # per-task shift: the objective's range shrinks, the optimum does not move
    low = np.where(ok, sw, np.inf).min(axis=1, keepdims=True)
    icost = np.round((np.where(ok, sw, 0.0) - np.where(np.isfinite(low), low, 0.0)) * cscale)
    iload = np.ceil(sl * lscale - 1e-9)
    model = cp_model.CpModel()
    x: dict[tuple[int, int], Any] = {}
    for r in range(tasks.size):
        row = []
        for c in np.flatnonzero(ok[r]):
            v = model.NewBoolVar("")
            x[r, int(c)] = v
            row.append(v)
        if not row:
            return SubResult(tasks, None, False, time.perf_counter() - t0)
        model.AddExactlyOne(row)
    for c, j in enumerate(agents):
        if math.isfinite(cap[j]):
            terms = [(int(iload[r, c]), v) for (r, cc), v in x.items() if cc == c]
            if terms:
                model.Add(sum(q * v for q, v in terms) <= math.floor(cap[j] * lscale + 1e-9))
    objective = sum(int(icost[r, c]) * v for (r, c), v in x.items())
    if lex is not None:
        objective = _lex_objective(model, x, tasks, agents, ok, icost, cscale, lex)
    model.Minimize(objective)
    col = {int(j): c for c, j in enumerate(agents)}
    for (r, c), v in x.items():
        model.AddHint(v, col[int(assign[tasks[r]])] == c)
    if deadline is not None:
        # building a big model takes a while: the search gets what is left of the slice
        time_limit = min(time_limit, deadline - time.perf_counter())
        if time_limit < 0.01:
            return SubResult(tasks, None, False, time.perf_counter() - t0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit)
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % (2**31)
    for key, value in (params or {}).items():
        setattr(solver.parameters, key, value)
    if stop is not None and stop.is_set():
        return SubResult(tasks, None, False, time.perf_counter() - t0)
    # ``stop`` ends the search within ~20 ms: no CP-SAT call may outlive the hybrid's
    # solve (a C++ search still running when the interpreter exits aborts the process)
    status = _solve_stoppable(solver, model, None, stop)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SubResult(tasks, None, False, time.perf_counter() - t0)
    out = np.empty(tasks.size, dtype=np.int64)
    for (r, c), v in x.items():
        if solver.BooleanValue(v):
            out[r] = agents[c]
    return SubResult(tasks, out, status == cp_model.OPTIMAL, time.perf_counter() - t0)


def _lex_objective(
    model: cp_model.CpModel,
    x: dict[tuple[int, int], Any],
    tasks: np.ndarray,
    agents: np.ndarray,
    ok: np.ndarray,
    icost: np.ndarray,
    cscale: float,
    lex: tuple[np.ndarray, np.ndarray, float, float | None],
) -> Any:
    """The score plus priced disruption, or disruption first and the score second (one
    integer objective either way); the primary capped."""
    R, P, limit, price = lex
    sp = P[np.ix_(tasks, agents)]
    pscale = integer_scale(np.append(sp[ok], limit))
    ip = np.round(np.where(ok, sp, 0.0) * pscale)
    model.Add(sum(int(ip[r, c]) * v for (r, c), v in x.items()) <= math.floor(limit * pscale))
    idis = np.round(R[np.ix_(tasks, agents)] * 100)  # two decimals of the weights
    if price is None:
        big = int(np.where(ok, icost, 0).max(axis=1).sum()) + 1  # above the score's range
        return sum((big * int(idis[r, c]) + int(icost[r, c])) * v for (r, c), v in x.items())
    # 100 x cscale x (W + price x R), rounded
    dp = round(price * cscale)
    return sum((100 * int(icost[r, c]) + dp * int(idis[r, c])) * v for (r, c), v in x.items())


@dataclass
class _Shared:
    """Plan exchange between the search (caller) and the LNS thread, under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    base: np.ndarray | None = None
    base_value: float = math.inf
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


class AgentLNS:
    """Background thread of k-agent subproblems on the published best plan.

    ``publish(plan, value)`` hands it the caller's best feasible plan; ``merge(plan)``
    returns candidate plans built from the pending improvements. ``stats`` counts
    subproblems and improvements found by source (``cpsat``, ``qubo``). With
    ``qubo_every`` > 0 every n-th step is a small neighbourhood (``qubo_agents``
    agents, at most ``qubo_max_vars`` pairs) sampled as a QUBO with ``sampler`` and
    then solved by CP-SAT on the same neighbourhood, for an honest comparison; QUBO
    sampling is capped at ``qubo_share`` of the thread's time. ``threads`` > 1 runs
    that many LNS threads on the shared plan. ``stop`` (the caller's event) also stops
    a running subproblem.
    """

    # seconds kept free before the deadline: building a model and CP-SAT's own stop take
    # some time beyond its limit, more so on a loaded machine
    MARGIN = 0.1

    def __init__(
        self,
        W: np.ndarray,
        L: np.ndarray,
        cap: np.ndarray,
        m: int,
        cand: np.ndarray,
        deadline: float,
        seed: int,
        *,
        k: int | None = None,
        sub_time: float = 0.5,
        qubo_every: int = 0,
        sampler: Any = None,
        qubo_agents: int = 3,
        qubo_max_vars: int = 400,
        qubo_share: float = 0.1,
        threads: int = 1,
        stop: threading.Event | None = None,
    ) -> None:
        self.W, self.L, self.cap, self.m, self.cand = W, L, cap, m, cand
        self.deadline = deadline
        self.rng = np.random.default_rng(seed)
        # up to about 400 tasks' worth (CP-SAT closes such ones on c40400 within 1 s)
        self.k_max = max(2, min(m - 1, round(400 * m / max(W.shape[0], 1))))
        if k is None:
            # about 120 tasks: where CP-SAT still closes most neighbourhoods in < 1 s
            k = round(120 * m / max(W.shape[0], 1))
        self.k = max(2, min(k, self.k_max))
        self.sub_time = sub_time
        self.qubo_every = qubo_every
        self.sampler = sampler
        self.qubo_agents = qubo_agents
        self.qubo_max_vars = qubo_max_vars
        self.qubo_share = qubo_share
        self.shared = _Shared()
        self.stop_event = threading.Event()
        self.stats: dict[str, Any] = {
            "lns_subproblems": 0,
            "lns_optimal": 0,
            "lns_improved_cpsat": 0,
            "lns_qubo_subproblems": 0,
            "lns_qubo_feasible": 0,
            "lns_improved_qubo": 0,
            "lns_qubo_matched_cpsat": 0,
            "lns_cpsat_seconds": 0.0,
            "lns_qubo_seconds": 0.0,
        }
        self.threads: list[threading.Thread] = []
        self.external_stop = stop
        self.n_sub = 0
        self.n_threads = threads

    # ------------------------------------------------------------ caller side
    def start(self) -> None:
        """Start the threads (they wait for the first published plan)."""
        if self.external_stop is not None:
            # the caller's stop ends a running CP-SAT search too (the caller's own
            # subproblem steps included), not only the next one
            ext = self.external_stop

            def relay() -> None:
                while not self.stop_event.wait(0.02):
                    if ext.is_set():
                        self.stop_event.set()

            threading.Thread(target=relay, daemon=True).start()
        for t in range(self.n_threads):
            rng = np.random.default_rng(int(self.rng.integers(2**62)) + t)
            thread = threading.Thread(target=self._run, args=(rng,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self, timeout: float = 1.0) -> None:
        """End the threads: a running CP-SAT search is stopped, so this takes milliseconds."""
        self.stop_event.set()
        end = time.perf_counter() + timeout
        for thread in self.threads:
            thread.join(timeout=max(0.0, end - time.perf_counter()))

    def publish(self, plan: np.ndarray, value: float) -> None:
        """The caller's best feasible plan (copied)."""
        with self.shared.lock:
            if value < self.shared.base_value - 1e-9 or self.shared.base is None:
                self.shared.base = plan.copy()
                self.shared.base_value = float(value)

    def merge(self, plan: np.ndarray) -> list[np.ndarray]:
        """Candidate plans from the pending subproblem improvements (the caller scores them).

        First ``plan`` with every improvement applied that still fits it; then, for each
        one that does not (the caller's plan has moved tasks on or off its agents since),
        ``plan`` with the change forced on it (feasible or not) and the plan it was found
        on with the change.
        """
        with self.shared.lock:
            found, self.shared.found = self.shared.found, []
        out = plan.copy()
        changed = False
        stale: list[np.ndarray] = []
        for agents, tasks, new, base in found:
            # same tasks on the neighbourhood's agents as when it was solved: the other
            # agents' loads do not depend on it, so the change is valid here too
            now_on = np.flatnonzero(np.isin(out, agents))
            if np.array_equal(now_on, tasks):
                out[tasks] = new
                changed = True
            else:
                # the change forced onto the caller's plan (may overflow: the caller
                # checks), and the plan it was found on with the change
                forced = plan.copy()
                forced[tasks] = new
                whole = base.copy()
                whole[tasks] = new
                stale += [forced, whole]
        return ([out] if changed else []) + stale

    # ------------------------------------------------------------ thread side
    def _run(self, rng: np.random.Generator) -> None:
        while not self.stop_event.is_set():
            if self.step(rng) is None:
                if self.deadline - time.perf_counter() < self.MARGIN:
                    break
                self.stop_event.wait(0.01)  # no plan published yet
        self.stats["lns_k_final"] = self.k

    def step(self, rng: np.random.Generator) -> bool | None:
        """One subproblem on the published plan (thread or caller): whether it gained;
        None if there was no plan or no time."""
        W, L, cap, m = self.W, self.L, self.cap, self.m
        left = self.deadline - time.perf_counter()
        with self.shared.lock:
            base = None if self.shared.base is None else self.shared.base.copy()
            self.n_sub += 1
            n_sub = self.n_sub
        if base is None or left < 2 * self.MARGIN:
            return None
        seed = int(rng.integers(2**31 - 1))
        # a sampler cannot be stopped midway: none in the last second
        if left > 1.0 and self._qubo_turn(n_sub):
            return self._qubo_compare(base, seed, left, rng)
        agents = choose_agents(base, self.cand, m, self.k, rng)
        self.stats["lns_subproblems"] += 1
        tasks = np.flatnonzero(np.isin(base, agents))
        before = float(W[tasks, base[tasks]].sum())
        budget = min(self.sub_time, left - self.MARGIN)
        sub = solve_agents_cpsat(
            W, L, cap, base, agents, budget, seed, self.stop_event,
            deadline=self.deadline - self.MARGIN,
        )  # fmt: skip
        self.stats["lns_cpsat_seconds"] += sub.seconds
        if sub.optimal:
            self.stats["lns_optimal"] += 1
        val = math.inf if sub.assign is None else float(W[sub.tasks, sub.assign].sum())
        gained = val < before - 1e-9
        # adapt the neighbourhood: one closed quickly without a gain grows, one CP-SAT
        # could not close shrinks; one that paid off stays
        if not gained and rng.random() < 0.5:
            if sub.optimal and sub.seconds < 0.5 * self.sub_time:
                self.k = min(self.k_max, self.k + 1)
            elif not sub.optimal:
                self.k = max(2, self.k - 1)
        if gained and sub.assign is not None:
            self.stats["lns_improved_cpsat"] += 1
            self._offer(agents, sub.tasks, sub.assign, base)
        return gained

    def _qubo_turn(self, n_sub: int) -> bool:
        """Every ``qubo_every``-th step, while QUBO sampling stays within its time share."""
        if self.qubo_every <= 0 or self.sampler is None or n_sub % self.qubo_every:
            return False
        spent = self.stats["lns_qubo_seconds"] + self.stats["lns_cpsat_seconds"]
        return self.stats["lns_qubo_seconds"] <= self.qubo_share * max(spent, 1.0)

    def _qubo_compare(
        self, base: np.ndarray, seed: int, left: float, rng: np.random.Generator
    ) -> bool:
        """A small neighbourhood sampled as a QUBO, then solved by CP-SAT as the reference.

        Small: ``qubo_agents`` agents, fewer while it has more than ``qubo_max_vars``
        (task, agent) pairs, since a sampler's chance of a feasible one-hot decode falls
        fast with size. Either solver's gain is offered (QUBO's first); the counts say
        how often the QUBO decode was feasible and as good as CP-SAT's optimum.
        """
        W, L, cap = self.W, self.L, self.cap
        k = max(2, min(self.qubo_agents, self.m))
        agents = choose_agents(base, self.cand, self.m, k, rng)
        while agents.size > 2:
            tasks = np.flatnonzero(np.isin(base, agents))
            if np.isfinite(W[np.ix_(tasks, agents)]).sum() <= self.qubo_max_vars:
                break
            agents = agents[: agents.size - 1]
        tasks = np.flatnonzero(np.isin(base, agents))
        before = float(W[tasks, base[tasks]].sum())
        self.stats["lns_qubo_subproblems"] += 1
        tq = time.perf_counter()
        res = solve_subproblem(W, L, cap, base, agents, self.sampler, seed=seed)
        self.stats["lns_qubo_seconds"] += time.perf_counter() - tq
        qubo_val = math.inf
        if res.assign is not None:
            self.stats["lns_qubo_feasible"] += 1
            qubo_val = float(W[res.tasks, res.assign].sum())
            if qubo_val < before - 1e-9:
                self.stats["lns_improved_qubo"] += 1
                self._offer(agents, res.tasks, res.assign, base)
        budget = min(self.sub_time, left - self.MARGIN)
        gained = qubo_val < before - 1e-9
        if budget <= 0.0:
            return gained
        sub = solve_agents_cpsat(
            W, L, cap, base, agents, budget, seed, self.stop_event,
            deadline=self.deadline - self.MARGIN,
        )  # fmt: skip
        self.stats["lns_cpsat_seconds"] += sub.seconds
        if sub.assign is None:
            return gained
        val = float(W[sub.tasks, sub.assign].sum())
        if qubo_val <= val + 1e-9:
            self.stats["lns_qubo_matched_cpsat"] += 1
        if val < min(before, qubo_val) - 1e-9:
            self.stats["lns_improved_cpsat"] += 1
            self._offer(agents, sub.tasks, sub.assign, base)
            gained = True
        return gained

    def _offer(
        self, agents: np.ndarray, tasks: np.ndarray, new: np.ndarray, base: np.ndarray
    ) -> None:
        with self.shared.lock:
            self.shared.found.append((agents.copy(), tasks.copy(), new.copy(), base.copy()))
