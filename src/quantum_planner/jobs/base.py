"""The seam between the service and whatever runs solves.

The HTTP layer only writes jobs to the database (state ``queued``) and calls
:meth:`JobRunner.wake`; a runner claims queued jobs, runs them, and writes
progress, best-so-far and final plans back through the store. The local runner
(:mod:`quantum_planner.jobs.runner`) does so in a process pool inside the
server; a distributed runner (Celery workers) implements the same protocol and
claims jobs the same way, so replicas and workers can be mixed.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class JobRunner(Protocol):
    """Runs queued jobs and synchronous solves."""

    def start(self) -> None:
        """Start working: recover jobs lost by a crash, then claim queued ones."""

    def stop(self) -> None:
        """Stop claiming jobs and release workers (running jobs are re-queued later)."""

    def wake(self) -> None:
        """A job was queued or cancelled: look now rather than at the next sweep."""

    def solve_now(self, problem_json: str, options: dict[str, Any]) -> dict[str, Any]:
        """Solve synchronously (for ``POST /api/optimize``).

        ``options``: ``time_limit``, ``seed``, ``backend``. Returns the worker's
        result dict: ``{"ok": True, "solution": <json>, "seconds": s}`` or
        ``{"ok": False, "error": {"code", "message", "field", "details"}}``.
        """
        ...

    @property
    def capacity(self) -> int:
        """How many solves may run at once."""
        ...
