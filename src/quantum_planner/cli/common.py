"""The Typer app every command module adds to, and what they share: consoles, the
one-line error report and exit codes, loading a problem file."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from quantum_planner.errors import (
    ConfigurationError,
    FormatError,
    PlannerError,
    ProblemError,
    UnknownBackendError,
)
from quantum_planner.model import Problem

app = typer.Typer(
    name="quantum-planner",
    help="Assign tasks to agents and schedule them; validate plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_BAD_INPUT = (ProblemError, FormatError, UnknownBackendError, ConfigurationError)
_FORMATS = ("json", "gap", "fjsp", "jsp")


def stdout() -> Console:
    """Console for results (no highlighting, no wrapping: tables stay parseable)."""
    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    """Console for status lines and warnings."""
    return Console(stderr=True, highlight=False)


def report(e: PlannerError) -> int:
    """Print ``error[code]: message`` on stderr; the exit code (2 bad input, 1 failure)."""
    typer.echo(f"error[{e.code}]: {e.message}", err=True)
    return 2 if isinstance(e, _BAD_INPUT) else 1


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn every failure into one line on stderr and an exit code; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except PlannerError as e:
        raise typer.Exit(report(e)) from None
    except KeyboardInterrupt:
        typer.echo("error[interrupted]: stopped by the user", err=True)
        raise typer.Exit(130) from None
    except Exception as e:  # a bug: still one line, with what a report needs
        typer.echo(f"error[internal]: {type(e).__name__}: {e}", err=True)
        raise typer.Exit(1) from None


def _version(value: bool) -> None:
    if value:
        from quantum_planner import __version__

        typer.echo(f"quantum-planner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Assign tasks to agents and schedule them; validate plans."""


def load_problem(path: Path, fmt: str, instance: int) -> Problem:
    """A problem file: our JSON, or a public benchmark format (gap, fjsp, jsp)."""
    if fmt == "json":
        return Problem.load(path)
    if fmt not in _FORMATS:
        raise FormatError(f"unknown format {fmt!r}; use one of: {', '.join(_FORMATS)}")
    try:
        loaders = importlib.import_module("quantum_planner.instances")
    except ImportError as e:
        raise ConfigurationError(f"benchmark loaders are not available: {e}") from None
    if not path.is_file():
        raise FormatError(f"cannot read {fmt} file {str(path)!r}: no such file")
    if fmt == "gap":
        return loaders.load_gap(path, instance=instance)
    return getattr(loaders, f"load_{fmt}")(path)
