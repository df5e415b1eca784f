"""A tiny counters interface the service binds to Prometheus (this layer imports none).

Events counted by the backends layer (label names in brackets):

* ``backend_solves_total`` [backend, outcome]: one per attempt (success, failed, invalid,
  timeout, skipped)
* ``backend_retries_total`` [backend]
* ``backend_failovers_total`` [backend, reason]: left ``backend`` for the next one
* ``breaker_opened_total`` [backend]
* ``credentials_errors_total`` [backend]
* ``backend_switches_total`` [backend, enabled]
* ``alerts_total`` [severity, result]: result is sent, failed or suppressed
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable


@runtime_checkable
class Counters(Protocol):
    """Something that counts named, labelled events."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None: ...


class InMemoryCounters:
    """Thread-safe counters kept in a dict (the default, and what tests read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, name: str, **labels: str) -> float:
        """Sum of ``name`` over every label set that contains ``labels``."""
        want = {(k, str(v)) for k, v in labels.items()}
        with self._lock:
            return sum(v for (n, lab), v in self._values.items() if n == name and want <= set(lab))

    def snapshot(self) -> dict[str, float]:
        """``{"name{k=v,...}": value}`` for logging and debugging."""
        with self._lock:
            items = list(self._values.items())
        return {f"{n}{{{','.join(f'{k}={v}' for k, v in lab)}}}": val for (n, lab), val in items}
