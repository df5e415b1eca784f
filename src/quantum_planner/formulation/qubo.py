"""Problem -> labelled ``dimod.BinaryQuadraticModel`` (docs/FORMULATION.md explains it all).

Variables (labels are tuples, so task and agent ids may hold any character):

* ``("x", task, agent)`` -- assignment mode: ``task`` is done by ``agent``.
* ``("x", task, agent, start)`` -- time-indexed mode: ``task`` starts on ``agent`` at
  integer time ``start`` (one slot = one time unit).
* ``("slack", kind, agent, k)`` -- k-th bit of an inequality's slack (kind
  ``capacity_limit``, ``horizon`` or ``makespan_bound``).
* ``("makespan", k)`` -- k-th bit of the makespan, with ``makespan="exact"``.

Variables exist only for eligible pairs (skills, allowed agents, loads that fit,
windows), so those constraints cost nothing. The energy is
``objective + sum_k penalties[k] * C_k`` where every ``C_k`` is zero exactly
when its constraints hold and at least 1 otherwise (integer units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dimod
import numpy as np

from quantum_planner.errors import BackendUnavailableError, InvalidValueError
from quantum_planner.formulation.poly import Poly
from quantum_planner.model import Objective, Problem

__all__ = ["CONSTRAINT_KINDS", "QUBOBuilder", "VarInfo"]

#: Constraint kinds, each with its own penalty weight.
CONSTRAINT_KINDS = (
    "assignment",  # each mandatory task exactly once, optional ones at most once
    "capacity_limit",  # sum of loads <= capacity (slack bits)
    "horizon",  # assignment mode: busy time fits the horizon / availability (slack bits)
    "overlap",  # time mode: an agent runs one task at a time
    "precedence",  # prerequisites of a done task are done; time mode: and end before it
    "makespan_bound",  # makespan="exact": every agent's finish <= the makespan variable
)

Mode = Literal["auto", "assignment", "time"]
_SCALES = (1, 2, 4, 5, 10, 20, 50, 100, 1000)
_MAX_LEX_RATIO = 1e6  # cap on one lexicographic step, to keep the dynamic range sane
_MAX_EXP_RANGE = 1e6  # time mode: exponential end-time weights only if they stay this small


@dataclass(frozen=True)
class VarInfo:
    """Arrays describing the ``x`` variables (index ``v`` of each array = variable ``v``)."""

    task: np.ndarray  # index into problem.tasks
    agent: np.ndarray  # index into problem.agents
    start: np.ndarray  # start slot (time mode) or -1
    end: np.ndarray  # start + duration (time mode) or -1


def _integer_scale(values: Sequence[float]) -> tuple[int, bool]:
    """Smallest factor that makes all ``values`` integers, and whether it is exact."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    for q in _SCALES:
        if arr.size == 0 or np.allclose(arr * q, np.round(arr * q), atol=1e-9):
            return q, True
    return _SCALES[-1], False


def _slack_coefficients(upper: int) -> list[int]:
    """Bit weights whose subset sums are exactly ``0..upper`` (bounded binary encoding)."""
    if upper <= 0:
        return []
    k = upper.bit_length()
    coefs = [1 << i for i in range(k - 1)]
    coefs.append(upper - (sum(coefs)))
    return [c for c in coefs if c > 0]


