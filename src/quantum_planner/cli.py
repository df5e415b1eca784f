"""The ``quantum-planner`` command line (typer + rich).

``solve`` prints a table per agent and a summary (or the Solution JSON with
``--json``), ``validate`` checks a plan against its problem, ``schema`` prints
the JSON Schema of problems or solutions, ``warmup`` compiles the numba
kernels ahead of the first solve. Errors never show a traceback: a
:class:`~quantum_planner.errors.PlannerError` prints ``error[code]: message`` on
stderr and exits 2 for bad input, 1 for a failed solve.

Other packages of the project add commands (``serve``, ``worker``...) through a
``register(app)`` function in ``quantum_planner.service.cli`` or
``quantum_planner.jobs.cli``; they are skipped when not importable.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from quantum_planner.errors import (
    ConfigurationError,
    FormatError,
    PlannerError,
    ProblemError,
    UnknownBackendError,
)
from quantum_planner.model import Problem, Solution

__all__ = ["app", "main"]

app = typer.Typer(
    name="quantum-planner",
    help="Assign tasks to agents and schedule them; validate plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_BAD_INPUT = (ProblemError, FormatError, UnknownBackendError, ConfigurationError)
_FORMATS = ("json", "gap", "fjsp", "jsp")


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn every failure into one line on stderr and an exit code; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except PlannerError as e:
        typer.echo(f"error[{e.code}]: {e.message}", err=True)
        raise typer.Exit(2 if isinstance(e, _BAD_INPUT) else 1) from None
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


# --- solve ---------------------------------------------------------------------


def _load_problem(path: Path, fmt: str, instance: int) -> Problem:
    if fmt == "json":
        return Problem.load(path)
    if fmt not in _FORMATS:
        raise FormatError(f"unknown format {fmt!r}; use one of: {', '.join(_FORMATS)}")
    try:
        benchmarks = importlib.import_module("quantum_planner.benchmarks")
    except ImportError as e:
        raise ConfigurationError(f"benchmark loaders are not available: {e}") from None
    if not path.is_file():
        raise FormatError(f"cannot read {fmt} file {str(path)!r}: no such file")
    if fmt == "gap":
        return benchmarks.load_gap(path, instance=instance)
    return getattr(benchmarks, f"load_{fmt}")(path)


def _with_objective(problem: Problem, objective: str | None) -> Problem:
    if not objective:
        return problem
    names = [o.strip() for o in objective.split(",") if o.strip()]
    data = problem.model_dump()
    data["objective"] = names[0] if len(names) == 1 else names
    return Problem.from_dict(data)


def _fallbacks(values: list[str] | None) -> list[str]:
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A live status line on stderr fed by the planner's progress callback (TTY only)."""
    if not enabled:
        yield None
        return
    line = _StatusLine()
    with _stderr().status(line):
        yield line.update


