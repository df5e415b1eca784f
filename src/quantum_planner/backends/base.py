"""The backend protocol: where a planning problem is solved, and how it can fail.

In the spirit of :class:`dimod.Sampler`, a backend declares a ``name`` and
``properties`` and implements one method, :meth:`Backend.solve`, which returns
candidate :class:`~quantum_planner.model.Solution` objects. The failover
executor validates every candidate; a backend never has to.

Failures are typed so the executor knows what to do (:func:`classify`):

* :class:`~quantum_planner.errors.TransientBackendError`: retry here after a back-off;
* :class:`~quantum_planner.errors.BackendUnavailableError`: fail over (down, too large,
  no embedding, ...); :class:`InvalidResultError` (corrupted samples) is one of these;
* :class:`~quantum_planner.errors.CredentialsError`: never retried; alerted.

Any other exception is a bug in the backend and is treated as *fail over*.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from quantum_planner.errors import (
    BackendUnavailableError,
    CredentialsError,
    TransientBackendError,
)
from quantum_planner.model import Problem, Solution

__all__ = [
    "Backend",
    "BackendKind",
    "BackendProperties",
    "BaseBackend",
    "FailureKind",
    "InvalidResultError",
    "as_candidates",
    "classify",
    "configuration_problem",
]


class BackendKind(StrEnum):
    """What sort of machine a backend runs on."""

    QUANTUM = "quantum"
    QUANTUM_INSPIRED = "quantum-inspired"
    CLASSICAL = "classical"


@dataclass(frozen=True)
class BackendProperties:
    """What a backend declares about itself (read by ``backend="auto"`` and health checks).

    ``max_variables`` is the largest model, in binary variables, it takes (None: no limit);
    ``max_tasks`` the largest problem in tasks. ``native_constraints`` says whether it
    handles hard constraints itself (CP-SAT, CQM) rather than through QUBO penalties.
    ``credentials`` names the settings it needs (e.g. ``DWAVE_API_TOKEN``).
    """

    kind: BackendKind = BackendKind.CLASSICAL
    max_variables: int | None = None
    max_tasks: int | None = None
    native_constraints: bool = False
    remote: bool = False
    credentials: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["credentials"] = list(self.credentials)
        return d


@runtime_checkable
class Backend(Protocol):
    """A place that solves problems. Register one with ``register_backend``.

    ``solve`` returns one or more candidate plans for ``problem`` within ``time_limit``
    seconds (the executor stops waiting at its own deadline and sets ``stop``). It
    raises the typed errors above when it cannot serve.

    Optional methods, looked up with ``getattr``:

    * ``configuration_problem() -> str | None``: why the backend cannot run here
      (missing credentials, missing SDK), or None when it can;
    * ``check_credentials() -> str``: contact the service and verify credentials,
      raising :class:`CredentialsError` when they are bad; returns a short detail;
    * ``probe(timeout: float) -> None``: a cheap liveness check for ``health``
      (default: a tiny solve that must validate);
    * ``probe_problem() -> Problem``: the tiny problem that default probe solves, for
      backends made for one class of problems.
    """

    name: str
    properties: BackendProperties

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        stop: threading.Event | None = None,
    ) -> list[Solution] | Solution: ...


class BaseBackend:
    """Convenience base with the optional methods' defaults; subclasses implement ``solve``."""

    name: str = "backend"
    properties: BackendProperties = BackendProperties()

    def configuration_problem(self) -> str | None:
        return None

    def check_credentials(self) -> str:
        return "no credentials needed"

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        stop: threading.Event | None = None,
    ) -> list[Solution] | Solution:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class InvalidResultError(BackendUnavailableError):
    """The backend answered, but with corrupted or unusable samples: fail over."""

    code = "backend_invalid_result"


class FailureKind(StrEnum):
    """What the executor does about a failure."""

    RETRY = "retry"  # transient: back off and retry on the same backend
    FAILOVER = "failover"  # go to the next backend
    CREDENTIALS = "credentials"  # alert; never retried
    TIMEOUT = "timeout"  # stopped waiting at the deadline: fail over
    INVALID = "invalid"  # returned plans that do not validate: fail over


# exception class names from vendor SDKs, mapped without importing the SDKs
_VENDOR_CREDENTIALS = {
    "SolverAuthenticationError",  # dwave.cloud
    "IBMNotAuthorizedError",  # qiskit_ibm_runtime
    "ClientAuthenticationError",  # azure.core
    "CredentialUnavailableError",  # azure.identity
}
_VENDOR_TRANSIENT = {
    "RequestTimeout",  # dwave.cloud
    "PollingTimeout",
    "ServiceUnavailable",
    "RequestError",
    "ServiceRequestError",  # azure.core
    "ServiceResponseError",
    "RuntimeJobTimeoutError",  # qiskit_ibm_runtime
}


def classify(exc: BaseException) -> FailureKind:
    """The :class:`FailureKind` of an exception raised by a backend."""
    if isinstance(exc, CredentialsError):
        return FailureKind.CREDENTIALS
    if isinstance(exc, TransientBackendError):
        return FailureKind.RETRY
    if isinstance(exc, InvalidResultError):
        return FailureKind.INVALID
    if isinstance(exc, BackendUnavailableError):
        return FailureKind.FAILOVER
    names = {c.__name__ for c in type(exc).__mro__}
    if names & _VENDOR_CREDENTIALS or isinstance(exc, PermissionError):
        return FailureKind.CREDENTIALS
    if names & _VENDOR_TRANSIENT or isinstance(exc, ConnectionError | TimeoutError):
        return FailureKind.RETRY
    return FailureKind.FAILOVER


def as_candidates(result: Any, backend: str) -> list[Solution]:
    """Normalise what ``solve`` returned to a non-empty list of Solutions."""
    if isinstance(result, Solution):
        return [result]
    if isinstance(result, list | tuple) and result and all(isinstance(s, Solution) for s in result):
        return list(result)
    raise InvalidResultError(
        f"backend {backend!r} returned {type(result).__name__}, not Solution(s)", backend=backend
    )


def configuration_problem(backend: Any) -> str | None:
    """Why ``backend`` cannot run in this process (None: it can)."""
    fn = getattr(backend, "configuration_problem", None)
    if fn is None:
        return None
    try:
        return fn()
    except Exception as e:  # a broken check is itself a configuration problem
        return f"configuration check failed: {type(e).__name__}: {e}"


def module_installed(name: str) -> bool:
    """Whether ``name`` (dotted) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a missing parent package raises
        return False


def backend_properties(backend: Any) -> BackendProperties:
    props = getattr(backend, "properties", None)
    return props if isinstance(props, BackendProperties) else BackendProperties()
