"""The anytime incumbent shared by the hybrid's searches, and deadline-bounded calls."""

from __future__ import annotations

import threading
import time

import numpy as np

from quantum_planner.solvers.anytime import Incumbent, call_before
from quantum_planner.solvers.base import Progress


def test_offer_takes_only_better_plans_and_copies_them() -> None:
    seen: list[Progress] = []
    inc = Incumbent(time.perf_counter(), seen.append)
    plan = np.array([0, 1, 2])
    assert inc.offer(10.0, (plan,), "hybrid: constructive start", force=True)
    plan[0] = 7  # the caller keeps working on its array: the held copy must not move
    assert inc.plan is not None and inc.plan[0].tolist() == [0, 1, 2]
    assert not inc.offer(10.0, (plan,), "hybrid: local search")  # equal is no gain
    assert not inc.offer(11.0, (plan,), "hybrid: local search")
    assert inc.offer(8.5, (plan,), "hybrid: local search", force=True)
    assert inc.value == 8.5 and inc.plan[0].tolist() == [7, 1, 2]
    assert inc.first_feasible is not None
    assert inc.sources == {"constructive start": 1, "local search": 1}
    assert inc.gains == {"local search": 1.5}  # the first plan removes nothing from inf
    assert [p.best for p in seen] == [10.0, 8.5]
    assert [v for _, v in inc.history] == [10.0, 8.5]


def test_reports_are_throttled_and_attach_plans_when_due() -> None:
    seen: list[Progress] = []
    made: list[tuple[np.ndarray, ...]] = []

    def to_solution(plan: tuple[np.ndarray, ...]) -> object:
        made.append(plan)
        return "solution"

    inc = Incumbent(time.perf_counter(), seen.append, to_solution)  # type: ignore[arg-type]
    inc.REPORT_EVERY = inc.SOLUTION_EVERY = 60.0  # no report falls due by the clock here
    for v in (5.0, 4.0, 3.0):  # within REPORT_EVERY of each other: one report
        inc.offer(v, (np.zeros(2),), "hybrid: local search")
    assert len(seen) == 1 and seen[0].best == 5.0 and seen[0].solution == "solution"
    assert inc.value == 3.0  # every improvement is kept, only the reports are throttled
    inc.offer(2.0, (np.zeros(2),), "hybrid: agent LNS", force=True)
    assert seen[-1].best == 2.0 and len(made) == 2


def test_relay_passes_only_reports_that_beat_every_earlier_one() -> None:
    seen: list[Progress] = []
    inc = Incumbent(time.perf_counter(), seen.append, value=100.0)
    inc.relay(Progress(elapsed=0.1, best=120.0))  # worse than the start plan: dropped
    inc.relay(Progress(elapsed=0.2, best=90.0))
    inc.relay(Progress(elapsed=0.3, best=95.0))  # worse than the last report: dropped
    assert [p.best for p in seen] == [90.0]


def test_take_copies_the_held_plan_only_when_it_is_better() -> None:
    inc = Incumbent(time.perf_counter())
    inc.offer(3.0, (np.array([1, 1]), np.array([2.0])), "tabu")
    mine = [np.array([0, 0]), np.array([0.0])]
    assert inc.take(2.0, mine) == 2.0 and mine[0].tolist() == [0, 0]  # ours is better
    assert inc.take(4.0, mine) == 3.0 and mine[0].tolist() == [1, 1] and mine[1][0] == 2.0


def test_offers_from_threads_keep_the_best() -> None:
    inc = Incumbent(time.perf_counter())
    values = [float(v) for v in np.random.default_rng(0).permutation(200)]

    def offer(vs: list[float]) -> None:
        for v in vs:
            inc.offer(v, (np.array([v]),), "tabu")

    threads = [threading.Thread(target=offer, args=(values[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inc.value == 0.0 and inc.plan is not None and inc.plan[0][0] == 0.0


def test_call_before_returns_the_result_or_none_past_the_deadline() -> None:
    assert call_before(time.perf_counter() + 5.0, lambda a, b: a + b, (2, 3)) == 5
    t0 = time.perf_counter()
    assert call_before(t0 + 0.05, time.sleep, (1.0,)) is None
    assert time.perf_counter() - t0 < 0.5
