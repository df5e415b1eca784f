"""Typed errors of quantum-planner.

Every error carries a stable ``code`` (used by the HTTP API and the CLI), a
message that says what the user must change, and, where it applies, the
``field`` at fault. Catch :class:`PlannerError` to catch them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class PlannerError(Exception):
    """Base of every error raised by quantum-planner."""

    code: str = "planner_error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"code", "message", "field", "details"}``."""
        out: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.details:
            out["details"] = self.details
        return out


def error_class(code: str, default: type[PlannerError]) -> type[PlannerError]:
    """The typed error whose ``code`` is ``code`` (``default`` if none has it)."""
    stack: list[type[PlannerError]] = [PlannerError]
    while stack:
        cls = stack.pop()
        if cls.code == code:
            return cls
        stack.extend(cls.__subclasses__())
    return default


# --- bad input ---------------------------------------------------------------


class ProblemError(PlannerError):
    """The problem as given cannot be planned; the message says what to change."""

    code = "invalid_problem"


class DuplicateIdError(ProblemError):
    code = "duplicate_id"


class UnknownReferenceError(ProblemError):
    """A task names a prerequisite, agent or task that does not exist."""

    code = "unknown_reference"


class DependencyCycleError(ProblemError):
    """Precedence constraints form a cycle; ``details['cycle']`` lists it."""

    code = "dependency_cycle"


class NoEligibleAgentError(ProblemError):
    """A mandatory task that no agent can do (skills, allowed agents)."""

    code = "no_eligible_agent"


class InvalidValueError(ProblemError):
    """A number out of range: negative duration, capacity, priority..."""

    code = "invalid_value"


class TimeWindowError(ProblemError):
    """A time window that cannot hold its task (shorter than the duration...)."""

    code = "invalid_time_window"


class UnknownObjectiveError(ProblemError):
    code = "unknown_objective"


class ChangeError(ProblemError):
    """A re-planning change that cannot apply; ``field`` is ``changes[i]...``."""

    code = "invalid_change"


class InfeasibleProblemError(PlannerError):
    """No plan satisfies every hard constraint; ``details['reason']`` says why."""

    code = "infeasible"


class FormatError(PlannerError):
    """An input file (JSON, benchmark instance) is not in the expected format."""

    code = "invalid_format"


# --- solving -----------------------------------------------------------------


class SolverError(PlannerError):
    """A solver failed or returned a plan that does not validate."""

    code = "solver_error"


class InvalidSolutionError(SolverError):
    """A solver returned a plan that violates hard constraints (a bug, reported)."""

    code = "invalid_solution"


class SolveTimeoutError(SolverError):
    code = "timeout"


class BackendError(PlannerError):
    """Base of backend failures; subclasses say what the planner should do."""

    code = "backend_error"

    def __init__(self, message: str, *, backend: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.backend = backend


class TransientBackendError(BackendError):
    """Retry on the same backend (after a back-off)."""

    code = "backend_transient"


class BackendUnavailableError(BackendError):
    """Fail over: the backend can't serve this problem now (down, too large...)."""

    code = "backend_unavailable"


class CredentialsError(BackendError):
    """Bad or missing credentials: never retried, alerted instead."""

    code = "backend_credentials"


class BackendDisabledError(BackendUnavailableError):
    code = "backend_disabled"


class UnknownBackendError(PlannerError, ValueError):
    code = "unknown_backend"


class ConfigurationError(PlannerError):
    code = "configuration_error"


# Top-level modules each optional extra brings (pyproject.toml [project.optional-dependencies]).
# dwave-samplers is a core dependency, so only the dwave-system parts of ``dwave`` count.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "service": ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg",
                "prometheus_client", "httpx"),
    "workers": ("celery", "kombu", "redis"),
    "dwave": ("dwave.system", "dwave.cloud", "dwave.embedding"),
    "ibm": ("qiskit", "qiskit_aer"),
    "azure": ("azure",),
    "viz": ("matplotlib",),
}  # fmt: skip


def extra_for_module(name: str | None) -> str | None:
    """The optional extra that installs module ``name`` (dotted), or None if none does."""
    for extra, modules in EXTRA_MODULES.items():
        if name and any(name == m or name.startswith(m + ".") for m in modules):
            return extra
    return None


class MissingExtraError(ConfigurationError, ModuleNotFoundError):
    """A feature needs an optional extra that is not installed; the message names the
    ``pip install`` to run. Still a ``ModuleNotFoundError``, so code that treats a missing
    optional module as "not available" keeps working."""

    code = "missing_extra"

    def __init__(self, extra: str, feature: str, module: str | None = None) -> None:
        what = f"{module} (the {extra!r} extra)" if module else f"the {extra!r} extra"
        super().__init__(
            f"{feature} needs {what}, which is not installed; "
            f"run: pip install 'quantum-planner[{extra}]'",
            extra=extra,
            module=module,
        )
        self.extra = extra
        self.name = module  # ModuleNotFoundError's attribute


@contextlib.contextmanager
def requires_extra(feature: str, extra: str | None = None) -> Iterator[None]:
    """Wrap the imports of an optional extra: a missing module that some extra installs
    becomes :class:`MissingExtraError` naming that extra. An ImportError that names no
    module (a package that fails while importing) is blamed on ``extra`` when given. Any
    other import error (one of our own modules broken) propagates unchanged."""
    try:
        yield
    except MissingExtraError:
        raise
    except ImportError as e:
        owner = extra_for_module(e.name) or (extra if e.name is None else None)
        if owner is None:
            raise
        raise MissingExtraError(owner, feature, e.name) from e


class CorruptedDataError(PlannerError):
    """Stored content no longer matches its hash."""

    code = "corrupted"
