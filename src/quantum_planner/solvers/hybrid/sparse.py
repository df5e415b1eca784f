"""Assignment path of the hybrid solver for big problems: eligible pairs only, no dense matrix.

Past :data:`SPARSE_CELLS` task x agent cells the dense path's arrays (400 MB
each at 1,000 x 50,000) and its tabu iterations (each scans every task) no
longer fit a time limit; :class:`SparseSearch` works on the eligible pairs
(:mod:`~quantum_planner.solvers.sparse_form`), each phase O(pairs):

1. **First plan**: regret greedy on load-priced weights ``W + r L`` (``r`` =
   mean weight / mean load), then the overflow repair. Offered at once.
2. **Lagrangian prices**: subgradient steps on the capacity-relaxed dual (a
   pass over the pairs each). The bound (near the LP bound on GAP-like
   problems); the regret greedy on the priced weights and the relaxation's
   own choice, both repaired: usually within a fraction of a percent.
3. **Descent**: sweeps over all tasks (shift, swap, ejection chain; best
   capacity-feasible move per task), in chunks between clock checks. When a
   sweep gains nothing, a restart: the priced greedy on prices perturbed by a
   few percent, then its own descent; the better plan is kept.
4. **LP relaxation** (HiGHS, child process on the other core) when the limit
   leaves it time: the exact bound, and its rounding as one more restart.

Every plan offered or returned respects capacity and eligibility by
construction and is checked again (overflow) before it is offered.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.solvers.anytime import Incumbent
from quantum_planner.solvers.base import ProgressCallback, make_solution
from quantum_planner.solvers.dense_view import Compiled
from quantum_planner.solvers.hybrid.parts import assignment_solution, plan_from_vector
from quantum_planner.solvers.lp import LPProcess
from quantum_planner.solvers.sparse_form import (
    greedy_plan,
    lagrangian,
    repaired,
    round_pairs,
    sparse_extended,
)
from quantum_planner.solvers.sparse_gap import agent_lists, descent_sp

__all__ = ["SPARSE_CELLS", "SparseSearch", "use_sparse"]

#: task x agent cells past which the hybrid's assignment path works on pairs only
SPARSE_CELLS = 2_000_000
#: seconds per task kept free before the deadline to build the returned solution
FINISH_PER_TASK = 2e-5
#: tasks per descent call (the clock is read between calls)
CHUNK = 2048
#: the LP child starts only when at least this much time is left (seconds)
LP_MIN_LEFT = 20.0


def use_sparse(comp: Compiled) -> bool:
    """Whether the assignment problem is big enough for the pairs-only path."""
    return comp.n * (comp.m + 1) > SPARSE_CELLS


class SparseSearch:
    """One solve of a big assignment problem (options: the hybrid's ``AssignmentOptions``)."""

    def __init__(
        self,
        opts: Any,
        comp: Compiled,
        deadline: float,
        seed: int,
        progress: ProgressCallback | None,
        stop: threading.Event | None,
        t0: float,
    ) -> None:
        self.opts, self.comp, self.seed, self.stop, self.t0 = opts, comp, seed, stop, t0
        self.deadline = deadline
        # the returned plan's schedule and Solution are built after the search
        self.stop_at = deadline - min(0.3 * (deadline - t0), FINISH_PER_TASK * comp.n)
        self.form = sparse_extended(comp)
        self.rng = np.random.default_rng(seed)
        self.incumbent = Incumbent(t0, progress, self._to_solution)
        self.best: np.ndarray | None = None  # slots of the best feasible plan
        self.best_val = np.inf
        self.prices = np.zeros(self.form.M)
        self.bound = -np.inf
        self.lp: LPProcess | None = None
        self.stats: dict[str, Any] = {"path": "sparse", "pairs": int(self.form.W.size)}
        self.stats.update(sweeps=0, restarts=0)
        # deterministic runs (``max_iterations``): that many descent sweeps, no LP child
        self.sweeps_left = opts.max_iterations

    # ------------------------------------------------------------------ driver
    def run(self, warm_start: Solution | None) -> tuple[Solution, dict[str, Any]]:
        """All phases in order; the solution and the run's statistics."""
        f = self.form
        fin = np.isfinite(f.W)
        ratio = float(np.abs(f.W[fin]).mean() / max(f.L[fin].mean(), 1e-9)) if fin.any() else 0.0
        slot, _ = greedy_plan(f, np.where(fin, f.W + ratio * f.L, np.inf), self.seed)
        self.offer(slot, "hybrid: constructive start", force=True)
        self.stats["start_value"] = float(self.best_val)
        if warm_start is not None:
            self._warm(warm_start)
        self._launch_lp()
        if self.running():
            self._prices()
        current = self.best
        while current is not None and self.running():
            if not self._descend(current):
                break
            current = self._restart()
        return self.finish()

    def running(self) -> bool:
        """False at the stop time (deadline less the finishing margin) or on ``stop``."""
        if self.stop is not None and self.stop.is_set():
            return False
        if self.sweeps_left is not None and self.stats["sweeps"] >= self.sweeps_left:
            return False
        return time.perf_counter() < self.stop_at

    def offer(self, slot: np.ndarray, source: str, force: bool = False) -> bool:
        """Keep ``slot`` when it is feasible and better than the best; whether it was."""
        f = self.form
        if f.overflow(slot) > 1e-9:
            return False
        val = f.score(slot)
        if not val < self.best_val - 1e-9:
            return False
        self.best, self.best_val = slot.copy(), val
        self.incumbent.offer(val, (f.agents(slot),), source, force)
        return True

    # ------------------------------------------------------------------ phases
    def _warm(self, warm_start: Solution) -> None:
        comp = self.comp
        index = {a: j for j, a in enumerate(comp.agent_ids)}
        agents = np.array(
            [index.get(warm_start.assignments.get(t, ""), comp.m) for t in comp.task_ids],
            dtype=np.int64,
        )
        slot = self.form.slots_of(agents)
        if slot is not None:
            self.offer(slot, "hybrid: warm start")

    def _prices(self) -> None:
        """Lagrangian prices and bound; the priced greedy and the relaxed choice, repaired."""
        f = self.form
        budget = max(0.05, 0.3 * (self.stop_at - time.perf_counter()))
        lag = lagrangian(f, self.best_val, budget)
        self.prices, self.bound = lag.prices, lag.bound
        self.stats["lagrangian_bound"] = lag.bound
        self.stats["lagrangian_iterations"] = lag.iterations
        priced = f.W + self.prices[f.col] * f.L
        slot, _ = greedy_plan(f, priced, self.seed)
        self.offer(slot, "hybrid: priced greedy")
        if self.running():
            slot, _ = repaired(f, lag.choice, self.seed)
            self.offer(slot, "hybrid: Lagrangian choice")

    def _descend(self, slot: np.ndarray) -> bool:
        """Descent sweeps from ``slot`` until one gains nothing; False when time ran out."""
        f = self.form
        slot = slot.copy()
        used = f.used(slot)
        busy = np.zeros(f.M)
        np.add.at(busy, f.col[slot], f.D[slot])
        head, nxt, prv = agent_lists(f.col, slot, f.M)
        while True:
            order = self.rng.permutation(f.n)
            gain = 0.0
            for lo in range(0, f.n, CHUNK):
                if not self.running():
                    self.offer(slot, "hybrid: local search")
                    return False
                gain += descent_sp(
                    f.ptr, f.col, f.W, f.L, f.D, f.cap, f.beta, f.m, slot, used, busy,
                    head, nxt, prv, f.minw, order[lo : lo + CHUNK], True,
                )  # fmt: skip
                self.offer(slot, "hybrid: local search")
                self._poll_lp()
            self.stats["sweeps"] += 1
            if gain > -1e-9 * max(1.0, abs(self.best_val)):
                return True

    def _restart(self) -> np.ndarray | None:
        """The next start: the LP rounding once it is there, else perturbed prices."""
        f = self.form
        self.stats["restarts"] += 1
        lp = self.lp.result if self.lp is not None and self.lp.done else None
        if lp is not None and not self.stats.get("lp_rounded"):
            self.stats["lp_rounded"] = True
            slot, left = round_pairs(f, lp.x, lp.duals, self.seed)
        else:
            noise = np.exp(self.rng.normal(0.0, 0.05, f.M))
            slot, left = greedy_plan(f, f.W + (self.prices * noise)[f.col] * f.L, self.seed)
        return slot if left <= 1e-9 else self.best

    def _launch_lp(self) -> None:
        """The LP relaxation in a child process, when there is time and a second core."""
        opts, f = self.opts, self.form
        left = self.stop_at - time.perf_counter()
        wanted = opts.use_lp and opts.num_workers >= 2 and self.sweeps_left is None
        if not (wanted and left >= LP_MIN_LEFT and f.n > 0):
            return
        pairs = (f.row, f.col, f.W, f.L, f.n)
        self.lp = LPProcess(None, None, f.cap, 0.9 * left, pairs=pairs)

    def _poll_lp(self) -> None:
        if self.lp is None or self.lp.done:
            return
        got = self.lp.poll()
        if got is not None:
            self.stats["lp_bound"] = got.bound
            self.stats["lp_seconds"] = round(got.seconds, 3)
            self.prices = got.duals

    def finish(self) -> tuple[Solution, dict[str, Any]]:
        """Stop the LP child and build the solution with the best bound."""
        stats, f = self.stats, self.form
        if self.lp is not None:
            self._poll_lp()
            self.lp.close()
        if "lp_bound" not in stats and np.isfinite(self.bound) and f.beta == 0.0:
            stats["lp_bound"] = self.bound  # the Lagrangian bound is a valid bound too
        inc = self.incumbent
        stats["first_feasible_s"] = inc.first_feasible
        stats["history"] = inc.history[-50:]
        stats["improvements_by_source"] = dict(inc.sources)
        stats["gain_by_source"] = {k: round(v, 6) for k, v in inc.gains.items()}
        feasible = self.best is not None
        slot = self.best if self.best is not None else self._least_overflow()
        return (
            assignment_solution(
                self.comp, f.agents(slot), stats, self.seed, self.t0, feasible, self.opts.name
            ),
            stats,
        )

    def _least_overflow(self) -> np.ndarray:
        """No feasible plan found: the greedy plan with its overflow repaired as far as it went."""
        f = self.form
        slot, left = greedy_plan(f, f.W, self.seed)
        self.stats["overflow"] = left
        return slot

    def _to_solution(self, plan: tuple[np.ndarray, ...]) -> Solution:
        comp = self.comp
        return make_solution(comp.problem, *plan_from_vector(comp, plan[0]), backend="hybrid")
