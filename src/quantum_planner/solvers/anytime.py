"""Anytime helpers shared by the searches: the incumbent plan and deadline-bounded calls.

:class:`Incumbent` is the best plan so far of one search or of several
searches running in threads (the hybrid's assignment search, the two shop
tabu searches). It keeps the plan, reports improvements to a progress
callback at most every ``REPORT_EVERY`` seconds (with the plan as a
:class:`Solution` at most every ``SOLUTION_EVERY`` seconds, since building
one costs a schedule), and passes on other solvers' reports only when they
beat every report before (the values reported never go up).

:func:`call_before` runs a call that may take long the first time (a numba
kernel's first call compiles it) so that the caller's deadline still holds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from quantum_planner.model import Solution
from quantum_planner.solvers.base import Progress, ProgressCallback

__all__ = ["Incumbent", "call_before"]

Plan = tuple[np.ndarray, ...]


class Incumbent:
    """The best plan so far (a tuple of arrays), its value, and throttled progress reports.

    ``to_solution`` turns a held plan into a :class:`Solution` for the reports
    (None: reports carry no plan). Several threads may offer plans; a search
    adopts the held plan with :meth:`take` when it is better than its own
    (its next restart then starts from it): searches explore apart and
    restart together. Improvements are also counted by source (the report
    message without its ``hybrid:`` prefix) with the score each removed.
    """

    REPORT_EVERY = 0.1  # seconds between progress reports
    SOLUTION_EVERY = 0.5  # seconds between plans attached to them (a schedule each)

    def __init__(
        self,
        t0: float,
        progress: ProgressCallback | None = None,
        to_solution: Callable[[Plan], Solution] | None = None,
        value: float = math.inf,
    ) -> None:
        self.t0 = t0
        self.progress = progress
        self.to_solution = to_solution
        self.value = value
        self.plan: Plan | None = None
        self.first_feasible: float | None = None  # seconds from t0 to the first offer taken
        self.history: list[tuple[float, float]] = []
        self.sources: dict[str, int] = {}  # improvements of the best plan, by source
        self.gains: dict[str, float] = {}  # and how much each source lowered the score
        self.lock = threading.Lock()
        self._last_report = -math.inf
        self._last_solution = -math.inf
        self._report_lock = threading.Lock()
        self._reported = value  # the value of the last report (the caller's start plan)
        self._solution_s = 0.0  # how long the last plan took to turn into a Solution

    def offer(
        self, value: float, plan: Sequence[np.ndarray], message: str, force: bool = False
    ) -> bool:
        """Take ``plan`` (copied) when it beats the held one; report it, throttled.

        ``force`` reports at once, with the plan. False when the plan is no better.
        """
        with self.lock:
            if not value < self.value - 1e-9:
                return False
            now = time.perf_counter() - self.t0
            self._record(now, value, message)
            self.plan = tuple(np.array(x, copy=True) for x in plan)
            report = self._report(now, value, message, force)
        if report is not None:
            self.relay(report)
        return True

    def relay(self, report: Progress) -> None:
        """Pass a report on when it beats every one before it (also other solvers' reports)."""
        if self.progress is None or report.best is None:
            return
        with self._report_lock:  # one at a time, so that the values reported only go down
            # stale reports (another search has found better since) are dropped
            if report.best < self._reported and report.best <= self.value:
                self._reported = report.best
                self.progress(report)

    def take(self, value: float, into: Sequence[np.ndarray]) -> float:
        """Copy the held plan into ``into`` when it beats ``value``; the value now held."""
        with self.lock:
            if self.plan is None or not self.value < value - 1e-9:
                return value
            for dst, src in zip(into, self.plan, strict=True):
                dst[:] = src
            return self.value

    def _record(self, now: float, value: float, message: str) -> None:
        if self.first_feasible is None:
            self.first_feasible = now
        source = message.removeprefix("hybrid: ")
        self.sources[source] = self.sources.get(source, 0) + 1
        if math.isfinite(self.value):
            self.gains[source] = self.gains.get(source, 0.0) + float(self.value - value)
        self.value = value
        self.history.append((round(now, 3), float(value)))

    def _report(self, now: float, value: float, message: str, force: bool) -> Progress | None:
        """The progress report due now (called under the lock), or None."""
        if self.progress is None or not (force or now - self._last_report >= self.REPORT_EVERY):
            return None
        self._last_report = now
        solution = None
        # a big plan takes a while to become a Solution (a second at 50,000 tasks): at
        # most a tenth of the search's time goes to them
        every = max(self.SOLUTION_EVERY, 10.0 * self._solution_s)
        due = force or now - self._last_solution >= every
        if self.to_solution is not None and self.plan is not None and due:
            self._last_solution = now
            ts = time.perf_counter()
            solution = self.to_solution(self.plan)
            self._solution_s = time.perf_counter() - ts
        return Progress(elapsed=now, best=float(value), message=message, solution=solution)


def call_before(deadline: float, fn: Callable[..., Any], args: tuple) -> Any:
    """``fn(*args)`` in a daemon thread; its result, or None if it is not done by ``deadline``.

    Used for the first call of a numba kernel, which includes its compilation.
    """
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    worker.start()
    worker.join(timeout=max(0.0, deadline - time.perf_counter()))
    return box[0] if box else None
