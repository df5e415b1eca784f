"""Daemon worker threads for backend calls, and a bounded wait for them at exit.

A backend call that overran its deadline is abandoned, not killed (Python cannot kill
a thread). If the interpreter exits while such a thread is inside native code (CP-SAT,
a C++ sampler), the C++ runtime aborts the process. Each thread gets a stop event,
set when it is abandoned; at exit we set them all and wait a bounded time for the
threads to return.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable

_EXIT_WAIT = 5.0  # seconds, in total, at interpreter exit
_lock = threading.Lock()
_live: dict[threading.Thread, threading.Event] = {}


def spawn(target: Callable[[], None], name: str, stop: threading.Event) -> threading.Thread:
    """Start ``target`` in a tracked daemon thread; ``stop`` is set at exit."""

    def run() -> None:
        try:
            target()
        finally:
            with _lock:
                _live.pop(threading.current_thread(), None)

    t = threading.Thread(target=run, name=name, daemon=True)
    with _lock:
        _live[t] = stop
    t.start()
    return t


def _wait_at_exit() -> None:
    with _lock:
        items = list(_live.items())
    for _, stop in items:
        stop.set()
    deadline = time.monotonic() + _EXIT_WAIT
    for t, _ in items:
        t.join(max(0.0, deadline - time.monotonic()))


atexit.register(_wait_at_exit)
