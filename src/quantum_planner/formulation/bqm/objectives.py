"""Objective terms: one polynomial per objective, combined lexicographically.

* ``minimize_cost``: linear cost of each choice.
* ``maximize_priority``: minus the priority of each optional task done.
* ``balance_load``: the variance of busy times (exact: squares of linear forms).
* ``minimize_makespan``: assignment mode ``"proxy"`` (sum of squared agent finish
  times) or ``"exact"`` (binary makespan bits, bounded by every finish through the
  ``makespan_bound`` kind); time mode: end-time weights on final tasks.

Earlier objectives get weights that (nearly) dominate the later ones' range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from quantum_planner.disruption import DisruptionTerms
from quantum_planner.formulation.bqm.penalties import resolution
from quantum_planner.formulation.bqm.slack import (
    Filler,
    SlackBudgets,
    integer_scale,
    makespan_filler,
    makespan_over,
    set_bits,
    slack_coefficients,
)
from quantum_planner.formulation.poly import Poly

__all__ = ["ObjectiveTerms"]

_MAX_LEX_RATIO = 1e6  # cap on one lexicographic step, to keep the dynamic range sane
_MAX_EXP_RANGE = 1e6  # time mode: exponential end-time weights only if they stay this small


class ObjectiveTerms(SlackBudgets):
    """Builder part that builds and combines the objective polynomials."""

    n_x: int
    makespan_encoding: str
    objective_parts: dict[str, Poly]
    objective_weights: dict[str, float]
    fixed_weights: dict[str, float] | None
    makespan_bits: tuple[np.ndarray, np.ndarray, int, int]
    _task_index: dict[str, int]

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

    def _makespan_range(self, d: np.ndarray, offs: Sequence[float], q: int) -> tuple[int, int]:
        """Lower and upper bound of the (scaled) makespan."""
        p = self.problem
        finish_ub = [
            round(offs[ai] * q) + d[self.agent_vars[ai]].sum() for ai in range(len(p.agents))
        ]
        lower = max(
            [
                round(min(offs[int(self.var.agent[v])] * q + d[v] for v in self.task_vars[ti]))
                for ti in range(len(p.tasks))
                if self.task_vars[ti].size and not p.tasks[ti].optional
            ],
            default=0,
        )
        return lower, int(max(finish_ub, default=0))

    def _makespan_exact(self) -> Poly:
        p = self.problem
        offs = [a.available_from if p.constraints.availability else 0.0 for a in p.agents]
        q, exact = integer_scale([*self.duration.tolist(), *offs])
        if not exact:
            self.notes.append(f"makespan: durations rounded to 1/{q}")
        d = np.round(self.duration * q)
        lower, upper = self._makespan_range(d, offs, q)
        if any(round(o * q) > lower for o in offs):
            # the bound o_a + busy_a <= M also holds for an idle agent, so a late
            # available_from raises M even when that agent does nothing
            self.notes.append("makespan: exact encoding counts available_from of idle agents too")
        mcoefs = slack_coefficients(max(upper - lower, 0))
        mbits = self.new_vars([("makespan", k) for k in range(len(mcoefs))])
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
            scoefs = slack_coefficients(int(upper - o))
            sl = self.new_vars(
                [("slack", "makespan_bound", p.agents[ai].id, k) for k in range(len(scoefs))]
            )
            # o + sum d x + slack - (lower + sum c m) == 0
            bound.add_square(
                np.concatenate([idx, sl, mbits]),
                np.concatenate([d[idx], scoefs, -np.asarray(mcoefs, dtype=float)]),
                float(lower - o),
                1.0,
            )
            checks.append(makespan_over(idx, d[idx], o, mbits, mcoefs, lower))
            self._slack_fillers.append(
                makespan_filler(idx, d[idx], o, sl, scoefs, mbits, mcoefs, lower)
            )
        self._constraints["makespan_bound"] = bound
        self._slack_checks["makespan_bound"] = checks
        # makespan bits first: slack fillers of the bound read them
        self._slack_fillers.insert(0, self._makespan_setter(d, offs, q))
        return poly

    def _makespan_setter(self, d: np.ndarray, offs: Sequence[float], q: int) -> Filler:
        """The makespan bits of a sample: the latest agent finish."""
        mbits, mcoefs, lower, _ = self.makespan_bits
        agent_vars, n_agents = self.agent_vars, len(self.problem.agents)

        def fill(x: np.ndarray) -> None:
            finish = [
                round(offs[ai] * q) + float(x[agent_vars[ai]] @ d[agent_vars[ai]])
                for ai in range(n_agents)
                if agent_vars[ai].size
            ]
            set_bits(x, mbits, mcoefs.tolist(), round(max(finish, default=0) - lower))

        return fill

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

    def _weighted_sum(self, fixed: dict[str, float]) -> Poly:
        self.objective_weights = {k: float(fixed.get(k, 0.0)) for k in self.objective_parts}
        total = Poly()
        for name, poly in self.objective_parts.items():
            if self.objective_weights[name]:
                total.extend(poly, self.objective_weights[name])
        return total

    def _disruption(self, terms: DisruptionTerms) -> Poly:
        """Re-planning's disruption as linear biases (zero for the reference plan).

        For each task of ``terms.reference`` whose reference agent ``a0`` still has
        variables: ``-lam x reassign_weight`` on its ``x[t, a0(, k)]`` (offset
        ``+lam x reassign_weight``), so that under one-hot the term is ``lam x
        reassign_weight`` per reassigned task; in time mode every ``x[t, a, k]`` of a
        referenced task also gets ``lam x shift_weight x |k x time_unit - s0|``.
        ``lam`` (``self.disruption_scale``) is the first objective's lexicographic weight
        times the median nonzero most one variable can change it: one unit of weighted
        disruption weighs as much as one typical move's worth of the first objective,
        the QUBO's stand-in for "first objective within the tolerance, then disruption"
        (:mod:`quantum_planner.disruption`).
        """
        first = next(iter(self.objective_parts))
        field = self.objective_parts[first].local_field_bound(self.n)[: self.n_x]
        field = field[field > 1e-12]
        typical = float(np.median(field)) if field.size else 1.0
        lam = self.objective_weights[first] * typical
        self.disruption_scale = lam
        p = self.problem
        poly = Poly()
        for tid, (a0, s0) in terms.reference.items():
            ti = self._task_index.get(tid)
            if ti is None:
                continue
            idx = self.task_vars[ti]
            agents = np.array([p.agents[a].id for a in self.var.agent[idx]], dtype=object)
            home = idx[agents == a0]
            if home.size and terms.reassign_weight > 0:
                poly.add_linear(home, -lam * terms.reassign_weight)
                poly.offset += lam * terms.reassign_weight
            if self.mode == "time" and terms.shift_weight > 0 and idx.size:
                shift = np.abs(self.var.start[idx] * self.time_unit - s0)
                poly.add_linear(idx, lam * terms.shift_weight * shift)
        return poly

    def _combine_objectives(self) -> Poly:
        """Weighted sum; earlier objectives get weights that (nearly) dominate later ones."""
        parts = list(self.objective_parts.values())
        if self.fixed_weights is not None:  # a weighted sum the caller chose
            return self._weighted_sum(self.fixed_weights)
        weights = [1.0] * len(parts)
        for k in range(len(parts) - 2, -1, -1):
            rng = parts[k + 1].total_range(self.n) * weights[k + 1]
            step = resolution(parts[k], self.n)
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
