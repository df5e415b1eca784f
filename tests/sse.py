"""A small Server-Sent Events reader over a real httpx stream (for tests)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx


def read_events(
    client: httpx.Client,
    url: str,
    *,
    last_event_id: str | None = None,
    timeout: float = 60.0,
    stop_after: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """``(status, events)`` of an SSE endpoint, read until the server closes the stream
    (or ``stop_after`` events). Each event: ``{"id", "event", "data"}`` (data parsed)."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with client.stream("GET", url, headers=headers, timeout=timeout) as r:
        if r.status_code != 200:
            r.read()
            return r.status_code, [r.json()]
        assert r.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in r.iter_lines():
            if time.monotonic() > deadline:
                raise AssertionError(f"stream did not end in {timeout}s: {events}")
            if line == "":
                if "data" in current or "event" in current:
                    events.append(current)
                    if stop_after is not None and len(events) >= stop_after:
                        return 200, events
                current = {}
            elif line.startswith(":"):
                continue
            else:
                key, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                current[key] = json.loads(value) if key == "data" else value
    return 200, events
