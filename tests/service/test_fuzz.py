"""Schemathesis with ``--checks all`` against a real server over loopback: 0 failures.

One deterministic, bounded run of the schemathesis CLI (every phase it has:
examples, coverage, fuzzing, stateful) against ``/openapi.json`` with an admin
key, so any drift between the document and the server (a limit it does not
show, a status it does not declare, a 405 without the right ``Allow``, a
schema-invalid request accepted) fails the suite. The few settings below say
where a documented outcome is not a fault; each has its reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import ROOT, Server, cli_create_key

MAX_EXAMPLES = 5

# TOML for `schemathesis --config-file`
CONFIG = """
# readiness answers a declared 503 while no backend is healthy yet: a state, not a fault
[[operations]]
include-path = "/health/ready"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]

# a solve may end in a documented 502 (a remote backend with no credentials here), 503 (every
# solver process busy) or 504 (no plan within a 0.01 s limit); 500, a fault of ours, still fails.
# A schema-valid problem can still be unplannable (see st_hooks.py): 422 with a semantic code;
# so can a trade-off's arguments (a reference of another length than objectives, say).
[[operations]]
include-path-regex = "^/api/(optimize|jobs|pareto|alternatives)$"
include-method = "POST"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "502", "503", "504"]
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "401", "403", "404", "409", "422", "429", "5xx",
]

# a finished job's stream with nothing after Last-Event-ID answers a declared 410: a state
# (which generated job is finished by then depends on timing and on the schema's examples)
[[operations]]
include-path = "/api/jobs/{job_id}/events"
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx",
]

# switch a backend the local solves never use, so the run does not disable its own solvers
[[operations]]
include-path = "/api/backends/{name}"
parameters = { "path.name" = "dwave" }
"""


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Path]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    # short limits keep generated solves and jobs fast
    server = Server(
        f"sqlite:///{tmp / 'qp.db'}",
        tmp,
        QP_MAX_TIME_LIMIT="0.5",
        QP_SYNC_MAX_TIME_LIMIT="0.5",
        QP_DEFAULT_TIME_LIMIT="0.2",
        QP_WORKERS="1",  # one solver process: the run's time goes to requests, not solves
    ).start()
    try:
        yield server, cli_create_key(server.db_url, "admin"), tmp
    finally:
        server.stop()


def test_schemathesis_all_checks(fuzz_server: tuple[Server, str, Path]) -> None:
    server, admin, tmp = fuzz_server
    config = tmp / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
        "SCHEMATHESIS_HOOKS": "tests.service.st_hooks",
    }
    cmd = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        server.url + "/openapi.json",
        *("-H", f"Authorization: Bearer {admin}"),
        *("--checks", "all", "--max-examples", str(MAX_EXAMPLES)),
        *("--generation-deterministic", "--suppress-health-check", "all", "--workers", "1"),
        *("--report", "junit", "--report-dir", str(tmp / "report")),
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=270)
    (tmp / "schemathesis.out").write_text(out.stdout + out.stderr)  # the whole report
    tail = out.stdout[-6000:] + out.stderr[-2000:]
    assert out.returncode == 0, tail  # any failure or error of any check exits non-zero
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", out.stdout)
    assert selected and selected[1] == selected[2] and int(selected[1]) >= 12, tail
