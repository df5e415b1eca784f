"""Scheduling path of the hybrid solver (makespan objective or deadlines).

Start: *earliest-finish-time list scheduling*. Tasks are taken in precedence
order (ties by earliest release, then by the longest remaining chain of
successors); each goes to the eligible agent, with capacity left, on which it
would finish first, into the earliest idle gap that fits.

Improvement, when the problem is shop-like (makespan only, no capacities,
windows or optional tasks; flexible job shop): our critical-path tabu search
(:mod:`shop_tabu`) on one core, and CP-SAT's scheduling model (one worker,
warm-started from the start plan) on the other for the first
``CPSAT_SHARE`` of the time (``CPSAT_MAX_S`` at most). CP-SAT proves the small problems optimal in
that time (which ends the solve); on the others its single worker hardly
improves on the start, so it then hands its core to a second tabu search
with another seed. The two searches share their best plan (each restart
goes to the better one); progress reports come from that shared plan and
CP-SAT's better plans, and never go up. Other timed problems: CP-SAT alone
improves the start. The best plan of all is returned, with CP-SAT's bound.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import Schedule
from quantum_planner.solvers.base import Progress, ProgressCallback, make_solution
from quantum_planner.solvers.compiled import Compiled

if TYPE_CHECKING:
    from quantum_planner.solvers.hybrid import HybridSolver

__all__ = ["eft_schedule", "solve_scheduling"]

# share of the time (at most CPSAT_MAX_S seconds) CP-SAT keeps its core on shop-like
# problems before a second tabu search takes it over (it has proven the small ones by
# then; on the others its one worker hardly moves from the start plan)
CPSAT_SHARE = 0.25
CPSAT_MAX_S = 5.0
# the tabu search keeps an n x (n + m + 1) int64 matrix (shop_tabu.py): 20 GB at 50,000
# tasks. Past this many bytes it is not started; the list schedule and CP-SAT go on
MAX_TABU_BYTES = 1 << 30


def _tail_lengths(comp: Compiled) -> np.ndarray:
    """Longest chain of shortest durations from each task to the end (priority rule)."""
    n = comp.n
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    dmin = np.where(comp.elig, comp.dur, np.inf).min(axis=1, initial=np.inf)
    dmin = np.where(np.isfinite(dmin), dmin, 0.0)
    order = _topo(comp)
    tail = np.zeros(n)
    for i in reversed(order):
        tail[i] = dmin[i] + max((tail[s] for s in succ[i]), default=0.0)
    return tail


def _topo(comp: Compiled) -> list[int]:
    n = comp.n
    indeg = np.array([len(p) for p in comp.preds])
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    ready = [i for i in range(n) if indeg[i] == 0]
    out: list[int] = []
    while ready:
        i = ready.pop()
        out.append(i)
        for s in succ[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    return out


def eft_schedule(comp: Compiled) -> tuple[dict[str, str], Schedule]:
    """Earliest-finish-time list schedule (optional tasks that fit nowhere are left out)."""
    import heapq

    n, m = comp.n, comp.m
    tail = _tail_lengths(comp)
    indeg = [len(p) for p in comp.preds]
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(comp.preds):
        for p in ps:
            succ[p].append(i)
    rel_min = np.where(comp.elig, comp.release, np.inf).min(axis=1, initial=np.inf)
    heap = [(float(rel_min[i]), -float(tail[i]), i) for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    end = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    rem = comp.cap.copy()
    busy: list[list[tuple[float, float]]] = [[] for _ in range(m)]
    assign = np.full(n, -1)
    start = np.zeros(n)
    while heap:
        _, _, i = heapq.heappop(heap)
        est0 = max((end[p] for p in comp.preds[i] if done[p]), default=0.0)
        best = None
        for j in comp.options[i]:
            if comp.load[i, j] > rem[j] + 1e-9:
                continue
            d = comp.dur[i, j]
            s = _gap(busy[j], max(est0, comp.release[i, j]), d)
            key = (s + d > comp.deadline[i, j] + 1e-9, s + d, comp.cost[i, j])
            if best is None or key < best[0]:
                best = (key, int(j), s)
        if best is not None and not (comp.optional[i] and best[0][0]):
            _, j, s = best
            assign[i], start[i] = j, s
            end[i] = s + comp.dur[i, j]
            done[i] = True
            rem[j] -= comp.load[i, j]
            _insert(busy[j], (s, end[i]))
        for s2 in succ[i]:
            indeg[s2] -= 1
            if indeg[s2] == 0:
                heapq.heappush(heap, (float(rel_min[s2]), -float(tail[s2]), s2))
    assignments: dict[str, str] = {}
    schedule: Schedule = {a: {} for a in comp.agent_ids}
    for i in range(n):
        if assign[i] >= 0:
            a = comp.agent_ids[assign[i]]
            assignments[comp.task_ids[i]] = a
            schedule[a][comp.task_ids[i]] = (float(start[i]), float(end[i]))
    return assignments, schedule


def _gap(intervals: list[tuple[float, float]], est: float, dur: float) -> float:
    prev = 0.0
    for s, e in intervals:
        st = max(prev, est)
        if st + dur <= s + 1e-9:
            return st
        prev = max(prev, e)
    return max(prev, est)


def _insert(intervals: list[tuple[float, float]], iv: tuple[float, float]) -> None:
    k = 0
    while k < len(intervals) and intervals[k][0] < iv[0]:
        k += 1
    intervals.insert(k, iv)


def solve_scheduling(
    solver: HybridSolver,
    comp: Compiled,
    deadline: float,
    seed: int,
    warm_start: Solution | None,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    t0: float,
) -> Solution:
    """Start plan, then the race described in the module docstring."""
    from quantum_planner.solvers.cpsat import CPSATSolver

    problem = comp.problem
    assignments, schedule = eft_schedule(comp)
    key = objective_key(problem, evaluate(problem, assignments, schedule))
    start_ok = _respects_deadlines(comp, assignments, schedule)
    warm = _usable(comp, warm_start)
    if warm is not None:
        w_key = objective_key(problem, evaluate(problem, *warm))
        if w_key < key or not start_ok:
            # a better (or the only feasible) warm start is where the searches begin
            assignments, schedule = warm
            key, start_ok = w_key, True
    # a start that misses a deadline or a required task loses to any feasible plan
    best = (key if start_ok else (math.inf,) * len(key), assignments, schedule)
    stats: dict[str, Any] = {"start_value": key[0], "start_feasible": start_ok}
    first = time.perf_counter() - t0
    if progress is not None and start_ok:
        progress(Progress(elapsed=first, best=key[0], message="hybrid: list schedule"))
    lower = None
    status = "feasible"
    seed_plan = warm_start
    if warm_start is None or not warm_start.assignments:
        seed_plan = make_solution(problem, assignments, schedule, backend="hybrid")
    results: dict[str, Any] = {}
    threads: list[threading.Thread] = []
    inner_stop = threading.Event()  # everything ends (deadline, caller, proof)
    cp_stop = threading.Event()  # CP-SAT alone ends (it yields its core)
    tabu_ok = _shop_like(comp) and 8 * comp.n * (comp.n + comp.m + 1) <= MAX_TABU_BYTES
    if _shop_like(comp) and not tabu_ok:
        stats["tabu_skipped"] = f"{comp.n} tasks: its matrix would pass {MAX_TABU_BYTES} bytes"
    shared = None
    if tabu_ok:
        from quantum_planner.solvers.shop_tabu import SharedBest, shop_tabu

        shared = SharedBest(comp, t0, progress, value=key[0] if start_ok else math.inf)

        def run_tabu(name: str, tabu_seed: int, who: str) -> None:
            results[name] = shop_tabu(
                comp, assignments, schedule, deadline, tabu_seed, stop, inner_stop,
                shared=shared, name=who,
            )  # fmt: skip

        threads.append(
            threading.Thread(target=run_tabu, args=("tabu", seed, "hybrid: tabu"), daemon=True)
        )
    remaining = deadline - time.perf_counter()
    cp_thread = None
    if solver.race_cpsat and remaining > 0.05:
        workers = max(1, solver.num_workers - (1 if tabu_ok else 0))

        def cp_progress(p: Progress) -> None:
            # through the searches' shared plan: the reported value never goes up
            if shared is not None:
                shared.relay(p)
            elif progress is not None:
                progress(p)

        def run_cpsat() -> None:
            cps = CPSATSolver(num_workers=workers, deterministic=False)
            sol = cps.solve(
                problem,
                time_limit=max(0.05, deadline - time.perf_counter()),
                seed=seed,
                warm_start=seed_plan,
                stop=cp_stop,
                progress=cp_progress if progress is not None else None,
            )
            results["cpsat"] = sol
            if sol.status in ("optimal", "infeasible"):
                inner_stop.set()  # proven: the tabu search cannot do better

        cp_thread = threading.Thread(target=run_cpsat, daemon=True)
        threads.append(cp_thread)
    for t in threads:
        t.start()
    # CP-SAT closes small problems quickly (a proof); on the others its single worker
    # hardly moves from the start plan, so after a share of the time it hands its core
    # to a second tabu search (another seed), which shares plans with the first
    second_at = time.perf_counter()
    if cp_thread is not None:
        second_at += min(CPSAT_MAX_S, CPSAT_SHARE * max(0.0, deadline - second_at))
    second = tabu_ok and solver.num_workers >= 2
    # wait for the deadline, the caller's stop, or every racer to finish
    while time.perf_counter() < deadline:
        if stop is not None and stop.is_set():
            break
        if inner_stop.is_set():
            break
        if second and (
            time.perf_counter() >= second_at or not (cp_thread and cp_thread.is_alive())
        ):
            second = False
            cp_stop.set()
            t2 = threading.Thread(
                target=run_tabu, args=("tabu2", seed + 1, "hybrid: tabu (2)"), daemon=True
            )
            threads.append(t2)
            t2.start()
        if not any(t.is_alive() for t in threads):
            break
        time.sleep(0.01)
    inner_stop.set()
    cp_stop.set()
    for t in threads:
        t.join(timeout=1.0)
    cp_sol = results.get("cpsat")
    if cp_sol is not None:
        stats["cpsat_value"] = cp_sol.objectives.get(problem.objectives[0].value)
        lower = cp_sol.lower_bound
        if cp_sol.assignments or not best[1]:
            key = objective_key(problem, cp_sol.objectives)
            if cp_sol.feasible and key < best[0] and _complete(comp, cp_sol.assignments):
                best = (key, dict(cp_sol.assignments), cp_sol.schedule)
        if cp_sol.status == "optimal":
            status = "optimal"
    for name in ("tabu", "tabu2"):
        tabu_res = results.get(name)
        if tabu_res is None:
            continue
        t_assign, t_sched, t_stats = tabu_res
        stats[name] = t_stats
        key = objective_key(problem, evaluate(problem, t_assign, t_sched))
        if key < best[0]:
            best = (key, t_assign, t_sched)
    if not math.isfinite(best[0][0]):
        status = "unknown"  # neither racer found a plan that meets every deadline
    value = evaluate(problem, best[1], best[2])[problem.objectives[0].value]
    gap = None
    if lower is not None and math.isfinite(lower):
        from quantum_planner.solvers.cpsat import relative_gap

        gap = relative_gap(value, lower, problem.objectives[0].sense)
        if gap is not None and gap <= 1e-9:
            status = "optimal"
    if status == "optimal" and (gap is None or gap > 1e-9) and cp_sol is not None:
        # CP-SAT proved its own plan optimal; ours can only tie it
        gap = 0.0
    stats["first_feasible_s"] = first
    solver.stats = stats
    return make_solution(
        problem,
        best[1],
        best[2],
        backend=solver.name,
        status=status,
        feasible=math.isfinite(best[0][0]),
        lower_bound=lower,
        gap=gap,
        wall_time=time.perf_counter() - t0,
        seed=seed,
        metadata={"hybrid": stats},
    )


def _respects_deadlines(comp: Compiled, assignments: dict[str, str], schedule: Schedule) -> bool:
    """Every required task placed, and every placed task ends by its pair's deadline."""
    if not _complete(comp, assignments):
        return False
    a_index = {a: j for j, a in enumerate(comp.agent_ids)}
    for i, t in enumerate(comp.task_ids):
        a = assignments.get(t)
        if a is not None and schedule[a][t][1] > comp.deadline[i, a_index[a]] + 1e-9:
            return False
    return True


