"""Backend enable/disable switches kept in the database, so every replica sees them.

An instance is handed to the backends layer as its enable-state store.
"""

from __future__ import annotations

import threading
import time

from quantum_planner.store import repositories as repo
from quantum_planner.store.db import Database


class DatabaseBackendStateStore:
    """``get``/``set``/``all`` of backend switches, backed by the ``backend_state`` table.

    ``ttl`` > 0 caches the table that many seconds (solver processes read a
    switch per backend per solve; a switch then reaches them within ``ttl``).
    """

    def __init__(self, db: Database, actor_id: str | None = None, ttl: float = 0.0) -> None:
        self.db = db
        self.actor_id = actor_id
        self.ttl = ttl
        self._cache: tuple[float, dict[str, bool]] | None = None
        self._lock = threading.Lock()

    def get(self, name: str) -> bool | None:
        """The stored switch of ``name``, or None if never switched."""
        return self.all().get(name)

    def set(self, name: str, enabled: bool) -> None:
        with self.db.session() as s:
            repo.set_backend_state(s, name, enabled, self.actor_id)
        self._cache = None

    def all(self) -> dict[str, bool]:
        with self._lock:
            now = time.monotonic()
            if self._cache is not None and now - self._cache[0] < self.ttl:
                return dict(self._cache[1])
            with self.db.session() as s:
                states = repo.backend_states(s)
            self._cache = (now, states)
            return dict(states)
