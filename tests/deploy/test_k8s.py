"""Kubernetes manifests: strictly schema-valid (offline) and named as the playbook expects."""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
kv = pytest.importorskip("kubernetes_validate")

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
NS = "quantum-planner"
# The oldest Kubernetes we claim to support (preStop `sleep` needs 1.30) and the newest bundled.
VERSIONS = ["1.30.0", kv.latest_version()]


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _resources() -> list[dict]:
    out = []
    for path in _manifest_files():
        out.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return out


def _one(kind: str, name: str) -> dict:
    found = [r for r in _resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_schema_valid_strict(version: str) -> None:
    resources = _resources()
    assert len(resources) >= 15
    for res in resources:
        # strict=True rejects unknown fields (a typo'd key would otherwise be silently ignored)
        kv.validate(res, version, strict=True)


def test_validator_rejects_a_broken_manifest() -> None:
    """Guard against a validator that accepts anything."""
    dep = _one("Deployment", "quantum-planner")
    broken = yaml.safe_load(yaml.safe_dump(dep))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = []
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, VERSIONS[-1], strict=True)
    typo = yaml.safe_load(yaml.safe_dump(dep))
    typo["spec"]["replica"] = 3
    with pytest.raises(kv.ValidationError):
        kv.validate(typo, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == [p.name for p in _manifest_files()]


def test_everything_is_in_the_playbook_namespace() -> None:
    assert _one("Namespace", NS)
    for res in _resources():
        if res["kind"] != "Namespace":
            assert res["metadata"]["namespace"] == NS, res["metadata"]["name"]


def test_api_deployment_matches_playbook_commands() -> None:
    dep = _one("Deployment", "quantum-planner")
    # `kubectl logs -l app=quantum-planner` and the Service select on this label
    assert dep["spec"]["selector"]["matchLabels"] == {"app": "quantum-planner"}
    assert dep["spec"]["template"]["metadata"]["labels"]["app"] == "quantum-planner"
    pod = dep["spec"]["template"]["spec"]
    # the hot-fix `kubectl patch ... containers:[{name: quantum-planner, image: ...}]`
    (container,) = pod["containers"]
    assert container["name"] == "quantum-planner"
    assert dep["spec"]["revisionHistoryLimit"] >= 2  # rollout undo needs history
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    assert pod["securityContext"]["runAsNonRoot"] is True
    # only one Deployment carries app=quantum-planner, or `kubectl logs -l` mixes in workers
    labelled = [
        r
        for r in _resources()
        if r["kind"] == "Deployment"
        and r["spec"]["template"]["metadata"]["labels"].get("app") == "quantum-planner"
    ]
    assert len(labelled) == 1


def test_configmap_feeds_qp_settings() -> None:
    from quantum_planner.config import Settings

    cm = _one("ConfigMap", "quantum-planner-config")
    assert cm["data"]["CIRCUIT_BREAKER_ENABLED"] == "true"
    fields = {name.upper() for name in Settings.model_fields}
    # every key must be a real setting once the QP_ prefix is added by envFrom
    assert set(cm["data"]) <= fields, set(cm["data"]) - fields
    for name in ("quantum-planner", "quantum-planner-worker"):
        (container,) = _one("Deployment", name)["spec"]["template"]["spec"]["containers"]
        refs = {
            (e.get("configMapRef") or e.get("secretRef"))["name"]: e.get("prefix")
            for e in container["envFrom"]
        }
        assert refs["quantum-planner-config"] == "QP_"
        assert refs["quantum-planner-db"] == "QP_"
        assert "quantum-planner-backends" in refs


def test_configmap_values_parse_as_settings() -> None:
    """The ConfigMap, prefixed as envFrom does, must build a Settings without error."""
    from quantum_planner.config import Settings

    cm = _one("ConfigMap", "quantum-planner-config")
    env = {f"QP_{k}": v for k, v in cm["data"].items()}
    mp = pytest.MonkeyPatch()
    try:
        for k, v in env.items():
            mp.setenv(k, v)
        s = Settings()
    finally:
        mp.undo()
    assert s.circuit_breaker_enabled is True
    assert s.job_runner == "celery"


def test_secrets_hold_no_real_credentials() -> None:
    sec = _one("Secret", "quantum-planner-backends")
    assert all(v == "" for v in sec["stringData"].values())


def test_worker_hpa_pdb_networkpolicy_present() -> None:
    worker = _one("Deployment", "quantum-planner-worker")
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"][0] == "worker"
    for name in ("quantum-planner", "quantum-planner-worker"):
        hpa = _one("HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["minReplicas"] >= 2
        pdb = _one("PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"] == {"app": name}
    _one("Service", "quantum-planner")
    deny = _one("NetworkPolicy", "default-deny")
    assert deny["spec"]["podSelector"] == {}
    pg = _one("NetworkPolicy", "postgres")
    allowed = {p["podSelector"]["matchLabels"]["app"] for p in pg["spec"]["ingress"][0]["from"]}
    assert allowed == {"quantum-planner", "quantum-planner-worker"}


def test_deployment_doc_lists_every_setting() -> None:
    """docs/DEPLOYMENT.md's configuration reference keeps up with config.Settings."""
    from quantum_planner.config import Settings

    doc = (K8S.parents[1] / "docs" / "DEPLOYMENT.md").read_text()
    missing = [f"QP_{n.upper()}" for n in Settings.model_fields if f"`QP_{n.upper()}`" not in doc]
    assert not missing, f"add to the configuration reference: {missing}"


def test_postgres_preloads_and_creates_pg_stat_statements() -> None:
    """The playbook's slow-query SQL needs the library preloaded and the extension created."""
    spec = _one("StatefulSet", "postgres")["spec"]["template"]["spec"]
    (pg,) = spec["containers"]
    assert "shared_preload_libraries=pg_stat_statements" in pg["args"]
    mount = next(m for m in pg["volumeMounts"] if m["mountPath"] == "/docker-entrypoint-initdb.d")
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    initdb = _one("ConfigMap", volume["configMap"]["name"])
    sql = K8S.parent / "postgres" / "10-pg-stat-statements.sql"
    assert initdb["data"] == {sql.name: sql.read_text()}
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;" in sql.read_text()


def test_the_database_the_api_uses_is_the_one_postgres_creates() -> None:
    created = _one("Secret", "postgres")["stringData"]["POSTGRES_DB"]
    url = _one("Secret", "quantum-planner-db")["stringData"]["DATABASE_URL"]
    assert created == "quantum" and url.endswith(f"/{created}")


def test_api_writes_its_log_where_the_playbook_greps() -> None:
    spec = _one("Deployment", "quantum-planner")["spec"]["template"]["spec"]
    (api,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert env["QP_LOG_FILE"] == "/var/log/quantum-planner.log"
    # the image links that path to quantum-planner/quantum-planner.log: a writable volume there
    assert "/var/log/quantum-planner" in {m["mountPath"] for m in api["volumeMounts"]}
