"""Backends: where problems are solved, and the machinery that keeps solves alive.

Operations (the names the incident playbook uses)::

    from quantum_planner.backends import switch_backend, test_credentials
    switch_backend("dwave", enabled=False)
    test_credentials()

Extension::

    from quantum_planner.backends import register_backend
    register_backend(MyBackend())   # .name, .properties, .solve(problem, *, time_limit, ...)
"""

from quantum_planner.alerts import send_alert
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
    get_breakers,
    set_breakers,
)
from quantum_planner.backends.checks import test_credentials
from quantum_planner.backends.counters import (
    Counters,
    InMemoryCounters,
    get_counters,
    set_counters,
)
from quantum_planner.backends.failover import FailoverExecutor
from quantum_planner.backends.registry import (
    InMemoryStateStore,
    StateStore,
    get_backend,
    get_state_store,
    is_enabled,
    list_backends,
    register_backend,
    set_state_store,
    switch_backend,
    unregister_backend,
)

__all__ = [
    "Backend",
    "BackendKind",
    "BackendProperties",
    "BaseBackend",
    "BreakerBoard",
    "BreakerState",
    "CircuitBreaker",
    "Counters",
    "FailoverExecutor",
    "FailureKind",
    "InMemoryCounters",
    "InMemoryStateStore",
    "InvalidResultError",
    "StateStore",
    "classify",
    "get_backend",
    "get_breakers",
    "get_counters",
    "get_state_store",
    "is_enabled",
    "list_backends",
    "register_backend",
    "send_alert",
    "set_breakers",
    "set_counters",
    "set_state_store",
    "switch_backend",
    "test_credentials",
    "unregister_backend",
]
