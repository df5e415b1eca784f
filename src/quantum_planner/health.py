"""Backend health: one bounded call that says how every backend is doing.

>>> from quantum_planner.health import check_all_backends
>>> for backend, status in check_all_backends().items():   # doctest: +SKIP
...     print(f"{backend}: {status}")

Each enabled, configured backend is probed in its own daemon thread (its ``probe``
method if it has one, else a tiny solve that must validate), all at once; the call
returns by ``timeout`` seconds whatever happens, and a backend that has not answered by
then is reported ``down``. Statuses:

* ``healthy``: the probe passed, the breaker is closed;
* ``degraded``: the probe passed but slowly, or the breaker is open/half-open;
* ``down``: the probe failed or timed out;
* ``disabled``: switched off with ``switch_backend`` (not probed);
* ``unconfigured``: missing credentials or SDK (not probed).

Backends, breakers, switches and settings come from ``context`` (default: the
process's :func:`~quantum_planner.backends.context.default_context`). Before the first
check of a context its backends are created in the calling thread
(:meth:`BackendContext.warm_up`: SDK imports, 1-2 s once), so the bounded probes do
not pay for imports; nothing happens when this module is imported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from quantum_planner.backends.base import Backend, backend_properties, configuration_problem
from quantum_planner.backends.breaker import BreakerBoard
from quantum_planner.backends.context import BackendContext, default_context
from quantum_planner.backends.credentials import mask
from quantum_planner.backends.probe import probe_problem, run_probe
from quantum_planner.backends.threads import spawn
from quantum_planner.config import Settings

__all__ = ["BackendStatus", "check_all_backends", "check_backend", "probe_problem", "warm_up"]


def warm_up(context: BackendContext | None = None) -> None:
    """Create every backend of ``context`` now, in this thread (see
    :meth:`BackendContext.warm_up`); services call it at start-up."""
    (context or default_context()).warm_up()


class BackendStatus(dict):
    """A backend's health as a plain dict (JSON-ready) that prints as one readable line."""

    def __str__(self) -> str:
        parts = [self["status"]]
        if self.get("latency_ms") is not None:
            parts.append(f"latency {self['latency_ms']:.0f} ms")
        if self.get("circuit"):
            parts.append(f"circuit {self['circuit']}")
        if self.get("detail"):
            parts.append(str(self["detail"]))
        if self.get("last_error"):
            parts.append(f"last error: {self['last_error']}")
        return " | ".join(parts)


def _base_status(
    ctx: BackendContext, name: str, backend: Backend | None, board: BreakerBoard
) -> BackendStatus:
    snap = board.get(name).snapshot()
    props = backend_properties(backend).to_dict() if backend is not None else {}
    return BackendStatus(
        backend=name,
        status="unknown",
        kind=props.get("kind"),
        enabled=ctx.is_enabled(name),
        latency_ms=None,
        circuit=snap.state.value,
        last_error=mask(snap.last_error) if snap.last_error else None,
        consecutive_failures=snap.consecutive_failures,
        detail=None,
        checked_at=datetime.now(UTC).isoformat(),
    )


def check_backend(
    name: str,
    *,
    timeout: float | None = None,
    settings: Settings | None = None,
    breakers: BreakerBoard | None = None,
    context: BackendContext | None = None,
) -> BackendStatus:
    """Health of one backend (same rules as :func:`check_all_backends`)."""
    return check_all_backends(
        timeout, names=[name], settings=settings, breakers=breakers, context=context
    )[name]


def check_all_backends(
    timeout: float | None = None,
    *,
    names: Iterable[str] | None = None,
    settings: Settings | None = None,
    breakers: BreakerBoard | None = None,
    context: BackendContext | None = None,
) -> dict[str, BackendStatus]:
    """``{backend name: status}`` for every backend of ``context``, within ``timeout``
    seconds (default ``QP_HEALTH_TIMEOUT_SECONDS``, 3 s) once its backends exist.

    ``settings`` and ``breakers`` override the context's.
    """
    ctx = context or default_context()
    s = settings or ctx.settings
    board = breakers or ctx.breakers
    ctx.warm_up()
    timeout = s.health_timeout_seconds if timeout is None else timeout
    start = time.monotonic()
    deadline = start + timeout
    report: dict[str, BackendStatus] = {}
    running: dict[str, tuple[threading.Thread, dict[str, Any], threading.Event]] = {}
    for name in list(names) if names is not None else ctx.list_backends():
        try:
            backend = ctx.get_backend(name)
        except Exception as e:
            st = _base_status(ctx, name, None, board)
            st.update(status="down", detail=f"cannot load: {type(e).__name__}: {mask(e)}")
            report[name] = st
            continue
        st = _base_status(ctx, name, backend, board)
        report[name] = st
        if not st["enabled"]:
            st["status"] = "disabled"
            continue
        why = configuration_problem(backend)
        if why:
            st.update(status="unconfigured", detail=mask(why))
            continue
        box: dict[str, Any] = {}
        stop = threading.Event()

        def run(
            b: Backend = backend, box: dict[str, Any] = box, stop: threading.Event = stop
        ) -> None:
            t0 = time.monotonic()
            try:
                run_probe(b, max(0.05, deadline - time.monotonic()), stop)
                box["latency"] = time.monotonic() - t0
            except BaseException as e:
                box["error"] = f"{type(e).__name__}: {mask(e)}"

        running[name] = (spawn(run, f"qp-health-{name}", stop), box, stop)
    for name, (t, box, stop) in running.items():
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            stop.set()  # ask it to finish; it is reported down either way
        st = report[name]
        if "latency" in box:
            st["latency_ms"] = round(box["latency"] * 1000, 1)
            slow = box["latency"] > s.health_degraded_latency_seconds
            if st["circuit"] != "closed" or slow:
                st["status"] = "degraded"
                st["detail"] = "slow probe" if slow else f"circuit breaker {st['circuit']}"
            else:
                st["status"] = "healthy"
        elif "error" in box:
            st.update(status="down", detail=f"probe failed: {box['error']}")
        else:
            st.update(status="down", detail=f"probe timed out after {timeout:g}s")
    return report
