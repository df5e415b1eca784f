"""Failover executor under injected faults: hangs, transient errors, credentials, corruption."""

from __future__ import annotations

import random
import time

import pytest
from backend_fakes import FaultyBackend, PlanBackend, WebhookReceiver, make_problem

from quantum_planner.backends import BackendContext, BreakerBoard, FailoverExecutor
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.config import Settings
from quantum_planner.errors import BackendUnavailableError, CredentialsError


def settings(**kw) -> Settings:
    base = dict(
        breaker_failure_threshold=3,
        breaker_reset_seconds=0.3,
        retry_backoff_seconds=0.002,
        retry_backoff_max_seconds=0.01,
        max_retries=2,
        failover_last_resort=None,
        alert_webhook_url=None,
        alert_dedup_seconds=0.0,
    )
    base.update(kw)
    return Settings(**base)


def executor(backends, s=None, **kw):
    """An executor on a fresh context holding ``backends`` (and the built-ins)."""
    s = s or settings()
    ctx = BackendContext(settings=s)
    for b in backends:
        ctx.registry.register(b)
    sent = []
    ex = FailoverExecutor(
        context=ctx,
        alert=kw.pop("alert", lambda msg, sev, **labels: sent.append((msg, sev, labels))),
        enabled=kw.pop("enabled", lambda name: True),
        **kw,
    )
    ex.sent = sent
    return ex


def test_primary_serves_when_healthy():
    problem = make_problem()
    ex = executor([PlanBackend("primary"), PlanBackend("backup")])
    sol = ex.solve(problem, ["primary", "backup"], time_limit=1.0, seed=3)
    assert sol.backend_used == "primary"
    assert [a.outcome for a in sol.backends_tried] == ["success"]
    assert sol.seed == 3 and sol.feasible and not candidate_problems(problem, sol)


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("hang", "timeout"),
        ("unavailable", "failed"),
        ("crash", "failed"),
        ("corrupt", "invalid"),
        ("wrong_type", "invalid"),
    ],
)
def test_each_fault_fails_over(fault, outcome):
    problem = make_problem()
    ex = executor([FaultyBackend("primary", fault, hang=3.0), PlanBackend("backup")])
    t0 = time.monotonic()
    sol = ex.solve(problem, ["primary", "backup"], time_limit=0.5)
    elapsed = time.monotonic() - t0
    assert sol.backend_used == "backup"
    first = sol.backends_tried[0]
    assert (first.backend, first.outcome) == ("primary", outcome)
    assert first.reason
    # a hang costs at most the primary's share (0.35 s of 0.5), not the 3 s it would hang;
    # the slack absorbs a loaded CI machine's late wake-ups, the 3 s hang would still fail it
    assert first.seconds < 0.5 + 0.15, first.seconds
    assert elapsed < 0.5 + 0.5, elapsed
    assert ex.counters.value("backend_failovers_total", backend="primary") == 1
    assert any(labels.get("alertname") == "BackendFailover" for _, _, labels in ex.sent)


def test_transient_errors_are_retried_with_backoff_then_succeed():
    problem = make_problem()
    primary = FaultyBackend("primary", "transient", fails=lambda i: i < 2)
    delays = []
    ex = executor(
        [primary, PlanBackend("backup")], sleep=lambda d: (delays.append(d), time.sleep(d))
    )
    sol = ex.solve(problem, ["primary", "backup"], time_limit=1.0)
    assert sol.backend_used == "primary" and primary.calls == 3
    assert delays == [0.002, 0.004]  # exponential
    assert ex.counters.value("backend_retries_total", backend="primary") == 2


def test_transient_errors_exhaust_retries_then_fail_over():
    ex = executor([FaultyBackend("primary", "transient"), PlanBackend("backup")])
    sol = ex.solve(make_problem(), ["primary", "backup"], time_limit=1.0)
    assert sol.backend_used == "backup"
    assert ex.resolve("primary").calls == 3  # 1 + max_retries
    assert sol.backends_tried[0].reason.startswith("retry: TransientBackendError")


