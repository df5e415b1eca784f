"""``test_credentials()``: check every remote backend's credentials, one line each."""

from __future__ import annotations

import threading
from typing import Any

from quantum_planner.backends.base import (
    FailureKind,
    backend_properties,
    classify,
    configuration_problem,
)
from quantum_planner.backends.context import BackendContext, default_context
from quantum_planner.backends.credentials import mask


def _check_one(backend: Any, timeout: float) -> dict[str, str]:
    why = configuration_problem(backend)
    if why:
        return {"status": "unconfigured", "detail": mask(why)}
    fn = getattr(backend, "check_credentials", None)
    if fn is None:
        return {"status": "unknown", "detail": "backend has no check_credentials()"}
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["detail"] = fn()
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=run, name=f"qp-credentials-{backend.name}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return {"status": "unreachable", "detail": f"no answer within {timeout:g}s"}
    if "error" in box:
        e = box["error"]
        kind = classify(e)
        status = {
            FailureKind.CREDENTIALS: "invalid",
            FailureKind.RETRY: "unreachable",
        }.get(kind, "error")
        return {"status": status, "detail": f"{type(e).__name__}: {mask(e)}"}
    return {"status": "ok", "detail": mask(box.get("detail") or "credentials accepted")}


def test_credentials(
    names: list[str] | None = None,
    *,
    timeout: float = 15.0,
    echo: bool = True,
    context: BackendContext | None = None,
) -> dict[str, dict[str, str]]:
    """Check the credentials of every remote backend (or ``names``), all at once.

    Returns ``{backend: {"status": ok|invalid|unreachable|unconfigured|error, "detail"}}``
    and, with ``echo``, prints one line per backend. Secrets never appear in the output.
    ``context``: whose backends (default: :func:`default_context`).
    """
    ctx = context or default_context()
    if names is None:
        names = [n for n in ctx.list_backends() if backend_properties(ctx.get_backend(n)).remote]
    results: dict[str, dict[str, str]] = {}
    threads = []
    for name in names:
        backend = ctx.get_backend(name)

        def run(name: str = name, backend: Any = backend) -> None:
            results[name] = _check_one(backend, timeout)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append((name, t))
    ordered: dict[str, dict[str, str]] = {}
    for name, t in threads:
        t.join(timeout + 1.0)
        ordered[name] = results.get(
            name, {"status": "unreachable", "detail": f"no answer within {timeout:g}s"}
        )
        if echo:
            print(f"{name}: {ordered[name]['status']} - {ordered[name]['detail']}")
    return ordered


test_credentials.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
