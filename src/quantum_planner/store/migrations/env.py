"""Alembic environment: runs on the connection :func:`store.db.Database.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from quantum_planner.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rewrites tables instead
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
    else:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as c:
            _run(c)
        engine.dispose()
