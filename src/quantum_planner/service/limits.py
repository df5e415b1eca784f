"""Request limits: body size (ASGI middleware), problem size, time limit, per-key rate."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantum_planner.bounds import TIME_LIMIT_MIN
from quantum_planner.config import Settings
from quantum_planner.errors import UnknownBackendError
from quantum_planner.planner import known_backends
from quantum_planner.service.errors import APIError, error_response


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` (413) and bodies that are not UTF-8 (400).

    By Content-Length when one is sent, else by counting while reading: a chunked
    body is read here (at most ``max_bytes`` + one chunk) and replayed to the app,
    so an oversized one is answered with 413 ``body_too_large`` from this middleware
    rather than surfacing as a parse error inside the framework.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, on_refuse: Callable[[str], None] | None = None
    ) -> None:
        self.app, self.max_bytes, self.on_refuse = app, max_bytes, on_refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(self._too_large(), scope, receive, send)
                    return
        chunks: list[bytes] = []
        seen = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":  # the client went away: let the app see it
                replay = [msg]
                break
            chunk = msg.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(self._too_large(), scope, receive, send)
                return
            chunks.append(chunk)
            if not msg.get("more_body", False):
                replay = []
                break
        body = b"".join(chunks)
        if body and not _is_utf8(body):
            await self._refuse(
                APIError(
                    400,
                    "invalid_encoding",
                    "the request body is not valid UTF-8; send JSON encoded as UTF-8",
                    field="body",
                ),
                scope,
                receive,
                send,
            )
            return
        pending: list[Message] = [
            {"type": "http.request", "body": body, "more_body": False},
            *replay,
        ]

        async def replayed() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, err: APIError, scope: Scope, receive: Receive, send: Send) -> None:
        # outside the app's exception handlers: answer here
        if self.on_refuse is not None:
            self.on_refuse(err.code)
        response = error_response(err.status, err.code, err.message, field=err.field)
        await response(scope, receive, send)

    def _too_large(self) -> APIError:
        return APIError(
            413,
            "body_too_large",
            f"request body exceeds {self.max_bytes} bytes; send a smaller problem "
            "(or raise QP_MAX_BODY_BYTES on the server)",
            field="body",
        )


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_problem_size(raw: Any, settings: Settings) -> None:
    """Refuse problems with too many agents or tasks before validating them in full."""
    if not isinstance(raw, dict):
        return  # the model's own validation names the type error
    for key, limit in (("agents", settings.max_agents), ("tasks", settings.max_tasks)):
        items = raw.get(key)
        if isinstance(items, list) and len(items) > limit:
            raise APIError(
                413,
                f"too_many_{key}",
                f"the problem has {len(items)} {key}; this server accepts at most {limit}. "
                f"Split the problem, or raise QP_MAX_{key.upper()}",
                field=f"problem.{key}",
            )


def time_limit_max(settings: Settings, *, sync: bool) -> float:
    """Largest ``time_limit`` of a synchronous solve (``sync``) or of a job on this server.

    The routes check against it and the OpenAPI document shows it (service/openapi.py).
    """
    if sync:
        return min(settings.max_time_limit, settings.sync_max_time_limit)
    return settings.max_time_limit


def backend_choices() -> list[str]:
    """What a request's ``backend`` may name: checked here, an enum in the OpenAPI document."""
    return ["auto", *known_backends()]


def check_backend(name: str | None) -> None:
    """Refuse a ``backend`` the planner does not know, before anything is stored."""
    known = backend_choices()
    if name is not None and name not in known:
        raise UnknownBackendError(
            f"unknown backend; use one of: {', '.join(known)}", field="backend"
        )


def check_time_limit(value: float | None, maximum: float, default: float) -> float:
    """The time limit to use: ``value`` or ``default``, refused if over ``maximum``."""
    tl = default if value is None else value
    if not math.isfinite(tl) or tl < TIME_LIMIT_MIN or tl > maximum:
        raise APIError(
            422,
            "time_limit_out_of_range",
            f"time_limit must be from {TIME_LIMIT_MIN:g} to {maximum:g} seconds on this server, "
            f"got {tl:g}",
            field="time_limit",
        )
    return min(tl, maximum)


class RateLimiter:
    """Token bucket per key: ``per_minute`` requests a minute, bursts up to the same.

    In memory, so each replica counts on its own; ``per_minute <= 0`` turns it off.
    """

    def __init__(self, per_minute: int, on_refuse: Callable[[], None] | None = None) -> None:
        self.per_minute = per_minute
        self.on_refuse = on_refuse
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Take one token; None if allowed, else seconds until a token is free."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def check(self, key: str) -> None:
        wait = self.hit(key)
        if wait is not None:
            if self.on_refuse is not None:
                self.on_refuse()
            raise APIError(
                429,
                "rate_limited",
                f"more than {self.per_minute} requests a minute with this key; retry in "
                f"{math.ceil(wait)} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
