"""The anchor for ``pareto.py``: pymoo's NSGA-II with a repair operator, on FJSP and GAP.

What a user who wants a front would write with pymoo, made as strong as cheaply
possible: numba decoders (compiled before any clock starts), Lamarckian repair
(the repaired genome replaces the offspring), a few heuristic seeds in the
initial population, and an archive of every non-dominated plan evaluated during
the run (not only the last population's first front).

* **Flexible job shop** (makespan, total workload). Genome: one machine gene and
  one priority key per operation, both reals in [0, 1]. The repair clips every
  gene into [0, 1) and snaps each machine gene to the middle of its machine's bin,
  so every genome names one eligible machine per operation and a priority order;
  the decoder schedules, among the ready operations (the next one of each job),
  the one with the smallest key, at the earliest gap of its machine at or after
  its job's previous operation (insertion: an active-style schedule). So every
  individual is a valid plan. Seed: one genome with every operation on its fastest machine.
* **GAP** (cost, load balance). Genome: one agent per task (a real in [0, m-1],
  rounded by the repair). The repair then moves tasks off overloaded agents, each
  time the move with the least cost increase per unit of load freed onto an agent
  with room, until no agent is over capacity or no move is left; what overload
  remains is pymoo's constraint violation (constrained domination), so an
  unrepairable individual is never in the front. Seeds: cheapest agent per task
  and least load per task, both repaired.

The archive's plans are rebuilt as :class:`~quantum_planner.model.Solution` s
(:func:`front_solutions`) and scored by the project's own ``evaluate`` and
``validate``, the same code that scores ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from quantum_planner.model import Problem, Solution
from quantum_planner.scheduling import build_schedule
from quantum_planner.solution import make_solution

# Tuned at 8 s (2 shared cores) over populations 50/100/200 and 0/1/5 seeds on mk01, mk04,
# mk10, c10400 and e40400: the best hypervolume on most of them (mk01 alone preferred no seed).
POP_SIZE = {"fjsp": 200, "gap": 50}
SHOP_SEEDS = 1


# -- flexible job shop ---------------------------------------------------------------


@dataclass
class ShopData:
    """A flexible job shop as flat arrays (operations in problem order)."""

    task_ids: list[str]
    agent_ids: list[str]
    job_first: np.ndarray  # first operation of each job
    job_len: np.ndarray  # operations per job
    elig_ptr: np.ndarray  # eligible machines of operation o: elig_*[ptr[o]:ptr[o+1]]
    elig_m: np.ndarray
    elig_d: np.ndarray


def shop_data(problem: Problem) -> ShopData:
    """Arrays of a ``load_fjsp`` problem (tasks ``j{job}o{op}``, chains by dependency)."""
    agent_ids = [a.id for a in problem.agents]
    col = {a: i for i, a in enumerate(agent_ids)}
    firsts, lens, ptr, ms, ds = [], [], [0], [], []
    for i, t in enumerate(problem.tasks):
        if not t.dependencies:
            firsts.append(i)
            lens.append(0)
        lens[-1] += 1
        for a in t.allowed_agents or agent_ids:
            ms.append(col[a])
            ds.append(t.duration_on(a))
        ptr.append(len(ms))
    return ShopData(
        task_ids=[t.id for t in problem.tasks],
        agent_ids=agent_ids,
        job_first=np.array(firsts, np.int64),
        job_len=np.array(lens, np.int64),
        elig_ptr=np.array(ptr, np.int64),
        elig_m=np.array(ms, np.int64),
        elig_d=np.array(ds, np.float64),
    )


@njit(cache=True)
def _shop_decode(x, job_first, job_len, ptr, em, ed, n_machines):  # pragma: no cover - numba
    n = ptr.size - 1
    mach = np.empty(n, np.int64)
    start = np.empty(n, np.float64)
    dur = np.empty(n, np.float64)
    for o in range(n):
        k = ptr[o + 1] - ptr[o]
        idx = min(int(x[o] * k), k - 1)
        mach[o] = em[ptr[o] + idx]
        dur[o] = ed[ptr[o] + idx]
    # per machine: intervals sorted by start
    ms = np.zeros((n_machines, n), np.float64)
    me = np.zeros((n_machines, n), np.float64)
    cnt = np.zeros(n_machines, np.int64)
    nxt = np.zeros(job_first.size, np.int64)
    ready = np.zeros(job_first.size, np.float64)
    makespan = 0.0
    work = 0.0
    for _ in range(n):
        best, bj = 2.0, -1
        for j in range(job_first.size):
            if nxt[j] < job_len[j]:
                key = x[n + job_first[j] + nxt[j]]
                if key < best:
                    best, bj = key, j
        o = job_first[bj] + nxt[bj]
        m, d = mach[o], dur[o]
        t = ready[bj]
        pos = cnt[m]
        for i in range(cnt[m]):
            if t + d <= ms[m, i]:
                pos = i
                break
            if me[m, i] > t:
                t = me[m, i]
        for i in range(cnt[m], pos, -1):
            ms[m, i] = ms[m, i - 1]
            me[m, i] = me[m, i - 1]
        ms[m, pos] = t
        me[m, pos] = t + d
        cnt[m] += 1
        start[o] = t
        ready[bj] = t + d
        nxt[bj] += 1
        makespan = max(makespan, t + d)
        work += d
    return mach, start, dur, makespan, work


@njit(cache=True)
def _shop_batch(X, job_first, job_len, ptr, em, ed, n_machines):  # pragma: no cover - numba
    F = np.empty((X.shape[0], 2), np.float64)
    for i in range(X.shape[0]):
        _, _, _, mk, w = _shop_decode(X[i], job_first, job_len, ptr, em, ed, n_machines)
        F[i, 0] = mk
        F[i, 1] = w
    return F


@njit(cache=True)
def _shop_repair(X, ptr):  # pragma: no cover - numba
    n = ptr.size - 1
    for i in range(X.shape[0]):
        for g in range(X.shape[1]):
            X[i, g] = min(max(X[i, g], 0.0), 1.0 - 1e-9)
        for o in range(n):
            k = ptr[o + 1] - ptr[o]
            idx = min(int(X[i, o] * k), k - 1)
            X[i, o] = (idx + 0.5) / k  # the middle of its machine's bin
    return X


def shop_seeds(data: ShopData, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` genomes with every operation on its fastest machine (random keys)."""
    n = data.elig_ptr.size - 1
    out = rng.random((count, 2 * n))
    for o in range(n):
        lo, hi = data.elig_ptr[o], data.elig_ptr[o + 1]
        out[:, o] = (int(np.argmin(data.elig_d[lo:hi])) + 0.5) / (hi - lo)
    return out


