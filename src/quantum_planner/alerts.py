"""Alerts, as the incident playbook calls them: ``send_alert("D-Wave backend disabled")``.

These act on the default backend context
(:func:`quantum_planner.backends.context.default_context`); the sender itself, its
formats and its dedup rules are :class:`quantum_planner.backends.alerts.AlertSender`.
"""

from quantum_planner.backends.alerts import SEVERITIES, AlertSender, build_payload
from quantum_planner.backends.ops import alert_async, flush_alerts, reset_dedup, send_alert

__all__ = [
    "SEVERITIES",
    "AlertSender",
    "alert_async",
    "build_payload",
    "flush_alerts",
    "reset_dedup",
    "send_alert",
]
