"""Resources and the prompt the MCP server offers: the problem schema, examples, a team prompt.

The shipped examples are the repository's ``examples/*.json``. They are found
in ``QP_EXAMPLES_DIR`` if set, else next to the source tree (a checkout or an
editable install), else in ``<prefix>/share/quantum-planner/examples`` (where a
wheel installs them); with none found, the index resource says where to get
them instead of failing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from quantum_planner.model import Problem, Solution

SCHEMA_URI = "planner://schema/problem"
SOLUTION_SCHEMA_URI = "planner://schema/solution"
EXAMPLES_URI = "planner://examples"


def examples_dir() -> Path | None:
    """The folder of example problems, or None when this install has none."""
    env = os.environ.get("QP_EXAMPLES_DIR")
    candidates = [Path(env)] if env else []
    # a checkout or editable install: src/quantum_planner/mcp/resources.py -> the repo root
    candidates.append(Path(__file__).resolve().parents[3] / "examples")
    # a wheel install: pyproject's data-files put them under the environment's share/
    candidates.append(Path(sys.prefix) / "share" / "quantum-planner" / "examples")
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("*.json")):
            return folder.resolve()
    return None


def example_files() -> dict[str, Path]:
    """``{name: path}`` of every example problem (empty when none are installed)."""
    folder = examples_dir()
    return {} if folder is None else {p.stem: p for p in sorted(folder.glob("*.json"))}


def examples_index() -> str:
    """JSON index of the examples, with a hint when none are installed."""
    files = example_files()
    if not files:
        return json.dumps(
            {
                "examples": [],
                "note": "no examples installed here; set QP_EXAMPLES_DIR to a folder of "
                "problem JSON files (the examples/ folder of the quantum-planner source)",
            }
        )
    return json.dumps({"examples": [f"{EXAMPLES_URI}/{name}" for name in files]})


def problem_schema() -> str:
    """The JSON Schema of problems (what `plan` takes in `problem`)."""
    return json.dumps(Problem.model_json_schema(), indent=1)


def solution_schema() -> str:
    """The JSON Schema of solutions (what `get_plan` returns in `solution`)."""
    return json.dumps(Solution.model_json_schema(), indent=1)


_TEAM_EXAMPLE = {
    "agents": [
        {"id": "planner-agent", "skills": ["planning", "writing"], "capacity": 3},
        {"id": "coder-agent", "skills": ["python", "testing"], "capacity": 4},
    ],
    "tasks": [
        {"id": "spec", "required_skills": ["planning"], "duration": 2, "priority": 5},
        {
            "id": "implement",
            "required_skills": ["python"],
            "duration": 5,
            "priority": 8,
            "dependencies": ["spec"],
        },
        {
            "id": "docs",
            "required_skills": ["writing"],
            "duration": 1,
            "optional": True,
            "dependencies": ["implement"],
        },
    ],
    "objective": ["minimize_makespan", "balance_load"],
}


def team_prompt(description: str) -> str:
    """Instructions that turn a plain-language team description into a problem JSON."""
    return f"""Turn this description of a team and its work into a quantum-planner problem, \
then plan it.

Description:
{description}

Write one JSON object with:
- "agents": one per person or AI agent: "id" (short, unique), "skills" (lower-case words), \
"capacity" (how much work it can take at once, sum of task "load"; omit for no limit), \
optionally "cost_rate", "available_from", "available_until" (time units).
- "tasks": one per piece of work: "id", "required_skills" (every one must be among the \
agent's skills), "duration" (time units, pick one unit such as hours and keep it), \
"priority" (higher is more valuable), "dependencies" (ids of tasks that must finish \
first), optionally "earliest_start", "latest_finish" (hard deadline), "optional": true for \
work that may be dropped, "allowed_agents" to pin a task to some agents.
- "objective": "minimize_makespan" (finish soonest), "balance_load", "maximize_priority" \
or "minimize_cost", or a list of them ranked most important first.

Use only skills that appear on some agent, or the task cannot be assigned. Do not invent \
people or work the description does not mention; if durations are missing, estimate and \
say so. The full schema is the resource {SCHEMA_URI}; examples are under {EXAMPLES_URI}.

Example of the format:
{json.dumps(_TEAM_EXAMPLE, indent=1)}

Then call the `plan` tool with {{"problem": <the JSON>, "wait_seconds": 5}}. If it returns \
an error, fix the field it names and call again. If the plan is not done, poll \
`plan_status` and then call `get_plan`; `explain_plan` says which constraints are the \
bottleneck."""
