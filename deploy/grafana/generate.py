"""Write the Grafana dashboards in dashboards/*.json from the panel lists below.

Run ``python deploy/grafana/generate.py`` after editing; tests/deploy/test_grafana.py fails
when the committed JSON differs from what this script writes. Every query uses only the
metrics in deploy/prometheus/metrics.yml and the recording rules in rules.yml.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}

# (title, [(panel title, panel type, unit, [(expr, legend)])])
DASHBOARDS: dict[str, tuple[str, list[tuple[str, str, str, list[tuple[str, str]]]]]] = {
    "quantum-overview": (
        "Quantum Planner / System overview",
        [
            ("Instances up", "stat", "none", [('sum(up{job="quantum-planner"})', "up")]),
            ("Live workers", "stat", "none", [("max(quantum_planner_workers)", "workers")]),
            (
                "Backends up",
                "stat",
                "none",
                [("max by (backend) (quantum_planner_backend_up)", "{{backend}}")],
            ),
            (
                "Request rate by status",
                "timeseries",
                "reqps",
                [
                    (
                        "sum by (status) (rate(quantum_planner_requests_total[5m]))",
                        "{{status}}",
                    )
                ],
            ),
            (
                "Error ratio (alert over 10% errors per request)",
                "timeseries",
                "percentunit",
                [
                    ("quantum_planner:error_ratio:rate5m", "errors per request"),
                    ("quantum_planner:request_error_ratio:rate5m", "5xx share"),
                ],
            ),
            (
                "p95 /api/optimize latency",
                "timeseries",
                "s",
                [("quantum_planner:optimize_latency_seconds:p95_5m", "p95")],
            ),
            (
                "Jobs by state",
                "timeseries",
                "none",
                [("max by (state) (quantum_planner_jobs)", "{{state}}")],
            ),
            (
                "Circuit breakers open",
                "timeseries",
                "none",
                [("max by (backend) (quantum_planner_circuit_breaker_open)", "{{backend}}")],
            ),
        ],
    ),
    "quantum-performance": (
        "Quantum Planner / Performance",
        [
            (
                "Request latency by route (p50, p95, p99)",
                "timeseries",
                "s",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, route) "
                        "(rate(quantum_planner_request_duration_seconds_bucket[5m])))",
                        f"p{round(q * 100)} {{{{route}}}}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
            ),
            (
                "Solve duration by backend (p95)",
                "timeseries",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, backend) "
                        "(rate(quantum_planner_solve_duration_seconds_bucket[5m])))",
                        "{{backend}}",
                    )
                ],
            ),
            (
                "Solves per second by backend",
                "timeseries",
                "ops",
                [
                    (
                        "sum by (backend) (rate(quantum_planner_solve_duration_seconds_count[5m]))",
                        "{{backend}}",
                    )
                ],
            ),
            (
                "Throughput by route",
                "timeseries",
                "reqps",
                [("sum by (route) (rate(quantum_planner_requests_total[5m]))", "{{route}}")],
            ),
            (
                "Resident memory per instance",
                "timeseries",
                "bytes",
                [('process_resident_memory_bytes{job="quantum-planner"}', "{{instance}}")],
            ),
            (
                "CPU per instance",
                "timeseries",
                "percentunit",
                [
                    (
                        'rate(process_cpu_seconds_total{job="quantum-planner"}[5m])',
                        "{{instance}}",
                    )
                ],
            ),
            (
                "Queued jobs",
                "timeseries",
                "none",
                [("quantum_planner:jobs_queued:max", "queued")],
            ),
        ],
    ),
    "quantum-errors": (
        "Quantum Planner / Errors",
        [
            (
                "Errors per second by kind",
                "timeseries",
                "ops",
                [("sum by (kind) (rate(quantum_planner_errors_total[5m]))", "{{kind}}")],
            ),
            (
                "Errors per second per replica (playbook query)",
                "timeseries",
                "ops",
                [("rate(errors_total[5m])", "{{instance}}")],
            ),
            (
                "Error ratio (alert over 10% errors per request)",
                "timeseries",
                "percentunit",
                [
                    ("quantum_planner:error_ratio:rate5m", "errors per request"),
                    ("quantum_planner:request_error_ratio:rate5m", "5xx share"),
                ],
            ),
            (
                "Responses by route and status (4xx and 5xx)",
                "timeseries",
                "reqps",
                [
                    (
                        "sum by (route, status) "
                        '(rate(quantum_planner_requests_total{status=~"[45].."}[5m]))',
                        "{{route}} {{status}}",
                    )
                ],
            ),
            (
                "Failed jobs",
                "timeseries",
                "none",
                [('max(quantum_planner_jobs{state="failed"})', "failed")],
            ),
        ],
    ),
    "quantum-backends": (
        "Quantum Planner / Backends",
        [
            (
                "Backend up",
                "timeseries",
                "none",
                [("max by (backend) (quantum_planner_backend_up)", "{{backend}}")],
            ),
            (
                "Backend enabled",
                "timeseries",
                "none",
                [("max by (backend) (quantum_planner_backend_enabled)", "{{backend}}")],
            ),
            (
                "Circuit breaker open",
                "timeseries",
                "none",
                [("max by (backend) (quantum_planner_circuit_breaker_open)", "{{backend}}")],
            ),
            (
                "Plans produced per second by backend",
                "timeseries",
                "ops",
                [
                    (
                        "sum by (backend) (rate(quantum_planner_solve_duration_seconds_count[5m]))",
                        "{{backend}}",
                    )
                ],
            ),
            (
                "Mean solve duration by backend",
                "timeseries",
                "s",
                [
                    (
                        "sum by (backend) (rate(quantum_planner_solve_duration_seconds_sum[5m]))"
                        " / sum by (backend) "
                        "(rate(quantum_planner_solve_duration_seconds_count[5m]))",
                        "{{backend}}",
                    )
                ],
            ),
            (
                "Backend errors per second",
                "timeseries",
                "ops",
                [
                    (
                        'sum by (kind) (rate(quantum_planner_errors_total{kind=~"backend.*|'
                        'credentials|timeout"}[5m]))',
                        "{{kind}}",
                    )
                ],
            ),
        ],
    ),
}


def build(uid: str) -> dict:
    """The dashboard model (Grafana schema 39) for one uid."""
    title, panels = DASHBOARDS[uid]
    out = []
    x = y = row_h = 0
    for i, (ptitle, ptype, unit, targets) in enumerate(panels):
        # flow left to right: three stats or two time series per 24-column row
        width, height = (8, 4) if ptype == "stat" else (12, 8)
        if x + width > 24:
            x, y, row_h = 0, y + row_h, 0
        pos = {"h": height, "w": width, "x": x, "y": y}
        x, row_h = x + width, max(row_h, height)
        out.append(
            {
                "id": i + 1,
                "type": ptype,
                "title": ptitle,
                "datasource": DATASOURCE,
                "gridPos": pos,
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
                "targets": [
                    {
                        "refId": chr(ord("A") + j),
                        "datasource": DATASOURCE,
                        "expr": expr,
                        "legendFormat": legend,
                    }
                    for j, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "uid": uid,
        "title": title,
        "tags": ["quantum-planner"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "links": [
            {"title": name, "type": "link", "url": f"/d/{name}"}
            for name in DASHBOARDS
            if name != uid
        ],
        "panels": out,
    }


def render(uid: str) -> str:
    """The JSON text written for ``uid``."""
    return json.dumps(build(uid), indent=2) + "\n"


def main() -> None:
    for uid in DASHBOARDS:
        (HERE / "dashboards" / f"{uid}.json").write_text(render(uid))


if __name__ == "__main__":
    main()
