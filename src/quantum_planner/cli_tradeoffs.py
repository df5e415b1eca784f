"""``quantum-planner pareto`` and ``quantum-planner alternatives``: trade-offs from the shell.

``pareto`` prints the front as a table (knee marked ``*``) with its hypervolume,
reference point and whether the sweep ran to its end; ``--plot`` draws it
(matplotlib, the ``viz`` extra), ``--json`` prints ``ParetoFront.to_dict()``.
``alternatives`` prints the k distinct plans, best first, with their distance to
the best. Registered on the main app by :mod:`quantum_planner.cli` as a plugin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quantum_planner.bounds import TIME_LIMIT_MIN
from quantum_planner.cli import _load_problem, _stdout, _user_errors
from quantum_planner.errors import InvalidValueError, requires_extra
from quantum_planner.model import Problem, Solution

__all__ = ["register"]

File = Annotated[Path, typer.Argument(help="Problem file (JSON, or see --format).")]
TimeLimit = Annotated[float, typer.Option(help="Wall-clock limit in seconds.")]
Seed = Annotated[int | None, typer.Option(help="Random seed (same seed, same result).")]
Backend = Annotated[str, typer.Option(help="auto, cpsat, hybrid, simulated_annealing or tabu.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
Fmt = Annotated[str, typer.Option("--format", help="Input format: json, gap, fjsp or jsp.")]
Instance = Annotated[int, typer.Option(help="Instance number in a GAP file (1-based).")]


def _limit(time_limit: float) -> None:
    if time_limit < TIME_LIMIT_MIN:  # NaN passes here and is refused by the library
        raise InvalidValueError(
            f"--time-limit must be at least {TIME_LIMIT_MIN:g} seconds, got {time_limit:g}",
            field="time_limit",
        )


def _numbers(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InvalidValueError(
            f"{what} must be comma-separated numbers, got {text!r}", field=what.lstrip("-")
        ) from None


def pareto(
    file: File,
    objectives: Annotated[
        str, typer.Option(help="Two or three objectives, comma-separated.")
    ] = "minimize_cost,minimize_makespan",
    points: Annotated[
        int | None, typer.Option(help="At most this many plans (default: all found in time).")
    ] = None,
    time_limit: TimeLimit = 10.0,
    seed: Seed = None,
    backend: Backend = "auto",
    reference: Annotated[
        str | None, typer.Option(help="Hypervolume reference point, comma-separated.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw the front here (PNG/SVG/PDF).")] = None,
    as_json: AsJson = False,
    fmt: Fmt = "json",
    instance: Instance = 1,
) -> None:
    """Trade two or three objectives off: a Pareto front of valid plans."""
    from quantum_planner.planner import QuantumTaskPlanner

    with _user_errors():
        _limit(time_limit)
        if plot is not None:  # say so before the sweep, not after it
            with requires_extra("the Pareto front plot", extra="viz"):
                import matplotlib  # noqa: F401
        problem = _load_problem(file, fmt, instance)
        front = QuantumTaskPlanner(seed=seed).pareto(
            problem,
            objectives,
            points=points,
            time_limit=time_limit,
            reference=_numbers(reference, "--reference"),
            backend=backend,
        )
        if plot is not None:
            from quantum_planner.viz import pareto_plot

            written = pareto_plot(front, plot, title=problem.name)
            typer.echo(f"front plot written to {written}", err=True)
        if as_json:
            typer.echo(json.dumps(front.to_dict(), indent=2))
            return
        table = Table(title=f"Pareto front ({front.method})", title_justify="left")
        table.add_column("#", justify="right")
        for name in front.objectives:
            table.add_column(name, justify="right")
        table.add_column("knee")
        for i, p in enumerate(front.points):
            mark = "*" if i == front.knee else ""
            table.add_row(str(i), *(f"{v:g}" for v in p.values), mark)
        out = _stdout()
        out.print(table)
        ref = ", ".join(f"{r:g}" for r in front.reference)
        out.print(f"hypervolume {front.hypervolume:.6g} (reference {ref})")
        state = "complete" if front.complete else "partial: the time limit cut the sweep"
        out.print(f"{len(front.points)} plan(s), {state}, {front.elapsed:.2f}s")


def _value_columns(problem: Problem, plans: list[Solution]) -> list[str]:
    first = [o.value for o in problem.objectives]
    rest = [k for k in (plans[0].objectives if plans else {}) if k not in first]
    return first + rest


def alternatives(
    file: File,
    k: Annotated[int, typer.Option("-k", "--k", help="How many plans.")] = 5,
    min_distance: Annotated[
        int, typer.Option(help="Least task->agent assignments any two plans differ in.")
    ] = 1,
    time_limit: TimeLimit = 10.0,
    seed: Seed = None,
    backend: Backend = "auto",
    as_json: AsJson = False,
    fmt: Fmt = "json",
    instance: Instance = 1,
) -> None:
    """The k best distinct plans, pairwise at least --min-distance assignments apart."""
    from quantum_planner.planner import QuantumTaskPlanner

    with _user_errors():
        _limit(time_limit)
        problem = _load_problem(file, fmt, instance)
        plans = QuantumTaskPlanner(seed=seed).alternatives(
            problem, k=k, min_distance=min_distance, time_limit=time_limit, backend=backend
        )
        if as_json:
            typer.echo(json.dumps([p.model_dump(mode="json") for p in plans], indent=2))
            return
        columns = _value_columns(problem, plans)
        table = Table(title=f"{len(plans)} alternative plan(s)", title_justify="left")
        table.add_column("rank", justify="right")
        table.add_column("distance to best", justify="right")
        for c in columns:
            table.add_column(c, justify="right")
        for p in plans:
            alt = p.metadata.get("alternative", {})
            values = (f"{p.objectives[c]:g}" for c in columns)
            table.add_row(str(alt.get("rank", "")), str(alt.get("distance_to_best", "")), *values)
        _stdout().print(table)
        if len(plans) < k:
            typer.echo(
                f"only {len(plans)} of {k} plans found at distance >= {min_distance} "
                "(none left, or the time ran out)",
                err=True,
            )


def register(app: typer.Typer) -> None:
    """Add ``pareto`` and ``alternatives`` to the ``quantum-planner`` app."""
    app.command("pareto")(pareto)
    app.command("alternatives")(alternatives)
