"""The ``quantum-planner`` command line (typer + rich).

``solve`` prints a table per agent and a summary (or the Solution JSON with
``--json``), ``validate`` checks a plan against its problem, ``analyze`` explains
it rule by rule (the constraint catalogue's analysis), ``schema`` prints
the JSON Schema of problems or solutions, ``warmup`` compiles the numba
kernels ahead of the first solve. Errors never show a traceback: a
:class:`~quantum_planner.errors.PlannerError` prints ``error[code]: message`` on
stderr and exits 2 for bad input, 1 for a failed solve.

Other packages of the project add commands (``serve``, ``worker``, ``mcp``...) through a
``register(app)`` function in ``quantum_planner.service.cli``, ``quantum_planner.jobs.cli``
or ``quantum_planner.mcp.cli``; they are skipped when not importable.
"""

from __future__ import annotations

import importlib
import sys

import typer

# the command modules add their commands to ``app`` when imported
from quantum_planner.cli import plans, replan, tradeoffs, warmup  # noqa: F401
from quantum_planner.cli.common import app, report
from quantum_planner.errors import MissingExtraError, PlannerError, extra_for_module

__all__ = ["app", "main"]

tradeoffs.register(app)

# --- commands contributed by other packages ----------------------------------------

_PLUGINS = ("quantum_planner.service.cli", "quantum_planner.jobs.cli", "quantum_planner.mcp.cli")


def _register_plugins(target: typer.Typer) -> None:
    for name in _PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue  # that part (or its extra) is not installed
        except Exception as e:  # a broken plugin must not take the core commands down
            typer.echo(f"warning: commands of {name} not loaded: {type(e).__name__}: {e}", err=True)
            continue
        register = getattr(module, "register", None)
        if callable(register):
            register(target)


_register_plugins(app)


def main() -> None:
    """Console-script entry point. A typed error that escapes a command (the service and
    worker commands, a missing optional extra) is one line and an exit code, never a
    traceback."""
    from quantum_planner.warmup import seed_cache

    seed_cache()  # an image's build-time numba cache, before any kernel runs (docs/SAMPLERS.md)
    try:
        app()
    except PlannerError as e:
        sys.exit(report(e))
    except ModuleNotFoundError as e:  # an extra's import not wrapped by requires_extra
        extra = extra_for_module(e.name)
        if extra is None:
            raise  # one of our own modules is broken: that is a bug, show it
        sys.exit(report(MissingExtraError(extra, "this command", e.name)))
