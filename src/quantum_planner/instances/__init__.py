"""Public benchmark instances (GAP, flexible and classic job shop) as planner Problems.

The files are never copied into the repository. Where they are: the ``root``
argument of each loader, else ``$QP_BENCHMARKS_DIR``, else a
``shared/benchmarks`` folder beside the working directory or one of its
parents (a checkout's ``../shared/benchmarks``); see :func:`benchmarks_dir`.
"""

from quantum_planner.instances.loaders import (
    ENV_VAR,
    BestKnown,
    benchmark_files,
    benchmarks_dir,
    best_known,
    gap_value,
    load_fjsp,
    load_gap,
    load_instance,
    load_jsp,
)

__all__ = [
    "ENV_VAR",
    "BestKnown",
    "benchmark_files",
    "benchmarks_dir",
    "best_known",
    "gap_value",
    "load_fjsp",
    "load_gap",
    "load_instance",
    "load_jsp",
]
