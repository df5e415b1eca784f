"""The module-level operations the incident playbook calls, on the default context.

``switch_backend("dwave", enabled=False)`` in an operator's shell writes to the shared
state the service reads when ``QP_DATABASE_URL`` (or ``QP_SERVICE_URL`` and
``QP_API_KEY``) is set, and prints where it wrote; without them it says plainly that
only this process changed. Code that owns a :class:`BackendContext` calls its methods
instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quantum_planner.backends.base import Backend
from quantum_planner.backends.breaker import BreakerBoard
from quantum_planner.backends.context import default_context
from quantum_planner.backends.counters import Counters
from quantum_planner.backends.state import StateStore
from quantum_planner.config import Settings

__all__ = [
    "alert_async",
    "flush_alerts",
    "get_backend",
    "get_breakers",
    "get_counters",
    "get_state_store",
    "is_enabled",
    "list_backends",
    "register_backend",
    "reset_dedup",
    "send_alert",
    "set_breakers",
    "set_counters",
    "set_state_store",
    "switch_backend",
    "unregister_backend",
]


def switch_backend(name: str, enabled: bool = True, *, echo: bool = True) -> bool:
    """Enable or disable a backend in the default context's state store; returns the
    previous state.

    With ``QP_DATABASE_URL`` (or ``QP_SERVICE_URL`` + ``QP_API_KEY``) set, that is the
    state every API replica and worker reads (within a few seconds); with ``echo`` it
    prints where it was written, e.g. ``backend dwave disabled (was enabled) in database
    postgresql://postgres@127.0.0.1:5432/quantum``, or that only this process changed.

    >>> switch_backend("dwave", enabled=False)  # doctest: +SKIP
    """
    result = default_context().switch_backend(name, enabled)
    if echo:
        print(result.message)
    return result.previous


def is_enabled(name: str) -> bool:
    """Whether ``name`` is switched on in the default context."""
    return default_context().is_enabled(name)


def list_backends() -> list[str]:
    """Every backend name of the default context."""
    return default_context().list_backends()


def get_backend(name: str) -> Backend:
    """The default context's backend ``name``."""
    return default_context().get_backend(name)


def register_backend(
    backend: Backend | Callable[[], Backend],
    name: str | None = None,
    *,
    replace: bool = False,
    enabled: bool = True,
) -> str:
    """Register ``backend`` in the default context (see :meth:`BackendRegistry.register`)."""
    return default_context().registry.register(backend, name, replace=replace, enabled=enabled)


def unregister_backend(name: str) -> None:
    """Remove a user-registered backend from the default context."""
    default_context().registry.unregister(name)


def get_state_store() -> StateStore:
    """The default context's state store."""
    return default_context().states


def set_state_store(store: StateStore) -> StateStore:
    """Give the default context another state store; returns the previous one."""
    if not isinstance(store, StateStore):
        raise TypeError("a StateStore needs get(name) and set(name, enabled)")
    ctx = default_context()
    old, ctx.states = ctx.states, store
    return old


def get_breakers() -> BreakerBoard:
    """The default context's circuit breakers."""
    return default_context().breakers


def set_breakers(board: BreakerBoard | None) -> BreakerBoard | None:
    """Replace the default context's breakers (None: fresh ones from its settings)."""
    ctx = default_context()
    old, ctx.breakers = ctx.breakers, board or BreakerBoard(ctx.settings)
    return old


def get_counters() -> Counters:
    """The default context's counters."""
    return default_context().counters


def set_counters(counters: Counters) -> Counters:
    """Replace the default context's counters (e.g. a Prometheus adapter); returns the old."""
    ctx = default_context()
    old, ctx.counters = ctx.counters, counters
    ctx.alerts.counters = counters
    return old


def send_alert(
    message: str, severity: str = "warning", *, settings: Settings | None = None, **labels: Any
) -> bool:
    """Log ``message`` and POST it to ``QP_ALERT_WEBHOOK_URL``; True if delivered. Never raises.

    See :meth:`quantum_planner.backends.alerts.AlertSender.send`.
    """
    return default_context().alerts.send(message, severity, settings=settings, **labels)


def alert_async(
    message: str, severity: str = "warning", *, settings: Settings | None = None, **labels: Any
) -> None:
    """Queue an alert for the default context's background sender (returns at once)."""
    default_context().alerts.send_async(message, severity, settings=settings, **labels)


def flush_alerts(timeout: float = 5.0) -> bool:
    """Wait for the default context's queued alerts to be sent (e.g. before a script exits)."""
    return default_context().alerts.flush(timeout)


def reset_dedup() -> None:
    """Forget which alerts the default context sent."""
    default_context().alerts.reset_dedup()
