"""Worker liveness: ``qp:worker:<node name>`` keys in Redis, and unique node names.

A worker writes its key every few seconds while its main process lives (TTL
:data:`WORKER_TTL`), so the API's readiness, ``/metrics`` and ``scripts/health-check.sh``
all count live workers from the same keys. The key is the Celery node name, so two workers
on one host must not share one: :func:`default_node_name` gives each ``quantum-planner
worker`` its own unless ``--hostname`` names it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from celery import signals

WORKER_KEY = "qp:worker:"  # qp:worker:<node name> -> JSON, refreshed while the worker lives
WORKER_TTL = 15.0  # seconds a worker stays "live" after its last heartbeat

log = logging.getLogger("quantum_planner.jobs.celery")


def default_node_name(host: str | None = None) -> str:
    """``qp-<pid>-<4 hex>@<host>``: unique per worker process, even on one host.

    Celery's own default, ``celery@<host>``, is the same for every worker on a host: their
    liveness keys (and remote-control replies) collide, and readiness counts one worker.
    """
    return f"qp-{os.getpid()}-{uuid.uuid4().hex[:4]}@{host or socket.gethostname()}"


class _Liveness:
    """Writes ``qp:worker:<node>`` every few seconds while the worker process lives."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.key = ""

    def start(self, redis_url: str, node: str, concurrency: int) -> None:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        self.key = WORKER_KEY + node
        info = {"pid": os.getpid(), "concurrency": concurrency, "started": time.time()}

        def loop() -> None:
            while True:
                try:
                    payload = json.dumps({**info, "seen": time.time()})
                    client.set(self.key, payload, ex=int(WORKER_TTL))
                except Exception:  # Redis restarting: the key comes back with it
                    log.debug("worker heartbeat failed", exc_info=True)
                if self.stop.wait(WORKER_TTL / 3):
                    break
            with contextlib.suppress(Exception):
                client.delete(self.key)

        self.stop.clear()
        self.thread = threading.Thread(target=loop, name="qp-worker-liveness", daemon=True)
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


_liveness = _Liveness()


def _on_ready(sender: Any = None, **_: Any) -> None:
    app = getattr(sender, "app", None)
    settings = app.conf.get("qp_settings") if app is not None else None
    if settings is None:  # a Celery app that is not ours
        return
    node = getattr(sender, "hostname", None) or f"celery@{socket.gethostname()}"
    concurrency = int(getattr(getattr(sender, "controller", None), "concurrency", 0) or 1)
    _liveness.start(settings.redis_url, node, concurrency)
    log.info("worker %s live (concurrency %d)", node, concurrency)


def _on_shutdown(**_: Any) -> None:
    _liveness.end()


def connect_signals() -> None:
    """Announce the worker in Redis once it is ready; withdraw it at shutdown (idempotent)."""
    signals.worker_ready.connect(_on_ready, weak=False, dispatch_uid="qp-worker-ready")
    signals.worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="qp-worker-shutdown")


def live_workers(redis_url: str) -> dict[str, dict[str, Any]]:
    """Live workers seen in Redis: node name -> {pid, concurrency, started, seen}."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    out = {}
    for key in client.scan_iter(match=WORKER_KEY + "*", count=500):
        raw = client.get(key)
        if raw:
            out[key.decode()[len(WORKER_KEY) :]] = json.loads(raw)
    return out


def capacity(workers: dict[str, dict[str, Any]]) -> int:
    """Solves the given live workers can run at once (the sum of their concurrency).

    What readiness reports as ``workers`` and ``/metrics`` as ``quantum_planner_workers``;
    ``scripts/health-check.sh`` prints the same sum beside the number of workers.
    """
    return sum(int(w.get("concurrency", 1)) for w in workers.values())
