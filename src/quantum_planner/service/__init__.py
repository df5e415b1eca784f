"""The planner as an HTTP service (FastAPI): ``create_app(settings)`` builds one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    """See :func:`quantum_planner.service.app.create_app`.

    Raises :class:`~quantum_planner.errors.MissingExtraError` when the ``service`` extra
    (FastAPI, SQLAlchemy, ...) is not installed.
    """
    from quantum_planner.errors import requires_extra

    with requires_extra("the HTTP service"):
        from quantum_planner.service.app import create_app as _create

    return _create(*args, **kwargs)
