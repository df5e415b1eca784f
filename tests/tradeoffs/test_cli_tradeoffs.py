"""``quantum-planner pareto`` and ``alternatives`` through typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from quantum_planner.cli import app

runner = CliRunner()

PROBLEM = {
    "name": "small",
    "agents": [
        {"id": "a", "cost_rate": 3},
        {"id": "b", "cost_rate": 1},
        {"id": "c", "cost_rate": 2},
    ],
    "tasks": [{"id": f"t{i}", "duration": 1 + i % 3} for i in range(6)],
}


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROBLEM))
    return path


def test_pareto_table_marks_the_knee_and_prints_the_hypervolume(tmp_path: Path) -> None:
    res = runner.invoke(app, ["pareto", str(_file(tmp_path)), "--time-limit", "5"])
    assert res.exit_code == 0, res.output
    rows = [line for line in res.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 9
    knee = [r for r in rows if "*" in r]
    assert len(knee) == 1 and "18" in knee[0] and "6" in knee[0]
    assert "hypervolume 74.16 (reference 25.2, 12.8)" in res.stdout
    assert "9 plan(s), complete" in res.stdout


def test_pareto_json_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "front.png"
    res = runner.invoke(
        app,
        ["pareto", str(_file(tmp_path)), "--objectives", "minimize_cost,balance_load", "--json",
         "--points", "4", "--plot", str(png)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["objectives"] == ["minimize_cost", "balance_load"]
    assert len(body["points"]) == 4 and body["knee"] is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_bad_objectives_is_one_line_and_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["pareto", str(_file(tmp_path)), "--objectives", "minimize_cost"])
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error[invalid_value]: a trade-off needs two or three")


def test_alternatives_table(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["alternatives", str(_file(tmp_path)), "-k", "3", "--min-distance", "2", "--json"]
    )
    assert res.exit_code == 0, res.output
    plans = json.loads(res.stdout)
    assert [p["metadata"]["alternative"]["rank"] for p in plans] == [0, 1, 2]
    res = runner.invoke(app, ["alternatives", str(_file(tmp_path)), "-k", "0"])
    assert res.exit_code == 2 and "error[invalid_value]: k must be" in res.stderr


_HIDE = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Hide())
sys.argv = ["quantum-planner", *sys.argv[1:]]
from quantum_planner.cli import main
main()
"""


def test_plot_without_the_viz_extra_says_which_pip_install(tmp_path: Path) -> None:
    png = tmp_path / "front.png"
    res = subprocess.run(
        [sys.executable, "-c", _HIDE, "pareto", str(_file(tmp_path)), "--plot", str(png)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error[missing_extra]: ")
    assert lines[0].endswith("pip install 'quantum-planner[viz]'")
    assert not png.exists()
