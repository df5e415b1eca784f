"""Helpers for running the runbook scripts as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    """Run scripts/<name> with the project's Python on the path; returns CompletedProcess."""
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QP_")  # the caller's settings must not leak into the test
    }
    full.update(
        QP_PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    full.update(env or {})
    return subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        check=False,
    )


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
