"""Prometheus metrics, in a registry passed in (each app and each test has its own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

SOLVE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """The service's metrics. Names follow Prometheus conventions."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "quantum_planner_requests",
            "HTTP requests served, by route template and status code.",
            ["route", "status"],
            registry=r,
        )
        self.request_duration = Histogram(
            "quantum_planner_request_duration_seconds",
            "HTTP request latency, by route template.",
            ["route"],
            registry=r,
        )
        self.errors = Counter(
            "quantum_planner_errors",
            "Errors by kind (the error code; internal_error for unexpected ones).",
            ["kind"],
            registry=r,
        )
        self.solve_duration = Histogram(
            "quantum_planner_solve_duration_seconds",
            "Wall time of solves, by the backend that produced the plan.",
            ["backend"],
            buckets=SOLVE_BUCKETS,
            registry=r,
        )
        self.backend_up = Gauge(
            "quantum_planner_backend_up",
            "1 if the backend is enabled and its last health check passed, else 0.",
            ["backend"],
            registry=r,
        )
        self.backend_enabled = Gauge(
            "quantum_planner_backend_enabled",
            "1 if the backend is enabled (switch_backend), 0 if an operator disabled it.",
            ["backend"],
            registry=r,
        )
        self.backend_configured = Gauge(
            "quantum_planner_backend_configured",
            "1 if the backend can run here (installed, credentials set), 0 if unconfigured.",
            ["backend"],
            registry=r,
        )
        self.breaker_open = Gauge(
            "quantum_planner_circuit_breaker_open",
            "1 while the backend's circuit breaker is open or half-open, else 0.",
            ["backend"],
            registry=r,
        )
        self.workers = Gauge(
            "quantum_planner_workers",
            "Job workers available (solver processes, or live Celery workers).",
            registry=r,
        )
        self.jobs = Gauge(
            "quantum_planner_jobs", "Jobs in the database, by state.", ["state"], registry=r
        )
        self.rate_limited = Counter(
            "quantum_planner_rate_limited",
            "Requests refused with 429 by the per-key rate limiter.",
            registry=r,
        )

    def observe_solve(self, backend: str, seconds: float, ok: bool) -> None:
        self.solve_duration.labels(backend=backend or "none").observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
