"""Backend names -> backends: :class:`BackendRegistry`, one per :class:`BackendContext`.

Built-ins are created lazily on first use: one local backend per solver in
:mod:`quantum_planner.solvers.registry` whose module is installed, plus the
remote ``dwave``, ``ibm`` and ``azure_quantum``. Users add their own with
:meth:`BackendRegistry.register` (``quantum_planner.backends.register_backend`` for the
default context).

Which backends are switched on is not kept here but in the context's state store
(:mod:`quantum_planner.backends.state`); a registry only knows each backend's default.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from quantum_planner.backends.base import Backend, module_installed
from quantum_planner.backends.local import SolverBackend
from quantum_planner.errors import UnknownBackendError

REMOTE_BACKENDS: dict[str, str] = {
    "dwave": "quantum_planner.backends.dwave:DWaveBackend",
    "ibm": "quantum_planner.backends.ibm:IBMQAOABackend",
    "azure_quantum": "quantum_planner.backends.azure:AzureQuantumBackend",
}


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


def _builtin(name: str) -> Backend | None:
    if name in REMOTE_BACKENDS:
        # the remote SDKs are optional extras: imported only when the backend is created
        return _import(REMOTE_BACKENDS[name])()
    from quantum_planner.solvers.registry import solver_names

    if name in solver_names():  # even when its module is missing: solve() then says so
        return SolverBackend(name)
    return None


class BackendRegistry:
    """Backend names -> backends (created once, then shared), and each one's default switch."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._factories: dict[str, Callable[[], Backend]] = {}
        self._instances: dict[str, Backend] = {}
        self._default_enabled: dict[str, bool] = {}

    def register(
        self,
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
                f"{backend!r} is not a backend: "
                "it needs .name, .properties and .solve(problem, ...)"
            )
        with self._lock:
            if not replace and (key in self._factories or key in self.names()):
                raise ValueError(f"backend {key!r} is already registered; pass replace=True")
            self._factories[key] = factory
            self._instances.pop(key, None)
            self._default_enabled[key] = enabled
        return key

    def unregister(self, name: str) -> None:
        """Remove a user-registered backend (built-ins cannot be removed, only disabled)."""
        with self._lock:
            self._factories.pop(name, None)
            self._instances.pop(name, None)
            self._default_enabled.pop(name, None)

    def names(self) -> list[str]:
        """Every backend name: local solvers, remote backends, then user-registered ones."""
        with self._lock:
            names = [*_local_names(), *REMOTE_BACKENDS]
            return [*names, *(n for n in self._factories if n not in names)]

    def get(self, name: str) -> Backend:
        """The backend registered as ``name`` (created once, then shared)."""
        with self._lock:
            inst = self._instances.get(name)
            if inst is not None:
                return inst
            factory = self._factories.get(name)
            inst = factory() if factory is not None else _builtin(name)
            if inst is None:
                raise UnknownBackendError(
                    f"unknown backend {name!r}; known: {', '.join(self.names())}",
                    field="backend",
                )
            self._instances[name] = inst
            return inst

    def default_enabled(self, name: str) -> bool:
        """Whether ``name`` is on when no switch was stored (True unless registered off)."""
        with self._lock:
            return self._default_enabled.get(name, True)
