"""The playbook's Python operations, for the runbook scripts' ``--local`` mode.

    python scripts/lib/local_ops.py status                 # check_all_backends() as JSON
    python scripts/lib/local_ops.py switch NAME true|false # switch_backend(NAME, enabled=...)
    python scripts/lib/local_ops.py alert MESSAGE SEVERITY # send_alert(...); exit 1 if undelivered

Needs a Python that imports ``quantum_planner`` (the scripts use ``$QP_PYTHON``).
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
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

        # send_alert never raises; False means the webhook did not take it (or none is set)
        return 0 if send_alert(args[0], severity=args[1], alertname="EmergencyFailover") else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
