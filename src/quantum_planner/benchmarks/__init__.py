"""Benchmark instances (GAP, flexible and classic job shop) as planner Problems.

The files live in ``../shared/benchmarks`` (see :func:`benchmarks_dir`); they
are never copied into the repository.
"""

from quantum_planner.benchmarks.loaders import (
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
