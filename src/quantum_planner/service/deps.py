"""What route handlers share: the per-app state object, reached through the request."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from quantum_planner.config import Settings
from quantum_planner.jobs.base import JobRunner
from quantum_planner.service.limits import RateLimiter
from quantum_planner.service.metrics import Metrics
from quantum_planner.store import Database


@dataclass
class ServiceState:
    """Everything one app instance owns; nothing here is global."""

    settings: Settings
    db: Database
    metrics: Metrics
    logger: logging.Logger
    limiter: RateLimiter
    runner: JobRunner | None = None
    backends: Any = None  # service.backends.BackendOps
    extra: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> ServiceState:
    return request.app.state.qp
