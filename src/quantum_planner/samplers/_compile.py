"""Compile a numba kernel before a timed call, so compilation never eats a time limit.

numba compiles a kernel on its first call for each argument-type signature
(or loads the machine code from its on-disk cache, ``NUMBA_CACHE_DIR``).
A cold compile takes seconds (tens of seconds on a loaded machine), which
used to come out of the caller's ``time_limit``. :func:`prepare` makes the
kernel ready for the exact argument types of the coming call and says how
long that took, so the caller can start its clock afterwards.
``quantum-planner warmup`` fills the cache ahead (see docs/SAMPLERS.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Prepared", "prepare", "spent"]

log = logging.getLogger(__name__)

# per thread: seconds this thread has spent in prepare (compile, cache load), so a
# caller can take out the preparation done deep inside a conversion it timed
_spent = threading.local()


@dataclass(frozen=True)
class Prepared:
    """Seconds spent making a kernel ready: compiling, or loading from the disk cache."""

    compile_s: float = 0.0
    load_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.compile_s + self.load_s


def spent() -> Prepared:
    """Seconds the calling thread has spent in :func:`prepare` so far (compile, cache load)."""
    return Prepared(getattr(_spent, "compile_s", 0.0), getattr(_spent, "load_s", 0.0))


def _add(ready: Prepared) -> Prepared:
    _spent.compile_s = getattr(_spent, "compile_s", 0.0) + ready.compile_s
    _spent.load_s = getattr(_spent, "load_s", 0.0) + ready.load_s
    return ready


def _misses(kernel: Any) -> int:
    # numba counts cache misses per signature (a private Counter, stable since 0.4x);
    # without it every preparation counts as a compile, the conservative reading
    counter = getattr(kernel, "_cache_misses", None)
    return -1 if counter is None else int(sum(counter.values()))


def prepare(kernel: Any, args: Sequence[Any]) -> Prepared:
    """Make ``kernel`` (a numba dispatcher) ready for ``args``' types; the time it took.

    Returns ``Prepared()`` (zeros) at once when this process already has
    machine code for these types. Arguments numba cannot type are left for
    the call itself to reject with its own error.
    """
    try:
        sig = tuple(kernel.typeof_pyval(a) for a in args)
    except Exception:  # the real call raises the precise typing error
        return Prepared()
    if sig in kernel.overloads:
        return Prepared()
    before = _misses(kernel)
    t0 = time.perf_counter()
    kernel.compile(sig)
    spent = time.perf_counter() - t0
    name = getattr(kernel, "__name__", repr(kernel))
    if before >= 0 and _misses(kernel) == before:
        log.debug("numba: loaded %s from the cache in %.2f s", name, spent)
        return _add(Prepared(load_s=spent))
    log.warning(
        "numba: compiled %s in %.1f s before the time limit started "
        "(run `quantum-planner warmup` at install time to avoid this)",
        name,
        spent,
    )
    return _add(Prepared(compile_s=spent))
