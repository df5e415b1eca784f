"""Dockerfile and compose file, linted by parsing (no container engine runs in CI)."""

from __future__ import annotations

import json
import re
import shlex

import yaml

from .metrics_contract import ROOT

DOCKER = ROOT / "deploy" / "docker"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions((DOCKER / "Dockerfile").read_text()):
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    stages = _stages()
    assert len(stages) >= 2
    names = [re.search(r"\bAS\s+(\S+)", s[0][1], re.I) for s in stages]
    assert all(names), "every stage is named"
    final = stages[-1]
    kinds = [k for k, _ in final]
    # the runtime stage copies the built environment from the build stage, not the compilers
    assert any(k == "COPY" and a.startswith(f"--from={names[0].group(1)}") for k, a in final)
    assert "build-essential" not in " ".join(a for _, a in final)
    users = [a for k, a in final if k == "USER"]
    assert users, "final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # USER comes after every RUN so nothing later runs as root
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")
    (hc,) = [a for k, a in final if k == "HEALTHCHECK"]
    assert "/health" in hc and "--interval" in hc
    exec_form = hc[hc.index("CMD") + 3 :].strip()
    assert json.loads(exec_form)[0] == "python"  # slim images have no curl
    entry = json.loads(next(a for k, a in final if k == "ENTRYPOINT"))
    assert entry[-1] == "quantum-planner"
    assert json.loads(next(a for k, a in final if k == "CMD"))[0] == "serve"


def test_dockerfile_copies_only_existing_paths_not_ignored() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text()
    for stage in _stages():
        for kind, args in stage:
            if kind != "COPY" or args.startswith("--from"):
                continue
            *sources, _dest = shlex.split(args)
            for src in sources:
                assert (ROOT / src).exists(), src
                assert f"!{src.rstrip('/')}" in ignore.replace("/\n", "\n"), src


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_has_the_whole_stack_with_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) == {"api", "worker", "postgres", "redis", "prometheus", "grafana"}
    for name, svc in services.items():
        hc = svc["healthcheck"]
        assert hc["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert {"interval", "timeout", "retries"} <= set(hc), name
        for dep, cond in svc.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert cond["condition"] in {"service_started", "service_healthy"}
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep]


def test_compose_dependency_graph_is_acyclic() -> None:
    services = _compose()["services"]
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"cycle {(*path, name)}"
        for dep in services[name].get("depends_on", {}):
            visit(dep, (*path, name))
        done.add(name)

    for name in services:
        visit(name, ())
    assert done == set(services)


def test_compose_app_services_share_image_env_and_commands() -> None:
    from quantum_planner.config import Settings

    services = _compose()["services"]
    api, worker = services["api"], services["worker"]
    assert api["image"] == worker["image"]
    assert (DOCKER / api["build"]["context"] / api["build"]["dockerfile"]).resolve() == (
        DOCKER / "Dockerfile"
    ).resolve()
    assert api["command"][0] == "serve" and worker["command"][0] == "worker"
    fields = {f"QP_{n.upper()}" for n in Settings.model_fields}
    for svc in (api, worker):
        assert set(svc["environment"]) <= fields, set(svc["environment"]) - fields
        assert svc["environment"]["QP_JOB_RUNNER"] == "celery"
        assert svc["stop_grace_period"]


def test_compose_mounts_exist_and_ports_stay_on_loopback() -> None:
    services = _compose()["services"]
    for name, svc in services.items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (DOCKER / src).resolve().exists(), f"{name}: {src}"
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert {n for n in named if not n.startswith(".")} <= set(_compose()["volumes"])


PLAYBOOK_LOG = "/var/log/quantum-planner.log"


def test_image_logs_where_the_playbook_greps() -> None:
    runtime = _stages()[-1]
    env = " ".join(args for ins, args in runtime if ins == "ENV")
    assert f"QP_LOG_FILE={PLAYBOOK_LOG}" in env.split()
    runs = " ".join(args for ins, args in runtime if ins == "RUN")
    # a link into the directory volumes mount (/var/log itself stays the image's)
    assert f"ln -s quantum-planner/quantum-planner.log {PLAYBOOK_LOG}" in runs
    assert "chown planner:planner /var/log/quantum-planner" in runs
    api = _compose()["services"]["api"]
    assert api["environment"]["QP_LOG_FILE"] == PLAYBOOK_LOG
    assert "logs:/var/log/quantum-planner" in api["volumes"]


def test_compose_postgres_has_pg_stat_statements_and_the_quantum_database() -> None:
    services = _compose()["services"]
    pg = services["postgres"]
    assert "shared_preload_libraries=pg_stat_statements" in pg["command"]
    initdb = [v for v in pg["volumes"] if ":/docker-entrypoint-initdb.d/" in v]
    assert initdb == [
        "../postgres/10-pg-stat-statements.sql:"
        "/docker-entrypoint-initdb.d/10-pg-stat-statements.sql:ro"
    ]
    assert services["api"]["environment"]["QP_DATABASE_URL"].endswith(
        "/" + pg["environment"]["POSTGRES_DB"]
    )


def test_initdb_sql_creates_the_extension_on_a_real_postgres() -> None:
    """Run the init script as the postgres image would, in a fresh database."""
    from tests.service.conftest import create_pg_database

    url, drop = create_pg_database()  # skips (with the reason) when PostgreSQL is not there
    import psycopg

    try:
        sql = (ROOT / "deploy" / "postgres" / "10-pg-stat-statements.sql").read_text()
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            conn.execute(sql)
            conn.execute(sql)  # IF NOT EXISTS: a second run is harmless
            row = conn.execute(
                "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
            ).fetchone()
        assert row == (1,)
    finally:
        drop()
