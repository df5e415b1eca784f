"""Prometheus rules and configuration: promtool unit tests and the metric contract."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .metrics_contract import PROM, known_series, series_in

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install -y prometheus)"
)


def _run(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@needs_promtool
def test_rules_pass_promtool_check() -> None:
    res = _run("check", "rules", "rules.yml")
    assert res.returncode == 0, res.stdout + res.stderr


@needs_promtool
def test_alert_rule_unit_tests_pass() -> None:
    res = _run("test", "rules", "tests/rules_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


@needs_promtool
def test_rule_tests_can_fail(tmp_path: Path) -> None:
    """A rules file with the error threshold raised to 50% must fail the same unit tests."""
    rules = (PROM / "rules.yml").read_text().replace("[5m])) > 0.10", "[5m])) > 0.50")
    (tmp_path / "rules.yml").write_text(rules)
    (tmp_path / "tests").mkdir()
    shutil.copy(PROM / "tests" / "rules_test.yml", tmp_path / "tests" / "rules_test.yml")
    res = _run("test", "rules", "tests/rules_test.yml", cwd=tmp_path)
    assert res.returncode != 0
    assert "QuantumPlannerHighErrorRate" in res.stdout + res.stderr


@needs_promtool
@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        # the old recording: counters summed across replicas before rate()
        (
            "expr: sum without (kind) (quantum_planner_errors_total)",
            "expr: sum(quantum_planner_errors_total)",
            "sum(rate(errors_total[5m])) < bool 0.2",
        ),
        # the old alert: 5xx share only, not the playbook's errors per request
        (
            "          sum(rate(quantum_planner_errors_total[5m]))\n"
            "            / sum(rate(quantum_planner_requests_total[5m])) > 0.10",
            '          sum(rate(quantum_planner_requests_total{status=~"5.."}[5m]))\n'
            "            / sum(rate(quantum_planner_requests_total[5m])) > 0.10",
            "QuantumPlannerHighErrorRate",
        ),
        # a backend that is merely unconfigured (no credentials) must not page as "down"
        (
            "\n            unless on (backend) "
            "(max by (backend) (quantum_planner_backend_configured) == 0)",
            "",
            "QuantumPlannerBackendDown",
        ),
    ],
)
def test_rule_tests_catch_the_restart_spike_and_the_5xx_only_ratio(
    old: str, new: str, why: str, tmp_path: Path
) -> None:
    """The unit tests fail on the old rules: a replica restart (counter reset) in the series,
    4xx errors that the playbook's "error rate" counts, an unconfigured backend."""
    rules = (PROM / "rules.yml").read_text()
    assert old in rules
    (tmp_path / "rules.yml").write_text(rules.replace(old, new))
    (tmp_path / "tests").mkdir()
    shutil.copy(PROM / "tests" / "rules_test.yml", tmp_path / "tests" / "rules_test.yml")
    res = _run("test", "rules", "tests/rules_test.yml", cwd=tmp_path)
    assert res.returncode != 0
    assert why in res.stdout + res.stderr


def test_error_rate_alert_is_the_errors_per_request_ratio() -> None:
    alert = next(r for r in _rules() if r.get("alert") == "QuantumPlannerHighErrorRate")
    ratio = next(r for r in _rules() if r.get("record") == "quantum_planner:error_ratio:rate5m")
    assert alert["expr"].split() == [*ratio["expr"].split(), ">", "0.10"]
    # rate() of each replica's counter first, then sum: never sum(counter) inside rate()
    assert (
        "rate(sum(" not in alert["expr"]
        and "rate(quantum_planner_errors_total[5m])" in (alert["expr"])
    )


@needs_promtool
@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus-k8s.yml"])
def test_prometheus_config_is_valid(name: str, tmp_path: Path) -> None:
    # the config names the rules file at its in-container path; point it at ours
    shutil.copy(PROM / "rules.yml", tmp_path / "rules.yml")
    cfg = (
        (PROM / name).read_text().replace("/etc/prometheus/rules.yml", str(tmp_path / "rules.yml"))
    )
    (tmp_path / name).write_text(cfg)
    res = _run("check", "config", str(tmp_path / name), cwd=tmp_path)
    if res.returncode != 0 and "kubernetes_sd_configs not found" in res.stdout + res.stderr:
        pytest.skip(
            "this promtool is built without Kubernetes service discovery (Debian 12 ships it so)"
        )
    assert res.returncode == 0, res.stdout + res.stderr


REQUIRED_ALERTS = {
    "QuantumPlannerHighErrorRate",
    "QuantumPlannerBackendDown",
    "QuantumPlannerOptimizeLatencyHigh",
    "QuantumPlannerCircuitBreakerOpen",
    "QuantumPlannerJobQueueGrowing",
    "QuantumPlannerNoWorkers",
}


def _rules() -> list[dict]:
    doc = yaml.safe_load((PROM / "rules.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_required_alert_exists_and_is_unit_tested() -> None:
    alerts = {r["alert"] for r in _rules() if "alert" in r}
    assert alerts >= REQUIRED_ALERTS
    tests = yaml.safe_load((PROM / "tests" / "rules_test.yml").read_text())
    tested_firing = {
        t["alertname"]
        for case in tests["tests"]
        for t in case.get("alert_rule_test", [])
        if t["exp_alerts"]
    }
    assert alerts <= tested_firing, alerts - tested_firing


def test_rules_use_only_contract_metrics() -> None:
    known = known_series()
    for rule in _rules():
        unknown = series_in(rule["expr"]) - known
        assert not unknown, f"{rule.get('alert') or rule.get('record')}: {unknown}"


def test_playbook_errors_total_query_is_recorded() -> None:
    assert any(r.get("record") == "errors_total" for r in _rules())
    # per replica: summing across replicas would turn a restart into an error spike
    (rule,) = [r for r in _rules() if r.get("record") == "errors_total"]
    assert rule["expr"].startswith("sum without (kind) ")


def test_series_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(foo_bucket{route="/api/optimize"}[5m])))'
        " > 2 unless on (backend) bar == 0"
    )
    assert series_in(expr) == {"foo_bucket", "bar"}


def test_every_runbook_link_has_its_section() -> None:
    """Each alert's runbook annotation names a heading of docs/INCIDENT_RESPONSE.md."""
    import re

    doc = (PROM.parents[1] / "docs" / "INCIDENT_RESPONSE.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in doc.splitlines()
        if line.startswith("#")
    }
    links = {r["annotations"]["runbook"] for r in _rules() if "alert" in r}
    assert links, "no runbook annotations"
    for link in links:
        path, _, anchor = link.partition("#")
        assert path == "docs/INCIDENT_RESPONSE.md" and anchor in anchors, link
