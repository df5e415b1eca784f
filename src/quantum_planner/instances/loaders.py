"""Readers for the public benchmark files (GAP, FJSP, JSP); where they are: :func:`benchmarks_dir`.

Every loader returns a :class:`~quantum_planner.model.Problem` whose names are
positions in the file, 0-based, so results can be checked against the file:

* agents (GAP agents, shop machines): ``a0``, ``a1``, ...
* generalized-assignment jobs: ``t0``, ``t1``, ...
* shop operations: ``j{job}o{op}`` (``j3o0`` is the first operation of the 4th job).

GAP objective direction
-----------------------
The model minimises cost and does not allow negative costs, so a *max*
instance (OR-Library gap1-gap12 publish profits) is loaded with the cost of
giving job ``j`` to agent ``i`` set to ``offset_j - p[i][j]`` where
``offset_j = max_i p[i][j]``. Every job is assigned exactly once, so the
plan's cost is ``sum(offset) - profit``: minimising it maximises the profit.
:func:`gap_value` turns a plan's cost back into the benchmark's value (the
profit for ``max``, the cost for ``min``), comparable to ``best_known.csv``.
The offset is kept in ``Task.metadata["gap_offset"]`` (``p = offset - cost``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from quantum_planner.errors import FormatError
from quantum_planner.model import Agent, Objective, Problem, Task

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

Direction = Literal["min", "max"]
_SETS = ("gap", "fjsp", "jsp")
ENV_VAR = "QP_BENCHMARKS_DIR"  # where the benchmark files are, when no root is passed


# -- where the files are ---------------------------------------------------------


def benchmarks_dir(root: str | Path | None = None) -> Path:
    """The benchmark folder: ``root`` when given, else ``$QP_BENCHMARKS_DIR``, else a default.

    The default is the first ``shared/benchmarks`` folder beside the working
    directory or one of its parents (run from a checkout, that is its
    ``../shared/benchmarks``); never a path derived from where this package is
    installed. The path is returned even if it does not exist (callers and
    tests check ``.is_dir()``); when nothing is found it is the one beside the
    working directory, so messages name where the files were expected.
    """
    if root is not None:
        return Path(root)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        candidate = folder.parent / "shared" / "benchmarks"
        if candidate.is_dir():
            return candidate
    return cwd.parent / "shared" / "benchmarks"


@dataclass(frozen=True)
class BestKnown:
    """One row of a set's ``best_known.csv`` plus, where known, the instance's file."""

    instance: str
    n_agents: int  # agents (GAP) or machines (shop)
    n_tasks: int  # jobs (GAP and shop: jobs, not operations)
    value: float
    is_optimal: bool
    direction: Direction
    file: str | None = None  # relative to the set's folder
    index_in_file: int = 1  # 1-based position in a multi-instance GAP file


def best_known(
    set_name: str, direction: Direction = "min", root: Path | None = None
) -> dict[str, BestKnown]:
    """Best-known values of a set (``gap``, ``fjsp``, ``jsp``), keyed by instance name.

    GAP gap1-gap12 have a row per direction; ``direction`` picks which (only
    gap1-gap12 have ``max`` rows). Returns ``{}`` when the folder is absent.
    """
    folder = benchmarks_dir(root) / set_name
    path = folder / "best_known.csv"
    if not path.is_file():
        return {}
    files = _detail_files(folder, direction)
    out: dict[str, BestKnown] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["direction"] != direction:
                continue
            name = row["instance"]
            file, index = files.get(name, (None, 1))
            out[name] = BestKnown(
                instance=name,
                n_agents=int(row["n_agents_or_nodes"]),
                n_tasks=int(row["n_tasks_or_edges"]),
                value=float(row["best_known"]),
                is_optimal=row["is_optimal"].strip().lower() == "true",
                direction=direction,
                file=file,
                index_in_file=index,
            )
    return out


def _detail_files(folder: Path, direction: str) -> dict[str, tuple[str, int]]:
    path = folder / "best_known_detail.csv"
    if not path.is_file():
        return {}
    out: dict[str, tuple[str, int]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("direction", direction) not in (direction, ""):
                continue
            if row.get("file"):
                out[row["instance"]] = (row["file"], int(row.get("index_in_file") or 1))
    return out


def benchmark_files(set_name: str, root: Path | None = None) -> list[Path]:
    """Every instance file of a set present on disk (sorted), ``[]`` when absent."""
    folder = benchmarks_dir(root) / set_name
    if not folder.is_dir():
        return []
    if set_name == "gap":
        files = [*(folder / "orlib").glob("*.txt"), *(folder / "yagiura").iterdir()]
        return sorted(p for p in files if p.is_file() and p.suffix != ".md")
    if set_name == "fjsp":
        return sorted(folder.rglob("*.fjs"))
    if set_name == "jsp":
        return sorted((folder / "instances").glob("*.txt"))
    raise ValueError(f"unknown benchmark set {set_name!r}; use one of {_SETS}")


def load_instance(
    set_name: str, instance: str, direction: Direction = "min", root: Path | None = None
) -> Problem:
    """Load a named instance of ``best_known.csv`` (e.g. ``gap``/``gap3-2``, ``fjsp``/``mk01``)."""
    rows = best_known(set_name, direction, root)
    row = rows.get(instance)
    if row is None or row.file is None:
        raise FormatError(
            f"no instance {instance!r} (direction {direction!r}) in {set_name}/best_known.csv"
        )
    path = benchmarks_dir(root) / set_name / row.file
    if set_name == "gap":
        return load_gap(path, instance=row.index_in_file, direction=direction, name=instance)
    if set_name == "fjsp":
        return load_fjsp(path, name=instance)
    return load_jsp(path, name=instance)


# -- parsing helpers -------------------------------------------------------------


def _read_numbers(path: str | Path) -> list[str]:
    p = Path(path)
    try:
        return p.read_text().split()
    except OSError as e:
        raise FormatError(f"cannot read benchmark file {str(p)!r}: {e.strerror}") from None


class _Tokens:
    """Integer tokens of a file read in order, with errors naming the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.tokens = _read_numbers(path)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.tokens) - self.pos

    def take(self, n: int) -> list[int]:
        if self.pos + n > len(self.tokens):
            raise FormatError(
                f"{self.path}: file ends early (wanted {n} more numbers at token {self.pos})"
            )
        chunk = self.tokens[self.pos : self.pos + n]
        self.pos += n
        try:
            return [int(x) for x in chunk]
        except ValueError:
            bad = next(x for x in chunk if not _is_int(x))
            raise FormatError(f"{self.path}: expected an integer, found {bad!r}") from None

    def one(self) -> int:
        return self.take(1)[0]

    def number(self) -> float:
        """One token that may be a decimal (the FJSP header's average)."""
        if self.pos >= len(self.tokens):
            raise FormatError(f"{self.path}: file ends early")
        tok = self.tokens[self.pos]
        self.pos += 1
        try:
            return float(tok)
        except ValueError:
            raise FormatError(f"{self.path}: expected a number, found {tok!r}") from None


