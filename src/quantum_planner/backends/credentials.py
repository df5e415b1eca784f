"""Credentials for remote backends: read from the environment or a config file, never code.

Values are looked up by their usual names (``DWAVE_API_TOKEN``, ``QISKIT_IBM_TOKEN``,
``AZURE_QUANTUM_RESOURCE_ID``...), first in the environment, then in the file named by
``QP_CREDENTIALS_FILE`` (``KEY=VALUE`` lines or a JSON object). :func:`mask` removes every
known secret from a text; every message this layer logs or raises goes through it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from quantum_planner.config import Settings, get_settings

# names whose values are secrets (masked wherever they could appear)
SECRET_NAMES = (
    "DWAVE_API_TOKEN",
    "QISKIT_IBM_TOKEN",
    "AZURE_QUANTUM_CONNECTION_STRING",
    "AZURE_CLIENT_SECRET",
)
# names that configure a backend but are not secret
PLAIN_NAMES = (
    "DWAVE_API_ENDPOINT",
    "DWAVE_API_REGION",
    "QISKIT_IBM_CHANNEL",
    "QISKIT_IBM_INSTANCE",
    "AZURE_QUANTUM_RESOURCE_ID",
    "AZURE_QUANTUM_LOCATION",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
)
_TOKENISH = re.compile(
    r"(?i)((?:token|api[_-]?key|secret|password|authorization|sharedaccesskey)\s*[=:]\s*"
    r"(?:bearer\s+)?)[^\s,;'\"&]{8,}"
)


def _read_file(path: str) -> dict[str, str]:
    try:
        text = Path(path).expanduser().read_text()
    except OSError:
        return {}
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in data.items() if v is not None}
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return out


def get_credential(name: str, settings: Settings | None = None) -> str | None:
    """The value of ``name`` from the environment, else the credentials file; None if unset."""
    value = os.environ.get(name)
    if value:
        return value
    path = (settings or get_settings()).credentials_file
    if path:
        value = _read_file(path).get(name)
        if value:
            return value
    return None


def _known_secrets(settings: Settings | None) -> list[str]:
    values = []
    for name in SECRET_NAMES:
        try:
            v = get_credential(name, settings)
        except Exception:  # masking must never fail
            v = None
        if v and len(v) >= 4:
            values.append(v)
    return values


def mask(text: object, settings: Settings | None = None) -> str:
    """``text`` with every configured secret and every ``token=...`` style value replaced."""
    s = str(text)
    for secret in sorted(_known_secrets(settings), key=len, reverse=True):
        s = s.replace(secret, "***")
    return _TOKENISH.sub(lambda m: m.group(1) + "***", s)
