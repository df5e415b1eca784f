"""Durable storage: SQLAlchemy 2 tables, Alembic migrations and repositories.

SQLite by default (a file, zero set-up), PostgreSQL through ``QP_DATABASE_URL``
(``postgresql+psycopg://...``); the same migrations create both.
"""

from quantum_planner.errors import requires_extra

# SQLAlchemy and Alembic come with the `service` extra: say so instead of a bare traceback
with requires_extra("the database store (quantum_planner.store)"):
    from quantum_planner.store.db import Database, canonical_json, content_hash

__all__ = ["Database", "canonical_json", "content_hash"]
