"""Circuit breaker: closed -> open -> half-open -> closed/open, on a controlled clock."""

from __future__ import annotations

import threading

import pytest

from quantum_planner.backends.breaker import BreakerBoard, BreakerState, CircuitBreaker
from quantum_planner.config import Settings


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_threshold_consecutive_failures_only():
    opened = []
    b = CircuitBreaker(
        "x", threshold=3, reset_seconds=10, clock=Clock(), on_open=lambda *a: opened.append(a)
    )
    b.record_failure("e1")
    b.record_failure("e2")
    b.record_success()  # resets the consecutive count
    b.record_failure("e3")
    b.record_failure("e4")
    assert b.state is BreakerState.CLOSED and b.allow()
    assert b.record_failure("e5") is True
    assert b.state is BreakerState.OPEN and not b.allow()
    assert opened == [("x", 3, "e5")]


def test_half_open_lets_one_trial_through_then_closes_on_success():
    clock = Clock()
    b = CircuitBreaker("x", threshold=1, reset_seconds=5, clock=clock)
    b.record_failure("boom")
    assert not b.allow()
    clock.t = 4.9
    assert not b.allow()
    clock.t = 5.0
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow() is True
    assert b.allow() is False  # only one trial at a time
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.allow()


def test_half_open_failure_reopens_for_another_cool_down():
    clock = Clock()
    b = CircuitBreaker("x", threshold=2, reset_seconds=5, clock=clock)
    b.record_failure()
    b.record_failure()
    clock.t = 5
    assert b.allow()
    assert b.record_failure("still down") is True
    assert b.state is BreakerState.OPEN
    clock.t = 9.9
    assert not b.allow()
    clock.t = 10
    assert b.allow()
    assert b.snapshot().opened_count == 2


def test_trip_opens_at_once_and_release_trial_gives_it_back():
    clock = Clock()
    b = CircuitBreaker("x", threshold=5, reset_seconds=1, clock=clock)
    assert b.record_failure("401", trip=True)
    clock.t = 1
    assert b.allow()
    b.release_trial()
    assert b.would_allow() and b.allow()


def test_disabled_breaker_always_allows_but_keeps_stats():
    b = CircuitBreaker("x", threshold=1, enabled=False)
    for _ in range(5):
        assert b.record_failure("e") is False
        assert b.allow()
    snap = b.snapshot()
    assert snap.failures == 5 and snap.last_error == "e" and snap.state is BreakerState.CLOSED


def test_board_reads_settings_and_env_switches(monkeypatch):
    board = BreakerBoard(Settings(breaker_failure_threshold=7, breaker_reset_seconds=3))
    b = board.get("dwave")
    assert (b.threshold, b.reset_seconds, b.enabled) == (7, 3, True)
    assert board.get("dwave") is b
    monkeypatch.setenv("QP_CIRCUIT_BREAKER_ENABLED", "false")
    assert Settings().circuit_breaker_enabled is False
    monkeypatch.delenv("QP_CIRCUIT_BREAKER_ENABLED")
    # the playbook's ConfigMap key, without the QP_ prefix
    monkeypatch.setenv("CIRCUIT_BREAKER_ENABLED", "false")
    assert Settings().circuit_breaker_enabled is False
    assert BreakerBoard(Settings()).get("x").enabled is False
    monkeypatch.setenv("QP_CIRCUIT_BREAKER_ENABLED", "true")  # QP_ wins
    assert Settings().circuit_breaker_enabled is True


def test_threshold_must_be_positive():
    with pytest.raises(ValueError):
        CircuitBreaker("x", threshold=0)


def test_concurrent_failures_open_exactly_once():
    opened = []
    b = CircuitBreaker("x", threshold=10, reset_seconds=60, on_open=lambda *a: opened.append(a))
    threads = [
        threading.Thread(target=lambda: [b.record_failure() for _ in range(50)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 1 and b.snapshot().failures == 400