def shop_solution(problem: Problem, data: ShopData, x: np.ndarray) -> Solution:
    """The plan a genome decodes to."""
    mach, start, dur, _, _ = _shop_decode(
        x, data.job_first, data.job_len, data.elig_ptr, data.elig_m, data.elig_d,
        len(data.agent_ids),
    )  # fmt: skip
    assign, sched = {}, {a: {} for a in data.agent_ids}
    for o, tid in enumerate(data.task_ids):
        aid = data.agent_ids[mach[o]]
        assign[tid] = aid
        sched[aid][tid] = (float(start[o]), float(start[o] + dur[o]))
    return make_solution(problem, assign, sched, backend="nsga2")


# -- generalized assignment -------------------------------------------------------------


@dataclass
class GapData:
    """A GAP instance as matrices (agents x tasks)."""

    task_ids: list[str]
    agent_ids: list[str]
    cost: np.ndarray
    load: np.ndarray
    cap: np.ndarray
    busy: np.ndarray  # what an agent's busy time adds up (the duration on it)


def gap_data(problem: Problem) -> GapData:
    agents = problem.agents
    return GapData(
        task_ids=[t.id for t in problem.tasks],
        agent_ids=[a.id for a in agents],
        cost=np.array([[t.cost_on(a) for t in problem.tasks] for a in agents]),
        load=np.array([[t.load_on(a.id) for t in problem.tasks] for a in agents]),
        cap=np.array([a.capacity if a.capacity is not None else np.inf for a in agents]),
        busy=np.array([[t.duration_on(a.id) for t in problem.tasks] for a in agents]),
    )


@njit(cache=True)
def _gap_repair_one(x, cost, load, cap):  # pragma: no cover - numba
    m, n = load.shape
    a = np.empty(n, np.int64)
    used = np.zeros(m)
    for j in range(n):
        a[j] = min(max(int(x[j] + 0.5), 0), m - 1)
        used[a[j]] += load[a[j], j]
    for _ in range(4 * n):
        best, bj, bb = np.inf, -1, -1
        for j in range(n):
            src = a[j]
            if used[src] <= cap[src]:
                continue
            for b in range(m):
                if b != src and used[b] + load[b, j] <= cap[b]:
                    score = (cost[b, j] - cost[src, j]) / max(load[src, j], 1e-9)
                    if score < best:
                        best, bj, bb = score, j, b
        if bj < 0:
            break
        used[a[bj]] -= load[a[bj], bj]
        a[bj] = bb
        used[bb] += load[bb, bj]
    over = 0.0
    for i in range(m):
        over += max(used[i] - cap[i], 0.0)
    for j in range(n):
        x[j] = a[j]
    return over


@njit(cache=True)
def _gap_batch(X, cost, load, cap, busy):  # pragma: no cover - numba
    m, n = load.shape
    F = np.empty((X.shape[0], 2))
    G = np.empty((X.shape[0], 1))
    for i in range(X.shape[0]):
        G[i, 0] = _gap_repair_one(X[i], cost, load, cap)  # idempotent on repaired genomes
        total = 0.0
        b = np.zeros(m)
        for j in range(n):
            ag = int(X[i, j])
            total += cost[ag, j]
            b[ag] += busy[ag, j]
        F[i, 0] = total
        F[i, 1] = np.var(b)  # population variance, as objectives.evaluate's balance_load
    return F, G