def _is_int(x: str) -> bool:
    try:
        int(x)
    except ValueError:
        return False
    return True


def _build(name: str | None, agents: list[Agent], tasks: list[Task], objective: Objective):
    return Problem(name=name, agents=agents, tasks=tasks, objective=objective)


# -- GAP ---------------------------------------------------------------------------


def _gap_blocks(tokens: _Tokens, multi: bool) -> Iterator[tuple[int, int, list[int]]]:
    count = tokens.one() if multi else 1
    for _ in range(count):
        m, n = tokens.one(), tokens.one()
        if m <= 0 or n <= 0:
            raise FormatError(f"{tokens.path}: bad instance size {m} x {n}")
        yield m, n, tokens.take(2 * m * n + m)


def load_gap(
    path: str | Path,
    instance: int = 1,
    direction: Direction = "min",
    *,
    name: str | None = None,
) -> Problem:
    """Read a generalized assignment instance (OR-Library multi-instance file or Yagiura file).

    ``instance`` is 1-based (the i-th instance of an OR-Library file, as in
    ``best_known.csv``'s ``gapK-i``); Yagiura files hold one instance. The
    file kind is detected: an OR-Library file starts with the instance count
    then ``m n``, a Yagiura file with ``m n``. ``direction="max"`` treats the
    numbers as profits (see the module docstring: costs become
    ``offset_j - p_ij``; :func:`gap_value` gives the profit back).
    """
    if direction not in ("min", "max"):
        raise FormatError(f"direction must be 'min' or 'max', got {direction!r}")
    tokens = _Tokens(path)
    head = tokens.take(3) if tokens.remaining() >= 3 else tokens.take(tokens.remaining())
    tokens.pos = 0
    # A Yagiura file has m*n*2 + m + 2 tokens after (m, n); an OR-Library one has P first.
    multi = not (len(head) >= 2 and 2 * head[0] * head[1] + head[0] + 2 == tokens.remaining())
    blocks = _gap_blocks(tokens, multi)
    chosen = None
    for i, block in enumerate(blocks, start=1):
        if i == instance:
            chosen = block
            break
    if chosen is None or instance < 1:
        raise FormatError(f"{path}: has no instance number {instance} (1-based)")
    m, n, data = chosen
    values, loads, caps = data[: m * n], data[m * n : 2 * m * n], data[2 * m * n :]
    agent_ids = [f"a{i}" for i in range(m)]
    agents = [Agent(id=agent_ids[i], capacity=float(caps[i])) for i in range(m)]
    tasks = []
    for j in range(n):
        col = [values[i * n + j] for i in range(m)]
        offset = max(col) if direction == "max" else 0
        costs = {
            agent_ids[i]: float(offset - col[i] if direction == "max" else col[i]) for i in range(m)
        }
        task_loads = {agent_ids[i]: float(loads[i * n + j]) for i in range(m)}
        metadata = {"gap_offset": float(offset)} if direction == "max" else {}
        tasks.append(Task(id=f"t{j}", costs=costs, loads=task_loads, metadata=metadata))
    label = name or (f"{Path(path).stem}-{instance}" if multi else Path(path).name)
    return _build(label, agents, tasks, Objective.MINIMIZE_COST)


