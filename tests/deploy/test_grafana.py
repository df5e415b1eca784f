"""Grafana dashboards: JSON that loads, the playbook's uids, PromQL that parses and uses only
metrics we define."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .metrics_contract import ROOT, known_series, series_in

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _exprs() -> list[tuple[str, str, str]]:
    return [
        (path.stem, panel["title"], target["expr"])
        for path in DASHBOARDS
        for panel in _load(path)["panels"]
        for target in panel["targets"]
    ]


def test_the_four_dashboards_exist_with_playbook_uids() -> None:
    uids = {_load(p)["uid"] for p in DASHBOARDS}
    # the playbook links grafana/d/quantum-overview and grafana/d/quantum-performance
    assert uids == {"quantum-overview", "quantum-performance", "quantum-errors", "quantum-backends"}
    for path in DASHBOARDS:
        assert _load(path)["uid"] == path.stem


def test_dashboard_structure_loads() -> None:
    for path in DASHBOARDS:
        dash = _load(path)
        assert dash["title"] and dash["schemaVersion"] >= 36
        assert dash["panels"], path.name
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids))
        for panel in dash["panels"]:
            assert panel["type"] in {"timeseries", "stat"}
            assert panel["datasource"]["uid"] == "prometheus"
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
            assert panel["targets"]
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs))


def test_queries_reference_only_defined_metrics() -> None:
    known = known_series()
    for uid, title, expr in _exprs():
        unknown = series_in(expr) - known
        assert not unknown, f"{uid} / {title}: {unknown}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every panel query (as a recording rule), so a typo fails here."""
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:q{i}", "expr": expr}
                    for i, (_, _, expr) in enumerate(_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dash_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    res = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_committed_json_matches_generator() -> None:
    spec = importlib.util.spec_from_file_location("qp_grafana_generate", GRAFANA / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for path in DASHBOARDS:
        assert path.read_text() == gen.render(path.stem), f"re-run {GRAFANA / 'generate.py'}"


def test_provisioning_points_at_prometheus_and_dashboards() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    assert ds["datasources"][0]["uid"] == "prometheus"
    prov = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "quantum-planner.yaml").read_text()
    )
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/quantum-planner"
