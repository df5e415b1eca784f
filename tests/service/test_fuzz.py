"""Property-based fuzz of the API from its own OpenAPI document (schemathesis, over loopback).

Every operation gets a small, bounded number of generated requests with an
admin key; no response may be a 5xx, every status must be declared in the
document, and every body must match its declared schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import Server, cli_create_key

MAX_EXAMPLES = 12


def _has_backends() -> bool:
    try:
        import quantum_planner.backends  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    # short limits keep generated solves and jobs fast
    server = Server(
        f"sqlite:///{tmp / 'qp.db'}",
        tmp,
        QP_MAX_TIME_LIMIT="0.5",
        QP_SYNC_MAX_TIME_LIMIT="0.5",
        QP_DEFAULT_TIME_LIMIT="0.2",
    ).start()
    try:
        yield server, cli_create_key(server.db_url, "admin")
    finally:
        server.stop()


def test_api_fuzz(fuzz_server: tuple[Server, str]) -> None:
    server, admin = fuzz_server
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {admin}"}
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        if operation.path.startswith("/api/backends") and not _has_backends():
            continue  # the admin routes need the backends layer (tested when it is installed)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.url, headers=headers)
            # readiness answers a declared 503 while no backend is usable: a state, not a fault
            ready = case.operation.path == "/health/ready"
            case.validate_response(response, checks=checks[1:] if ready else checks)

        fuzz()
