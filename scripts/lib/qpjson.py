"""JSON helpers for the runbook scripts (standard library only, so any python3 will do).

Subcommands (input file as first argument, or '-' for stdin):
  get FILE PATH [DEFAULT]   print the value at a dotted PATH (strings raw, others as JSON)
  checks FILE               one 'LEVEL NAME DETAIL' line per check of a readiness body
  backends FILE [SWITCHES]  one 'LEVEL NAME STATE DETAIL' line per backend, from a readiness
                            body or check_all_backends() output; SWITCHES (GET /api/backends)
                            overrides the enabled flags
  percentiles               read seconds (one per line) on stdin; print n, p50, p95, p99, max
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

OK_STATES = {"healthy", "ok", "up", "ready", "closed", "pass", "true"}
WARN_STATES = {"degraded", "half_open", "half-open"}
SKIP_STATES = {"disabled", "unconfigured", "skipped"}


def _load(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return json.loads(text)


def _get(doc: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _state(value: Any) -> str:
    """The state word of a check or backend entry, lower-cased."""
    if isinstance(value, bool):
        return "ok" if value else "down"
    if isinstance(value, dict):
        for key in ("status", "state", "ok", "healthy"):
            if key in value:
                return _state(value[key])
        return "unknown"
    return str(value).lower()


def _level(state: str) -> str:
    if state in OK_STATES:
        return "OK"
    if state in WARN_STATES:
        return "WARN"
    if state in SKIP_STATES:
        return "SKIP"
    return "FAIL"


def _detail(value: Any, skip: tuple[str, ...]) -> str:
    if not isinstance(value, dict):
        return str(value)
    parts = [f"{k}={v}" for k, v in value.items() if k not in skip and v not in (None, "", {})]
    return " ".join(parts)


def _entries(doc: Any, key: str) -> list[tuple[str, Any]]:
    """(name, entry) pairs from a mapping or from a list of objects with a name."""
    if isinstance(doc, dict) and key in doc:
        doc = doc[key]
    if isinstance(doc, dict):
        return list(doc.items())
    return [(str(item.get("name", "?")), item) for item in doc]


def _backend_table(doc: Any) -> Any:
    """The per-backend mapping, wherever it sits: a readiness body
    (checks.backends.detail.backends), GET /api/backends, or check_all_backends()."""
    try:
        return doc["checks"]["backends"]["detail"]["backends"]
    except (KeyError, TypeError):
        return doc


def cmd_get(path: str, dotted: str, default: str | None = None) -> int:
    try:
        value = _get(_load(path), dotted)
    except (KeyError, IndexError, TypeError, ValueError):
        if default is None:
            return 1
        value = default
    print(value if isinstance(value, str) else json.dumps(value))
    return 0


def cmd_checks(path: str) -> int:
    doc = _load(path)
    for name, value in _entries(doc, "checks"):
        detail = value.get("detail") if isinstance(value, dict) else None
        if isinstance(detail, dict) and "backends" in detail:
            # the per-backend table gets its own lines (see `backends`); summarise here
            usable = detail.get("usable") or []
            text = f"usable: {', '.join(usable)}" if usable else "no enabled healthy backend"
        else:
            text = _detail(value, ("status", "state", "ok"))
        print(_level(_state(value)), name, text)
    return 0


BACKEND_FIELDS = ("latency_ms", "circuit", "last_error", "detail")


def cmd_backends(path: str, switches: str | None = None) -> int:
    # the readiness report may be a few seconds old (the service probes in the background);
    # GET /api/backends, when given, has the switches as they are now
    fresh = {}
    if switches:
        fresh = {n: v.get("enabled") for n, v in _entries(_load(switches), "backends")}
    for name, value in _entries(_backend_table(_load(path)), "backends"):
        entry = dict(value) if isinstance(value, dict) else {"status": value}
        if isinstance(entry.get("detail"), dict):  # the readiness body nests the status
            entry.update(entry.pop("detail"))
        if fresh.get(name) is not None:
            entry["enabled"] = fresh[name]
        state = str(entry.get("status") or _state(entry)).lower()
        if entry.get("enabled") is False:
            state = "disabled"
        shown = {k: entry[k] for k in BACKEND_FIELDS if entry.get(k) not in (None, "")}
        print(_level(state), name, state, _detail(shown, ()))
    return 0


def cmd_percentiles() -> int:
    values = sorted(float(x) for x in sys.stdin.read().split())
    if not values:
        print("n=0")
        return 1

    def pct(q: float) -> float:
        # nearest-rank percentile: the smallest value with at least q of the sample at or below
        return values[max(0, math.ceil(q * len(values)) - 1)]

    print(
        f"n={len(values)} p50={pct(0.50):.3f}s p95={pct(0.95):.3f}s "
        f"p99={pct(0.99):.3f}s max={values[-1]:.3f}s"
    )
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "get":
        return cmd_get(*args)
    if cmd == "checks":
        return cmd_checks(*args)
    if cmd == "backends":
        return cmd_backends(*args)
    if cmd == "percentiles":
        return cmd_percentiles()
    print(f"unknown subcommand {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
