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
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from quantum_planner.backends import registry
from quantum_planner.backends.base import (
    Backend,
    as_candidates,
    backend_properties,
    configuration_problem,
)
from quantum_planner.backends.breaker import BreakerBoard, get_breakers
from quantum_planner.backends.credentials import mask
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.backends.threads import spawn
from quantum_planner.config import Settings, get_settings
from quantum_planner.model import Agent, Problem, Task

__all__ = ["BackendStatus", "check_all_backends", "check_backend", "probe_problem", "warm_up"]


def warm_up() -> None:
    """Create every registered backend now, in this thread (importing qiskit, OR-Tools...).

    Done when this module is imported, so the first bounded health check does not pay
    for the imports and no SDK is imported in a probe thread (importing qiskit there
    crashed the interpreter in our tests). Services should import this module at start-up.
    """
    for name in registry.list_backends():
        with contextlib.suppress(Exception):  # a broken backend is reported by the check
            registry.get_backend(name)


warm_up()


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


def probe_problem() -> Problem:
    """A tiny problem every backend should solve in milliseconds (3 tasks, 2 agents)."""
    return Problem(
        name="health-probe",
        agents=[Agent("p0", skills=["x"]), Agent("p1", skills=["x", "y"])],
        tasks=[
            Task("t0", required_skills=["x"], duration=1),
            Task("t1", required_skills=["y"], duration=2),
            Task("t2", required_skills=["x"], duration=1, dependencies=["t0"]),
        ],
    )


def _probe(backend: Backend, timeout: float, stop: threading.Event) -> None:
    custom = getattr(backend, "probe", None)
    if callable(custom):
        custom(timeout)
        return
    custom_problem = getattr(backend, "probe_problem", None)
    problem = custom_problem() if callable(custom_problem) else probe_problem()
    sols = as_candidates(
        backend.solve(problem, time_limit=min(0.5, max(0.05, timeout / 4)), seed=0, stop=stop),
        backend.name,
    )
    if not any(not candidate_problems(problem, s) for s in sols):
        raise ValueError("probe returned no valid plan")


def _base_status(name: str, backend: Backend | None, board: BreakerBoard) -> BackendStatus:
    snap = board.get(name).snapshot()
    props = backend_properties(backend).to_dict() if backend is not None else {}
    return BackendStatus(
        backend=name,
        status="unknown",
        kind=props.get("kind"),
        enabled=registry.is_enabled(name),
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
) -> BackendStatus:
    """Health of one backend (same rules as :func:`check_all_backends`)."""
    return check_all_backends(timeout, names=[name], settings=settings, breakers=breakers)[name]


def check_all_backends(
    timeout: float | None = None,
    *,
    names: Iterable[str] | None = None,
    settings: Settings | None = None,
    breakers: BreakerBoard | None = None,
) -> dict[str, BackendStatus]:
    """``{backend name: status}`` for every registered backend, within ``timeout`` seconds
    (default ``QP_HEALTH_TIMEOUT_SECONDS``, 3 s)."""
    s = settings or get_settings()
    board = breakers or get_breakers()
    timeout = s.health_timeout_seconds if timeout is None else timeout
    start = time.monotonic()
    deadline = start + timeout
    report: dict[str, BackendStatus] = {}
    running: dict[str, tuple[threading.Thread, dict[str, Any], threading.Event]] = {}
    for name in list(names) if names is not None else registry.list_backends():
        try:
            backend = registry.get_backend(name)
        except Exception as e:
            st = _base_status(name, None, board)
            st.update(status="down", detail=f"cannot load: {type(e).__name__}: {mask(e)}")
            report[name] = st
            continue
        st = _base_status(name, backend, board)
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
                _probe(b, max(0.05, deadline - time.monotonic()), stop)
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
