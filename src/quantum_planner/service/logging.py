"""JSON-lines logs: one object per line, with the request id, never a secret.

Each app builds its own :class:`logging.Logger` (not registered globally), so
tests can run several apps side by side and read what each one wrote.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from quantum_planner.errors import ConfigurationError

request_id_var: ContextVar[str | None] = ContextVar("qp_request_id", default=None)

# API keys and bearer tokens are scrubbed from every message, whatever logged them
_SECRET = re.compile(r"(qp_[A-Za-z0-9_\-]{16,}|(?i:bearer)\s+[A-Za-z0-9._~+/\-]+=*)")
_FIELDS = ("route", "method", "status", "duration_ms", "backend", "job_id", "client", "error")


def redact(text: str) -> str:
    """``text`` with API keys and bearer tokens replaced by ``[REDACTED]``."""
    return _SECRET.sub("[REDACTED]", text)


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON object: timestamp, level, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key in _FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            # logs (not responses) keep the trace; "EXCEPTION" lets the playbook's grep find it
            out["level"] = "ERROR"
            out["exception"] = redact(self.formatException(record.exc_info))
            out["event"] = "EXCEPTION"
        return json.dumps(out, default=str)


def make_logger(
    name: str = "quantum_planner.service",
    *,
    level: str = "INFO",
    log_file: str | None = None,
    stream: IO[str] | None = None,
) -> logging.Logger:
    """A private logger writing JSON lines to ``stream`` (stdout) and ``log_file`` if set."""
    logger = logging.Logger(name, level=level.upper())
    fmt = JSONFormatter()
    console = logging.StreamHandler(stream or sys.stdout)
    console.setFormatter(fmt)
    logger.addHandler(console)
    if log_file:
        logger.addHandler(_file_handler(log_file, fmt))
    return logger


def _file_handler(log_file: str, fmt: logging.Formatter) -> logging.FileHandler:
    """Append to ``log_file`` (QP_LOG_FILE), creating its directory; a path that cannot be
    written is a configuration error naming the setting, not a traceback at start-up."""
    path = Path(log_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as e:
        raise ConfigurationError(
            f"QP_LOG_FILE={log_file!r} cannot be written ({e.strerror or e}); "
            "point it at a writable file or unset it",
            field="log_file",
        ) from None
    handler.setFormatter(fmt)
    return handler


def attach(logger: logging.Logger, *names: str) -> None:
    """Route other libraries' loggers (e.g. ``uvicorn.error``) through ``logger``'s handlers."""
    for n in names:
        other = logging.getLogger(n)
        other.handlers = list(logger.handlers)
        other.propagate = False
