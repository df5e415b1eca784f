"""``replan`` and ``diff``: a living plan after changes, and what changed between two plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from quantum_planner.cli.common import app, stdout, user_errors
from quantum_planner.cli.plans import print_plan
from quantum_planner.errors import FormatError
from quantum_planner.model import Problem, Solution


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

    with user_errors():
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
        print_plan(new_problem.problem, sol)
        _print_disruption(sol, previous)


def _print_disruption(sol: Solution, previous: Solution) -> None:
    from quantum_planner.replan import diff as plan_diff

    table = Table(title="disruption", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in (sol.disruption or {}).items():
        table.add_row(key, f"{value:g}")
    table.add_row("chosen", str(sol.metadata.get("replan", {}).get("candidate", "")))
    stdout().print(table)
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
    stdout().print(table)


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

    with user_errors():
        old, new = Solution.load(before), Solution.load(after)
        rows = plan_diff(old, new)
        if as_json:
            a, b = intervals(old), intervals(new)
            summary = measure(a, b, set(a) & set(b))
            typer.echo(json.dumps({"disruption": summary, "tasks": rows}, indent=2))
        else:
            _print_diff(rows)
