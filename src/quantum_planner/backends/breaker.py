"""Circuit breaker per backend: closed -> open after N failures -> half-open after a cool-down.

* **closed**: calls go through; consecutive failures are counted.
* **open**: calls are refused (the executor skips the backend) until ``reset_seconds``
  have passed since it opened.
* **half-open**: one trial call is let through; success closes the breaker, failure
  opens it again for another cool-down.

Each breaker also keeps the backend's last error and counts, which health reports read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from quantum_planner.config import Settings, get_settings


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class BreakerSnapshot:
    state: BreakerState
    consecutive_failures: int
    failures: int
    successes: int
    last_error: str | None
    last_failure_at: float | None  # time.time()
    last_success_at: float | None
    opened_count: int


class CircuitBreaker:
    """Thread-safe breaker; ``on_open(name, failures, last_error)`` is called on each opening."""

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        reset_seconds: float = 30.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        on_open: Callable[[str, int, str | None], Any] | None = None,
    ) -> None:
        if threshold < 1:
            raise ValueError("breaker threshold must be >= 1")
        self.name = name
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.enabled = enabled
        self._clock = clock
        self._on_open = on_open
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._consecutive = 0
        self._failures = 0
        self._successes = 0
        self._opened_count = 0
        self._last_error: str | None = None
        self._last_failure_at: float | None = None
        self._last_success_at: float | None = None

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    def allow(self) -> bool:
        """Whether a call may go through now (claims the single half-open trial)."""
        if not self.enabled:
            return True
        with self._lock:
            state = self._current_state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def would_allow(self) -> bool:
        """Like :meth:`allow` without claiming the trial (for planning a chain)."""
        if not self.enabled:
            return True
        with self._lock:
            state = self._current_state()
            return state is BreakerState.CLOSED or (
                state is BreakerState.HALF_OPEN and not self._trial_in_flight
            )

    def record_success(self) -> None:
        with self._lock:
            self._successes += 1
            self._consecutive = 0
            self._last_success_at = time.time()
            self._state = BreakerState.CLOSED
            self._trial_in_flight = False

    def record_failure(self, error: str | None = None, *, trip: bool = False) -> bool:
        """Count a failure; ``trip`` opens at once (credentials). Returns True if it opened."""
        opened = False
        with self._lock:
            self._failures += 1
            self._consecutive += 1
            self._last_error = error
            self._last_failure_at = time.time()
            state = self._current_state()
            if self.enabled and (
                state is BreakerState.HALF_OPEN
                or (state is BreakerState.CLOSED and (trip or self._consecutive >= self.threshold))
            ):
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._trial_in_flight = False
                self._opened_count += 1
                opened = True
            consecutive = self._consecutive
        if opened and self._on_open is not None:
            self._on_open(self.name, consecutive, error)
        return opened

    def release_trial(self) -> None:
        """Give back a claimed half-open trial that was not used (e.g. the call was skipped)."""
        with self._lock:
            self._trial_in_flight = False

    def reset(self) -> None:
        """Close the breaker and forget the failures (after an operator fixed the backend)."""
        with self._lock:
            self._state = BreakerState.CLOSED
            self._consecutive = 0
            self._trial_in_flight = False

    def snapshot(self) -> BreakerSnapshot:
        with self._lock:
            return BreakerSnapshot(
                state=self._current_state(),
                consecutive_failures=self._consecutive,
                failures=self._failures,
                successes=self._successes,
                last_error=self._last_error,
                last_failure_at=self._last_failure_at,
                last_success_at=self._last_success_at,
                opened_count=self._opened_count,
            )


class BreakerBoard:
    """One breaker per backend name, configured from :class:`Settings`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_open: Callable[[str, int, str | None], Any] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._clock = clock
        self.on_open = on_open
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, name: str) -> CircuitBreaker:
        with self._lock:
            b = self._breakers.get(name)
            if b is None:
                s = self.settings
                b = CircuitBreaker(
                    name,
                    threshold=s.breaker_failure_threshold,
                    reset_seconds=s.breaker_reset_seconds,
                    enabled=s.circuit_breaker_enabled,
                    clock=self._clock,
                    on_open=lambda *a: self.on_open(*a) if self.on_open else None,
                )
                self._breakers[name] = b
            return b

    def names(self) -> list[str]:
        with self._lock:
            return list(self._breakers)
