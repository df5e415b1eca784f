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

from quantum_planner.bounds import TIME_LIMIT_MIN
from quantum_planner.errors import (
    ConfigurationError,
    FormatError,
    InvalidValueError,
    MissingExtraError,
    PlannerError,
    ProblemError,
    UnknownBackendError,
    extra_for_module,
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


def _report(e: PlannerError) -> int:
    """Print ``error[code]: message`` on stderr; the exit code (2 bad input, 1 failure)."""
    typer.echo(f"error[{e.code}]: {e.message}", err=True)
    return 2 if isinstance(e, _BAD_INPUT) else 1


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn every failure into one line on stderr and an exit code; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except PlannerError as e:
        raise typer.Exit(_report(e)) from None
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
        loaders = importlib.import_module("quantum_planner.instances")
    except ImportError as e:
        raise ConfigurationError(f"benchmark loaders are not available: {e}") from None
    if not path.is_file():
        raise FormatError(f"cannot read {fmt} file {str(path)!r}: no such file")
    if fmt == "gap":
        return loaders.load_gap(path, instance=instance)
    return getattr(loaders, f"load_{fmt}")(path)


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
        if time_limit < TIME_LIMIT_MIN:  # NaN passes here and is refused by the planner
            raise InvalidValueError(
                f"--time-limit must be at least {TIME_LIMIT_MIN:g} seconds, got {time_limit:g}",
                field="time_limit",
            )
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


@app.command("analyze")
def analyze_cmd(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON file.")],
    solution_file: Annotated[Path, typer.Argument(help="Solution JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
) -> None:
    """Explain a plan rule by rule; exit 1 if it violates any constraint."""
    from quantum_planner.analysis import analyse

    with _user_errors():
        report = analyse(Problem.load(problem_file), Solution.load(solution_file))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_analysis(report)
    if report["violated_constraints"] or report["validator_violations"]:
        raise typer.Exit(1)


def _print_analysis(report: dict[str, Any]) -> None:
    out = _stdout()
    table = Table(title="constraints", title_justify="left")
    for col in ("constraint", "status", "checked", "penalty", "min slack", "first match"):
        table.add_column(col)
    for c in report["constraints"]:
        first = c["violated"][0]["message"] if c["violated"] else ""
        slack = "" if c["min_slack"] is None else f"{c['min_slack']:g}"
        table.add_row(
            c["constraint"], c["status"], str(c["checked"]), f"{c['penalty']:g}", slack, first
        )
    out.print(table)
    for o in report["objectives"]:
        value = "n/a" if o["value"] is None else f"{o['value']:g}"
        out.print(f"objective {o['rank']}: {o['objective']} ({o['sense']}) = {value}")
    broken = report["violated_constraints"] or sorted(
        {v["constraint"] for v in report["validator_violations"]}
    )
    out.print("infeasible: " + ", ".join(broken) if broken else "valid: every constraint holds")


@app.command()
def schema(
    solution: Annotated[
        bool, typer.Option("--solution", help="Schema of solutions instead of problems.")
    ] = False,
) -> None:
    """Print the JSON Schema of problem (or solution) files."""
    model = Solution if solution else Problem
    typer.echo(json.dumps(model.model_json_schema(), indent=2))


# --- living plans: replan / diff ------------------------------------------------------


def _load_changes(path: Path) -> tuple[list[Any], float | None]:
    """A changes file: a JSON list of changes, or ``{"changes": [...], "freeze_until": t}``."""
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise FormatError(f"cannot read changes file {str(path)!r}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise FormatError(f"changes file is not valid JSON: {e}") from None
    if isinstance(data, dict):
        return data.get("changes", []), data.get("freeze_until")
    return data, None


@app.command()
def replan(
    problem_file: Annotated[Path, typer.Argument(help="Problem JSON the plan was made for.")],
    plan_file: Annotated[Path, typer.Argument(help="The previous plan (Solution JSON).")],
    changes_file: Annotated[Path, typer.Argument(help="Changes JSON (a list of changes).")],
    freeze_until: Annotated[
        float | None, typer.Option(help="Tasks starting before this time keep agent and start.")
    ] = None,
    backend: Annotated[str, typer.Option(help="Solver name, or 'auto'.")] = "auto",
    time_limit: Annotated[float, typer.Option(help="Wall-clock limit in seconds.")] = 10.0,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    reassign_weight: Annotated[float, typer.Option(help="Weight of a reassigned task.")] = 1.0,
    shift_weight: Annotated[float, typer.Option(help="Weight of one time unit of shift.")] = 0.01,
    tolerance: Annotated[
        float, typer.Option(help="Relative worsening of the first objective allowed.")
    ] = 0.01,
    save_problem: Annotated[
        Path | None, typer.Option(help="Write the changed problem (pins included) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Solution as JSON.")] = False,
) -> None:
    """Re-plan after changes, keeping the previous plan where it can."""
    from quantum_planner.planner import QuantumTaskPlanner
    from quantum_planner.replan import apply_changes, parse_changes

    with _user_errors():
        problem, previous = Problem.load(problem_file), Solution.load(plan_file)
        changes, file_freeze = _load_changes(changes_file)
        freeze = freeze_until if freeze_until is not None else file_freeze
        weights = {
            "reassign_weight": reassign_weight,
            "shift_weight": shift_weight,
            "tolerance": tolerance,
        }
        planner = QuantumTaskPlanner(backend=backend, time_limit=time_limit, seed=seed)
        sol = planner.replan(problem, previous, changes, freeze_until=freeze, disruption=weights)
        new_problem = apply_changes(problem, previous, parse_changes(changes), freeze_until=freeze)
        if save_problem is not None:
            save_problem.write_text(new_problem.problem.to_json(indent=2))
        if as_json:
            typer.echo(sol.model_dump_json(indent=2))
            return
        _print_plan(new_problem.problem, sol)
        _print_disruption(sol, previous)


def _print_disruption(sol: Solution, previous: Solution) -> None:
    from quantum_planner.replan import diff as plan_diff

    table = Table(title="disruption", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in (sol.disruption or {}).items():
        table.add_row(key, f"{value:g}")
    table.add_row("chosen", str(sol.metadata.get("replan", {}).get("candidate", "")))
    _stdout().print(table)
    _print_diff(plan_diff(previous, sol))


def _print_diff(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("no task changed agent or start")
        return
    table = Table(title=f"{len(rows)} task(s) changed", title_justify="left")
    for col in ("task", "change", "agent before", "start before", "agent after", "start after"):
        table.add_column(col)

    def cell(x: Any) -> str:
        return "-" if x is None else f"{x:g}" if isinstance(x, float) else str(x)

    for r in rows:
        keys = ("task", "change", "agent_before", "start_before", "agent_after", "start_after")
        table.add_row(*(cell(r[k]) for k in keys))
    _stdout().print(table)


@app.command()
def diff(
    before: Annotated[Path, typer.Argument(help="A plan (Solution JSON).")],
    after: Annotated[Path, typer.Argument(help="Another plan of (a version of) the problem.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Show, per task, agent and start before and after (changed tasks only)."""
    from quantum_planner.replan import diff as plan_diff
    from quantum_planner.replan import measure
    from quantum_planner.replan.disruption import intervals

    with _user_errors():
        old, new = Solution.load(before), Solution.load(after)
        rows = plan_diff(old, new)
        if as_json:
            a, b = intervals(old), intervals(new)
            summary = measure(a, b, set(a) & set(b))
            typer.echo(json.dumps({"disruption": summary, "tasks": rows}, indent=2))
        else:
            _print_diff(rows)


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

_PLUGINS = (
    "quantum_planner.cli_tradeoffs",
    "quantum_planner.service.cli",
    "quantum_planner.jobs.cli",
    "quantum_planner.mcp.cli",
)


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
    try:
        app()
    except PlannerError as e:
        sys.exit(_report(e))
    except ModuleNotFoundError as e:  # an extra's import not wrapped by requires_extra
        extra = extra_for_module(e.name)
        if extra is None:
            raise  # one of our own modules is broken: that is a bug, show it
        sys.exit(_report(MissingExtraError(extra, "this command", e.name)))

    """Console-script entry point."""
    from quantum_planner.warmup import seed_cache

    seed_cache()  # an image's build-time numba cache, before any kernel runs (docs/SAMPLERS.md)
    app()