class QUBOBuilder:
    """Turn a :class:`Problem` into a BQM with one penalty weight per constraint kind.

    Parameters
    ----------
    problem:
        The problem.
    penalties:
        Overrides of the automatic weights, by kind (see :data:`CONSTRAINT_KINDS`).
    time_slots, time_unit, max_slots:
        The time grid of time-indexed mode: ``time_slots`` slots over the horizon, or
        slots of length ``time_unit``; by default one time unit per slot when the
        horizon fits ``max_slots`` slots, coarser otherwise (see :meth:`_time_grid`).
    max_variables, max_interactions:
        Size limits: a model that would exceed them raises
        :class:`~quantum_planner.errors.BackendUnavailableError` before it is built.
    mode:
        ``"assignment"`` (variables per task and agent), ``"time"`` (per task,
        agent and start slot) or ``"auto"``: time-indexed when tasks have time
        windows, or when precedence exists and the makespan or a horizon matters.
    makespan:
        Assignment mode only: ``"proxy"`` (sum of squared agent finish times, no
        extra variables) or ``"exact"`` (a binary-encoded makespan variable bounded
        below by every agent's finish time).
    capacity:
        ``"slack"`` (default): each capacity is an equality with slack bits, exact
        under ``penalty_strategy="safe"``. ``"lagrangian"``: no slack; loads are
        priced by per-agent multipliers ``lambda_a * load_a`` plus
        ``rho_a * (load_a - capacity_a)**2`` (both start at 0 and are raised by the
        solver where samples overflow, :meth:`set_multipliers`). Fewer variables and
        a smoother landscape, but no ground-state guarantee.
    penalty_strategy:
        ``"local"`` (default): each weight is ``margin`` times the most one
        variable flip can change the objective, so a violation always costs
        more than any objective gain of one move (sampler-friendly). ``"safe"``:
        each weight exceeds the objective's whole range, which guarantees that
        the ground state is feasible and optimal (use with exact solvers).
    margin:
        Factor above the bound for ``"local"``.
    """

    def __init__(
        self,
        problem: Problem,
        penalties: Mapping[str, float] | None = None,
        time_slots: int | None = None,
        *,
        time_unit: float | None = None,
        max_slots: int = 100,
        max_variables: int = 200_000,
        max_interactions: int = 20_000_000,
        mode: Mode = "auto",
        makespan: Literal["proxy", "exact"] = "proxy",
        capacity: Literal["slack", "lagrangian"] = "slack",
        penalty_strategy: Literal["local", "safe"] = "local",
        margin: float = 1.5,
    ) -> None:
        self.problem = problem
        self.notes: list[str] = []
        self._task_index = {t.id: i for i, t in enumerate(problem.tasks)}
        self._agent_index = {a.id: i for i, a in enumerate(problem.agents)}
        self.max_variables = int(max_variables)
        self.max_interactions = int(max_interactions)
        self.mode: Literal["assignment", "time"] = self._resolve_mode(mode)
        self.time_unit: float = 1.0
        self.horizon: int | None = None
        self.makespan_encoding = makespan if self.mode == "assignment" else "end_time"
        if capacity not in ("slack", "lagrangian"):
            raise InvalidValueError(f"unknown capacity encoding {capacity!r}", field="capacity")
        self.capacity_encoding = capacity
        # lagrangian capacity: per binding agent (agent index, variables, loads, capacity)
        self._lagrange_terms: list[tuple[int, np.ndarray, np.ndarray, float]] = []
        self.multipliers = np.zeros(len(problem.agents))  # lambda per agent
        self.rho = np.zeros(len(problem.agents))  # quadratic weight per agent
        self.labels: list[Any] = []
        self._make_x_variables(time_slots, time_unit, max_slots)
        self.n_x = len(self.labels)
        self.objective_parts: dict[str, Poly] = {}
        self._constraints: dict[str, Poly] = {}
        self._build_constraints()  # may add slack and makespan variables
        self._build_objectives()
        self.objective = self._combine_objectives()
        self.auto_penalties = self._auto_penalties(penalty_strategy, margin)
        self.penalties: dict[str, float] = dict(self.auto_penalties)
        if penalties:
            self.set_penalties(penalties)
        self._bqm: dimod.BinaryQuadraticModel | None = None

    # -- public -------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of binary variables (x, slack and makespan bits)."""
        return len(self.labels)

    @property
    def constraint_kinds(self) -> list[str]:
        """Kinds present in this problem's BQM."""
        return list(self._constraints)

    def set_penalties(self, penalties: Mapping[str, float]) -> None:
        """Override penalty weights (unknown kinds are an error; absent kinds are ignored)."""
        for kind, w in penalties.items():
            if kind not in CONSTRAINT_KINDS:
                raise InvalidValueError(
                    f"unknown penalty kind {kind!r}; use one of {', '.join(CONSTRAINT_KINDS)}",
                    field="penalties",
                )
            if not (w > 0 and math.isfinite(w)):
                raise InvalidValueError(
                    f"penalty for {kind!r} must be a positive number, got {w!r}",
                    field="penalties",
                )
            if kind in self.penalties:
                self.penalties[kind] = float(w)
        self._bqm = None

    @property
    def bqm(self) -> dimod.BinaryQuadraticModel:
        """The BQM with the current penalties (cached until they change)."""
        if self._bqm is None:
            self._bqm = self.build()
        return self._bqm

    def build(self, penalties: Mapping[str, float] | None = None) -> dimod.BinaryQuadraticModel:
        """A fresh BQM: objective plus each constraint kind times its weight."""
        return self._to_bqm(self._total(penalties))

    def _total(self, penalties: Mapping[str, float] | None = None) -> Poly:
        weights = {**self.penalties, **(penalties or {})}
        total = Poly()
        total.extend(self.objective)
        for kind, poly in self._constraints.items():
            total.extend(poly, weights[kind])
        for ai, idx, w, cap in self._lagrange_terms:
            if self.multipliers[ai]:
                total.add_linear(idx, self.multipliers[ai] * w)
                total.offset -= self.multipliers[ai] * cap
            if self.rho[ai]:
                total.add_square(idx, w, cap, float(self.rho[ai]))
        return total

    def set_multipliers(self, multipliers: np.ndarray, rho: np.ndarray) -> None:
        """Set the lagrangian capacity weights (one per agent, in problem order)."""
        self.multipliers = np.asarray(multipliers, dtype=float).copy()
        self.rho = np.asarray(rho, dtype=float).copy()
        self._bqm = None

    def overflow(self, x: np.ndarray) -> np.ndarray:
        """Load above capacity per agent (0 where it fits) for one sample row."""
        x = np.asarray(x).reshape(-1)
        over = np.zeros(len(self.problem.agents))
        for ai, idx, w, cap in self._lagrange_terms:
            over[ai] = max(0.0, float(x[idx] @ w) - cap)
        return over

    def beta_range(self) -> tuple[float, float]:
        """Annealing inverse temperatures for the current BQM, computed vectorised.

        Hot: the largest one-flip energy change is accepted with probability 1/2;
        cold: the smallest nonzero coefficient with probability 1/100 (the rule
        dwave-samplers uses by default, whose pure-Python version takes seconds
        on a million interactions).
        """
        total = self._total()
        big = float(total.local_field_bound(self.n).max()) if self.n else 1.0
        small = _resolution_min(total, self.n)
        big = big if big > 0 else 1.0
        small = small if small > 0 else big
        return (math.log(2) / big, max(math.log(100) / small, math.log(2) / big))

    def objective_bqm(self) -> dimod.BinaryQuadraticModel:
        """The combined objective alone (what the CQM export minimises)."""
        return self._to_bqm(self.objective)

    def constraint_bqm(self, kind: str) -> dimod.BinaryQuadraticModel:
        """One constraint kind's unit-weight penalty (zero iff satisfied)."""
        return self._to_bqm(self._constraints[kind])

    def x_matrix(self, samples: dimod.SampleSet | Sequence[Mapping[Any, int]]) -> np.ndarray:
        """Samples as a ``(k, n)`` 0/1 matrix in this builder's variable order."""
        if isinstance(samples, dimod.SampleSet):
            cols = [samples.variables.index(v) for v in self.labels]
            return np.asarray(samples.record.sample[:, cols], dtype=np.int8)
        return np.asarray([[s.get(v, 0) for v in self.labels] for s in samples], dtype=np.int8)

    def energies(self, x: np.ndarray) -> np.ndarray:
        """BQM energy of each row of ``x``."""
        return self._total().energy(self.n, x)

    def violations(self, x: np.ndarray) -> dict[str, float]:
        """Unit-weight penalty of each kind for one sample row (0 = satisfied).

        Slack-based kinds are judged on the decision variables alone (a sample
        whose assignment fits but whose slack bits are off is not a violation).
        """
        x = np.asarray(x).reshape(-1)
        out: dict[str, float] = {}
        for kind, poly in self._constraints.items():
            if kind in self._slack_checks:
                out[kind] = float(sum(max(0.0, f(x)) for f in self._slack_checks[kind]))
            else:
                out[kind] = float(poly.energy(self.n, x)[0])
        if self._lagrange_terms:
            out["capacity_limit"] = float(self.overflow(x).sum())
        return out

    def encode(
        self, assignments: Mapping[str, str], starts: Mapping[str, float] | None = None
    ) -> dict[Any, int]:
        """The sample of a plan: its ``x`` variables, slack bits set to fit where possible.

        In time mode ``starts`` (task -> start time) picks the slot (start / time_unit,
        rounded); a task whose slot has no variable is left out (the sample then
        violates ``assignment``).
        """
        x = np.zeros(self.n, dtype=np.int8)
        for v in range(self.n_x):
            t = self.problem.tasks[self.var.task[v]].id
            a = self.problem.agents[self.var.agent[v]].id
            if assignments.get(t) != a:
                continue
            if self.mode == "time":
                s = None if starts is None else starts.get(t)
                if s is None or round(s / self.time_unit) != self.var.start[v]:
                    continue
            x[v] = 1
        for fill in self._slack_fillers:
            fill(x)
        return {label: int(x[i]) for i, label in enumerate(self.labels)}

    def decode_x(self, x: np.ndarray) -> dict[str, list[tuple[str, int | None]]]:
        """Task -> every (agent, start slot or None) set in the sample, in variable order."""
        x = np.asarray(x).reshape(-1)
        out: dict[str, list[tuple[str, int | None]]] = {}
        for v in np.flatnonzero(x[: self.n_x]):
            t = self.problem.tasks[self.var.task[v]].id
            a = self.problem.agents[self.var.agent[v]].id
            s = int(self.var.start[v]) if self.mode == "time" else None
            out.setdefault(t, []).append((a, s))
        return out

    def summary(self) -> dict[str, Any]:
        """Sizes and weights, for reports and docs."""
        bqm = self.bqm
        return {
            "mode": self.mode,
            "variables": bqm.num_variables,
            "x_variables": self.n_x,
            "interactions": bqm.num_interactions,
            "penalties": dict(self.penalties),
            "makespan": self.makespan_encoding,
            "capacity": self.capacity_encoding,
            "notes": list(self.notes),
        }

    # -- mode and variables ---------------------------------------------------------
    def _resolve_mode(self, mode: Mode) -> Literal["assignment", "time"]:
        if mode in ("assignment", "time"):
            return mode
        if mode != "auto":
            raise InvalidValueError(f"unknown mode {mode!r}", field="mode")
        p = self.problem
        c = p.constraints
        windows = c.time_windows and any(
            t.earliest_start or t.latest_finish is not None for t in p.tasks
        )
        if windows:
            return "time"
        has_prec = any(p.prerequisites(t.id) for t in p.tasks)
        time_bound = p.time_horizon is not None or (
            c.availability and any(a.available_until is not None for a in p.agents)
        )
        makespan = Objective.MINIMIZE_MAKESPAN in p.objectives
        return "time" if has_prec and (makespan or time_bound) else "assignment"

    def _make_x_variables(
        self, time_slots: int | None, time_unit: float | None, max_slots: int
    ) -> None:
        p = self.problem
        tasks, agents, starts, ends = [], [], [], []
        if self.mode == "assignment":
            for ti, t in enumerate(p.tasks):
                for a in p.eligible_agents(t):
                    tasks.append(ti)
                    agents.append(self._agent_index[a.id])
                    self.labels.append(("x", t.id, a.id))
            starts = ends = [-1] * len(tasks)
        else:
            self.time_unit, self.horizon = self._time_grid(time_slots, time_unit, max_slots)
            u = self.time_unit
            self._check_size_time(u)
            for ti, t in enumerate(p.tasks):
                for a in p.eligible_agents(t):
                    d = math.ceil(t.duration_on(a.id) / u - 1e-9)
                    lo, hi = p.window_on(t, a)
                    hi_end = self.horizon if hi is None else min(self.horizon, _floor(hi / u))
                    for k in range(math.ceil(lo / u - 1e-9), hi_end - d + 1):
                        tasks.append(ti)
                        agents.append(self._agent_index[a.id])
                        starts.append(k)
                        ends.append(k + d)
                        self.labels.append(("x", t.id, a.id, k))
            if any(abs(d / u - round(d / u)) > 1e-9 for t in p.tasks for d in _durations(p, t)):
                self.notes.append(f"durations rounded up to whole slots of {u:g}")
        self.var = VarInfo(
            task=np.asarray(tasks, dtype=np.int64),
            agent=np.asarray(agents, dtype=np.int64),
            start=np.asarray(starts, dtype=np.int64),
            end=np.asarray(ends, dtype=np.int64),
        )
        n_tasks = len(p.tasks)
        self.task_vars = _group(self.var.task, n_tasks)
        self.agent_vars = _group(self.var.agent, len(p.agents))
        if self.mode == "assignment":
            groups = [*self.task_vars, *self.agent_vars]
            self._refuse_if_large(len(tasks), sum(g.size * (g.size - 1) // 2 for g in groups))
        self.duration = np.array(
            [
                p.tasks[ti].duration_on(p.agents[ai].id)
                for ti, ai in zip(self.var.task, self.var.agent, strict=True)
            ],
            dtype=float,
        )

    def _time_grid(
        self, time_slots: int | None, time_unit: float | None, max_slots: int
    ) -> tuple[float, int]:
        """Slot length and number of slots.

        The horizon is ``problem.time_horizon`` (hard) or else the makespan of a
        quick greedy list schedule (at least every deadline). The slot length is
        ``time_unit``, else ``horizon / time_slots``, else 1 when the horizon has at
        most ``max_slots`` units and ``ceil(horizon / max_slots)`` otherwise. Starts
        are whole slots and durations round up, so a plan on the grid stays
        feasible when the list scheduler later shifts it left in real time.
        """
        p = self.problem
        if time_slots is not None and time_slots <= 0:
            raise InvalidValueError("time_slots must be positive", field="time_slots")
        if time_unit is not None and not time_unit > 0:
            raise InvalidValueError("time_unit must be positive", field="time_unit")
        assign, order = self._greedy_assignment()
        deadlines = [t.latest_finish for t in p.tasks if t.latest_finish is not None]
        if p.time_horizon is not None:
            span = p.time_horizon
        else:
            span = max(self._slot_makespan(assign, order, 1.0), *deadlines, 1.0)
        if time_unit is not None:
            unit = float(time_unit)
        elif time_slots is not None:
            unit = span / time_slots
        else:
            unit = 1.0 if span <= max_slots else float(math.ceil(span / max_slots))
        if p.time_horizon is not None:
            return unit, _floor(p.time_horizon / unit)
        slots = self._slot_makespan(assign, order, unit)
        return unit, max(int(slots), *(_floor(d / unit) for d in deadlines), 1)

    def _greedy_assignment(self) -> tuple[dict[str, str], list[str]]:
        p = self.problem
        assign: dict[str, str] = {}
        busy = {a.id: a.available_from for a in p.agents}
        order = p.topological_order()
        for tid in order:
            t = p.task(tid)
            elig = p.eligible_agents(t)
            if elig:
                a = min(elig, key=lambda a: busy[a.id] + t.duration_on(a.id))
                busy[a.id] += t.duration_on(a.id)
                assign[tid] = a.id
        return assign, order

    def _slot_makespan(self, assign: Mapping[str, str], order: list[str], unit: float) -> float:
        """Makespan (in slots) of a serial schedule of ``assign`` on the grid."""
        p = self.problem
        ready: dict[str, float] = {}
        end: dict[str, float] = {}
        for tid in order:
            if tid not in assign:
                continue
            t, a = p.task(tid), assign[tid]
            lo, _ = p.window_on(t, p.agent(a))
            start = max(
                [math.ceil(lo / unit - 1e-9), ready.get(a, 0.0)]
                + [end[d] for d in p.prerequisites(tid) if d in end]
            )
            end[tid] = start + math.ceil(t.duration_on(a) / unit - 1e-9)
            ready[a] = end[tid]
        return max(end.values(), default=0.0)

    def _check_size_time(self, unit: float) -> None:
        """Refuse a time-indexed model too large to build (before building it)."""
        p = self.problem
        per_agent = dict.fromkeys(range(len(p.agents)), 0)
        n_x = 0
        for t in p.tasks:
            for a in p.eligible_agents(t):
                lo, hi = p.window_on(t, a)
                hi_end = self.horizon if hi is None else min(self.horizon, _floor(hi / unit))
                k = max(0, hi_end - math.ceil(t.duration_on(a.id) / unit - 1e-9) + 1)
                k -= min(k, math.ceil(lo / unit - 1e-9))
                per_agent[self._agent_index[a.id]] += k
                n_x += k
        pairs = sum(k * (k - 1) // 2 for k in per_agent.values())
        self._refuse_if_large(n_x, pairs)

    def _refuse_if_large(self, n_x: int, pairs: int) -> None:
        if n_x > self.max_variables or pairs > self.max_interactions:
            raise BackendUnavailableError(
                f"the QUBO would have {n_x} decision variables and up to {pairs} "
                f"interactions (limits {self.max_variables} and {self.max_interactions}); "
                + (
                    "use a coarser time grid (time_unit / time_slots), "
                    if self.mode == "time"
                    else ""
                )
                + "raise the limits, or use a solver that does not build a QUBO (greedy, "
                "cpsat, hybrid)",
                backend="qubo",
                variables=n_x,
                interactions=pairs,
            )

    def _new_vars(self, labels: list[Any]) -> np.ndarray:
        start = len(self.labels)
        self.labels.extend(labels)
        return np.arange(start, start + len(labels), dtype=np.int64)

    # -- constraints ---------------------------------------------------------------------
    def _build_constraints(self) -> None:
        p = self.problem
        self._slack_checks: dict[str, list[Any]] = {}
        self._slack_fillers: list[Any] = []
        onehot = Poly()
        for ti, t in enumerate(p.tasks):
            idx = self.task_vars[ti]
            if t.optional:
                onehot.add_pairs_within(idx, 1.0)
            else:
                onehot.add_square(idx, np.ones(idx.size), 1.0, 1.0)
                if idx.size == 0:
                    self.notes.append(f"task {t.id!r} has no variable (no slot fits)")
        self._constraints["assignment"] = onehot
        if p.constraints.capacity_limit:
            loads = np.array(
                [
                    p.tasks[ti].load_on(p.agents[ai].id)
                    for ti, ai in zip(self.var.task, self.var.agent, strict=True)
                ]
            )
            caps = {i: a.capacity for i, a in enumerate(p.agents) if a.capacity is not None}
            if self.capacity_encoding == "lagrangian":
                for ai, cap in caps.items():
                    idx = self.agent_vars[ai]
                    if idx.size and loads[idx].sum() > cap + 1e-9:
                        self._lagrange_terms.append((ai, idx, loads[idx], float(cap)))
            else:
                self._add_budget("capacity_limit", loads, caps)
        if self.mode == "assignment":
            bounds: dict[int, float] = {}
            offsets = np.zeros(len(p.agents))
            for i, a in enumerate(p.agents):
                hi = p.time_horizon
                if p.constraints.availability:
                    offsets[i] = a.available_from
                    if a.available_until is not None:
                        hi = a.available_until if hi is None else min(hi, a.available_until)
                if hi is not None:
                    bounds[i] = max(hi - offsets[i], 0.0)
            self._add_budget("horizon", self.duration, bounds)
        else:
            self._add_overlap()
        self._add_precedence()

    def _add_budget(self, kind: str, weight: np.ndarray, bounds: Mapping[int, float]) -> None:
        """``sum_v weight_v x_v <= bound`` per agent, as ``(sum + slack - bound)^2``."""
        poly = Poly()
        checks, q_vals = [], [*weight.tolist(), *bounds.values()]
        q, exact = _integer_scale(q_vals)
        if not exact:
            self.notes.append(f"{kind}: values rounded to 1/{q}")
        for ai, bound in bounds.items():
            idx = self.agent_vars[ai]
            w = np.round(weight[idx] * q)
            if idx.size == 0 or w.sum() <= round(bound * q) + 1e-9:
                continue  # cannot be exceeded
            upper = round(bound * q)
            coefs = _slack_coefficients(upper)
            agent = self.problem.agents[ai].id
            sl = self._new_vars([("slack", kind, agent, k) for k in range(len(coefs))])
            poly.add_square(
                np.concatenate([idx, sl]), np.concatenate([w, coefs]), float(upper), 1.0
            )
            checks.append(_over(idx, w, upper))
            self._slack_fillers.append(_filler(idx, w, sl, coefs, upper))
        if checks:
            self._constraints[kind] = poly
            self._slack_checks[kind] = checks

    def _add_overlap(self) -> None:
        poly = Poly()
        for ai in range(len(self.problem.agents)):
            idx = self.agent_vars[ai]
            if idx.size < 2:
                continue
            s, e, t = self.var.start[idx], self.var.end[idx], self.var.task[idx]
            i, j = np.triu_indices(idx.size, k=1)
            clash = (s[i] < e[j]) & (s[j] < e[i]) & (t[i] != t[j])
            poly.add_quadratic(idx[i[clash]], idx[j[clash]], 1.0)
        self._constraints["overlap"] = poly

    def _add_precedence(self) -> None:
        """A done task's prerequisites are done (both modes) and end first (time mode).

        "Done" only needs a term when the prerequisite is optional:
        ``y_t (1 - y_u)`` with ``y = sum of the task's variables`` (0/1 under one-hot).
        """
        p = self.problem
        poly = Poly()
        any_prec = False
        for ti, t in enumerate(p.tasks):
            after = self.task_vars[ti]
            if after.size == 0:
                continue
            for dep in p.prerequisites(t.id):
                di = self._task_index[dep]
                before = self.task_vars[di]
                if p.tasks[di].optional or before.size == 0:
                    any_prec = True
                    poly.add_linear(after, 1.0)
                    if before.size:
                        i, j = np.meshgrid(after, before, indexing="ij")
                        poly.add_quadratic(i.ravel(), j.ravel(), -1.0)
                if self.mode != "time" or before.size == 0:
                    continue
                any_prec = True
                # conflict: the successor starts before the prerequisite ends
                bad = self.var.start[after][None, :] < self.var.end[before][:, None]
                bi, ai = np.nonzero(bad)
                poly.add_quadratic(before[bi], after[ai], 1.0)
        if any_prec:
            self._constraints["precedence"] = poly

    # -- objectives ------------------------------------------------------------------------
    def _build_objectives(self) -> None:
        for obj in self.problem.objectives:
            self.objective_parts[obj.value] = getattr(self, f"_obj_{obj.value}")()

    def _obj_minimize_cost(self) -> Poly:
        p = self.problem
        poly = Poly()
        cost = [
            p.tasks[ti].cost_on(p.agents[ai])
            for ti, ai in zip(self.var.task, self.var.agent, strict=True)
        ]
        poly.add_linear(np.arange(self.n_x), np.asarray(cost, dtype=float))
        return poly

    def _obj_maximize_priority(self) -> Poly:
        poly = Poly()
        prio = np.array([self.problem.tasks[ti].priority for ti in self.var.task], dtype=float)
        optional = np.array([self.problem.tasks[ti].optional for ti in self.var.task], dtype=bool)
        # mandatory tasks are always done: their priority is a constant, left out
        idx = np.flatnonzero(optional)
        poly.add_linear(idx, -prio[idx])
        return poly

    def _obj_balance_load(self) -> Poly:
        # variance = mean(L_a^2) - mean(L_a)^2, both squares of linear forms: exact
        poly = Poly()
        m = len(self.problem.agents)
        for ai in range(m):
            idx = self.agent_vars[ai]
            poly.add_square(idx, self.duration[idx], 0.0, 1.0 / m)
        poly.add_square(np.arange(self.n_x), self.duration, 0.0, -1.0 / (m * m))
        return poly

    def _obj_minimize_makespan(self) -> Poly:
        if self.mode == "time":
            return self._makespan_end_time()
        if self.makespan_encoding == "exact":
            return self._makespan_exact()
        # proxy: sum of squared finish times, minimised by short, even agent loads
        poly = Poly()
        for ai, a in enumerate(self.problem.agents):
            idx = self.agent_vars[ai]
            o = a.available_from if self.problem.constraints.availability else 0.0
            if idx.size:
                poly.add_square(idx, self.duration[idx], -o, 1.0)
        return poly

    def _makespan_exact(self) -> Poly:
        p = self.problem
        offs = [a.available_from if p.constraints.availability else 0.0 for a in p.agents]
        q, exact = _integer_scale([*self.duration.tolist(), *offs])
        if not exact:
            self.notes.append(f"makespan: durations rounded to 1/{q}")
        d = np.round(self.duration * q)
        finish_ub = [
            round(offs[ai] * q) + d[self.agent_vars[ai]].sum() for ai in range(len(p.agents))
        ]
        lower = max(
            [
                round(min(offs[ai] * q + d[v] for v, ai in _pairs_of(self, ti)))
                for ti in range(len(p.tasks))
                if self.task_vars[ti].size and not p.tasks[ti].optional
            ],
            default=0,
        )
        upper = int(max(finish_ub, default=0))
        if any(round(o * q) > lower for o in offs):
            # the bound o_a + busy_a <= M also holds for an idle agent, so a late
            # available_from raises M even when that agent does nothing
            self.notes.append("makespan: exact encoding counts available_from of idle agents too")
        mcoefs = _slack_coefficients(max(upper - lower, 0))
        mbits = self._new_vars([("makespan", k) for k in range(len(mcoefs))])
        self.makespan_bits = (mbits, np.asarray(mcoefs, dtype=float), lower, q)
        poly = Poly(offset=lower / q)
        poly.add_linear(mbits, np.asarray(mcoefs, dtype=float) / q)
        bound = Poly()
        checks = []
        for ai in range(len(p.agents)):
            idx = self.agent_vars[ai]
            if idx.size == 0:
                continue
            o = round(offs[ai] * q)
            scoefs = _slack_coefficients(int(upper - o))
            sl = self._new_vars(
                [("slack", "makespan_bound", p.agents[ai].id, k) for k in range(len(scoefs))]
            )
            # o + sum d x + slack - (lower + sum c m) == 0
            bound.add_square(
                np.concatenate([idx, sl, mbits]),
                np.concatenate([d[idx], scoefs, -np.asarray(mcoefs, dtype=float)]),
                float(lower - o),
                1.0,
            )
            checks.append(_makespan_over(idx, d[idx], o, mbits, mcoefs, lower))
            self._slack_fillers.append(
                _makespan_filler(idx, d[idx], o, sl, scoefs, mbits, mcoefs, lower)
            )
        self._constraints["makespan_bound"] = bound
        self._slack_checks["makespan_bound"] = checks
        # makespan bits first: slack fillers of the bound read them
        self._slack_fillers.insert(0, _makespan_setter(self, d, offs, q))
        return poly

    def _makespan_end_time(self) -> Poly:
        """End-time weights on tasks without successors (exact when the range allows)."""
        p = self.problem
        has_succ = np.zeros(len(p.tasks), dtype=bool)
        for t in p.tasks:
            for dep in p.prerequisites(t.id):
                has_succ[self._task_index[dep]] = True
        sink_vars = np.flatnonzero(~has_succ[self.var.task]) if self.n_x else np.zeros(0, int)
        poly = Poly()
        if sink_vars.size == 0:
            return poly
        ends = self.var.end[sink_vars].astype(float)
        n_sinks = int((~has_succ).sum())
        base = n_sinks + 1.0
        span = ends.max() - ends.min()
        if span * math.log(base) <= math.log(_MAX_EXP_RANGE):
            # base^end with base > #sinks: a later latest end always costs more, so the
            # ground state minimises the makespan exactly
            w = base ** (ends - ends.min())
            self.notes.append("makespan: exact (exponential end-time weights)")
        else:
            w = ends * self.time_unit
            self.notes.append("makespan: approximated by the sum of end times of final tasks")
        poly.add_linear(sink_vars, w)
        return poly

    def _combine_objectives(self) -> Poly:
        """Weighted sum; earlier objectives get weights that (nearly) dominate later ones."""
        parts = list(self.objective_parts.values())
        weights = [1.0] * len(parts)
        for k in range(len(parts) - 2, -1, -1):
            rng = parts[k + 1].total_range(self.n) * weights[k + 1]
            step = _resolution(parts[k], self.n)
            ratio = rng / step * 1.01 + 1.0 if step > 0 else 1.0
            if ratio > _MAX_LEX_RATIO:
                self.notes.append(
                    "lexicographic weights capped: later objectives only nearly dominated"
                )
                ratio = _MAX_LEX_RATIO
            weights[k] = max(ratio, weights[k + 1])
        self.objective_weights = dict(zip(self.objective_parts, weights, strict=True))
        total = Poly()
        for poly, w in zip(parts, weights, strict=True):
            total.extend(poly, w)
        return total

    def _auto_penalties(self, strategy: str, margin: float) -> dict[str, float]:
        if strategy == "safe":
            w = self.objective.total_range(self.n) + 1.0
            return {kind: w for kind in self._constraints}
        if strategy != "local":
            raise InvalidValueError(
                f"unknown penalty strategy {strategy!r}", field="penalty_strategy"
            )
        field = self.objective.local_field_bound(self.n)
        out = {}
        for kind, poly in self._constraints.items():
            lin, i, j, _ = poly.compact(self.n)
            touched = np.zeros(self.n, dtype=bool)
            touched[np.flatnonzero(lin)] = True
            touched[i] = True
            touched[j] = True
            bound = float(field[touched].max()) if touched.any() else 0.0
            out[kind] = margin * bound if bound > 0 else 1.0
        return out

    def _to_bqm(self, poly: Poly) -> dimod.BinaryQuadraticModel:
        lin, i, j, w = poly.compact(self.n)
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
            lin, (i, j, w), poly.offset, dimod.BINARY, variable_order=list(range(self.n))
        )
        bqm.relabel_variables(dict(enumerate(self.labels)), inplace=True)
        return bqm


# -- helpers ---------------------------------------------------------------------------


def _floor(x: float) -> int:
    return math.floor(x + 1e-9)


def _durations(problem: Problem, task: Any) -> list[float]:
    return [task.duration, *task.durations.values()]


def _group(keys: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


def _pairs_of(b: QUBOBuilder, ti: int) -> list[tuple[int, int]]:
    return [(int(v), int(b.var.agent[v])) for v in b.task_vars[ti]]


def _resolution(poly: Poly, n: int) -> float:
    """The smallest possible nonzero change of ``poly``'s value.

    With rational coefficients (multiples of ``1/q``) every change is a multiple of
    ``gcd(q * coefficients) / q``; otherwise the smallest coefficient is a guess.
    """
    lin, _, _, w = poly.compact(n)
    vals = np.abs(np.concatenate([lin, w]))
    vals = vals[vals > 1e-12]
    if not vals.size:
        return 0.0
    q, exact = _integer_scale(vals.tolist())
    if exact:
        return math.gcd(*(int(v) for v in np.round(vals * q))) / q
    return float(vals.min())


def _resolution_min(poly: Poly, n: int) -> float:
    lin, _, _, w = poly.compact(n)
    vals = np.abs(np.concatenate([lin, w]))
    vals = vals[vals > 1e-12]
    return float(vals.min()) if vals.size else 0.0


def _over(idx: np.ndarray, w: np.ndarray, upper: int):
    def check(x: np.ndarray) -> float:
        return float(x[idx] @ w - upper)

    return check


def _filler(idx: np.ndarray, w: np.ndarray, sl: np.ndarray, coefs: list[int], upper: int):
    def fill(x: np.ndarray) -> None:
        _set_bits(x, sl, coefs, int(upper - round(float(x[idx] @ w))))

    return fill


def _set_bits(x: np.ndarray, bits: np.ndarray, coefs: Sequence[float], value: int) -> None:
    """Bounded-binary encoding of ``value`` (clipped to ``0..sum(coefs)``).

    ``coefs`` is ``[1, 2, ..., 2**(k-2), last]`` (see :func:`_slack_coefficients`):
    take ``last`` if the powers of two alone cannot reach ``value``, then write
    the rest in binary.
    """
    if len(coefs) == 0:
        return
    value = max(0, min(int(value), int(sum(coefs))))
    x[bits] = 0
    rest = int(sum(coefs[:-1]))
    if value > rest:
        x[bits[-1]] = 1
        value -= int(coefs[-1])
    for k in range(len(coefs) - 1):
        if value >> k & 1:
            x[bits[k]] = 1


def _makespan_over(idx, d, o, mbits, mcoefs, lower):
    mc = np.asarray(mcoefs, dtype=float)

    def check(x: np.ndarray) -> float:
        return float(o + x[idx] @ d - (lower + x[mbits] @ mc))

    return check


def _makespan_filler(idx, d, o, sl, scoefs, mbits, mcoefs, lower):
    mc = np.asarray(mcoefs, dtype=float)

    def fill(x: np.ndarray) -> None:
        m = lower + x[mbits] @ mc
        _set_bits(x, sl, scoefs, round(m - o - float(x[idx] @ d)))

    return fill


def _makespan_setter(b: QUBOBuilder, d: np.ndarray, offs: Sequence[float], q: int):
    mbits, mcoefs, lower, _ = b.makespan_bits

    def fill(x: np.ndarray) -> None:
        finish = [
            round(offs[ai] * q) + float(x[b.agent_vars[ai]] @ d[b.agent_vars[ai]])
            for ai in range(len(b.problem.agents))
            if b.agent_vars[ai].size
        ]
        _set_bits(x, mbits, mcoefs.tolist(), round(max(finish, default=0) - lower))

    return fill