def _usable(comp: Compiled, warm: Solution | None) -> tuple[dict[str, str], Schedule] | None:
    """A warm start's plan when it is complete, on eligible agents and meets every deadline.

    Precedence and agent overlaps are checked too: the tabu search orders each
    agent's tasks by the warm start's times and needs a plan without conflicts.
    """
    if warm is None or not warm.assignments or not _complete(comp, warm.assignments):
        return None
    from quantum_planner.validate import validate

    if validate(comp.problem, warm):
        return None
    if not _respects_deadlines(comp, warm.assignments, warm.schedule):
        return None
    return dict(warm.assignments), {a: dict(ts) for a, ts in warm.schedule.items()}


def _complete(comp: Compiled, assignments: dict[str, str]) -> bool:
    return all(comp.optional[i] or t in assignments for i, t in enumerate(comp.task_ids))


def _shop_like(comp: Compiled) -> bool:
    """Tabu on the disjunctive graph fits problems where only the makespan matters."""
    return (
        comp.objectives == [comp.objectives[0]]
        and comp.objectives[0].value == "minimize_makespan"
        and not comp.optional.any()
        and not np.isfinite(comp.cap).any()
        and not np.isfinite(comp.deadline[comp.elig]).any()
        and not (comp.release[comp.elig] > 0).any()
    )
