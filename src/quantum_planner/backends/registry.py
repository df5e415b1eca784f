"""Backend names -> backends, and which of them are enabled.

Built-ins are created lazily on first use: one local backend per solver in
:mod:`quantum_planner.solvers.registry` whose module is installed, plus the
remote ``dwave``, ``ibm`` and ``azure_quantum``. Users add their own with
:func:`register_backend`.

Enable/disable state lives in a :class:`StateStore`. The default keeps it in
memory, so :func:`switch_backend` takes effect at once for every planner in the
process; the service installs a database-backed store with
:func:`set_state_store` so every replica sees the same switches.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from quantum_planner.backends.base import Backend, module_installed
from quantum_planner.backends.counters import get_counters
from quantum_planner.errors import UnknownBackendError

log = logging.getLogger("quantum_planner.backends")

REMOTE_BACKENDS: dict[str, str] = {
    "dwave": "quantum_planner.backends.dwave:DWaveBackend",
    "ibm": "quantum_planner.backends.ibm:IBMQAOABackend",
    "azure_quantum": "quantum_planner.backends.azure:AzureQuantumBackend",
}


@runtime_checkable
class StateStore(Protocol):
    """Where enable/disable switches are kept (in memory, or a database for many replicas)."""

    def get(self, name: str) -> bool | None:
        """The stored switch for ``name``, or None when never switched."""
        ...

    def set(self, name: str, enabled: bool) -> None: ...


class InMemoryStateStore:
    """Switches in a dict: process-wide, lost on restart."""

    def __init__(self, initial: dict[str, bool] | None = None) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bool] = dict(initial or {})

    def get(self, name: str) -> bool | None:
        with self._lock:
            return self._data.get(name)

    def set(self, name: str, enabled: bool) -> None:
        with self._lock:
            self._data[name] = bool(enabled)


_lock = threading.RLock()
_factories: dict[str, Callable[[], Backend]] = {}
_instances: dict[str, Backend] = {}
_default_enabled: dict[str, bool] = {}
_store: StateStore = InMemoryStateStore()


def _import(target: str) -> Any:
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def _module_installed(target: str) -> bool:
    return module_installed(target.split(":")[0])


def _local_names() -> list[str]:
    from quantum_planner.solvers import registry as solvers

    names = []
    for name in solvers.solver_names():
        target = solvers._BUILTIN.get(name)
        if target is None or _module_installed(target):
            names.append(name)
    return names


def register_backend(
    backend: Backend | Callable[[], Backend],
    name: str | None = None,
    *,
    replace: bool = False,
    enabled: bool = True,
) -> str:
    """Make ``backend`` (an instance, or a zero-argument factory) available by name.

    The name is ``name`` or the backend's own ``name``. Returns it. Raises
    ``ValueError`` when the name is taken and ``replace`` is false.
    """
    if not isinstance(backend, type) and isinstance(backend, Backend):
        inst = backend
        key = name or inst.name

        def factory() -> Backend:
            return inst

    elif callable(backend):
        if not name:
            raise ValueError("register_backend(factory) needs name=...")
        key, factory = name, backend
    else:
        raise TypeError(
            f"{backend!r} is not a backend: it needs .name, .properties and .solve(problem, ...)"
        )
    with _lock:
        if not replace and (key in _factories or key in list_backends()):
            raise ValueError(f"backend {key!r} is already registered; pass replace=True")
        _factories[key] = factory
        _instances.pop(key, None)
        _default_enabled[key] = enabled
    return key


def unregister_backend(name: str) -> None:
    """Remove a user-registered backend (built-ins cannot be removed, only disabled)."""
    with _lock:
        _factories.pop(name, None)
        _instances.pop(name, None)
        _default_enabled.pop(name, None)


def list_backends() -> list[str]:
    """Every backend name: local solvers, remote backends, then user-registered ones."""
    with _lock:
        names = [*_local_names(), *REMOTE_BACKENDS]
        return [*names, *(n for n in _factories if n not in names)]


def _builtin(name: str) -> Backend | None:
    if name in REMOTE_BACKENDS:
        return _import(REMOTE_BACKENDS[name])()
    from quantum_planner.solvers.registry import solver_names

    if name in solver_names():  # even when its module is missing: solve() then says so
        from quantum_planner.backends.local import SolverBackend

        return SolverBackend(name)
    return None


def get_backend(name: str) -> Backend:
    """The backend registered as ``name`` (created once, then shared)."""
    with _lock:
        inst = _instances.get(name)
        if inst is not None:
            return inst
        factory = _factories.get(name)
        inst = factory() if factory is not None else _builtin(name)
        if inst is None:
            raise UnknownBackendError(
                f"unknown backend {name!r}; known: {', '.join(list_backends())}", field="backend"
            )
        _instances[name] = inst
        return inst


def is_enabled(name: str) -> bool:
    """Whether ``name`` is switched on (backends are on unless switched off)."""
    stored = _store.get(name)
    if stored is not None:
        return stored
    return _default_enabled.get(name, True)


def switch_backend(name: str, enabled: bool = True) -> bool:
    """Enable or disable a backend for every planner in the process (and, with a shared
    :class:`StateStore`, every replica). Returns the previous state.

    >>> switch_backend("dwave", enabled=False)  # doctest: +SKIP
    """
    if name not in list_backends():
        raise UnknownBackendError(
            f"unknown backend {name!r}; known: {', '.join(list_backends())}", field="backend"
        )
    previous = is_enabled(name)
    _store.set(name, bool(enabled))
    if enabled:
        # an operator re-enabling a backend means "try it again now"
        from quantum_planner.backends.breaker import get_breakers

        get_breakers().get(name).reset()
    log.warning("backend %s %s (was %s)", name, _word(enabled), _word(previous))
    get_counters().inc("backend_switches_total", backend=name, enabled=str(bool(enabled)).lower())
    return previous


def _word(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"


def get_state_store() -> StateStore:
    return _store


def set_state_store(store: StateStore) -> StateStore:
    """Install the store that keeps switches (the service passes a database one); returns
    the previous store."""
    global _store
    if not isinstance(store, StateStore):
        raise TypeError("a StateStore needs get(name) and set(name, enabled)")
    with _lock:
        old, _store = _store, store
    return old
