"""The runbook scripts' command lines: --help, usage errors (exit 2), trouble (exit 1), and
the sections that need only PostgreSQL and Redis."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT, SCRIPTS, run_script

SCRIPT_NAMES = ["health-check.sh", "emergency-failover.sh", "performance-diagnostic.sh"]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_up() -> bool:
    return shutil.which("pg_isready") is not None and (
        subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0
    )


def _redis_up() -> bool:
    if shutil.which("redis-cli") is None:
        return False
    res = subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, check=False)
    return res.stdout.strip() == b"PONG"


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_scripts_are_strict_bash(name: str) -> None:
    text = (SCRIPTS / name).read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert (SCRIPTS / name).stat().st_mode & 0o111, "executable bit"
    assert subprocess.run(["bash", "-n", str(SCRIPTS / name)], check=False).returncode == 0


@pytest.mark.parametrize("name", SCRIPT_NAMES)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_exits_zero_and_documents_exit_codes(name: str, flag: str) -> None:
    res = run_script(name, flag)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"usage: {name}")
    assert "Exit status" in res.stdout and "2 bad usage" in res.stdout


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("health-check.sh", ["--no-such-flag"]),
        ("health-check.sh", ["--timeout", "soon"]),
        ("health-check.sh", ["--url"]),
        ("emergency-failover.sh", []),
        ("emergency-failover.sh", ["dwave", "ibm"]),
        ("emergency-failover.sh", ["dwave", "--fallback", "dwave", "--local"]),
        ("emergency-failover.sh", ["bad name;rm", "--local"]),
        ("emergency-failover.sh", ["dwave"]),  # no QP_API_KEY and no --local
        ("performance-diagnostic.sh", ["-n", "0"]),
        ("performance-diagnostic.sh", ["--skip", "everything"]),
        ("performance-diagnostic.sh", ["--problem", "/nonexistent.json"]),
    ],
)
def test_bad_usage_exits_two(name: str, args: list[str]) -> None:
    res = run_script(name, *args)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "error:" in res.stderr and "--help" in res.stderr


def test_health_check_fails_when_nothing_listens(dead_url: str) -> None:
    res = run_script("health-check.sh", "--url", dead_url, "--timeout", "2")
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert lines[0].startswith("FAIL liveness")
    assert lines[1].startswith("FAIL readiness")
    assert any(line.startswith("FAIL backends") for line in lines)  # no report to read


def test_failover_fails_when_nothing_listens(dead_url: str) -> None:
    res = run_script(
        "emergency-failover.sh", "dwave", "--fallback", "local", "--url", dead_url,
        env={"QP_API_KEY": "qp_test", "QP_TIMEOUT": "2"},
    )  # fmt: skip
    assert res.returncode == 1
    assert "FAIL dwave" in res.stdout and "no answer" in res.stdout


def test_latency_section_reports_failures(dead_url: str) -> None:
    res = run_script(
        "performance-diagnostic.sh", "-n", "2", "--skip", "memory,database,queue",
        "--url", dead_url,
    )  # fmt: skip
    assert res.returncode == 1
    assert "2 of 2 requests failed" in res.stdout


@pytest.mark.postgres
@pytest.mark.skipif(not _pg_up(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_database_section_reads_pg_stat_activity() -> None:
    res = run_script(
        "performance-diagnostic.sh", "--skip", "latency,memory,queue",
        env={"QP_DATABASE_URL": PG_URL},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "-- connections by state" in res.stdout
    assert "-- locks not granted" in res.stdout
    assert "pg_stat_statements" in res.stdout  # either the table or how to enable it


def test_database_section_fails_on_unreachable_database(dead_url: str) -> None:
    port = dead_url.rsplit(":", 1)[1]
    res = run_script(
        "performance-diagnostic.sh", "--skip", "latency,memory,queue",
        env={"QP_DATABASE_URL": f"postgresql+psycopg://u:secret@127.0.0.1:{port}/x"},
    )  # fmt: skip
    assert res.returncode == 1
    assert "FAIL database" in res.stdout
    assert "secret" not in res.stdout  # the password is masked


@pytest.mark.redis
@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_queue_section_reads_redis() -> None:
    res = run_script(
        "performance-diagnostic.sh", "--skip", "latency,memory,database",
        env={"QP_REDIS_URL": "redis://127.0.0.1:6379/15", "QP_QUEUE": "qp-test-empty"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "'qp-test-empty': 0 waiting" in res.stdout


def test_health_check_queue_fails_without_redis(dead_url: str) -> None:
    port = dead_url.rsplit(":", 1)[1]
    res = run_script(
        "health-check.sh", "--url", dead_url, "--timeout", "1",
        env={"QP_JOB_RUNNER": "celery", "QP_REDIS_URL": f"redis://127.0.0.1:{port}/0"},
    )  # fmt: skip
    assert "FAIL queue" in res.stdout


def test_percentiles_helper() -> None:
    values = "\n".join(str(v) for v in range(1, 101))
    res = subprocess.run(
        [sys.executable, str(SCRIPTS / "lib" / "qpjson.py"), "percentiles"],
        input=values, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert res.stdout.strip() == "n=100 p50=50.000s p95=95.000s p99=99.000s max=100.000s"


def test_sample_problem_is_a_valid_problem() -> None:
    from quantum_planner.model import Problem

    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lib" / "sample_problem.py")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    problem = Problem.model_validate_json(out.stdout)
    assert (len(problem.agents), len(problem.tasks)) == (10, 30)


def test_memory_section_traces_one_real_solve() -> None:
    res = run_script(
        "performance-diagnostic.sh", "--skip", "latency,database,queue", "--time-limit", "5"
    )  # a generous limit: the solve must succeed on a loaded machine
    assert res.returncode == 0, res.stdout + res.stderr
    assert "peak during solve" in res.stdout
    # tracemalloc's per-line statistics, as the playbook's snippet prints them
    assert sum(" size=" in line and "count=" in line for line in res.stdout.splitlines()) >= 3
