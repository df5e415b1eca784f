"""The compiled form of a :class:`Problem` for the fast solvers: sparse pairs, dense on demand.

The pydantic model is convenient but slow to query in inner loops (100 agents x
2000 tasks is 200,000 eligible pairs). Every solver of this package starts from
:func:`compile_problem`, which reads the model once, vectorised
(:mod:`~quantum_planner.solvers.pairs`), and keeps the eligible (task, agent)
pairs as CSR arrays: ``ptr``/``col`` and per pair the duration, cost, load and
window. Memory and time grow with the eligible pairs, not tasks x agents
(1,000 x 50,000 is 50 M cells but about 1 M pairs).

The dense ``(n, m)`` matrices the smaller solvers index (``elig``, ``dur``,
``cost``, ``load``, ``release``, ``deadline``) are built from the pairs on
first use and then kept; ineligible cells hold ``inf`` cost, the task's own
duration and load, and the task's window, so any vectorised arg-min ignores
them. Paths meant for big problems read only the pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from quantum_planner.model import Objective, Problem
from quantum_planner.solvers.pairs import eligible_pairs, row_max

__all__ = ["Compiled", "compile_problem", "linear_weights", "pair_weights"]

INF = math.inf


@dataclass
class Compiled:
    """Arrays describing a problem; index ``i`` is a task, ``j`` an agent (problem order).

    Pairs: row ``i`` of the CSR is ``ptr[i]:ptr[i + 1]``, its agents ``col`` (increasing).
    """

    problem: Problem
    task_ids: list[str]
    agent_ids: list[str]
    ptr: np.ndarray  # (n + 1,) int64
    col: np.ndarray  # (nnz,) int64 eligible agent
    pdur: np.ndarray  # (nnz,) duration of the pair
    pcost: np.ndarray  # (nnz,) cost of the pair
    pload: np.ndarray  # (nnz,) load of the pair
    prelease: np.ndarray  # (nnz,) earliest start of the task on that agent
    pdeadline: np.ndarray  # (nnz,) latest end there (inf: none)
    cap: np.ndarray  # (m,) capacity (inf: unlimited or capacity_limit off)
    prio: np.ndarray  # (n,)
    optional: np.ndarray  # (n,) bool
    preds: list[list[int]]  # prerequisite task indices
    objectives: list[Objective]
    timed: bool  # does the schedule (not just the assignment) matter?
    # for the dense views' ineligible cells: the task's own values and windows
    task_dur: np.ndarray  # (n,)
    task_load: np.ndarray  # (n,)
    task_release: np.ndarray  # (n,)
    task_deadline: np.ndarray  # (n,)
    agent_from: np.ndarray  # (m,)
    agent_until: np.ndarray  # (m,)

    @property
    def n(self) -> int:
        return len(self.task_ids)

    @property
    def m(self) -> int:
        return len(self.agent_ids)

    @property
    def nnz(self) -> int:
        """Number of eligible (task, agent) pairs."""
        return int(self.col.size)

    @property
    def has_precedence(self) -> bool:
        return any(self.preds)

    @cached_property
    def row(self) -> np.ndarray:
        """(nnz,) task of each pair."""
        return np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.ptr))

    @cached_property
    def options(self) -> list[np.ndarray]:
        """Eligible agents per task (views into ``col``)."""
        return np.split(self.col, self.ptr[1:-1]) if self.n else []

    def _dense(self, values: np.ndarray, fill: np.ndarray | float) -> np.ndarray:
        out = np.empty((self.n, self.m))
        out[...] = fill
        out[self.row, self.col] = values
        return out

    @cached_property
    def elig(self) -> np.ndarray:
        """(n, m) bool, built on first use."""
        out = np.zeros((self.n, self.m), dtype=bool)
        out[self.row, self.col] = True
        return out

    @cached_property
    def dur(self) -> np.ndarray:
        """(n, m) duration (the task's own where ineligible), built on first use."""
        return self._dense(self.pdur, self.task_dur[:, None])

    @cached_property
    def load(self) -> np.ndarray:
        """(n, m) load (the task's own where ineligible), built on first use."""
        return self._dense(self.pload, self.task_load[:, None])

    @cached_property
    def cost(self) -> np.ndarray:
        """(n, m) cost, ``inf`` where ineligible, built on first use."""
        return self._dense(self.pcost, INF)

    @cached_property
    def release(self) -> np.ndarray:
        """(n, m) earliest start on that agent, built on first use."""
        out = np.empty((self.n, self.m))
        np.maximum(self.task_release[:, None], self.agent_from[None, :], out=out)
        return out

    @cached_property
    def deadline(self) -> np.ndarray:
        """(n, m) latest end on that agent (inf: none), built on first use."""
        out = np.empty((self.n, self.m))
        np.minimum(self.task_deadline[:, None], self.agent_until[None, :], out=out)
        return out


def compile_problem(problem: Problem) -> Compiled:
    """Compile ``problem``: one vectorised pass over the model (no per-pair Python)."""
    agents, tasks = problem.agents, problem.tasks
    n = len(tasks)
    cons = problem.constraints
    a_index = {a.id: j for j, a in enumerate(agents)}
    horizon = problem.time_horizon if problem.time_horizon is not None else INF
    a_from = np.array([a.available_from if cons.availability else 0.0 for a in agents])
    a_until = np.array(
        [
            a.available_until if cons.availability and a.available_until is not None else INF
            for a in agents
        ]
    )
    rate = np.array([a.cost_rate for a in agents], dtype=float)
    cap = np.array(
        [a.capacity if cons.capacity_limit and a.capacity is not None else INF for a in agents],
        dtype=float,
    )
    rel_t, dl_t = _task_windows(problem, horizon)
    pairs = eligible_pairs(problem, a_index, rate)
    counts = np.diff(pairs.ptr)
    row = np.repeat(np.arange(n, dtype=np.int64), counts)
    col = pairs.col
    release = np.maximum(rel_t[row], a_from[col]) if col.size else np.zeros(0)
    deadline = np.minimum(dl_t[row], a_until[col]) if col.size else np.zeros(0)
    # capacity and windows on that agent (needs the per-pair values)
    keep = (pairs.load <= cap[col]) & (deadline - release >= pairs.dur)
    if not keep.all():
        counts = np.bincount(row[keep], minlength=n).astype(np.int64)
        col, row = col[keep], row[keep]
        release, deadline = release[keep], deadline[keep]
        pairs.dur, pairs.load, pairs.cost = pairs.dur[keep], pairs.load[keep], pairs.cost[keep]
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    objectives = problem.objectives
    timed = Objective.MINIMIZE_MAKESPAN in objectives or bool(np.isfinite(deadline).any())
    return Compiled(
        problem=problem,
        task_ids=[t.id for t in tasks],
        agent_ids=[a.id for a in agents],
        ptr=ptr,
        col=col,
        pdur=pairs.dur,
        pcost=pairs.cost,
        pload=pairs.load,
        prelease=release,
        pdeadline=deadline,
        cap=cap,
        prio=np.array([t.priority for t in tasks], dtype=float),
        optional=np.array([t.optional for t in tasks], dtype=bool),
        preds=_predecessors(problem),
        objectives=objectives,
        timed=timed,
        task_dur=np.array([t.duration for t in tasks], dtype=float),
        task_load=np.array([t.load for t in tasks], dtype=float),
        task_release=rel_t,
        task_deadline=dl_t,
        agent_from=a_from,
        agent_until=a_until,
    )


def _task_windows(problem: Problem, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Per task: its release (>= 0) and deadline (the horizon at most) when windows apply."""
    tasks = problem.tasks
    n = len(tasks)
    rel_t = np.zeros(n)
    dl_t = np.full(n, horizon)
    if problem.constraints.time_windows:
        for i, t in enumerate(tasks):
            if t.earliest_start is not None:
                rel_t[i] = max(0.0, t.earliest_start)
            if t.latest_finish is not None:
                dl_t[i] = min(dl_t[i], t.latest_finish)
    return rel_t, dl_t


def _predecessors(problem: Problem) -> list[list[int]]:
    """Prerequisite task indices per task (a cheap pass when nothing depends on anything)."""
    cons = problem.constraints
    tasks = problem.tasks
    if not cons.precedence_enabled or (
        not cons.extra_precedence and not any(t.dependencies for t in tasks)
    ):
        return [[] for _ in tasks]
    t_index = {t.id: i for i, t in enumerate(tasks)}
    return [[t_index[d] for d in problem.prerequisites(t.id)] for t in tasks]


def pair_weights(comp: Compiled) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`linear_weights` per eligible pair: ``(w (nnz,), w_unassigned (n,), beta)``."""
    w = np.zeros(comp.nnz)
    w_un = np.zeros(comp.n)
    beta = 0.0
    scale = 1.0
    ptr = comp.ptr
    for obj in reversed(comp.objectives):
        if obj is Objective.MINIMIZE_COST:
            w += scale * comp.pcost
            rng = float(row_max(np.abs(comp.pcost), ptr).sum())
        elif obj is Objective.MAXIMIZE_PRIORITY:
            w -= scale * comp.prio[comp.row]
            rng = float(np.abs(comp.prio).sum())
        elif obj is Objective.BALANCE_LOAD:
            beta += scale
            rng = float(row_max(comp.pdur, ptr).sum() ** 2)
        else:  # makespan: not linear; bounded by total duration
            rng = float(row_max(comp.pdur, ptr).sum())
        scale *= max(rng, 1.0) + 1.0
    return w, w_un, beta


def linear_weights(comp: Compiled) -> tuple[np.ndarray, np.ndarray, float]:
    """Scalarise the assignment objectives into per-pair weights to minimise.

    Returns ``(w, w_unassigned, beta)``: the plan's score is the sum of ``w[i, j]``
    over assigned pairs, plus ``w_unassigned[i]`` for each task left out, plus
    ``beta`` times the variance of the agents' busy time (``balance_load``).
    A lexicographic list becomes weights that differ by a factor chosen so that
    one unit of a higher objective outweighs the whole range of the lower ones
    (exact while the lower ranges fit in float precision; see docs/SOLVERS.md).
    Makespan is not linear and is left out here (the scheduling path handles it).
    """
    pw, w_un, beta = pair_weights(comp)
    w = np.full((comp.n, comp.m), INF)
    w[comp.row, comp.col] = pw
    return w, w_un, beta
