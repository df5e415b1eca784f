"""One settings object for the whole process, read from ``QP_*`` environment variables.

Tests build their own ``Settings(...)`` and pass it in rather than mutating globals.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration; every field can be set as ``QP_<NAME>`` (e.g. ``QP_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="QP_", extra="ignore")

    # solving
    default_time_limit: float = Field(10.0, description="Seconds per solve when none is given.")
    max_time_limit: float = Field(300.0, description="Largest time limit a request may ask.")

    # resilience
    # QP_CIRCUIT_BREAKER_ENABLED wins; the playbook's ConfigMap key CIRCUIT_BREAKER_ENABLED
    # (no prefix) is read too
    circuit_breaker_enabled: bool = Field(
        True,
        validation_alias=AliasChoices("QP_CIRCUIT_BREAKER_ENABLED", "circuit_breaker_enabled"),
    )
    breaker_failure_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    backend_timeout_seconds: float | None = None
    max_retries: int = 2
    backend_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description="Per-backend timeout in seconds, JSON: QP_BACKEND_TIMEOUTS='{\"dwave\": 60}'.",
    )
    retry_backoff_seconds: float = Field(0.05, description="First retry delay; doubles each try.")
    retry_backoff_max_seconds: float = 2.0
    failover_reserve_fraction: float = Field(
        0.3, description="Share of the remaining time kept back for the backends after this one."
    )
    failover_last_resort: str | None = Field(
        "greedy", description="Backend tried when the whole chain failed ('' to turn off)."
    )
    fail_over_on_credentials_error: bool = Field(
        True, description="After alerting, let the next backend serve (False: raise)."
    )
    health_timeout_seconds: float = Field(3.0, description="Bound on check_all_backends().")
    health_degraded_latency_seconds: float = 2.0
    service_url: str | None = Field(
        None,
        description="The service's base URL; with QP_API_KEY (an admin key) the module-level "
        "switch_backend() writes through PUT /api/backends/{name} (audited, every replica).",
    )
    api_key: str | None = Field(None, description="Admin API key used with QP_SERVICE_URL.")
    credentials_file: str | None = Field(
        None, description="KEY=VALUE or JSON file with DWAVE_API_TOKEN, QISKIT_IBM_TOKEN, ..."
    )

    # quantum backends (credentials come from the environment or credentials_file only)
    dwave_mock: bool = Field(False, description="Use MockDWaveSampler instead of Leap (offline).")
    dwave_solver: str | None = None
    dwave_num_reads: int = 100
    dwave_hybrid_min_variables: int = Field(
        400, description="BQMs with more variables go to LeapHybridSampler instead of the QPU."
    )
    ibm_max_qubits: int = Field(16, description="Largest QAOA simulated on Aer.")
    ibm_reps: int = 2
    ibm_shots: int = 2048
    ibm_maxiter: int = 80
    ibm_backend: str | None = Field(None, description="IBM Quantum device name (with a token).")
    azure_target: str = "rigetti.sim.qvm"
    azure_max_qubits: int = 16

    # alerts
    alert_webhook_url: str | None = None
    alert_format: str = Field("slack", description="'slack' or 'alertmanager'.")
    alert_timeout_seconds: float = 2.0
    alert_dedup_seconds: float = Field(
        60.0,
        description="Identical alerts (name, backend, severity) within this window are sent once.",
    )

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
    job_no_worker_timeout: float = Field(
        3600.0,
        description="Celery runner: seconds a queued job may wait while no worker is alive "
        "before it fails with 'no_workers' (0: wait for a worker forever).",
    )
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
