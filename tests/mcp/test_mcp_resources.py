"""Where the example resources come from, and what the index says when there are none."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from quantum_planner.mcp import resources as R
from quantum_planner.mcp.server import build_server
from tests.mcp.agent_helpers import TEAM


def test_qp_examples_dir_wins_and_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.json").write_text(TEAM.read_text())
    monkeypatch.setenv("QP_EXAMPLES_DIR", str(tmp_path))
    assert R.example_files() == {"mine": tmp_path / "mine.json"}

    def no_ops(_ctx: object) -> None:
        raise AssertionError("no tool is called here")

    async def main() -> None:
        async with Client(build_server(no_ops)) as client:  # type: ignore[arg-type]
            uris = {str(r.uri) for r in (await client.list_resources()).resources}
            assert f"{R.EXAMPLES_URI}/mine" in uris and f"{R.EXAMPLES_URI}/team" not in uris
            index = await client.read_resource(R.EXAMPLES_URI)
            text = index.contents[0].text  # type: ignore[union-attr]
            assert json.loads(text) == {"examples": [f"{R.EXAMPLES_URI}/mine"]}

    anyio.run(main)


def test_no_examples_installed_says_where_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R, "examples_dir", lambda: None)
    index = json.loads(R.examples_index())
    assert index["examples"] == [] and "QP_EXAMPLES_DIR" in index["note"]
