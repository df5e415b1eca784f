"""Fill numba's on-disk cache ahead of the first solve (``quantum-planner warmup``).

Every numba kernel of the samplers and solvers is compiled on its first call
for each argument-type signature, seconds to tens of seconds per kernel on a
loaded machine, or loaded from the cache (``NUMBA_CACHE_DIR``, else
``__pycache__`` beside the sources) in a fraction of a second. :func:`warmup`
runs every sampler (integer and float biases) and the hybrid solver's
assignment and scheduling searches on small generated problems, so every
signature they use lands in the cache; later processes (API, workers, CLI)
then only load. Run it at install or image-build time, as the same user and
with the same ``NUMBA_CACHE_DIR`` as the service. The cache is tied to the
CPU model and to the source files' timestamps: a new machine type or a new
install compiles again (see docs/SAMPLERS.md).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantum_planner.errors import ConfigurationError

__all__ = [
    "KERNEL_MODULES",
    "SEED_ENV",
    "KernelStat",
    "WarmupReport",
    "kernels",
    "seed_cache",
    "start_in_background",
    "steps",
    "warmup",
]

#: a read-only cache filled at image-build time, copied into ``NUMBA_CACHE_DIR`` at start
SEED_ENV = "QP_NUMBA_CACHE_SEED"

#: modules whose numba dispatchers warmup accounts for
KERNEL_MODULES = (
    "quantum_planner.samplers._csr",
    "quantum_planner.samplers._kernels",
    "quantum_planner.solvers.generalized_assignment",
    "quantum_planner.solvers.shop_tabu",
    "quantum_planner.solvers.sparse_gap",
)


@dataclass
class KernelStat:
    """One kernel after warmup: signatures held, and how they got there in this run."""

    name: str
    signatures: int
    compiled: int  # signatures compiled by this run (cache misses)
    loaded: int  # signatures loaded from the disk cache by this run


@dataclass
class WarmupReport:
    """What :func:`warmup` did: seconds per step and per-kernel counts."""

    steps: list[tuple[str, float]] = field(default_factory=list)
    kernels: list[KernelStat] = field(default_factory=list)
    cache_dir: str = ""
    seconds: float = 0.0

    @property
    def compiled(self) -> int:
        return sum(k.compiled for k in self.kernels)

    @property
    def loaded(self) -> int:
        return sum(k.loaded for k in self.kernels)


def kernels() -> dict[str, Any]:
    """Every cached numba dispatcher of :data:`KERNEL_MODULES`, by ``module.name``."""
    from numba.core.registry import CPUDispatcher

    out: dict[str, Any] = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value._cache is not None:
                out[f"{name.rsplit('.', 1)[-1]}.{attr}"] = value
    return out


def _counts(kernel: Any) -> tuple[int, int, int]:
    misses = getattr(kernel, "_cache_misses", {})
    hits = getattr(kernel, "_cache_hits", {})
    return len(kernel.overloads), sum(misses.values()), sum(hits.values())


def _models() -> list[Any]:
    """Small BQMs: integer biases (integer kernels) and float biases (float kernels)."""
    import dimod

    rng = np.random.default_rng(7)
    n = 24
    pairs = {(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.25}
    ints = dimod.BinaryQuadraticModel(
        {i: int(rng.integers(-2, 3)) for i in range(n)},
        {p: int(rng.choice([-1, 1])) for p in pairs},
        0.0,
        "SPIN",
    )
    floats = dimod.BinaryQuadraticModel(
        {i: float(rng.normal()) for i in range(n)},
        {p: float(rng.normal()) for p in pairs},
        0.0,
        "BINARY",
    )
    return [ints, floats]


def _sampler_steps() -> list[tuple[str, Callable[[], object]]]:
    from quantum_planner import samplers

    steps: list[tuple[str, Callable[[], object]]] = []
    for name in samplers.__all__:
        cls = getattr(samplers, name)
        for bqm in _models():
            kind = "integer" if bqm.vartype.name == "SPIN" else "float"
            # a time limit: the time-budgeted schedules, compilation kept outside it
            steps.append(
                (f"{name} ({kind})", lambda c=cls, b=bqm: c().sample(b, time_limit=0.05, seed=1))
            )
    return steps


def _assignment_problem() -> Any:
    """A loaded assignment problem the hybrid's local search cannot finish at once."""
    from quantum_planner.model import Agent, Objective, Problem, Task

    rng = np.random.default_rng(3)
    agents = [Agent(id=f"a{a}", capacity=25.0) for a in range(8)]
    tasks = [
        Task(
            id=f"t{t}",
            load=float(rng.integers(1, 6)),
            costs={f"a{a}": float(rng.integers(1, 20)) for a in range(8)},
        )
        for t in range(60)
    ]
    return Problem(
        name="warmup-assignment", agents=agents, tasks=tasks, objective=Objective.MINIMIZE_COST
    )


def _shop_problem() -> Any:
    """A flexible job shop (makespan only): the hybrid's disjunctive-graph tabu search."""
    from quantum_planner.model import Agent, Objective, Problem, Task

    rng = np.random.default_rng(5)
    machines = [f"m{k}" for k in range(4)]
    tasks = []
    for j in range(6):
        for o in range(4):
            allowed = sorted(rng.choice(machines, size=2, replace=False).tolist())
            tasks.append(
                Task(
                    id=f"j{j}o{o}",
                    durations={m: float(rng.integers(1, 10)) for m in allowed},
                    allowed_agents=allowed,
                    dependencies=[f"j{j}o{o - 1}"] if o else [],
                )
            )
    return Problem(
        name="warmup-shop",
        agents=[Agent(id=m) for m in machines],
        tasks=tasks,
        objective=Objective.MINIMIZE_MAKESPAN,
    )


