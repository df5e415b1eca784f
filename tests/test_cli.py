"""The command line, through typer's CliRunner (stdout and stderr kept apart)."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES
from typer.testing import CliRunner

from quantum_planner import Problem, Solution
from quantum_planner.cli import app
from quantum_planner.validate import validate

runner = CliRunner()
TEAM = str(EXAMPLES / "team.json")


def run(*args: str):
    return runner.invoke(app, list(args))


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_solve_prints_table_and_summary() -> None:
    r = run("solve", TEAM)
    assert r.exit_code == 0, r.stderr
    for text in (
        "alice",
        "security-review",
        "makespan",
        "backend used",
        "cpsat",
        "yes",
        "optimal (proven)",
    ):
        assert text in r.stdout


def test_solve_json_parses_as_valid_solution() -> None:
    r = run("solve", TEAM, "--json", "--seed", "3", "--time-limit", "5")
    assert r.exit_code == 0, r.stderr
    sol = Solution.model_validate_json(r.stdout)
    assert sol.feasible and sol.seed == 3
    assert validate(Problem.load(TEAM), sol) == []


def test_solve_objective_override_and_backend() -> None:
    r = run("solve", TEAM, "--json", "--objective", "minimize_cost,minimize_makespan",
            "--backend", "greedy", "--fallback", "local_search")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    sol = Solution.model_validate_json(r.stdout)
    assert sol.backends_tried[0].backend == "greedy"


def test_validate_good_and_bad_plans(tmp_path) -> None:
    out = run("solve", TEAM, "--json")
    good = tmp_path / "plan.json"
    good.write_text(out.stdout)
    r = run("validate", TEAM, str(good))
    assert r.exit_code == 0 and "valid" in r.stdout

    sol = Solution.model_validate_json(out.stdout)
    sol.makespan = sol.makespan + 1  # a corrupted result
    sol.assignments["release"] = "carol"
    bad = tmp_path / "bad.json"
    bad.write_text(sol.model_dump_json())
    r = run("validate", TEAM, str(bad))
    assert r.exit_code == 1
    assert "objective_mismatch" in r.stdout and "skill_match" in r.stdout
    r = run("validate", TEAM, str(bad), "--json")
    body = json.loads(r.stdout)
    assert body["feasible"] is False
    assert {v["constraint"] for v in body["violations"]} >= {"skill_match", "objective_mismatch"}


def test_analyze_explains_good_and_bad_plans(tmp_path) -> None:
    out = run("solve", TEAM, "--json")
    good = tmp_path / "plan.json"
    good.write_text(out.stdout)
    r = run("analyze", TEAM, str(good))
    no_traceback(r)
    assert r.exit_code == 0, r.stdout
    assert "valid: every constraint holds" in r.stdout
    assert "capacity_limit" in r.stdout and "objective 0: minimize_makespan" in r.stdout

    sol = Solution.model_validate_json(out.stdout)
    sol.assignments["release"] = "carol"  # carol lacks the skill release needs
    bad = tmp_path / "bad.json"
    bad.write_text(sol.model_dump_json())
    r = run("analyze", TEAM, str(bad))
    assert r.exit_code == 1
    assert "infeasible:" in r.stdout and "skill_match" in r.stdout
    r = run("analyze", TEAM, str(bad), "--json")
    body = json.loads(r.stdout)
    kinds = {c["constraint"]: c for c in body["constraints"]}
    assert kinds["skill_match"]["status"] == "violated" and kinds["skill_match"]["penalty"] > 0
    assert "skill_match" in body["violated_constraints"]

    r = run("analyze", TEAM, str(tmp_path / "missing.json"))
    no_traceback(r)
    assert r.exit_code == 2 and "error[" in r.stderr


def test_schema_for_problems_and_solutions() -> None:
    r = run("schema")
    assert r.exit_code == 0 and "agents" in json.loads(r.stdout)["properties"]
    r = run("schema", "--solution")
    assert "assignments" in json.loads(r.stdout)["properties"]


def test_version() -> None:
    from quantum_planner import __version__

    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.stdout


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (None, "invalid_format"),  # missing file
        ("{not json", "invalid_format"),
        ('{"agents": [], "tasks": [{"id": "t", "duration": -1}]}', "invalid_value"),
        ('{"agents": [{"id": "a"}], "tasks": [{"id": "t", "dependencies": ["x"]}]}',
         "unknown_reference"),
        ('{"agents": [{"id": "a"}], "tasks": [{"id": "t", "dependencies": ["t"]}]}',
         "dependency_cycle"),
        ('{"agents": [{"id": "a"}], "tasks": [{"id": "t"}], "objective": "fast"}',
         "unknown_objective"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clean_error(tmp_path, content, code) -> None:
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    r = run("solve", str(path))
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error[{code}]: ") and r.stdout == ""
    no_traceback(r)


@pytest.mark.parametrize(
    ("content", "args", "says"),
    [
        ('{"agents": [{"id": "a"}], "tasks": [{"id": "t1"}, {"id": "t2", "duration": 1e308}]}',
         (), ["tasks[1].duration", "'t2'", "1e+09"]),
        ('{"agents": [{"id": "a"}], "tasks": [{"id": "t1", "duration": 8}], "time_horizon": 5}',
         (), ["time_horizon (5)", "'t1'"]),
        ('{"agents": [{"id": "a"}], "tasks": [{"id": "t1"}]}',
         ("--time-limit", "0.0001"), ["--time-limit", "0.01"]),
    ],
)  # fmt: skip
def test_out_of_bounds_input_says_where_and_what(tmp_path, content, args, says) -> None:
    path = tmp_path / "p.json"
    path.write_text(content)
    r = run("solve", str(path), *args)
    assert r.exit_code == 2 and r.stderr.startswith("error[")
    assert all(s in r.stderr for s in says), r.stderr
    no_traceback(r)


def test_infeasible_problem_exits_1_with_reason(tmp_path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"agents": [{"id": "a", "capacity": 1}], "tasks": [{"id": "x"}, {"id": "y"}]}')
    r = run("solve", str(path))
    assert r.exit_code == 1 and r.stderr.startswith("error[infeasible]:")
    assert "capacity_limit" in r.stderr
    no_traceback(r)


def test_unknown_backend_and_format(tmp_path) -> None:
    r = run("solve", TEAM, "--backend", "warp-drive")
    assert r.exit_code == 2 and "error[unknown_backend]" in r.stderr
    r = run("solve", TEAM, "--format", "xml")
    assert r.exit_code == 2 and "error[invalid_format]" in r.stderr
    no_traceback(r)


def test_validate_with_bad_solution_file(tmp_path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('{"assignments": 5}')
    r = run("validate", TEAM, str(bad))
    assert r.exit_code == 2 and r.stderr.startswith("error[invalid_format]")
    no_traceback(r)


def test_gantt_writes_a_png(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "plan.png"
    r = run("solve", TEAM, "--gantt", str(png), "--json")
    assert r.exit_code == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    Solution.model_validate_json(r.stdout)  # stdout stays pure JSON


def test_gantt_without_matplotlib_names_the_extra(tmp_path, monkeypatch) -> None:
    import builtins

    real = builtins.__import__

    def fake(name, *a, **kw):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake)
    r = run("solve", TEAM, "--gantt", str(tmp_path / "x.png"))
    assert r.exit_code == 2 and "pip install 'quantum-planner[viz]'" in r.stderr


def test_plugins_register_commands(monkeypatch) -> None:
    import sys
    import types

    import typer

    from quantum_planner import cli

    mod = types.ModuleType("quantum_planner.service.cli")

    def register(target: typer.Typer) -> None:
        @target.command("hello")
        def hello() -> None:
            typer.echo("hi from a plugin")

    mod.register = register
    monkeypatch.setitem(sys.modules, "quantum_planner.service.cli", mod)
    local = typer.Typer()
    local.command()(lambda: None)
    cli._register_plugins(local)
    assert runner.invoke(local, ["hello"]).stdout.strip() == "hi from a plugin"


def test_python_dash_m_works() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": src}
    r = subprocess.run(
        [sys.executable, "-m", "quantum_planner", "--version"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith("quantum-planner ")


def test_broken_plugin_is_skipped_with_a_warning(monkeypatch, capsys) -> None:
    import importlib

    from quantum_planner import cli

    real = importlib.import_module

    def fake(name, *a, **kw):
        if name == "quantum_planner.jobs.cli":
            raise RuntimeError("bad plugin")
        if name == "quantum_planner.service.cli":
            raise ImportError("not installed")
        return real(name, *a, **kw)

    monkeypatch.setattr(cli.importlib, "import_module", fake)
    cli._register_plugins(cli.typer.Typer())
    err = capsys.readouterr().err
    assert "quantum_planner.jobs.cli" in err and "bad plugin" in err
    assert "service" not in err  # missing modules are skipped silently


@pytest.mark.benchmarks
@pytest.mark.parametrize(
    ("fmt", "rel", "extra"),
    [
        ("gap", "gap/orlib/gap1.txt", ["--instance", "2"]),
        ("fjsp", "fjsp/brandimarte/mk01.fjs", []),
    ],
)
def test_solve_benchmark_formats(fmt: str, rel: str, extra: list[str]) -> None:
    from quantum_planner.instances import load_fjsp, load_gap
    from quantum_planner.instances.loaders import benchmarks_dir

    path = benchmarks_dir() / rel
    if not path.is_file():
        pytest.skip(f"{path} not present")
    r = run("solve", str(path), "--format", fmt, "--json", "--time-limit", "2", *extra)
    assert r.exit_code == 0, r.stderr
    sol = Solution.model_validate_json(r.stdout)
    problem = load_gap(path, instance=2) if fmt == "gap" else load_fjsp(path)
    assert sol.feasible and validate(problem, sol) == []
