"""``solve``, ``validate``, ``analyze`` and ``schema``: one plan, made, checked, explained."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from quantum_planner.bounds import TIME_LIMIT_MIN
from quantum_planner.cli.common import app, load_problem, stderr, stdout, user_errors
from quantum_planner.errors import InvalidValueError
from quantum_planner.model import Problem, Solution


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
    with stderr().status(line):
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

    with user_errors():
        if time_limit < TIME_LIMIT_MIN:  # NaN passes here and is refused by the planner
            raise InvalidValueError(
                f"--time-limit must be at least {TIME_LIMIT_MIN:g} seconds, got {time_limit:g}",
                field="time_limit",
            )
        problem = _with_objective(load_problem(file, fmt, instance), objective)
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
            print_plan(problem, sol)


def print_plan(problem: Problem, sol: Solution) -> None:
    out = stdout()
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

    with user_errors():
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
            stdout().print(table)
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

    with user_errors():
        report = analyse(Problem.load(problem_file), Solution.load(solution_file))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_analysis(report)
    if report["violated_constraints"] or report["validator_violations"]:
        raise typer.Exit(1)


def _print_analysis(report: dict[str, Any]) -> None:
    out = stdout()
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
