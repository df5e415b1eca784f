"""Where backend enable/disable switches live: this process, the service's database, or the
service itself over HTTP.

Which one a process uses follows its settings (:func:`state_store_from_settings`):

* ``QP_SERVICE_URL`` and ``QP_API_KEY`` (an admin key): the service's
  ``PUT /api/backends/{name}``, so the switch is audited and every replica sees it;
* else ``QP_DATABASE_URL``: the ``backend_state`` table the service, its solver
  processes and Celery workers read (cached at most ``ttl`` seconds);
* else: a dict in this process, and a switch says plainly that nothing else changed.

Every store says where it writes (``describe()``) and whether others see it (``shared``).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any, Protocol, runtime_checkable

from quantum_planner.config import Settings
from quantum_planner.errors import ConfigurationError

__all__ = [
    "HttpStateStore",
    "InMemoryStateStore",
    "StateStore",
    "state_store_from_settings",
]

# seconds a process may serve a cached switch before re-reading the shared store
SHARED_TTL = 2.0


@runtime_checkable
class StateStore(Protocol):
    """Where enable/disable switches are kept (in memory, a database, or the service).

    Stores may also have ``describe() -> str`` (where they write) and ``shared: bool``.
    """

    def get(self, name: str) -> bool | None:
        """The stored switch for ``name``, or None when never switched."""
        ...

    def set(self, name: str, enabled: bool) -> None: ...


class InMemoryStateStore:
    """Switches in a dict: this process only, lost on restart."""

    shared = False

    def __init__(self, initial: dict[str, bool] | None = None) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bool] = dict(initial or {})

    def get(self, name: str) -> bool | None:
        with self._lock:
            return self._data.get(name)

    def set(self, name: str, enabled: bool) -> None:
        with self._lock:
            self._data[name] = bool(enabled)

    def all(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._data)

    def describe(self) -> str:
        return "this process only"


class HttpStateStore:
    """Switches read and written through the service's admin API (an admin key is needed)."""

    shared = True

    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._key = api_key
        self.timeout = timeout

    def describe(self) -> str:
        return f"service {self.url}"

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        req = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self._key}",
                "Content-Type": "application/json",
                "User-Agent": "quantum-planner",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            hint = " (QP_API_KEY must be an admin key)" if e.code in (401, 403) else ""
            raise ConfigurationError(
                f"{method} {self.url}{path} answered HTTP {e.code}{hint}", field="service_url"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ConfigurationError(
                f"cannot reach the service at {self.url} ({reason}); check QP_SERVICE_URL",
                field="service_url",
            ) from None

    def all(self) -> dict[str, bool]:
        rows = self._request("GET", "/api/backends").get("backends", [])
        return {str(r["name"]): bool(r.get("enabled", True)) for r in rows}

    def get(self, name: str) -> bool | None:
        return self.all().get(name)

    def set(self, name: str, enabled: bool) -> None:
        self._request("PUT", f"/api/backends/{name}", {"enabled": bool(enabled)})


def state_store_from_settings(settings: Settings) -> StateStore:
    """The store a process with ``settings`` should use (see the module docstring).

    Only settings given explicitly count: the default SQLite path is not a shared store.
    """
    if settings.service_url and settings.api_key:
        return HttpStateStore(settings.service_url, settings.api_key)
    if "database_url" in settings.model_fields_set:
        return database_store(settings.database_url)
    return InMemoryStateStore()


def database_store(database_url: str, ttl: float = SHARED_TTL) -> StateStore:
    """The ``backend_state`` table of ``database_url`` (needs the ``service`` extra)."""
    try:
        from quantum_planner.store import Database
        from quantum_planner.store.backend_state import DatabaseBackendStateStore
    except ImportError as e:  # SQLAlchemy is in the service extra
        raise ConfigurationError(
            f"QP_DATABASE_URL is set but the database layer is not installed ({e}); "
            "pip install 'quantum-planner[service]'",
            field="database_url",
        ) from None
    return DatabaseBackendStateStore(Database(database_url), ttl=ttl)
