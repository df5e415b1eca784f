"""``quantum-planner serve`` and ``quantum-planner keys ...``.

The core CLI calls :func:`register` on its Typer app; ``python -m
quantum_planner.service`` runs these commands on their own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from quantum_planner.config import Settings

if TYPE_CHECKING:
    from quantum_planner.store import Database

_DATABASE_URL = typer.Option(None, help="Overrides QP_DATABASE_URL.")


def _settings(database_url: str | None) -> Settings:
    s = Settings()
    return s.model_copy(update={"database_url": database_url}) if database_url else s


def _database(database_url: str | None) -> Database:
    """The configured database, migrated (key commands may run before the service ever has)."""
    from quantum_planner.store import Database

    db = Database(_settings(database_url).database_url)
    db.migrate()
    return db


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    database_url: str | None = typer.Option(
        None, help="Overrides QP_DATABASE_URL (sqlite:///file.db or postgresql+psycopg://...)."
    ),
    workers: int | None = typer.Option(
        None, help="Solver processes (default: QP_WORKERS or the CPU count)."
    ),
) -> None:
    """Run the HTTP service (uvicorn)."""
    from quantum_planner.errors import requires_extra

    with requires_extra("quantum-planner serve"):
        import uvicorn

        from quantum_planner.service.app import create_app
        from quantum_planner.service.logging import attach

    settings = _settings(database_url)
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    api = create_app(settings)
    attach(api.state.qp.logger, "uvicorn", "uvicorn.error")
    # access_log off: the app logs every request itself, as JSON with a request id
    uvicorn.run(api, host=host, port=port, access_log=False, log_config=None)


def keys_create(
    role: str = typer.Option("client", help="client or admin."),
    name: str = typer.Option("", help="A label to recognise the key by."),
    database_url: str | None = _DATABASE_URL,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from quantum_planner.errors import PlannerError
    from quantum_planner.store import accounts

    db = _database(database_url)
    try:
        with db.session() as s:
            row, token = accounts.create_key(s, role, name)
            accounts.audit(s, None, "create_key", row.id, role=role, name=name)
    except PlannerError as e:
        typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)
    typer.echo(f"id {row.id} role {row.role}: store the key now, it is not shown again", err=True)


def keys_list(database_url: str | None = _DATABASE_URL) -> None:
    """List keys (id, prefix, role, name, created, revoked); never the keys."""
    from quantum_planner.store import accounts

    with _database(database_url).session() as s:
        for k in accounts.list_keys(s):
            row = {
                "id": k.id,
                "prefix": k.prefix,
                "role": k.role,
                "name": k.name,
                "created_at": str(k.created_at),
                "revoked_at": str(k.revoked_at) if k.revoked_at else None,
            }
            typer.echo(json.dumps(row))


def keys_revoke(
    key_id: str = typer.Argument(..., help="The key's id (or its displayed prefix)."),
    database_url: str | None = _DATABASE_URL,
) -> None:
    """Revoke a key: it stops working at once."""
    from quantum_planner.store import accounts

    with _database(database_url).session() as s:
        row = accounts.revoke_key(s, key_id)
        if row is not None:
            accounts.audit(s, None, "revoke_key", row.id)
    if row is None:
        typer.echo(f"error: no key {key_id!r}; `keys list` shows them", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {row.id}")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``keys`` group to ``app``."""
    keys = typer.Typer(help="Manage API keys (stored as hashes; a key is shown once).")
    app.add_typer(keys, name="keys")
    app.command("serve")(serve)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)


def main() -> None:
    """Entry point of ``python -m quantum_planner.service``."""
    from quantum_planner.errors import PlannerError

    app = typer.Typer(help="quantum-planner service commands.", no_args_is_help=True)
    register(app)
    try:
        app()
    except PlannerError as e:  # e.g. the service extra missing: one line, not a traceback
        typer.echo(f"error[{e.code}]: {e.message}", err=True)
        raise SystemExit(2) from None