def test_non_transient_failures_are_not_retried():
    primary = FaultyBackend("primary", "unavailable")
    ex = executor([primary, PlanBackend("backup")])
    ex.solve(make_problem(), ["primary", "backup"], time_limit=1.0)
    assert primary.calls == 1


def test_credentials_error_alerts_critical_trips_breaker_masks_secret():
    primary = FaultyBackend("primary", "credentials")
    ex = executor([primary, PlanBackend("backup")])
    sol = ex.solve(make_problem(), ["primary", "backup"], time_limit=1.0)
    assert primary.calls == 1  # never retried
    assert sol.backend_used == "backup"
    assert "SECRET123" not in sol.backends_tried[0].reason
    crit = [(m, labels) for m, sev, labels in ex.sent if sev == "critical"]
    names = {labels["alertname"] for _, labels in crit}
    assert {"BackendCredentials", "BackendCircuitOpen"} <= names
    assert all("SECRET123" not in m for m, _ in crit)
    # the breaker opened at once: the next solve does not call the backend
    sol2 = ex.solve(make_problem(), ["primary", "backup"], time_limit=1.0)
    assert primary.calls == 1
    assert sol2.backends_tried[0].outcome == "skipped"
    assert "circuit breaker open" in sol2.backends_tried[0].reason


def test_credentials_error_can_be_made_fatal():
    ex = executor(
        [FaultyBackend("primary", "credentials"), PlanBackend("backup")],
        settings(fail_over_on_credentials_error=False),
    )
    with pytest.raises(CredentialsError) as e:
        ex.solve(make_problem(), ["primary", "backup"], time_limit=1.0)
    assert "SECRET123" not in str(e.value)


def test_disabled_backend_is_skipped():
    ex = executor([PlanBackend("primary"), PlanBackend("backup")], enabled=lambda n: n != "primary")
    sol = ex.solve(make_problem(), ["primary", "backup"], time_limit=1.0)
    assert sol.backend_used == "backup"
    assert sol.backends_tried[0].model_dump()["reason"] == "disabled"


def test_whole_chain_failing_raises_typed_error_listing_attempts():
    ex = executor([FaultyBackend("p", "unavailable"), FaultyBackend("q", "corrupt")])
    with pytest.raises(BackendUnavailableError) as e:
        ex.solve(make_problem(), ["p", "q"], time_limit=0.5)
    assert [a["outcome"] for a in e.value.details["attempts"]] == ["failed", "invalid"]


def test_last_resort_serves_when_chain_fails():
    ex = executor(
        [FaultyBackend("p", "unavailable"), PlanBackend("rescue")],
        settings(failover_last_resort="rescue"),
    )
    sol = ex.solve(make_problem(), ["p"], time_limit=0.5)
    assert sol.backend_used == "rescue"


def test_per_backend_timeout_caps_the_budget():
    ex = executor(
        [FaultyBackend("primary", "hang", hang=2.0), PlanBackend("backup")],
        settings(backend_timeouts={"primary": 0.1}),
    )
    t0 = time.monotonic()
    sol = ex.solve(make_problem(), ["primary", "backup"], time_limit=5.0)
    assert sol.backend_used == "backup"
    assert time.monotonic() - t0 < 0.5


def test_best_valid_candidate_wins():
    problem = make_problem(10, 3, seed=4)

    class Several(PlanBackend):
        def solve(self, problem, **kw):
            good = super().solve(problem, **kw)
            # a valid but worse plan: everything on one eligible agent chain is longer
            from backend_fakes import corrupt

            return [corrupt(good, "nan"), good]

    ex = executor([Several("multi")])
    sol = ex.solve(problem, ["multi"], time_limit=1.0)
    assert not candidate_problems(problem, sol)


