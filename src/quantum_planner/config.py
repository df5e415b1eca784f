"""One settings object for the whole process, read from ``QP_*`` environment variables.

Tests build their own ``Settings(...)`` and pass it in rather than mutating globals.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration; every field can be set as ``QP_<NAME>`` (e.g. ``QP_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="QP_", extra="ignore")

    # solving
    default_time_limit: float = Field(10.0, description="Seconds per solve when none is given.")
    max_time_limit: float = Field(300.0, description="Largest time limit a request may ask.")

    # resilience
    circuit_breaker_enabled: bool = True
    breaker_failure_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    backend_timeout_seconds: float | None = None
    max_retries: int = 2

    # alerts
    alert_webhook_url: str | None = None
    alert_format: str = Field("slack", description="'slack' or 'alertmanager'.")

    # service
    database_url: str = "sqlite:///quantum-planner.db"
    log_file: str | None = None
    log_level: str = "INFO"
    job_runner: str = Field("local", description="'local' (in-process pool) or 'celery'.")
    redis_url: str = "redis://127.0.0.1:6379/0"
    max_body_bytes: int = 2_000_000
    max_agents: int = 1_000
    max_tasks: int = 10_000
    rate_limit_per_minute: int = 600
    # service: jobs and storage (added by the service issue)
    workers: int | None = Field(
        None, description="Solver processes in the local job pool (None: the CPU count)."
    )
    job_heartbeat_timeout: float = Field(
        30.0,
        description="Seconds without a heartbeat after which a running job is deemed lost "
        "(its server crashed) and is re-queued or failed.",
    )
    job_max_attempts: int = Field(
        2, description="Times a job may be started before a crash makes it fail for good."
    )
    job_poll_interval: float = Field(0.5, description="Seconds between job runner sweeps.")
    solve_entry: str | None = Field(
        None,
        description="'module:function' the local runner's solver processes call instead of "
        "the planner (a plug-in point for custom solvers; None: QuantumTaskPlanner).",
    )
    sync_queue_per_worker: int = Field(
        4,
        description="Synchronous solves that may wait per solver process; more get 503 "
        "with Retry-After at once instead of timing out in the queue.",
    )
    sync_max_time_limit: float = Field(
        60.0, description="Largest time limit of a synchronous POST /api/optimize."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; call ``get_settings.cache_clear()`` to re-read)."""
    return Settings()
