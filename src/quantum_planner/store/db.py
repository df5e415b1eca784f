"""Engine, sessions, migrations and content hashing.

``Database(url)`` wraps one SQLAlchemy engine; :meth:`Database.migrate` applies
the Alembic migrations shipped in ``store/migrations`` (programmatically, no
``alembic.ini`` needed), so a fresh SQLite file or PostgreSQL database is ready
after start-up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from quantum_planner.errors import ConfigurationError, requires_extra

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj`` that hashes are taken over (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(canonical: str) -> str:
    """SHA-256 hex digest of a canonical JSON text."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _normalise_url(url: str) -> str:
    # plain postgresql:// would pick psycopg2, which we do not ship; psycopg 3 is the driver
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = _normalise_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.url.startswith("sqlite"):
            # sessions are used from the runner thread and the request threads
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except Exception as e:  # a malformed URL or a missing driver
            raise ConfigurationError(
                f"cannot use database URL (check QP_DATABASE_URL): {type(e).__name__}: {e}",
                field="database_url",
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def migrate(self, revision: str = "head") -> None:
        """Apply the packaged Alembic migrations up to ``revision``."""
        with requires_extra("database migrations"):
            from alembic import command
            from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def ping(self) -> None:
        """Raise if the database cannot run a trivial query."""
        with self.engine.connect() as c:
            c.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers proceed while the runner writes progress
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
