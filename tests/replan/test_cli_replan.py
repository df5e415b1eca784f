"""``quantum-planner replan`` and ``quantum-planner diff`` from the shell's point of view."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from quantum_planner import Problem, Solution
from quantum_planner.cli import app
from quantum_planner.validate import validate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
CHANGES = {
    "changes": [
        {"type": "add_agent", "agent": {"id": "grace", "skills": ["python", "testing", "data"]}},
        {"type": "remove_agent", "agent": "frank", "at": 3},
        {"type": "complete_task", "task": "schema", "at": 2},
    ],
    "freeze_until": 3,
}


def _plan(tmp_path: Path) -> Path:
    r = runner.invoke(app, ["solve", str(EXAMPLES / "team.json"), "--json", "--time-limit", "3"])
    assert r.exit_code == 0, r.stderr
    path = tmp_path / "plan.json"
    path.write_text(r.stdout)
    return path


def test_replan_prints_plan_disruption_and_changed_tasks(tmp_path: Path):
    plan = _plan(tmp_path)
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps(CHANGES))
    new_problem = tmp_path / "new.json"
    args = ["replan", str(EXAMPLES / "team.json"), str(plan), str(changes), "--time-limit", "3"]
    r = runner.invoke(app, [*args, "--save-problem", str(new_problem)])
    assert r.exit_code == 0, r.stderr
    for text in ("disruption", "reassigned", "start_shift", "grace", "changed"):
        assert text in r.stdout
    r = runner.invoke(app, [*args, "--json"])
    new = Solution.model_validate_json(r.stdout)
    assert validate(Problem.load(new_problem), new) == []
    # frank left at 3: nothing of his starts at or after 3
    assert all(s < 3 for s, _ in new.schedule.get("frank", {}).values())
    out = tmp_path / "new_plan.json"
    out.write_text(r.stdout)
    d = runner.invoke(app, ["diff", str(plan), str(out), "--json"])
    body = json.loads(d.stdout)
    assert body["disruption"]["reassigned"] == new.disruption["reassigned"]
    assert {row["task"] for row in body["tasks"]} >= {
        t for t, a in Solution.load(plan).assignments.items() if a != new.assignments.get(t)
    }


def test_bad_change_is_one_line_exit_2(tmp_path: Path):
    plan = _plan(tmp_path)
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps([{"type": "remove_task", "task": "nope"}]))
    r = runner.invoke(app, ["replan", str(EXAMPLES / "team.json"), str(plan), str(changes)])
    assert r.exit_code == 2
    assert r.stderr.startswith("error[invalid_change]: changes[0].task: unknown task 'nope'")
    assert "Traceback" not in r.stderr