@njit(cache=True)
def _gap_repair(X, cost, load, cap):  # pragma: no cover - numba
    for i in range(X.shape[0]):
        _gap_repair_one(X[i], cost, load, cap)
    return X


def gap_seeds(data: GapData) -> np.ndarray:
    """Cheapest agent per task, and least load per task (the repair makes them fit)."""
    return np.stack([np.argmin(data.cost, axis=0), np.argmin(data.load, axis=0)]).astype(float)


def gap_solution(problem: Problem, data: GapData, x: np.ndarray) -> Solution:
    assign = {tid: data.agent_ids[int(x[j])] for j, tid in enumerate(data.task_ids)}
    return make_solution(problem, assign, build_schedule(problem, assign), backend="nsga2")


# -- the run -------------------------------------------------------------------------


@dataclass
class Archive:
    """Every non-dominated feasible (objectives, genome) evaluated so far (minimised)."""

    F: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    X: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    evaluations: int = 0

    def add(self, F: np.ndarray, X: np.ndarray, ok: np.ndarray) -> None:
        self.evaluations += len(F)
        F_all = np.vstack([self.F, F[ok]]) if len(self.F) else F[ok]
        X_all = np.vstack([self.X, X[ok]]) if len(self.X) else X[ok]
        if not len(F_all):
            return
        F_all, first = np.unique(F_all, axis=0, return_index=True)  # one genome per vector
        X_all = X_all[first]
        keep = [
            i
            for i in range(len(F_all))
            if not np.any(np.all(F_all <= F_all[i], axis=1) & np.any(F_all < F_all[i], axis=1))
        ]
        self.F, self.X = F_all[keep], X_all[keep]


def run_nsga2(problem: Problem, kind: str, time_limit: float, seed: int) -> dict[str, Any]:
    """NSGA-II for ``time_limit`` seconds; the archive's plans, validated by the caller."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as MooProblem
    from pymoo.core.repair import Repair
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.optimize import minimize
    from pymoo.termination.max_time import TimeBasedTermination

    rng = np.random.default_rng(seed)
    archive = Archive()
    pop = POP_SIZE[kind]
    if kind == "fjsp":
        d = shop_data(problem)
        n_var, xu, n_constr = 2 * (d.elig_ptr.size - 1), 1.0, 0
        args = (d.job_first, d.job_len, d.elig_ptr, d.elig_m, d.elig_d, len(d.agent_ids))
        init = np.vstack([shop_seeds(d, rng, SHOP_SEEDS), rng.random((pop - SHOP_SEEDS, n_var))])

        def evaluate(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            return _shop_batch(X, *args), None

        def repair(X: np.ndarray) -> np.ndarray:
            return _shop_repair(X, d.elig_ptr)

        to_solution: Any = shop_solution
    else:
        d = gap_data(problem)  # type: ignore[assignment]
        m = len(d.agent_ids)
        n_var, xu, n_constr = len(d.task_ids), float(m - 1), 1
        init = np.vstack([gap_seeds(d), rng.integers(0, m, (pop - 2, n_var))]).astype(float)

        def evaluate(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            return _gap_batch(X, d.cost, d.load, d.cap, d.busy)

        def repair(X: np.ndarray) -> np.ndarray:
            return _gap_repair(X, d.cost, d.load, d.cap)

        to_solution = gap_solution

    class _Repair(Repair):
        def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
            return repair(np.ascontiguousarray(X, dtype=float))

    class _Moo(MooProblem):
        def __init__(self) -> None:
            super().__init__(n_var=n_var, n_obj=2, n_ieq_constr=n_constr, xl=0.0, xu=xu)

        def _evaluate(self, X: np.ndarray, out: dict, *args: Any, **kwargs: Any) -> None:
            X = np.ascontiguousarray(X, dtype=float)
            F, G = evaluate(X)
            out["F"] = F
            if G is not None:
                out["G"] = G
            archive.add(F, X, np.ones(len(F), bool) if G is None else G[:, 0] <= 0)

    algorithm = NSGA2(
        pop_size=pop,
        sampling=init,
        crossover=SBX(prob=0.9, eta=15),
        mutation=PM(eta=20),
        repair=_Repair(),
        eliminate_duplicates=True,
    )
    t0 = time.perf_counter()
    res = minimize(_Moo(), algorithm, TimeBasedTermination(max_time=time_limit), seed=seed)
    elapsed = time.perf_counter() - t0
    plans = [to_solution(problem, d, x) for x in archive.X[np.argsort(archive.F[:, 0])]]
    return {
        "solutions": plans,
        "elapsed": elapsed,
        "generations": res.algorithm.n_gen,
        "evaluations": archive.evaluations,
    }


def warm(problem_fjsp: Problem, problem_gap: Problem) -> None:
    """Compile the numba kernels (or load them from the cache) before any clock starts."""
    for p, kind in ((problem_fjsp, "fjsp"), (problem_gap, "gap")):
        run_nsga2(p, kind, 0.5, 0)