def test_200_solves_primary_failing_half_the_time_lose_nothing():
    """The acceptance run: every request gets a valid plan in time; the breaker opens and
    closes again; alerts reach a real webhook on loopback."""
    rng = random.Random(7)
    faults = ["hang", "transient", "corrupt", "unavailable", "crash"]
    pattern = [rng.random() < 0.5 for _ in range(400)]
    # failures come in bursts too, so the breaker has something to open on
    for i in range(40, 48):
        pattern[i] = True
    primary = FaultyBackend(
        "primary", lambda i: faults[i % len(faults)], fails=lambda i: pattern[i % 400], hang=1.0
    )
    backup = PlanBackend("backup")
    # the margin covers thread scheduling on a busy 2-core machine (one solve of 200 took
    # 0.52 s there once); a hang that was not cut off would take the full second (hang=1.0)
    time_limit, margin = 0.15, 0.35
    opened_at = []
    now = [0.0]  # the breakers' clock advances 0.05 s per request: cool-down = 6 requests
    with WebhookReceiver() as hook:
        s = settings(alert_webhook_url=hook.url + "/hooks/ops", alert_format="slack")
        ex = executor([primary, backup], s, alert=None)
        ex.context.breakers = BreakerBoard(s, clock=lambda: now[0])
        used: list[str] = []
        opened_at: list[int] = []
        ex.breakers.on_open = lambda name, n, err: opened_at.append(len(used))
        slowest = 0.0
        t_all = time.monotonic()
        for k in range(200):
            now[0] += 0.05
            problem = make_problem(8, 3, seed=k)
            t0 = time.monotonic()
            sol = ex.solve(problem, ["primary", "backup"], time_limit=time_limit, seed=k)
            slowest = max(slowest, time.monotonic() - t0)
            assert not candidate_problems(problem, sol), sol.backends_tried
            assert sol.backend_used in {"primary", "backup"}
            used.append(sol.backend_used)
        total = time.monotonic() - t_all
        assert ex.context.alerts.flush(10)
    assert len(used) == 200
    assert slowest <= time_limit + margin, slowest
    assert total < 30
    assert opened_at, "breaker never opened"
    # the breaker closed again: the primary served after the first opening
    assert "primary" in used[opened_at[0] :]
    assert used.count("primary") > 40 and used.count("backup") > 40
    skipped = ex.counters.value("backend_solves_total", backend="primary", outcome="skipped")
    assert skipped > 0  # while open, the primary was not called
    texts = hook.texts()
    assert any("failover: backend primary left" in t for t in texts)
    assert any("circuit breaker for backend primary opened" in t for t in texts)
    assert all(path == "/hooks/ops" for path, _ in hook.received)


class OneAgentLiar(PlanBackend):
    """Well-formed plans that break constraints: everything on the first agent at t=0."""

    def solve(self, problem, **kw):
        from quantum_planner.solvers.base import make_solution

        first = problem.agents[0].id
        assignments = {t.id: first for t in problem.tasks}
        schedule = {first: {t.id: (0.0, t.duration) for t in problem.tasks}}
        return make_solution(problem, assignments, schedule, backend=self.name)


def test_constraint_breaking_plans_count_against_a_backend_only_if_another_finds_a_plan():
    problem = make_problem(6, 3, seed=1)
    ex = executor([OneAgentLiar("liar"), PlanBackend("backup")])
    sol = ex.solve(problem, ["liar", "backup"], time_limit=1.0)
    assert sol.backends_tried[0].outcome == "invalid"
    assert "overlap" in sol.backends_tried[0].reason
    assert ex.breakers.get("liar").snapshot().failures == 1
    assert any(labels.get("alertname") == "BackendFailover" for _, _, labels in ex.sent)

    # alone, its invalid plans may just mean an infeasible problem: no breaker count, no alert
    ex2 = executor([OneAgentLiar("liar")])
    with pytest.raises(BackendUnavailableError) as e:
        ex2.solve(problem, ["liar"], time_limit=1.0)
    assert e.value.best_invalid.violations  # the planner reports them
    assert ex2.breakers.get("liar").snapshot().failures == 0
    assert ex2.sent == []


def test_last_resort_ignores_its_open_breaker():
    ex = executor(
        [FaultyBackend("p", "unavailable"), PlanBackend("rescue")],
        settings(failover_last_resort="rescue", breaker_failure_threshold=1),
    )
    ex.breakers.get("rescue").record_failure("earlier", trip=True)
    sol = ex.solve(make_problem(), ["p"], time_limit=0.5)
    assert sol.backend_used == "rescue"
