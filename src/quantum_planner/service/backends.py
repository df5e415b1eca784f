"""The service's side of :mod:`quantum_planner.backends` and :mod:`quantum_planner.health`.

:class:`BackendOps` works on the app's own :class:`BackendContext`, whose switches live
in the database (``backend_state``), the same table solver processes, Celery workers
and an operator's ``switch_backend`` with ``QP_DATABASE_URL`` read and write. Results
are normalised to JSON.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import threading
import time
from enum import Enum
from typing import Any

from quantum_planner.backends import BackendContext, test_credentials
from quantum_planner.config import Settings, get_settings
from quantum_planner.errors import ConfigurationError, UnknownBackendError
from quantum_planner.store import Database
from quantum_planner.store.backend_state import DatabaseBackendStateStore


def to_jsonable(obj: Any) -> Any:
    """Best-effort JSON form of what the backends layer returns."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if hasattr(obj, "__dict__"):
        return {k: to_jsonable(v) for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)


# "degraded" still answers (slowly, or with its circuit half-open): usable
_USABLE = frozenset({"ok", "up", "healthy", "available", "degraded"})


def _healthy(status: Any) -> bool:
    """Whether one entry of ``check_all_backends()`` says the backend is usable."""
    if isinstance(status, bool):
        return status
    if isinstance(status, str):
        return status.lower() in _USABLE
    if isinstance(status, dict):
        for key in ("healthy", "ok", "up", "available"):
            if key in status:
                return bool(status[key])
        return str(status.get("status", "")).lower() in _USABLE
    for key in ("healthy", "ok", "up", "available"):
        if hasattr(status, key):
            return bool(getattr(status, key))
    return _healthy(getattr(status, "status", ""))


class BackendsPending(Exception):
    """No backend health snapshot yet (start-up), or the last check failed."""


class BackendOps:
    """The admin operations on backends, as the HTTP API exposes them.

    ``context``: the app's backends; default, one with ``settings`` whose switches are
    this database's (read at most ``SWITCH_TTL`` s old, so a switch written by another
    replica or an operator's shell shows within a second).
    """

    SWITCH_TTL = 1.0

    def __init__(
        self,
        db: Database,
        health_ttl: float = 20.0,
        *,
        context: BackendContext | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.context = context or BackendContext(
            settings=settings or get_settings(),
            states=DatabaseBackendStateStore(db, ttl=self.SWITCH_TTL),
        )
        self.health_ttl = health_ttl
        self._health: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._checker: Any = None  # a one-process pool running the probes
        self._first_round = threading.Event()
        self._wake = threading.Event()  # a switch asks for a fresh round now
        self.first_wait = 30.0
        self.last_error: str | None = None

    def list(self) -> list[dict[str, Any]]:
        """``[{"name", "enabled"}]`` for every backend of the app's context."""
        ctx = self.context
        return [{"name": n, "enabled": bool(ctx.is_enabled(n))} for n in ctx.list_backends()]

    def names(self) -> list[str]:
        return [str(r.get("name")) for r in self.list()]

    def switch(self, name: str, enabled: bool) -> dict[str, Any]:
        if name not in self.names():
            raise UnknownBackendError(
                f"unknown backend {name!r}; known: {', '.join(self.names())}", field="name"
            )
        result = self.context.switch_backend(name, enabled)
        self._wake.set()  # a fresh probe round; the snapshot shows the switch at once
        out = to_jsonable(result)
        out["message"] = result.message
        return {"name": name, "enabled": enabled, "result": out}

    def test_credentials(self) -> dict[str, Any]:
        # no printing inside a server
        results = test_credentials(echo=False, context=self.context)
        return {"results": to_jsonable(results)}

    def start(self) -> None:
        """Check backends in the background every ``health_ttl`` s (probes run solves, so a
        readiness probe must not wait for them)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._refresh_loop, name="qp-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.health(fresh=True)
                self.last_error = None
            except Exception as e:  # no backends layer: readiness reports it
                self.last_error = f"{type(e).__name__}: {e}"
            self._first_round.set()
            self._wake.wait(self.health_ttl)
            self._wake.clear()

    def health(self, *, fresh: bool = False, wait: bool = True) -> dict[str, dict[str, Any]]:
        """``{backend: {"healthy", "enabled", "detail"}}``.

        With the background thread running, the latest snapshot (before the first one,
        waiting for it if ``wait``, else ``BackendsPending``); otherwise computed here,
        cached ``health_ttl`` seconds. Either way ``enabled`` is the switch as stored now
        (at most ``SWITCH_TTL`` s old), not as it was when the probes ran, so a switch
        made by another replica or an operator's shell shows within a second.
        """
        if not fresh and self._thread is not None and self._thread.is_alive():
            if self._health is None and wait:
                # just started: an early caller gets the first round's answer, not a guess
                self._first_round.wait(self.first_wait)
            if self._health is None:
                raise BackendsPending(
                    self.last_error or "the first backend health check is running"
                )
            return self._with_switches(self._health[1])
        with self._lock:
            now = time.monotonic()
            if not fresh and self._health is not None and now - self._health[0] < self.health_ttl:
                return self._with_switches(self._health[1])
            raw = self._check_isolated()
            out = {str(name): {"healthy": _healthy(d), "detail": d} for name, d in raw.items()}
            self._health = (now, out)
            return self._with_switches(out)

    def _with_switches(self, snapshot: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """A copy of ``snapshot`` with each backend's stored switch (the database is the
        truth: the probe process read it up to a health round ago)."""
        try:
            stored: dict[str, bool] | None = {n: self.context.is_enabled(n) for n in snapshot}
        except Exception:  # database unreachable: readiness reports that; keep the probe's view
            stored = None
        out: dict[str, dict[str, Any]] = {}
        for name, entry in snapshot.items():
            detail = entry["detail"]
            if isinstance(detail, dict):
                detail = dict(detail)
            if stored is not None:
                enabled = bool(stored[name])
            else:
                enabled = not isinstance(detail, dict) or detail.get("enabled") is not False
            if isinstance(detail, dict):
                if not enabled:
                    detail["status"] = "disabled"
                elif detail.get("enabled") is False or detail.get("status") == "disabled":
                    detail["status"] = "unknown"  # re-enabled since; the next round probes it
                detail["enabled"] = enabled
            out[name] = {"healthy": entry["healthy"], "enabled": enabled, "detail": detail}
        return out

    def _check_isolated(self) -> dict[str, Any]:
        """``check_all_backends()`` in a separate process.

        Probes run real solves (native code: qiskit-aer, OR-Tools, numba) in threads; a
        crash there must cost a health round, never the API process.
        """
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        from quantum_planner.jobs import worker

        if self._checker is None:
            self._checker = ProcessPoolExecutor(
                max_workers=1,
                mp_context=mp.get_context("spawn"),
                initializer=worker.init_worker,
                initargs=(os.getpid(), self.db.url),
            )
        try:
            return self._checker.submit(_check_all_backends).result(timeout=120)
        except BrokenProcessPool:
            self._checker = None
            raise ConfigurationError(
                "the backend health check process crashed (a backend probe failed in native "
                "code); it is retried on the next round"
            ) from None

    def close(self) -> None:
        self.stop()
        if self._checker is not None:
            self._checker.shutdown(wait=False, cancel_futures=True)
            self._checker = None


def _check_all_backends() -> dict[str, Any]:
    """Runs in the health-check process: statuses as plain JSON."""
    from quantum_planner.health import check_all_backends

    return to_jsonable(dict(check_all_backends()))