def _hybrid_assignment() -> object:
    from quantum_planner.solvers.hybrid import HybridSolver

    # a fixed iteration count: the local search runs (and compiles) whatever the bounds say
    return HybridSolver(max_iterations=200).solve(_assignment_problem(), time_limit=600.0)


def _hybrid_sparse() -> object:
    from quantum_planner.solvers.hybrid import HybridSolver

    # the pairs-only path of big problems, forced on a small one (its kernels are
    # made ready before the solve's clock; a warm start covers the slot lookup)
    problem = _assignment_problem()
    solver = HybridSolver(max_iterations=3, sparse=True)
    first = solver.solve(problem, time_limit=600.0)
    return solver.solve(problem, time_limit=600.0, warm_start=first)


def _shop_search() -> object:
    from quantum_planner.solvers.dense_view import compile_problem
    from quantum_planner.solvers.shop import eft_schedule
    from quantum_planner.solvers.shop_tabu import shop_tabu

    # the search itself, not the race: a small shop's proof can end the race before it
    comp = compile_problem(_shop_problem())
    assignments, schedule = eft_schedule(comp)
    deadline = time.perf_counter() + 600.0
    return shop_tabu(comp, assignments, schedule, deadline, 1, None, max_iterations=200)


def _solver_steps() -> list[tuple[str, Callable[[], object]]]:
    return [
        ("hybrid assignment search", _hybrid_assignment),
        ("hybrid sparse assignment search", _hybrid_sparse),
        ("shop tabu search", _shop_search),
    ]


def steps() -> list[tuple[str, Callable[[], object]]]:
    """Every warmup step, by name: each sampler on each bias kind, then the solver searches."""
    return [*_sampler_steps(), *_solver_steps()]


def warmup(
    echo: Callable[[str], None] | None = None, only: Sequence[str] | None = None
) -> WarmupReport:
    """Compile (or load from the cache) every kernel signature the samplers and solvers use.

    ``echo`` gets one line per step as it ends. ``only`` keeps the steps whose
    name contains one of these strings (e.g. ``SimulatedAnnealingSampler``).
    Safe to run again: a warm cache makes it a matter of seconds.

    Raises:
        ConfigurationError: ``only`` matches no step.
    """
    import numba
    from numba.core.compiler_lock import global_compiler_lock

    t0 = time.perf_counter()
    report = WarmupReport(cache_dir=numba.config.CACHE_DIR or "(beside the sources)")
    table = kernels()
    before = {name: _counts(k) for name, k in table.items()}
    chosen = [(n, f) for n, f in steps() if not only or any(o in n for o in only)]
    if not chosen:
        names = ", ".join(n for n, _ in steps())
        raise ConfigurationError(f"warmup: no step matches {list(only or [])}; steps: {names}")
    for name, step in chosen:
        ts = time.perf_counter()
        step()
        # a solver may compile in a helper thread that outlives its time limit: the
        # compiler lock is free once every compilation in flight has ended
        with global_compiler_lock:
            pass
        report.steps.append((name, time.perf_counter() - ts))
        if echo is not None:
            echo(f"{name}: {report.steps[-1][1]:.1f} s")
    for name, kernel in sorted(table.items()):
        sigs, misses, hits = _counts(kernel)
        report.kernels.append(
            KernelStat(name, sigs, misses - before[name][1], hits - before[name][2])
        )
    report.seconds = time.perf_counter() - t0
    return report


def seed_cache(seed: str | os.PathLike[str] | None = None, target: str | None = None) -> int:
    """Copy a cache filled at build time into ``NUMBA_CACHE_DIR``; the number of files copied.

    For images whose root filesystem is read-only at run time (numba needs a
    writable cache directory, so ``NUMBA_CACHE_DIR`` points at a tmpfs): the
    image's warmup fills ``$QP_NUMBA_CACHE_SEED`` and every process start copies
    what the tmpfs lacks. Does nothing when either directory is unset or the
    seed is missing. Call it before the first kernel call.
    """
    seed = seed if seed is not None else os.environ.get(SEED_ENV)
    target = target if target is not None else os.environ.get("NUMBA_CACHE_DIR")
    if not seed or not target or not Path(seed).is_dir():
        return 0
    copied = 0
    for src in Path(seed).rglob("*"):
        dst = Path(target) / src.relative_to(seed)
        if src.is_file() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            copied += 1
    return copied


def start_in_background() -> subprocess.Popen[bytes] | None:
    """Run ``quantum-planner warmup`` in a child process; None when ``QP_WARMUP=0``.

    A child process fills the disk cache without touching this process's numba
    state, so it is safe before a fork (a worker's pool). Solves that arrive
    first compile for themselves, outside their time limits.
    """
    if os.environ.get("QP_WARMUP", "1") == "0":
        return None
    proc = subprocess.Popen(
        [sys.executable, "-m", "quantum_planner", "warmup"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # reap it when it ends (no zombie left beside a long-lived worker)
    threading.Thread(target=proc.wait, name="qp-warmup-reaper", daemon=True).start()
    return proc
