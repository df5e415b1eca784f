"""The playbook's Python operations, for the runbook scripts' ``--local`` mode.

    python scripts/lib/local_ops.py status                 # check_all_backends() as JSON
    python scripts/lib/local_ops.py switch NAME true|false # switch_backend(NAME, enabled=...)
    python scripts/lib/local_ops.py alert MESSAGE SEVERITY # send_alert(...); exit 1 if undelivered,
                                                           # 3 if no webhook is configured

Needs a Python that imports ``quantum_planner`` (the scripts use ``$QP_PYTHON``). With
``QP_DATABASE_URL`` set, switches are stored in that database, as the service stores them.
"""

from __future__ import annotations

import json
import os
import sys

NO_WEBHOOK = 3  # exit status of `alert` when no webhook is configured (nothing to deliver to)


def _shared_switches() -> None:
    """With QP_DATABASE_URL set, keep switches in the service's database so that every
    replica and worker sees them (as the service itself does), not just this process."""
    if not os.environ.get("QP_DATABASE_URL"):
        return
    try:
        from quantum_planner.jobs.worker import install_backend_store
        from quantum_planner.store import Database
    except ImportError:  # the service extra is not installed: switches stay in-process
        return
    from quantum_planner.config import get_settings

    url = get_settings().database_url
    Database(url).migrate()  # a fresh database gets the backend_state table
    install_backend_store(url)


def main(argv: list[str]) -> int:
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd in {"status", "switch"}:
        _shared_switches()
    if cmd == "status" and not args:
        from quantum_planner.health import check_all_backends

        json.dump({k: dict(v) for k, v in check_all_backends().items()}, sys.stdout, default=str)
        return 0
    if cmd == "switch" and len(args) == 2 and args[1] in {"true", "false"}:
        from quantum_planner.backends import switch_backend

        switch_backend(args[0], enabled=args[1] == "true")
        return 0
    if cmd == "alert" and len(args) == 2:
        from quantum_planner.alerts import send_alert
        from quantum_planner.config import get_settings

        if not get_settings().alert_webhook_url:
            send_alert(args[0], severity=args[1], alertname="EmergencyFailover")  # logged only
            return NO_WEBHOOK
        # send_alert never raises; False means the webhook did not take it (or none is set)
        return 0 if send_alert(args[0], severity=args[1], alertname="EmergencyFailover") else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
