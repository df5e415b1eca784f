"""The solver protocol every strategy implements.

``make_solution`` (re-exported here for the solvers) lives in
:mod:`quantum_planner.solution`, below the formulation, which needs it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from quantum_planner.model import Problem, Solution
from quantum_planner.solution import make_solution

__all__ = ["Progress", "ProgressCallback", "Solver", "make_solution"]


@dataclass(frozen=True)
class Progress:
    """A progress report from a running solve (anytime solvers report each improvement)."""

    elapsed: float
    best: float | None = None  # primary objective of the best plan so far
    fraction: float | None = None  # of the time limit, when known
    message: str = ""
    solution: Solution | None = None  # best plan so far, when cheap to give


ProgressCallback = Callable[[Progress], None]


@runtime_checkable
class Solver(Protocol):
    """A strategy that solves a :class:`Problem` within a wall-clock limit.

    ``solve`` returns the best plan found; it need not validate it (the planner
    does). It must return by ``time_limit`` seconds (plus a small margin) and
    stop early when ``stop`` is set, returning the best plan so far.
    """

    name: str

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> Solution: ...
