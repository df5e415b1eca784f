"""The eligible (task, agent) pairs of a problem as CSR arrays, built without per-pair Python.

:func:`eligible_pairs` is the heavy half of
:func:`~quantum_planner.solvers.dense_view.compile_problem`: rows are tasks,
the columns of a row its eligible agents in problem order, and per pair the
duration, load and cost. Memory and time grow with the number of eligible
pairs (about 1 M at 1,000 agents x 50,000 tasks), not with tasks x agents.

Skill eligibility is computed once per distinct requirement set (numpy over
an agents x skills matrix); the per-agent overrides (``durations``, ``loads``,
``costs``) are flattened in one pass over the tasks' dicts and placed by a
sorted search on ``task * m + agent``; overrides for ineligible agents are
ignored, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from quantum_planner.model import Problem

__all__ = ["PairArrays", "eligible_pairs", "row_max"]


@dataclass
class PairArrays:
    """CSR of the skill/allowed-agent eligible pairs with their per-pair values."""

    ptr: np.ndarray  # (n + 1,) int64: row i is pairs ptr[i]:ptr[i+1]
    col: np.ndarray  # (nnz,) int64 agent of each pair, increasing within a row
    dur: np.ndarray  # (nnz,) duration of the task on that agent
    load: np.ndarray  # (nnz,) capacity it uses there
    cost: np.ndarray  # (nnz,) its cost there


def row_max(values: np.ndarray, ptr: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """Per CSR row, the largest of ``values`` (``empty`` for a row without pairs)."""
    n = ptr.size - 1
    out = np.full(n, empty, dtype=float)
    counts = np.diff(ptr)
    full = np.flatnonzero(counts > 0)
    if full.size:
        out[full] = np.maximum.reduceat(values, ptr[full])
    return out


def _skill_rows(problem: Problem) -> tuple[list[np.ndarray], np.ndarray]:
    """Per distinct requirement set, its eligible agents; per task, the index of its set."""
    agents, tasks = problem.agents, problem.tasks
    m = len(agents)
    if not problem.constraints.skill_match:
        return [np.arange(m, dtype=np.int64)], np.zeros(len(tasks), np.int64)
    names: dict[str, int] = {}
    for a in agents:
        for s in a.skills:
            names.setdefault(s, len(names))
    has = np.zeros((m, len(names) + 1), dtype=bool)  # last column: a skill nobody has
    for j, a in enumerate(agents):
        has[j, [names[s] for s in a.skills]] = True
    groups: dict[frozenset[str], int] = {}
    rows: list[np.ndarray] = []
    which = np.empty(len(tasks), np.int64)
    for i, t in enumerate(tasks):
        req = frozenset(t.required_skills)
        g = groups.get(req)
        if g is None:
            idx = [names.get(s, len(names)) for s in req]
            g = groups[req] = len(rows)
            rows.append(np.flatnonzero(has[:, idx].all(axis=1)).astype(np.int64))
        which[i] = g
    return rows, which


def _restrict_allowed(
    problem: Problem, a_index: dict[str, int], rows: list[np.ndarray], which: np.ndarray
) -> list[np.ndarray]:
    """Per task, its eligible agents (a shared row unless ``allowed_agents`` narrows it)."""
    per_task = [rows[g] for g in which.tolist()]
    for i, t in enumerate(problem.tasks):
        if t.allowed_agents is not None:
            allowed = np.array(sorted({a_index[a] for a in t.allowed_agents}), dtype=np.int64)
            per_task[i] = np.intersect1d(per_task[i], allowed, assume_unique=True)
    return per_task


def _overrides(
    dicts: list[dict[str, float]], a_index: dict[str, int], m: int, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the pair list (sorted ``keys`` = task * m + agent) and values of overrides."""
    sizes = np.fromiter(map(len, dicts), np.int64, len(dicts))
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    agent = np.fromiter(map(a_index.__getitem__, chain.from_iterable(dicts)), np.int64, total)
    value = np.fromiter(chain.from_iterable(d.values() for d in dicts), float, total)
    key = np.repeat(np.arange(len(dicts), dtype=np.int64), sizes) * m + agent
    pos = np.searchsorted(keys, key)
    pos = np.minimum(pos, max(keys.size - 1, 0))
    hit = keys[pos] == key if keys.size else np.zeros(total, bool)
    return pos[hit], value[hit]


def eligible_pairs(problem: Problem, a_index: dict[str, int], rate: np.ndarray) -> PairArrays:
    """The pairs allowed by skills and ``allowed_agents`` with duration, load and cost.

    Capacity and time windows are applied by the caller (they need per-pair
    values); a task with no pair at all keeps an empty row.
    """
    tasks = problem.tasks
    n, m = len(tasks), len(problem.agents)
    rows, which = _skill_rows(problem)
    if any(t.allowed_agents is not None for t in tasks):
        per_task = _restrict_allowed(problem, a_index, rows, which)
        counts = np.fromiter(map(len, per_task), np.int64, n)
        col = np.concatenate(per_task) if n else np.zeros(0, np.int64)
    else:
        sizes = np.array([r.size for r in rows], np.int64)
        counts = sizes[which]
        col = np.concatenate([rows[g] for g in which.tolist()]) if n else np.zeros(0, np.int64)
    col = col.astype(np.int64, copy=False)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    task_of = np.repeat(np.arange(n, dtype=np.int64), counts)
    keys = task_of * max(m, 1) + col
    dur = np.repeat(np.array([t.duration for t in tasks], dtype=float), counts)
    pos, val = _overrides([t.durations for t in tasks], a_index, max(m, 1), keys)
    dur[pos] = val
    load = np.repeat(np.array([t.load for t in tasks], dtype=float), counts)
    pos, val = _overrides([t.loads for t in tasks], a_index, max(m, 1), keys)
    load[pos] = val
    cost = rate[col] * dur
    pos, val = _overrides([t.costs for t in tasks], a_index, max(m, 1), keys)
    cost[pos] = val
    return PairArrays(ptr, col, dur, load, cost)
