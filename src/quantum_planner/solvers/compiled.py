"""A :class:`Problem` compiled into dense numpy arrays for the fast solvers.

The pydantic model is convenient but slow to query in inner loops (100 agents x
2000 tasks is 200,000 eligible pairs). Every solver of this package starts from
:func:`compile_problem`, which walks the model once and returns plain arrays:
eligibility, duration, cost, load and window per (task, agent) pair, capacities,
priorities and predecessor lists. Ineligible pairs keep ``inf`` cost so that
any vectorised arg-min ignores them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from quantum_planner.model import Objective, Problem

__all__ = ["Compiled", "compile_problem", "linear_weights"]

INF = math.inf


@dataclass
class Compiled:
    """Arrays describing a problem; index ``i`` is a task, ``j`` an agent (problem order)."""

    problem: Problem
    task_ids: list[str]
    agent_ids: list[str]
    elig: np.ndarray  # (n, m) bool
    dur: np.ndarray  # (n, m) float
    cost: np.ndarray  # (n, m) float, inf where ineligible
    load: np.ndarray  # (n, m) float
    release: np.ndarray  # (n, m) earliest start on that agent
    deadline: np.ndarray  # (n, m) latest end on that agent (inf: none)
    cap: np.ndarray  # (m,) capacity (inf: unlimited or capacity_limit off)
    prio: np.ndarray  # (n,)
    optional: np.ndarray  # (n,) bool
    preds: list[list[int]]  # prerequisite task indices
    objectives: list[Objective]
    timed: bool  # does the schedule (not just the assignment) matter?
    options: list[np.ndarray] = field(default_factory=list)  # eligible agents per task

    @property
    def n(self) -> int:
        return len(self.task_ids)

    @property
    def m(self) -> int:
        return len(self.agent_ids)

    @property
    def has_precedence(self) -> bool:
        return any(self.preds)


def compile_problem(problem: Problem) -> Compiled:
    """Compile ``problem`` (one pass over the model; vectorised where it can be)."""
    agents, tasks = problem.agents, problem.tasks
    n, m = len(tasks), len(agents)
    cons = problem.constraints
    a_index = {a.id: j for j, a in enumerate(agents)}
    t_index = {t.id: i for i, t in enumerate(tasks)}
    skills = [frozenset(a.skills) for a in agents]
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

    elig = np.zeros((n, m), dtype=bool)
    dur = np.empty((n, m))
    load = np.empty((n, m))
    cost = np.empty((n, m))
    rel_t = np.zeros(n)
    dl_t = np.full(n, horizon)
    # skill eligibility is shared by all tasks with the same requirement set
    skill_cache: dict[frozenset[str], np.ndarray] = {}
    for i, t in enumerate(tasks):
        dur[i, :] = t.duration
        load[i, :] = t.load
        for aid, v in t.durations.items():
            dur[i, a_index[aid]] = v
        for aid, v in t.loads.items():
            load[i, a_index[aid]] = v
        cost[i, :] = rate * dur[i, :]
        for aid, v in t.costs.items():
            cost[i, a_index[aid]] = v
        if cons.skill_match and t.required_skills:
            req = frozenset(t.required_skills)
            row = skill_cache.get(req)
            if row is None:
                row = np.array([req <= s for s in skills], dtype=bool)
                skill_cache[req] = row
            elig[i, :] = row
        else:
            elig[i, :] = True
        if t.allowed_agents is not None:
            allowed = np.zeros(m, dtype=bool)
            allowed[[a_index[a] for a in t.allowed_agents]] = True
            elig[i, :] &= allowed
        if cons.time_windows:
            if t.earliest_start is not None:
                rel_t[i] = max(0.0, t.earliest_start)
            if t.latest_finish is not None:
                dl_t[i] = min(dl_t[i], t.latest_finish)
    release = _outer(np.maximum, rel_t, a_from)
    deadline = _outer(np.minimum, dl_t, a_until)
    elig &= load <= cap[None, :]
    if np.isfinite(dl_t).any() or np.isfinite(a_until).any():  # else always room
        elig &= deadline - release >= dur
    cost[~elig] = INF  # in place: at 50,000 x 1,000 each (n, m) copy is 400 MB

    preds: list[list[int]] = [[t_index[d] for d in problem.prerequisites(t.id)] for t in tasks]
    objectives = problem.objectives
    timed = Objective.MINIMIZE_MAKESPAN in objectives or bool(np.isfinite(deadline[elig]).any())
    comp = Compiled(
        problem=problem,
        task_ids=[t.id for t in tasks],
        agent_ids=[a.id for a in agents],
        elig=elig,
        dur=dur,
        cost=cost,
        load=load,
        release=release,
        deadline=deadline,
        cap=cap,
        prio=np.array([t.priority for t in tasks], dtype=float),
        optional=np.array([t.optional for t in tasks], dtype=bool),
        preds=preds,
        objectives=objectives,
        timed=timed,
    )
    comp.options = [np.flatnonzero(elig[i]) for i in range(n)]
    return comp


def _outer(fn: Callable[..., np.ndarray], col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """``fn(col[:, None], row[None, :])``; a read-only broadcast view when one side is constant.

    Release times and deadlines are mostly all-zero / all-infinite on one side:
    the view costs one row or column instead of n x m floats (800 MB at
    50,000 tasks x 1,000 agents for the two).
    """
    n, m = col.size, row.size
    if n and (col == col[0]).all():
        return np.broadcast_to(fn(col[0], row)[None, :], (n, m))
    if m and (row == row[0]).all():
        return np.broadcast_to(fn(col, row[0])[:, None], (n, m))
    return fn(col[:, None], row[None, :])


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
    n, m = comp.n, comp.m
    w = np.zeros((n, m))
    w_un = np.zeros(n)
    beta = 0.0
    scale = 1.0
    finite_cost = np.where(comp.elig, comp.cost, 0.0)
    for obj in reversed(comp.objectives):
        if obj is Objective.MINIMIZE_COST:
            # no (n, m) temporaries where avoidable: 400 MB each at 50,000 x 1,000
            w += finite_cost if scale == 1.0 else scale * finite_cost
            top = np.maximum(
                finite_cost.max(axis=1, initial=0.0), -finite_cost.min(axis=1, initial=0.0)
            )
            rng = float(top.sum())
        elif obj is Objective.MAXIMIZE_PRIORITY:
            w -= scale * comp.prio[:, None]
            rng = float(np.abs(comp.prio).sum())
        elif obj is Objective.BALANCE_LOAD:
            beta += scale
            busy = np.where(comp.elig, comp.dur, 0.0).max(axis=1, initial=0.0).sum()
            rng = float(busy**2)
        else:  # makespan: not linear; bounded by total duration
            rng = float(np.where(comp.elig, comp.dur, 0.0).max(axis=1, initial=0.0).sum())
        scale *= max(rng, 1.0) + 1.0
    w[~comp.elig] = INF  # in place (see compile_problem)
    return w, w_un, beta
