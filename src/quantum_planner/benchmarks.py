"""Deprecated alias of :mod:`quantum_planner.instances` (kept for one release).

The instance loaders moved to :mod:`quantum_planner.instances`, so that the
library's name no longer collides with the repository's ``benchmarks/``
scripts. Every name is still reachable here; using one warns with a
:class:`DeprecationWarning` (on first use, not at import).
"""

from __future__ import annotations

import warnings
from typing import Any

from quantum_planner import instances

__all__ = list(instances.__all__)  # the names of the new home


def __getattr__(name: str) -> Any:
    """Names of :mod:`quantum_planner.instances`, with a deprecation warning."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        "quantum_planner.benchmarks is deprecated; import from quantum_planner.instances",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(instances, name)
