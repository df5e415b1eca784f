"""Alerts reach a real webhook on loopback, in Slack and Alertmanager formats; never raise."""

from __future__ import annotations

import logging

import pytest
from backend_fakes import WebhookReceiver

from quantum_planner import alerts
from quantum_planner.backends import AlertSender, InMemoryCounters
from quantum_planner.config import Settings


@pytest.fixture
def sender() -> AlertSender:
    """A fresh sender: its own dedup table, background thread and counters."""
    return AlertSender(counters=InMemoryCounters())


def test_slack_format_and_log(caplog, sender):
    with WebhookReceiver() as hook:
        s = Settings(alert_webhook_url=hook.url + "/slack", alert_format="slack")
        with caplog.at_level(logging.WARNING, logger="quantum_planner.alerts"):
            ok = sender.send("D-Wave backend disabled - using fallback", settings=s)
    assert ok
    [(path, body)] = hook.received
    assert path == "/slack"
    assert body == {"text": "[WARNING] quantum-planner: D-Wave backend disabled - using fallback"}
    assert "D-Wave backend disabled" in caplog.text


def test_alertmanager_v2_format_with_labels(sender):
    with WebhookReceiver() as hook:
        s = Settings(alert_webhook_url=hook.url, alert_format="alertmanager")
        assert sender.send("breaker open", "critical", settings=s, backend="dwave")
    [(path, body)] = hook.received
    assert path == "/api/v2/alerts"
    [alert] = body
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["backend"] == "dwave"
    assert alert["labels"]["alertname"] == "QuantumPlannerAlert"
    assert alert["annotations"]["summary"] == "breaker open"
    assert alert["startsAt"].endswith("Z")


def test_unreachable_webhook_is_logged_not_raised(caplog, sender):
    # a closed port on loopback: connection refused
    with WebhookReceiver() as hook:
        url = hook.url
    s = Settings(alert_webhook_url=url, alert_timeout_seconds=0.5)
    with caplog.at_level(logging.ERROR, logger="quantum_planner.alerts"):
        assert sender.send("x", settings=s) is False
    assert "alert webhook failed" in caplog.text
    assert sender.counters.value("alerts_total", result="failed") == 1


def test_secrets_are_masked(monkeypatch, sender):
    monkeypatch.setenv("DWAVE_API_TOKEN", "DEV-abcdef123456")
    with WebhookReceiver() as hook:
        s = Settings(alert_webhook_url=hook.url)
        sender.send("auth failed with DEV-abcdef123456 and token=xyz789secret", settings=s)
    text = hook.received[0][1]["text"]
    assert "abcdef123456" not in text and "xyz789secret" not in text and "***" in text


def test_dedup_window_and_async_flush(sender):
    with WebhookReceiver() as hook:
        s = Settings(alert_webhook_url=hook.url, alert_dedup_seconds=60)
        for _ in range(5):
            sender.send_async("failover", settings=s, alertname="BackendFailover", backend="a")
        sender.send_async("failover", settings=s, alertname="BackendFailover", backend="b")
        assert sender.flush(5)
    assert len(hook.received) == 2
    assert sender.counters.value("alerts_total", result="suppressed") == 4


def test_no_webhook_only_logs(sender):
    assert sender.send("hello", "info", settings=Settings(alert_webhook_url=None)) is False


def test_playbook_send_alert_uses_the_default_context(default_context):
    """``quantum_planner.alerts.send_alert`` (as the playbook calls it) goes through the
    default context's sender, its counters and its dedup table."""
    with WebhookReceiver() as hook:
        default_context.alerts = AlertSender(Settings(alert_webhook_url=hook.url))
        assert alerts.send_alert("D-Wave backend disabled - using fallback")
        assert not alerts.send_alert("D-Wave backend disabled - using fallback")  # dedup
        alerts.reset_dedup()
        alerts.alert_async("D-Wave backend disabled - using fallback")
        assert alerts.flush_alerts(5)
    assert len(hook.received) == 2
    assert default_context.alerts.counters.value("alerts_total", result="sent") == 2
