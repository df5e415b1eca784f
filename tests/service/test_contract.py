"""Input hardening and the API contract, over real HTTP (in-thread uvicorn on loopback).

Bounds on every number and id, one path style with index and id in every error,
errors that say what to fix, 413/400 for oversized chunked and non-UTF-8 bodies,
405 with the right ``Allow``, an OpenAPI document that shows the limits the
server enforces, log levels that keep ERROR for faults of ours, and an error
table in docs/API.md with every code the service can answer.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantum_planner import errors as E
from quantum_planner.bounds import COST_MAX, ID_PATTERN, LOAD_MAX, PRIORITY_MAX, TIME_MAX
from quantum_planner.config import Settings
from quantum_planner.service.app import create_app
from quantum_planner.service.limits import backend_choices
from quantum_planner.store import Database
from quantum_planner.store import repositories as repo
from tests.service.conftest import ROOT, create_key, thread_server

MAX_BODY = 20_000


class _Served:
    def __init__(self, base: str, key: str, db_url: str, log: io.StringIO) -> None:
        self.base, self.key, self.db_url, self.log = base, key, db_url, log

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=120
        )

    def levels(self) -> list[tuple[str, str]]:
        """``(level, message)`` of every JSON log line so far."""
        lines = [json.loads(x) for x in self.log.getvalue().splitlines() if x.startswith("{")]
        return [(x["level"], x["message"]) for x in lines]


def _serve(tmp: Path, **settings: Any) -> Iterator[_Served]:
    db_url = f"sqlite:///{tmp / 'qp.db'}"
    log = io.StringIO()
    from quantum_planner.service.logging import make_logger

    app = create_app(
        Settings(database_url=db_url, max_body_bytes=MAX_BODY, **settings),
        logger=make_logger("qp-contract-test", stream=log),
        start_runner=settings.get("workers") is not None,
    )
    with thread_server(app) as base:
        yield _Served(base, create_key(db_url, "admin"), db_url, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Served]:
    """A server that does not solve (jobs stay queued): enough for every refusal."""
    yield from _serve(tmp_path_factory.mktemp("contract"))


def problem(**task3: Any) -> dict[str, Any]:
    """Two agents and four tasks t1..t4; ``task3`` overrides fields of tasks[3] (id t4)."""
    tasks = [{"id": f"t{i}", "duration": 1.0} for i in range(1, 5)]
    tasks[3].update(task3)
    return {"agents": [{"id": "a1"}, {"id": "a2"}], "tasks": tasks}


def post(c: httpx.Client, body: Any, path: str = "/api/jobs") -> httpx.Response:
    # allow_nan: Infinity and NaN go out as JSON's common extension, as an attacker sends them
    text = json.dumps(body, allow_nan=True)
    return c.post(path, content=text, headers={"content-type": "application/json"})


# --- bounds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "bound"),
    [
        ("duration", 1e308, TIME_MAX),
        ("duration", 10**40, TIME_MAX),
        ("duration", float("inf"), TIME_MAX),
        ("duration", float("nan"), TIME_MAX),
        ("duration", True, TIME_MAX),
        ("duration", -1, TIME_MAX),
        ("latest_finish", 1e300, TIME_MAX),
        ("earliest_start", 1e10, TIME_MAX),
        ("priority", PRIORITY_MAX * 10, PRIORITY_MAX),
        ("load", 1e308, LOAD_MAX),
    ],
)
def test_number_out_of_bounds_names_path_id_and_bound(
    served: _Served, field: str, value: Any, bound: float
) -> None:
    with served.client() as c:
        r = post(c, {"problem": problem(**{field: value})})
    err = r.json()
    assert r.status_code == 422 and err["code"] == "invalid_value", r.text
    assert err["field"] == f"problem.tasks[3].{field}"
    assert err["details"]["id"] == "t4" and err["details"]["maximum"] == bound
    assert f"{bound:g}" in err["message"] and "'t4'" in err["message"]


@pytest.mark.parametrize(
    ("agent", "field", "bound"),
    [
        ({"capacity": 1e308}, "capacity", LOAD_MAX),
        ({"cost_rate": 1e20}, "cost_rate", COST_MAX),
        ({"available_until": float("inf")}, "available_until", TIME_MAX),
    ],
)
def test_agent_numbers_are_bounded(
    served: _Served, agent: dict[str, Any], field: str, bound: float
) -> None:
    body = problem()
    body["agents"][1].update(agent)
    with served.client() as c:
        err = post(c, {"problem": body}).json()
    assert (err["code"], err["field"]) == ("invalid_value", f"problem.agents[1].{field}"), err
    assert err["details"] == {"id": "a2", "minimum": 0, "maximum": bound}


def test_time_horizon_infinity_has_the_problem_prefix(served: _Served) -> None:
    with served.client() as c:
        err = post(c, {"problem": {**problem(), "time_horizon": float("inf")}}).json()
    assert (err["code"], err["field"]) == ("invalid_value", "problem.time_horizon"), err


def test_map_values_and_keys(served: _Served) -> None:
    with served.client() as c:
        err = post(c, {"problem": problem(durations={"a1": 1e308})}).json()
        assert err["field"] == 'problem.tasks[3].durations["a1"]', err
        err = post(c, {"problem": problem(costs={"a\u202e1": 1})}).json()
    assert (err["code"], err["field"]) == ("invalid_value", "problem.tasks[3].costs"), err
    assert "\u202e" not in json.dumps(err, ensure_ascii=False)


def test_time_limit_true_and_under_minimum_are_errors(served: _Served) -> None:
    with served.client() as c:
        for value in (True, 0.0001, float("inf")):
            r = post(c, {"problem": problem(), "time_limit": value})
            assert r.status_code == 422 and r.json()["field"] == "time_limit", (value, r.text)
        r = post(c, {"problem": problem(), "seed": True})
        assert r.status_code == 422 and r.json()["field"] == "seed", r.text


# --- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["x" * 10_000, "t\x00", "t\u202eevil", "\u2066t", ""])
def test_malformed_ids_are_refused_and_never_echoed(served: _Served, bad: str) -> None:
    with served.client() as c:
        r = post(c, {"problem": problem(id=bad)})
    err = r.json()
    assert r.status_code == 422 and err["code"] == "invalid_value", r.text
    assert err["field"] == "problem.tasks[3].id"
    if bad:  # neither in the answer nor in the log
        assert bad not in err["message"] and bad not in served.log.getvalue()


def test_paths_with_hostile_ids_are_not_echoed(served: _Served) -> None:
    with served.client() as c:
        r = c.get("/api/jobs/" + "x" * 10_000)
        assert r.status_code == 422 and "x" * 200 not in r.text, r.text[:300]
        r = c.get("/api/jobs/abc%E2%80%AEdef")
        assert r.status_code == 422 and "\u202e" not in r.text
        r = c.put("/api/backends/x%E2%80%AE" + "z" * 5000, json={"enabled": True})
        assert r.status_code == 404 and r.json()["code"] == "unknown_backend", r.text[:300]
        assert "\u202e" not in r.text and "z" * 200 not in r.text
        r = c.get("/api/nowhere%E2%80%AE" + "y" * 5000)
    assert r.status_code == 404 and "\u202e" not in r.text and "y" * 200 not in r.text
    assert "\u202e" not in served.log.getvalue()


def test_id_rule_is_in_the_json_schema(served: _Served) -> None:
    with served.client() as c:
        schemas = c.get("/openapi.json").json()["components"]["schemas"]
    for name in ("Agent", "Task"):
        ident = schemas[name]["properties"]["id"]
        assert ident["pattern"] == ID_PATTERN and ident["maxLength"] == 128
    assert schemas["Task"]["properties"]["duration"]["maximum"] == TIME_MAX


# --- errors that say what to fix -----------------------------------------------------------


def test_empty_body_names_the_field(served: _Served) -> None:
    with served.client() as c:
        for path in ("/api/optimize", "/api/jobs"):
            r = c.post(path)
            err = r.json()
            assert r.status_code == 422 and err["field"] == "problem", r.text
            assert "problem" in err["message"]


def test_horizon_shorter_than_a_task_names_the_horizon(served: _Served) -> None:
    body = {**problem(duration=8), "time_horizon": 5}
    with served.client() as c:
        err = post(c, {"problem": body}).json()
    assert err["code"] == "invalid_time_window" and err["field"] == "problem.time_horizon", err
    assert "time_horizon" in err["message"] and "'t4'" in err["message"]


def test_semantic_errors_use_the_same_path_style(served: _Served) -> None:
    cyc = problem(dependencies=["t4"])
    dup = problem(id="t1")
    ref = problem(dependencies=["ghost"])
    skill = problem(required_skills=["cuda"])
    cases = [
        (cyc, "dependency_cycle", "problem.tasks[3].dependencies"),
        (dup, "duplicate_id", "problem.tasks[3].id"),
        (ref, "unknown_reference", "problem.tasks[3].dependencies"),
        (skill, "no_eligible_agent", "problem.tasks[3]"),
    ]
    with served.client() as c:
        for body, code, field in cases:
            err = post(c, {"problem": body}).json()
            assert (err["code"], err["field"]) == (code, field), err
            assert err["details"]["id"] in ("t4", "t1"), err


def test_analysis_of_a_failed_job_says_it_failed_and_why(served: _Served) -> None:
    with served.client() as c:
        job = post(c, {"problem": problem()}).json()
        db = Database(served.db_url)
        with db.session() as s:
            (claimed,) = [j for j in repo.claim_jobs(s, "test-worker", 10) if j.id == job["id"]]
            repo.finish_job(
                s,
                claimed.id,
                "test-worker",
                "failed",
                error_code="backend_credentials",
                error_message="dwave: no API token configured",
            )
        db.dispose()
        r = c.get(f"/api/jobs/{job['id']}/analysis")
    err = r.json()
    assert r.status_code == 409 and err["code"] == "job_failed", r.text
    assert "failed" in err["message"] and "no API token configured" in err["message"]
    assert "poll" not in err["message"]


def test_chunked_body_over_the_limit_is_413(served: _Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"problem": {"agents": [], "tasks": [], "name": "'
        for _ in range(MAX_BODY // 1000 + 5):
            yield b"x" * 1000
        yield b'"}}'

    with served.client() as c:
        r = c.post("/api/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and r.json()["code"] == "body_too_large", r.text


def test_non_utf8_body_has_its_own_code(served: _Served) -> None:
    body = '{"problem": {"agents": [], "tasks": [], "name": "café"}}'.encode("latin-1")
    with served.client() as c:
        r = c.post("/api/jobs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_encoding", r.text
    assert r.json()["field"] == "body"


# --- contract ------------------------------------------------------------------------------


def test_openapi_shows_the_limits_the_server_enforces(served: _Served) -> None:
    settings = Settings(database_url=served.db_url)
    with served.client() as c:
        doc = c.get("/openapi.json").json()
        schemas = doc["components"]["schemas"]

        def limit(name: str) -> float:
            return next(
                b["maximum"]
                for b in schemas[name]["properties"]["time_limit"]["anyOf"]
                if b.get("type") == "number"
            )

        sync = min(settings.max_time_limit, settings.sync_max_time_limit)
        assert limit("OptimizeRequest") == sync and limit("JobRequest") == settings.max_time_limit
        # the server refuses just above what the document shows, and takes what it shows
        r = post(c, {"problem": problem(), "time_limit": settings.max_time_limit * 1.01})
        assert r.json()["code"] == "time_limit_out_of_range"
        assert post(c, {"problem": problem(), "time_limit": settings.max_time_limit}).is_success
        backend = next(
            b for b in schemas["JobRequest"]["properties"]["backend"]["anyOf"] if "enum" in b
        )
        assert backend["enum"] == backend_choices()
        r = post(c, {"problem": problem(), "backend": "no_such_backend"})
        assert (r.status_code, r.json()["code"]) == (422, "unknown_backend")
    props = schemas["Problem"]["properties"]
    assert props["tasks"]["maxItems"] == settings.max_tasks
    assert props["agents"]["maxItems"] == settings.max_agents
    for path in ("/api/optimize", "/api/jobs"):
        op = doc["paths"][path]["post"]
        assert "400" in op["responses"] and str(MAX_BODY) in op["responses"]["413"]["description"]
        assert op["requestBody"]["x-max-body-bytes"] == MAX_BODY


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/backends/test-credentials", "POST"),
        ("PUT", "/api/backends/test-credentials", "POST"),
        ("DELETE", "/api/optimize", "POST"),
        ("PATCH", "/api/jobs/" + "0" * 32, "DELETE, GET"),
        ("POST", "/api/backends/greedy", "PUT"),
    ],
)
def test_405_carries_the_right_allow_header(
    served: _Served, method: str, path: str, allow: str
) -> None:
    with served.client() as c:
        r = c.request(method, path)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed", r.text
    assert r.headers["allow"] == allow


def test_api_doc_error_table_lists_every_code_with_its_status() -> None:
    text = (ROOT / "docs" / "API.md").read_text()
    table = text[text.index("| status | codes |") :].split("\n\n", 1)[0]
    documented = {
        (int(m[1]), code)
        for m in re.finditer(r"^\| (\d{3}) \|(.*)$", table, re.M)
        for code in re.findall(r"`([a-z_]+)`", m[2])
    }
    service = ROOT / "src" / "quantum_planner" / "service"
    source = "\n".join(p.read_text() for p in service.rglob("*.py"))
    raised = {
        (int(m[1]), m[2]) for m in re.finditer(r'APIError\(\s*(\d{3}),\s*(?:f?"([a-z_]+)")', source)
    }
    raised |= {(413, "too_many_agents"), (413, "too_many_tasks")}  # built as f"too_many_{key}"
    handlers = {
        (422, "invalid_request"),
        (400, "bad_request"),
        (404, "not_found"),
        (405, "method_not_allowed"),
        (500, "internal_error"),
    }
    from quantum_planner.service.errors import status_for

    planner = set()
    stack: list[type[E.PlannerError]] = [E.PlannerError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        # the HTTP API's errors; carriers elsewhere (the MCP tools' ToolFailure) are not raised
        if cls is not E.PlannerError and cls.__module__ == E.__name__:
            exc = cls.__new__(cls)  # some subclasses take other constructor arguments
            E.PlannerError.__init__(exc, "x")
            planner.add((status_for(exc), cls.code))
    missing = (raised | handlers | planner) - documented
    assert not missing, f"docs/API.md's error table lacks {sorted(missing)}"


# --- log levels ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Served]:
    """A server with one real solver process."""
    yield from _serve(tmp_path_factory.mktemp("solving"), workers=1, default_time_limit=2)


def test_expected_refusals_are_not_logged_as_error(solving: _Served) -> None:
    with solving.client() as c:
        # a remote backend with no credentials here: refused (502/503), or out of time while
        # the solver process starts on a busy machine (504); expected outcomes either way
        r = post(c, {"problem": problem(), "backend": "dwave"}, path="/api/optimize")
        assert r.status_code in (502, 503, 504), r.text
        assert post(c, {"problem": problem(duration=-1)}).status_code == 422
        assert c.get("/api/jobs/" + "0" * 32).status_code == 404
    levels = solving.levels()
    assert any(level == "WARNING" for level, _ in levels), levels
    errors = [m for level, m in levels if level in ("ERROR", "CRITICAL")]
    assert not errors, errors


def test_metrics_and_logs_name_routes_by_their_template(served: _Served) -> None:
    with served.client() as c:
        assert c.put("/api/backends/nope", json={"enabled": True}).status_code == 404
        text = c.get("/metrics").text
    assert 'route="/api/backends/{name}"' in text and "backend_name" not in text
