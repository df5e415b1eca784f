"""Running solves off the request path: the :class:`JobRunner` seam and the local runner."""

from quantum_planner.jobs.base import JobRunner

__all__ = ["JobRunner"]
