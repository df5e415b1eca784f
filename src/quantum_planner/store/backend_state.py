"""Backend enable/disable switches kept in the database, so every replica sees them.

An instance is handed to the backends layer as its enable-state store.
"""

from __future__ import annotations

from quantum_planner.store import repositories as repo
from quantum_planner.store.db import Database


class DatabaseBackendStateStore:
    """``get``/``set``/``all`` of backend switches, backed by the ``backend_state`` table."""

    def __init__(self, db: Database, actor_id: str | None = None) -> None:
        self.db = db
        self.actor_id = actor_id

    def get(self, name: str) -> bool | None:
        """The stored switch of ``name``, or None if never switched."""
        return self.all().get(name)

    def set(self, name: str, enabled: bool) -> None:
        with self.db.session() as s:
            repo.set_backend_state(s, name, enabled, self.actor_id)

    def all(self) -> dict[str, bool]:
        with self.db.session() as s:
            return repo.backend_states(s)
