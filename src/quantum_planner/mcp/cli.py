"""``quantum-planner mcp``: serve the planner's tools to a local agent host over stdio.

The core CLI calls :func:`register`; the SDK is imported only when the command runs,
so a missing ``mcp`` extra is a one-line error, not a missing command.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``mcp`` command to the ``quantum-planner`` CLI."""

    @app.command("mcp")
    def mcp_command(
        database_url: str | None = typer.Option(
            None,
            help="Job store (default: QP_DATABASE_URL, else a SQLite file in the user's data "
            "folder).",
        ),
        workers: int | None = typer.Option(
            None, help="Solver processes (default: QP_WORKERS, else 2)."
        ),
    ) -> None:
        """Run the MCP server over stdio (for Claude Desktop, IDEs, agent frameworks)."""
        from quantum_planner.config import Settings
        from quantum_planner.errors import ConfigurationError

        try:
            from quantum_planner.mcp import stdio
        except ImportError as e:
            typer.echo(
                f"error[{ConfigurationError.code}]: the MCP server needs the mcp extra "
                f"({e}); install it with: pip install 'quantum-planner[mcp]'",
                err=True,
            )
            raise typer.Exit(2) from None
        settings = Settings()
        if workers:
            settings = settings.model_copy(update={"workers": workers})
        stdio.run(settings, database_url=database_url)
