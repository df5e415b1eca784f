"""check_all_backends: every backend reported, bounded in time even when one hangs."""

from __future__ import annotations

import time

import pytest
from backend_fakes import FaultyBackend, PlanBackend

from quantum_planner.backends import (
    BackendContext,
    BaseBackend,
    BreakerBoard,
    InMemoryStateStore,
    switch_backend,
)
from quantum_planner.config import Settings
from quantum_planner.health import check_all_backends, check_backend


class NeedsToken(BaseBackend):
    name = "needs_token"

    def configuration_problem(self):
        return "set NEEDS_TOKEN"


@pytest.fixture
def ctx() -> BackendContext:
    """A fresh context with five test backends (one switched off), its backends created."""
    context = BackendContext(settings=Settings())
    for backend in [
        PlanBackend("h_ok"),
        FaultyBackend("h_hang", "hang", hang=4),
        FaultyBackend("h_broken", "unavailable"),
        PlanBackend("h_off"),
        NeedsToken(),
    ]:
        context.registry.register(backend)
    context.switch_backend("h_off", enabled=False)
    context.warm_up()  # the SDK imports are paid once per context, outside the bounds below
    return context


def test_every_backend_reported_within_5s_even_when_one_hangs(ctx):
    t0 = time.monotonic()
    report = check_all_backends(timeout=1.5, context=ctx)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.5 + 1.0, elapsed  # well inside the 5 s the playbook needs
    assert set(report) == set(ctx.list_backends())
    assert report["h_ok"]["status"] == "healthy" and report["h_ok"]["latency_ms"] >= 0
    assert report["h_hang"]["status"] == "down" and "timed out" in report["h_hang"]["detail"]
    assert report["h_broken"]["status"] == "down"
    assert "solver offline" in report["h_broken"]["detail"]
    assert report["h_off"]["status"] == "disabled"
    assert report["needs_token"]["status"] == "unconfigured"
    for status in report.values():
        assert status["status"] in {"healthy", "degraded", "down", "disabled", "unconfigured"}
        assert status["circuit"] in {"closed", "open", "half_open"}
        assert str(status).startswith(status["status"]) and "\n" not in str(status)  # one line


def test_default_timeout_is_bounded(ctx):
    t0 = time.monotonic()
    check_all_backends(context=ctx)
    assert time.monotonic() - t0 < 5.0


def test_open_breaker_reports_degraded_with_last_error(ctx):
    board = BreakerBoard(Settings(breaker_failure_threshold=1))
    board.get("h_ok").record_failure("timeout: no answer within 2s")
    st = check_backend("h_ok", timeout=2, breakers=board, context=ctx)
    assert st["status"] == "degraded"
    assert st["circuit"] == "open"
    assert st["last_error"] == "timeout: no answer within 2s"


def test_switch_takes_effect_everywhere_and_uses_the_store(ctx):
    store = InMemoryStateStore()
    ctx.states = store
    result = ctx.switch_backend("h_ok", enabled=False)
    assert store.get("h_ok") is False
    assert (result.previous, result.enabled, result.shared) == (True, False, False)
    assert check_backend("h_ok", context=ctx)["status"] == "disabled"
    ctx.switch_backend("h_ok", enabled=True)
    assert check_backend("h_ok", timeout=2, context=ctx)["status"] == "healthy"
    assert ctx.get_backend("h_ok") is ctx.get_backend("h_ok")


def test_contexts_do_not_share_backends_or_switches(ctx):
    other = BackendContext(settings=Settings())
    assert "h_ok" not in other.list_backends()
    other.switch_backend("greedy", enabled=False)
    assert not other.is_enabled("greedy") and ctx.is_enabled("greedy")


def test_switch_unknown_backend_is_a_typed_error():
    from quantum_planner.errors import UnknownBackendError

    with pytest.raises(UnknownBackendError):
        switch_backend("no_such_backend", enabled=False)