class _StatusLine:
    """Rendered on every spinner refresh, so the clock runs between progress reports."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.text = ""

    def update(self, p: Any) -> None:
        best = f"best {p.best:g}, " if p.best is not None else ""
        self.text = f"{best}{p.message}"

    def __rich__(self) -> str:
        return f"solving... {time.monotonic() - self.t0:.1f}s {self.text}"


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(help="Problem file (JSON, or see --format).")],
    objective: Annotated[
        str | None,
        typer.Option(
            help="Objective, or a comma-separated lexicographic list; overrides the file."
        ),
    ] = None,
    backend: Annotated[str, typer.Option(help="Solver name, or 'auto'.")] = "auto",
    fallback: Annotated[
        list[str] | None,
        typer.Option(help="Backend to try next if one fails (repeat, or comma-separate)."),
    ] = None,
    time_limit: Annotated[float, typer.Option(help="Wall-clock limit in seconds.")] = 10.0,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same plan).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Solution as JSON.")] = False,
    gantt: Annotated[
        Path | None, typer.Option(help="Also draw a Gantt chart (PNG/SVG/PDF).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Input format: json, gap, fjsp or jsp.")
    ] = "json",
    instance: Annotated[int, typer.Option(help="Instance number in a GAP file (1-based).")] = 1,
) -> None:
    """Solve a problem and print the plan."""
    from quantum_planner.planner import QuantumTaskPlanner

    with _user_errors():
        problem = _with_objective(_load_problem(file, fmt, instance), objective)
        planner = QuantumTaskPlanner(
            backend=backend, fallback=_fallbacks(fallback), time_limit=time_limit, seed=seed
        )
        with _progress(sys.stderr.isatty() and not as_json) as progress:
            sol = planner.solve(problem, progress=progress)
        if gantt is not None:
            from quantum_planner.viz import gantt as draw

            written = draw(problem, sol, gantt)
            typer.echo(f"Gantt chart written to {written}", err=True)
        if as_json:
            typer.echo(sol.model_dump_json(indent=2))
        else:
            _print_plan(problem, sol)


def _print_plan(problem: Problem, sol: Solution) -> None:
    out = _stdout()
    width = max([4, *(len(t.id) for t in problem.tasks)])  # same columns in every table
    for agent in problem.agents:
        entries = sorted(sol.schedule.get(agent.id, {}).items(), key=lambda kv: kv[1])
        table = Table(title=f"{agent.id}", title_justify="left")
        table.add_column("task", min_width=width)
        for col in ("start", "end", "duration"):
            table.add_column(col, justify="right", min_width=8)
        for tid, (start, end) in entries:
            table.add_row(tid, f"{start:g}", f"{end:g}", f"{end - start:g}")
        if not entries:
            table.add_row("(idle)", "", "", "")
        out.print(table)
    summary = Table(title="summary", title_justify="left", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    summary.add_row("makespan", f"{sol.makespan:g}")
    for name, value in sol.objectives.items():
        summary.add_row(name, f"{value:g}")
    if sol.unassigned:
        summary.add_row("unassigned (optional)", ", ".join(sol.unassigned))
    summary.add_row("backend used", sol.backend_used)
    summary.add_row("feasible", "yes" if sol.feasible else "NO")
    if sol.status == "optimal":
        summary.add_row("status", "optimal (proven)")
    elif sol.gap is not None:
        summary.add_row("status", f"{sol.status}, within {100 * sol.gap:.2f}% of the bound")
    summary.add_row("time", f"{sol.wall_time:.2f}s")
    out.print(summary)


# --- validate / schema ---------------------------------------------------------


@app.command("validate")
def validate_cmd(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON file.")],
    solution_file: Annotated[Path, typer.Argument(help="Solution JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a plan against its problem; exit 1 if it violates any constraint."""
    from quantum_planner.validate import validate

    with _user_errors():
        problem = Problem.load(problem_file)
        violations = validate(problem, Solution.load(solution_file))
        if as_json:
            body = {"feasible": not violations, "violations": [v.model_dump() for v in violations]}
            typer.echo(json.dumps(body, indent=2))
        elif violations:
            table = Table(title=f"{len(violations)} violation(s)", title_justify="left")
            for col in ("constraint", "items", "amount", "message"):
                table.add_column(col)
            for v in violations:
                table.add_row(v.constraint, ", ".join(v.items), f"{v.amount:g}", v.message)
            _stdout().print(table)
        else:
            typer.echo("valid: the plan satisfies every constraint")
    if violations:
        raise typer.Exit(1)


@app.command()
def schema(
    solution: Annotated[
        bool, typer.Option("--solution", help="Schema of solutions instead of problems.")
    ] = False,
) -> None:
    """Print the JSON Schema of problem (or solution) files."""
    model = Solution if solution else Problem
    typer.echo(json.dumps(model.model_json_schema(), indent=2))


@app.command()
def warmup(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only the steps whose name contains this (repeatable)."),
    ] = None,
) -> None:
    """Compile every numba kernel the samplers and solvers use (fills numba's disk cache).

    Run once at install or image-build time, as the service's user with its
    NUMBA_CACHE_DIR, so no solve pays for compilation (docs/SAMPLERS.md).
    """
    from quantum_planner.warmup import warmup as run_warmup

    with _user_errors():
        report = run_warmup(echo=typer.echo, only=only)
    for k in report.kernels:
        if k.compiled or k.loaded:
            how = f"compiled {k.compiled}" if k.compiled else f"loaded {k.loaded} from cache"
            typer.echo(f"  {k.name}: {how}")
    typer.echo(
        f"warmup: {report.compiled} signatures compiled, {report.loaded} loaded from cache, "
        f"{report.seconds:.1f} s (cache: {report.cache_dir})"
    )


# --- commands contributed by other packages ----------------------------------------

_PLUGINS = ("quantum_planner.service.cli", "quantum_planner.jobs.cli")


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
    """Console-script entry point."""
    from quantum_planner.warmup import seed_cache

    seed_cache()  # an image's build-time numba cache, before any kernel runs (docs/SAMPLERS.md)
    app()