def gap_value(problem: Problem, cost: float, direction: Direction = "min") -> float:
    """The benchmark's objective value of a plan of total ``cost`` (profit for ``max``)."""
    if direction == "min":
        return cost
    return sum(t.metadata.get("gap_offset", 0.0) for t in problem.tasks) - cost


# -- shop scheduling ---------------------------------------------------------------


def load_fjsp(path: str | Path, *, name: str | None = None) -> Problem:
    """Read a flexible job shop file (Brandimarte / Hurink format, machines 1-based).

    Operation ``o`` of job ``j`` becomes task ``j{j}o{o}`` with
    ``allowed_agents`` its machines (``a{machine-1}``), per-machine
    ``durations`` (its ``duration`` is the shortest of them) and a dependency
    on ``j{j}o{o-1}``. Objective: ``minimize_makespan``; agents have no
    capacity limit (a machine may do any number of operations, one at a time).
    """
    tokens = _Tokens(path)
    n_jobs, n_machines = tokens.one(), tokens.one()
    if tokens.remaining():
        tokens.number()  # average machines per operation: informational only
    agent_ids = [f"a{i}" for i in range(n_machines)]
    tasks: list[Task] = []
    for j in range(n_jobs):
        n_ops = tokens.one()
        for o in range(n_ops):
            k = tokens.one()
            if k <= 0:
                raise FormatError(f"{path}: job {j} operation {o} has no machine")
            pairs = tokens.take(2 * k)
            durations: dict[str, float] = {}
            for mach, dur in zip(pairs[::2], pairs[1::2], strict=True):
                if not 1 <= mach <= n_machines:
                    raise FormatError(f"{path}: job {j} operation {o}: machine {mach} out of range")
                aid = agent_ids[mach - 1]
                # a machine listed twice keeps its shorter time
                durations[aid] = float(min(dur, durations.get(aid, dur)))
            tasks.append(
                Task(
                    id=f"j{j}o{o}",
                    duration=min(durations.values()),
                    durations=durations,
                    allowed_agents=list(durations),
                    dependencies=[f"j{j}o{o - 1}"] if o else [],
                )
            )
    if tokens.remaining():
        raise FormatError(f"{path}: {tokens.remaining()} numbers left after {n_jobs} jobs")
    agents = [Agent(id=a) for a in agent_ids]
    return _build(name or Path(path).stem, agents, tasks, Objective.MINIMIZE_MAKESPAN)


def load_jsp(path: str | Path, *, name: str | None = None) -> Problem:
    """Read a job shop file (JSPLIB format, machines 0-based, one machine per operation).

    As :func:`load_fjsp` with one allowed agent per operation; a ``#``
    comment header (as in some JSPLIB copies) is skipped.
    """
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except OSError as e:
        raise FormatError(f"cannot read benchmark file {str(p)!r}: {e.strerror}") from None
    body = [ln.split("#", 1)[0] for ln in lines]
    tokens = _Tokens.__new__(_Tokens)
    tokens.path, tokens.tokens, tokens.pos = str(p), " ".join(body).split(), 0
    n_jobs, n_machines = tokens.one(), tokens.one()
    agent_ids = [f"a{i}" for i in range(n_machines)]
    tasks: list[Task] = []
    for j in range(n_jobs):
        row = tokens.take(2 * n_machines)
        for o, (mach, dur) in enumerate(zip(row[::2], row[1::2], strict=True)):
            if not 0 <= mach < n_machines:
                raise FormatError(f"{p}: job {j} operation {o}: machine {mach} out of range")
            tasks.append(
                Task(
                    id=f"j{j}o{o}",
                    duration=float(dur),
                    allowed_agents=[agent_ids[mach]],
                    dependencies=[f"j{j}o{o - 1}"] if o else [],
                )
            )
    if tokens.remaining():
        raise FormatError(f"{p}: {tokens.remaining()} numbers left after {n_jobs} jobs")
    agents = [Agent(id=a) for a in agent_ids]
    return _build(name or p.stem, agents, tasks, Objective.MINIMIZE_MAKESPAN)
