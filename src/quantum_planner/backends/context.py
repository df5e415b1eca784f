"""The backend context: everything the backends layer keeps, in one object passed in.

A :class:`BackendContext` holds the settings, the backend registry, the circuit-breaker
table, the enable/disable state store, the counters and the alert sender. Planners
(``QuantumTaskPlanner(context=...)``), the failover executor, ``check_all_backends``
and the service each take one, so tests and services build their own and nothing is
shared by accident.

The incident playbook's module-level calls (``quantum_planner.backends.switch_backend``,
``test_credentials``, ``quantum_planner.health.check_all_backends()``,
``quantum_planner.alerts.send_alert``) act on :func:`default_context`, built on first
use from the ``QP_*`` settings; in particular its state store is the shared one the
service reads when ``QP_DATABASE_URL`` (or ``QP_SERVICE_URL`` + ``QP_API_KEY``) is set.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field

from quantum_planner.backends.alerts import AlertSender
from quantum_planner.backends.base import Backend
from quantum_planner.backends.breaker import BreakerBoard
from quantum_planner.backends.counters import Counters, InMemoryCounters
from quantum_planner.backends.registry import BackendRegistry
from quantum_planner.backends.state import (
    InMemoryStateStore,
    StateStore,
    state_store_from_settings,
)
from quantum_planner.config import Settings, get_settings
from quantum_planner.errors import UnknownBackendError

__all__ = [
    "BackendContext",
    "SwitchResult",
    "default_context",
    "reset_default_context",
]

log = logging.getLogger("quantum_planner.backends")

_NOT_SHARED = (
    "this process only: no shared state is configured (set QP_DATABASE_URL to the "
    "service's database, or QP_SERVICE_URL and QP_API_KEY), so the service and its "
    "workers did not change"
)


def _word(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"


@dataclass(frozen=True)
class SwitchResult:
    """What :meth:`BackendContext.switch_backend` did, and where it was written."""

    name: str
    enabled: bool
    previous: bool
    where: str
    shared: bool

    @property
    def message(self) -> str:
        """One line for the operator: ``backend dwave disabled (was enabled) in database ...``."""
        where = f"in {self.where}" if self.shared else _NOT_SHARED
        return f"backend {self.name} {_word(self.enabled)} (was {_word(self.previous)}) {where}"


@dataclass
class BackendContext:
    """Registry, breakers, state store, counters, alert sender and settings of one planner,
    service or test. Every field has a fresh default; pass what you want to share."""

    settings: Settings = field(default_factory=get_settings)
    registry: BackendRegistry = field(default_factory=BackendRegistry)
    states: StateStore = field(default_factory=InMemoryStateStore)
    counters: Counters = field(default_factory=InMemoryCounters)
    # None (the default) builds them in __post_init__: breakers from ``settings``, an
    # alert sender with ``settings`` and ``counters``; afterwards they are never None
    breakers: BreakerBoard = None  # type: ignore[assignment]
    alerts: AlertSender = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not isinstance(self.states, StateStore):
            raise TypeError("a StateStore needs get(name) and set(name, enabled)")
        if self.breakers is None:
            self.breakers = BreakerBoard(self.settings)
        if self.alerts is None:
            self.alerts = AlertSender(self.settings, self.counters)
        self._warm = False

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BackendContext:
        """A context whose state store follows ``settings`` (shared when configured)."""
        s = settings or get_settings()
        return cls(settings=s, states=state_store_from_settings(s))

    # -- backends ----------------------------------------------------------------
    def list_backends(self) -> list[str]:
        """Every backend name: local solvers, remote backends, then user-registered ones."""
        return self.registry.names()

    def get_backend(self, name: str) -> Backend:
        """The backend registered as ``name`` (created once per context, then shared)."""
        return self.registry.get(name)

    def warm_up(self) -> None:
        """Create every registered backend now, in this thread (importing qiskit, OR-Tools...).

        Health checks call it first, so their bounded probes do not pay for the imports
        and no SDK is imported in a probe thread (importing qiskit there crashed the
        interpreter in our tests). Done once per context; never at import time.
        """
        if self._warm:
            return
        for name in self.list_backends():
            with contextlib.suppress(Exception):  # a broken backend is reported by the check
                self.get_backend(name)
        self._warm = True

    # -- switches ------------------------------------------------------------------
    def is_enabled(self, name: str) -> bool:
        """Whether ``name`` is switched on (backends are on unless switched off)."""
        stored = self.states.get(name)
        if stored is not None:
            return stored
        return self.registry.default_enabled(name)

    @property
    def state_location(self) -> str:
        """Where switches are written: ``database postgresql://...``, ``this process only``..."""
        describe = getattr(self.states, "describe", None)
        return describe() if callable(describe) else type(self.states).__name__

    @property
    def shared_state(self) -> bool:
        """Whether other processes (the service, its workers) see this context's switches."""
        return bool(getattr(self.states, "shared", False))

    def switch_backend(self, name: str, enabled: bool = True) -> SwitchResult:
        """Enable or disable ``name`` in this context's state store; says where it wrote.

        Re-enabling also closes the backend's circuit breaker here ("try it again now").
        """
        if name not in self.list_backends():
            raise UnknownBackendError(
                f"unknown backend {name!r}; known: {', '.join(self.list_backends())}",
                field="backend",
            )
        previous = self.is_enabled(name)
        self.states.set(name, bool(enabled))
        if enabled:
            self.breakers.get(name).reset()
        result = SwitchResult(name, bool(enabled), previous, self.state_location, self.shared_state)
        # INFO: the module-level call prints the line, and the service's admin route logs
        # its own WARNING with the key that switched; a WARNING here would show twice
        log.info("%s", result.message)
        self.counters.inc(
            "backend_switches_total", backend=name, enabled=str(bool(enabled)).lower()
        )
        return result


_default: BackendContext | None = None
_default_lock = threading.Lock()


def default_context() -> BackendContext:
    """The process's context for module-level calls, built from ``QP_*`` settings on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = BackendContext.from_settings()
        return _default


def reset_default_context(context: BackendContext | None = None) -> BackendContext | None:
    """Install ``context`` as the default (None: rebuild from settings on next use); returns
    the previous one. Tests and solver processes use it; nothing else should need to."""
    global _default
    with _default_lock:
        old, _default = _default, context
        return old
