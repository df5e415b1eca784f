"""Backend enable/disable switches kept in the database, so every replica sees them.

An instance is the state store of the service's :class:`BackendContext`, of its solver
processes and Celery workers, and of an operator's shell with ``QP_DATABASE_URL`` set
(:func:`quantum_planner.backends.state.state_store_from_settings`).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from quantum_planner.errors import ConfigurationError
from quantum_planner.store import accounts
from quantum_planner.store.db import Database


class DatabaseBackendStateStore:
    """``get``/``set``/``all`` of backend switches, backed by the ``backend_state`` table.

    ``ttl`` > 0 caches the table that many seconds (solver processes read a
    switch per backend per solve; a switch then reaches them within ``ttl``).
    """

    shared = True

    def __init__(self, db: Database, actor_id: str | None = None, ttl: float = 0.0) -> None:
        self.db = db
        self.actor_id = actor_id
        self.ttl = ttl
        self._cache: tuple[float, dict[str, bool]] | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        """``database <url without its password>``."""
        from sqlalchemy.engine import make_url

        return f"database {make_url(self.db.url).render_as_string(hide_password=True)}"

    def get(self, name: str) -> bool | None:
        """The stored switch of ``name``, or None if never switched."""
        return self.all().get(name)

    def set(self, name: str, enabled: bool) -> None:
        try:
            with self.db.session() as s:
                accounts.set_backend_state(s, name, enabled, self.actor_id)
        except SQLAlchemyError as e:
            raise self._error(e) from None
        self._cache = None

    def all(self) -> dict[str, bool]:
        with self._lock:
            now = time.monotonic()
            if self._cache is not None and now - self._cache[0] < self.ttl:
                return dict(self._cache[1])
            try:
                with self.db.session() as s:
                    states = accounts.backend_states(s)
            except SQLAlchemyError as e:
                if self._has_table():
                    raise self._error(e) from None
                # a database nobody migrated holds no switch: every backend is as configured
                # (a CLI solve with QP_DATABASE_URL set before the service's first start)
                states = {}
            self._cache = (now, states)
            return dict(states)

    def _has_table(self) -> bool:
        from sqlalchemy import inspect

        try:
            return inspect(self.db.engine).has_table("backend_state")
        except SQLAlchemyError:
            return True  # unreachable: report the original error

    def _error(self, e: SQLAlchemyError) -> ConfigurationError:
        return ConfigurationError(
            f"cannot read or write backend switches in {self.describe()} "
            f"({type(e).__name__}: {str(e).splitlines()[0]}); check QP_DATABASE_URL and that "
            "the service has migrated it (`quantum-planner serve` does at start-up)",
            field="database_url",
        )
