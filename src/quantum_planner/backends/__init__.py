"""Backends: where problems are solved, and the machinery that keeps solves alive.

Operations (the names the incident playbook uses)::

    from quantum_planner.backends import switch_backend, test_credentials
    switch_backend("dwave", enabled=False)   # prints where it was written
    test_credentials()

These act on :func:`default_context`; with ``QP_DATABASE_URL`` (or ``QP_SERVICE_URL`` and
``QP_API_KEY``) set, a switch reaches every API replica and worker. Code that owns a
:class:`BackendContext` (the service, tests) passes it instead.

Extension::

    from quantum_planner.backends import register_backend
    register_backend(MyBackend())   # .name, .properties, .solve(problem, *, time_limit, ...)
"""

from quantum_planner.backends.alerts import AlertSender
from quantum_planner.backends.base import (
    Backend,
    BackendKind,
    BackendProperties,
    BaseBackend,
    FailureKind,
    InvalidResultError,
    classify,
)
from quantum_planner.backends.breaker import (
    BreakerBoard,
    BreakerState,
    CircuitBreaker,
)
from quantum_planner.backends.checks import test_credentials
from quantum_planner.backends.context import (
    BackendContext,
    SwitchResult,
    default_context,
    reset_default_context,
)
from quantum_planner.backends.counters import Counters, InMemoryCounters
from quantum_planner.backends.failover import FailoverExecutor
from quantum_planner.backends.ops import (
    get_backend,
    get_breakers,
    get_counters,
    get_state_store,
    is_enabled,
    list_backends,
    register_backend,
    send_alert,
    set_breakers,
    set_counters,
    set_state_store,
    switch_backend,
    unregister_backend,
)
from quantum_planner.backends.registry import BackendRegistry
from quantum_planner.backends.state import HttpStateStore, InMemoryStateStore, StateStore

__all__ = [
    "AlertSender",
    "Backend",
    "BackendContext",
    "BackendKind",
    "BackendProperties",
    "BackendRegistry",
    "BaseBackend",
    "BreakerBoard",
    "BreakerState",
    "CircuitBreaker",
    "Counters",
    "FailoverExecutor",
    "FailureKind",
    "HttpStateStore",
    "InMemoryCounters",
    "InMemoryStateStore",
    "InvalidResultError",
    "StateStore",
    "SwitchResult",
    "classify",
    "default_context",
    "get_backend",
    "get_breakers",
    "get_counters",
    "get_state_store",
    "is_enabled",
    "list_backends",
    "register_backend",
    "reset_default_context",
    "send_alert",
    "set_breakers",
    "set_counters",
    "set_state_store",
    "switch_backend",
    "test_credentials",
    "unregister_backend",
]
