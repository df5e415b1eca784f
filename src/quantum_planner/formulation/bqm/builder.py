"""Problem -> labelled ``dimod.BinaryQuadraticModel`` (docs/FORMULATION.md explains it all).

Variables (labels are tuples, so task and agent ids may hold any character):

* ``("x", task, agent)`` -- assignment mode: ``task`` is done by ``agent``.
* ``("x", task, agent, start)`` -- time-indexed mode: ``task`` starts on ``agent`` at
  integer time ``start`` (one slot = one time unit).
* ``("slack", kind, agent, k)`` -- k-th bit of an inequality's slack (kind
  ``capacity_limit``, ``time_horizon`` or ``makespan_bound``).
* ``("makespan", k)`` -- k-th bit of the makespan, with ``makespan="exact"``.

The energy is ``objective + sum_k penalties[k] * C_k`` where every ``C_k`` is zero
exactly when its constraints hold and at least 1 otherwise (integer units). The
parts live in sibling modules: :mod:`.variables`, :mod:`.terms` (the catalogue's
constraint terms), :mod:`.objectives`, :mod:`.penalties` and :mod:`.slack`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import dimod
import numpy as np

from quantum_planner.disruption import DisruptionTerms
from quantum_planner.errors import InvalidValueError
from quantum_planner.formulation.bqm.objectives import ObjectiveTerms
from quantum_planner.formulation.bqm.penalties import auto_penalties, resolution_min
from quantum_planner.formulation.bqm.terms import (
    CONSTRAINT_KINDS,
    ConstraintTerms,
    canonical_kind,
)
from quantum_planner.formulation.bqm.variables import Mode
from quantum_planner.formulation.poly import Poly
from quantum_planner.model import Problem

__all__ = ["QUBOBuilder"]


class QUBOBuilder(ObjectiveTerms, ConstraintTerms):
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
    objective_weights:
        Weights of the objectives' polynomials by objective name, replacing the
        lexicographic weights (a weighted sum, as the trade-off sweeps use; an
        objective of the problem missing here weighs 0).
    disruption:
        Re-planning (:class:`~quantum_planner.disruption.DisruptionTerms`): linear
        biases toward the reference plan's agents (and starts, in time mode), scaled
        against the first objective (:meth:`_disruption`); ``objective_parts`` then
        holds them under ``"disruption"``.
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
        objective_weights: Mapping[str, float] | None = None,
        disruption: DisruptionTerms | None = None,
    ) -> None:
        self.problem = problem
        self.fixed_weights = dict(objective_weights) if objective_weights is not None else None
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
        self.disruption_scale = 0.0
        if disruption is not None:  # re-planning: part of the objective the penalties exceed
            self.objective_parts["disruption"] = self._disruption(disruption)
            self.objective.extend(self.objective_parts["disruption"])
        self.auto_penalties = auto_penalties(
            self.objective, self._constraints, self.n, penalty_strategy, margin
        )
        self.penalties: dict[str, float] = dict(self.auto_penalties)
        if penalties:
            self.set_penalties(penalties)
        self._bqm: dimod.BinaryQuadraticModel | None = None

    # -- weights ---------------------------------------------------------------------
    @property
    def constraint_kinds(self) -> list[str]:
        """Kinds present in this problem's BQM."""
        return list(self._constraints)

    def set_penalties(self, penalties: Mapping[str, float]) -> None:
        """Override penalty weights (unknown kinds are an error; absent kinds are ignored).

        The names before the constraint catalogue (``assignment``, ``horizon``) still
        work, with a :class:`DeprecationWarning`.
        """
        for given, w in penalties.items():
            kind = canonical_kind(given)
            if kind not in CONSTRAINT_KINDS:
                raise InvalidValueError(
                    f"unknown penalty kind {given!r}; use one of {', '.join(CONSTRAINT_KINDS)}",
                    field="penalties",
                )
            if not (w > 0 and math.isfinite(w)):
                raise InvalidValueError(
                    f"penalty for {given!r} must be a positive number, got {w!r}",
                    field="penalties",
                )
            if kind in self.penalties:
                self.penalties[kind] = float(w)
        self._bqm = None

    def set_multipliers(self, multipliers: np.ndarray, rho: np.ndarray) -> None:
        """Set the lagrangian capacity weights (one per agent, in problem order)."""
        self.multipliers = np.asarray(multipliers, dtype=float).copy()
        self.rho = np.asarray(rho, dtype=float).copy()
        self._bqm = None

    # -- the model -------------------------------------------------------------------
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
        extra = {canonical_kind(k): w for k, w in (penalties or {}).items()}
        weights = {**self.penalties, **extra}
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

    def objective_bqm(self) -> dimod.BinaryQuadraticModel:
        """The combined objective alone (what the CQM export minimises)."""
        return self._to_bqm(self.objective)

    def constraint_bqm(self, kind: str) -> dimod.BinaryQuadraticModel:
        """One constraint kind's unit-weight penalty (zero iff satisfied)."""
        return self._to_bqm(self._constraints[canonical_kind(kind)])

    def beta_range(self) -> tuple[float, float]:
        """Annealing inverse temperatures for the current BQM, computed vectorised.

        Hot: the largest one-flip energy change is accepted with probability 1/2;
        cold: the smallest nonzero coefficient with probability 1/100 (the rule
        dwave-samplers uses by default, whose pure-Python version takes seconds
        on a million interactions).
        """
        total = self._total()
        big = float(total.local_field_bound(self.n).max()) if self.n else 1.0
        small = resolution_min(total, self.n)
        big = big if big > 0 else 1.0
        small = small if small > 0 else big
        return (math.log(2) / big, max(math.log(100) / small, math.log(2) / big))

    def _to_bqm(self, poly: Poly) -> dimod.BinaryQuadraticModel:
        lin, i, j, w = poly.compact(self.n)
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
            lin, (i, j, w), poly.offset, dimod.BINARY, variable_order=list(range(self.n))
        )
        bqm.relabel_variables(dict(enumerate(self.labels)), inplace=True)
        return bqm

    # -- samples ---------------------------------------------------------------------
    def x_matrix(self, samples: dimod.SampleSet | Sequence[Mapping[Any, int]]) -> np.ndarray:
        """Samples as a ``(k, n)`` 0/1 matrix in this builder's variable order."""
        if isinstance(samples, dimod.SampleSet):
            cols = [samples.variables.index(v) for v in self.labels]
            return np.asarray(samples.record.sample[:, cols], dtype=np.int8)
        return np.asarray([[s.get(v, 0) for v in self.labels] for s in samples], dtype=np.int8)

    def energies(self, x: np.ndarray) -> np.ndarray:
        """BQM energy of each row of ``x``."""
        return self._total().energy(self.n, x)

    def overflow(self, x: np.ndarray) -> np.ndarray:
        """Load above capacity per agent (0 where it fits) for one sample row."""
        x = np.asarray(x).reshape(-1)
        over = np.zeros(len(self.problem.agents))
        for ai, idx, w, cap in self._lagrange_terms:
            over[ai] = max(0.0, float(x[idx] @ w) - cap)
        return over

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
        violates ``unassigned``).
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
