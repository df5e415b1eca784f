"""Alerts to a webhook (Slack-style JSON or Alertmanager's API v2) and to the log.

``send_alert`` never raises: a failure to alert is logged and counted, so it can never
break a solve. The webhook is ``QP_ALERT_WEBHOOK_URL``; ``QP_ALERT_FORMAT`` is ``slack``
(``{"text": ...}``, also fine for Mattermost, Teams workflows and most chat webhooks) or
``alertmanager`` (a JSON list POSTed to ``<url>/api/v2/alerts``).

One :class:`AlertSender` per :class:`~quantum_planner.backends.context.BackendContext`
keeps the dedup table and the background sender; the playbook's
``quantum_planner.alerts.send_alert`` uses the default context's. The backends layer
alerts from inside solves through :meth:`AlertSender.send_async`, which hands the HTTP
call to one background thread so a slow webhook does not slow a plan.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from quantum_planner.backends.counters import Counters, InMemoryCounters
from quantum_planner.backends.credentials import mask
from quantum_planner.config import Settings, get_settings

log = logging.getLogger("quantum_planner.alerts")

SEVERITIES = ("info", "warning", "error", "critical")
_LEVELS = {
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def build_payload(message: str, severity: str, labels: dict[str, str], fmt: str) -> tuple[str, Any]:
    """``(path suffix, JSON body)`` for the webhook format ``fmt``."""
    if fmt == "alertmanager":
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        alert_labels = {
            "alertname": labels.get("alertname", "QuantumPlannerAlert"),
            "service": "quantum-planner",
            "severity": severity,
            **{k: str(v) for k, v in labels.items()},
        }
        body = [{"labels": alert_labels, "annotations": {"summary": message}, "startsAt": now}]
        return "/api/v2/alerts", body
    extra = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    text = f"[{severity.upper()}] quantum-planner: {message}" + (f" ({extra})" if extra else "")
    return "", {"text": text}


def _url(base: str, suffix: str) -> str:
    if suffix and not base.rstrip("/").endswith(suffix):
        return base.rstrip("/") + suffix
    return base


def _dedup_key(message: str, severity: str, labels: dict[str, str]) -> tuple[str, ...]:
    # alerts that name themselves dedupe by name + labels; others by their text
    if "alertname" in labels:
        return (severity, *(f"{k}={v}" for k, v in sorted(labels.items())))
    return (severity, message)


class AlertSender:
    """Sends alerts for one context: its settings, its counters, its dedup table and its
    background sender thread (started on the first queued alert, never at import)."""

    def __init__(self, settings: Settings | None = None, counters: Counters | None = None) -> None:
        self._settings = settings
        self.counters: Counters = counters if counters is not None else InMemoryCounters()
        self._dedup_lock = threading.Lock()
        self._last_sent: dict[tuple[str, ...], float] = {}
        self._queue: queue.Queue[tuple[str, str, Settings | None, dict[str, Any]]] = queue.Queue(
            maxsize=1000
        )
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def send(
        self,
        message: str,
        severity: str = "warning",
        *,
        settings: Settings | None = None,
        **labels: Any,
    ) -> bool:
        """Log ``message`` and POST it to the configured webhook; True if delivered.

        ``labels`` (e.g. ``backend="dwave"``, ``alertname="BackendFailover"``) go into the
        Alertmanager labels or the Slack text. Identical alerts within
        ``QP_ALERT_DEDUP_SECONDS`` are logged but sent once. Never raises.
        """
        try:
            return self._send(message, severity, settings or self.settings, labels)
        except Exception as e:  # alerting must never break the caller
            log.error("alert failed: %s: %s", type(e).__name__, e)
            return False

    def _count(self, severity: str, result: str) -> None:
        self.counters.inc("alerts_total", severity=severity, result=result)

    def _claim(self, key: tuple[str, ...], window: float) -> bool:
        """Whether an alert with ``key`` may be sent now (not sent within ``window`` s)."""
        now = time.monotonic()
        with self._dedup_lock:
            last = self._last_sent.get(key)
            if last is not None and now - last < window:
                return False
            self._last_sent[key] = now
            return True

    def _send(
        self, message: str, severity: str, settings: Settings, labels: dict[str, Any]
    ) -> bool:
        severity = severity.lower() if severity.lower() in SEVERITIES else "warning"
        message = mask(message, settings)
        str_labels = {k: mask(str(v), settings) for k, v in labels.items()}
        log.log(_LEVELS[severity], "ALERT %s: %s %s", severity, message, str_labels or "")
        url = settings.alert_webhook_url
        if not url:
            self._count(severity, "logged")
            return False
        key = _dedup_key(message, severity, str_labels)
        if not self._claim(key, settings.alert_dedup_seconds):
            self._count(severity, "suppressed")
            return False
        suffix, body = build_payload(message, severity, str_labels, settings.alert_format.lower())
        req = urllib.request.Request(
            _url(url, suffix),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "quantum-planner"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=settings.alert_timeout_seconds) as resp:
                ok = 200 <= resp.status < 300
        except Exception as e:
            with self._dedup_lock:  # let the next identical alert try again
                self._last_sent.pop(key, None)
            log.error("alert webhook failed (%s): %s", type(e).__name__, mask(str(e), settings))
            self._count(severity, "failed")
            return False
        self._count(severity, "sent" if ok else "failed")
        if not ok:
            log.error("alert webhook answered HTTP %s", resp.status)
        return ok

    def reset_dedup(self) -> None:
        """Forget which alerts were sent (tests, or after an operator acknowledged them)."""
        with self._dedup_lock:
            self._last_sent.clear()

    def send_async(
        self,
        message: str,
        severity: str = "warning",
        *,
        settings: Settings | None = None,
        **labels: Any,
    ) -> None:
        """Queue an alert for the background sender (returns at once)."""
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="qp-alerts", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((message, severity, settings, labels))
        except queue.Full:
            log.error("alert queue full; dropped: %s", message)

    def _run(self) -> None:
        while True:
            message, severity, settings, labels = self._queue.get()
            try:
                self.send(message, severity, settings=settings, **labels)
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued alert was handled; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True
