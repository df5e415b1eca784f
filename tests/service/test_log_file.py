"""QP_LOG_FILE: JSON lines in the file the playbook greps, and a clear error when unwritable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_planner.errors import ConfigurationError
from quantum_planner.service.logging import make_logger

ROOT = Path(__file__).resolve().parents[2]


def test_log_file_gets_json_lines_the_playbook_grep_finds(tmp_path: Path) -> None:
    path = tmp_path / "var" / "log" / "quantum-planner.log"  # its directory does not exist yet
    log = make_logger("qp-test-log-file", log_file=str(path), stream=open("/dev/null", "w"))  # noqa: SIM115
    log.info("solved", extra={"route": "/api/optimize", "status": 200})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("unhandled error")
    for h in log.handlers:
        h.flush()
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["INFO", "ERROR"]
    assert records[1]["event"] == "EXCEPTION" and "RuntimeError: boom" in records[1]["exception"]
    # the playbook's `grep -E "(ERROR|EXCEPTION)" /var/log/quantum-planner.log`
    grep = subprocess.run(
        ["grep", "-E", "(ERROR|EXCEPTION)", str(path)], capture_output=True, text=True, check=False
    )
    assert grep.stdout.splitlines() == [lines[1]]


def test_unwritable_log_file_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        make_logger("qp-test-log-file-bad", log_file="/proc/no/such.log")
    assert info.value.field == "log_file"
    assert info.value.message.startswith("QP_LOG_FILE='/proc/no/such.log' cannot be written")


def test_serve_with_an_unwritable_log_file_is_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT / "src"),
        "QP_DATABASE_URL": f"sqlite:///{tmp_path / 'qp.db'}",
        "QP_LOG_FILE": "/proc/no/such.log",
    }
    res = subprocess.run(
        [sys.executable, "-m", "quantum_planner", "serve", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        "error[configuration_error]: QP_LOG_FILE='/proc/no/such.log' cannot be written "
        "(No such file or directory); point it at a writable file or unset it"
    ]
