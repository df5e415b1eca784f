"""Benchmark loaders: every file of every set parses and matches best_known.csv."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from quantum_planner.errors import FormatError
from quantum_planner.instances import (
    benchmark_files,
    benchmarks_dir,
    best_known,
    gap_value,
    load_fjsp,
    load_gap,
    load_instance,
    load_jsp,
)
from quantum_planner.model import Objective

ROOT = benchmarks_dir()
_skip_absent = pytest.mark.skipif(
    not (ROOT / "gap").is_dir(), reason=f"benchmarks not found at {ROOT}"
)


def needs_benchmarks(test):
    """Mark a test as reading ../shared/benchmarks and skip it when they are absent."""
    return pytest.mark.benchmarks(_skip_absent(test))


def test_root_argument_beats_the_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("QP_BENCHMARKS_DIR", str(tmp_path / "env"))
    assert benchmarks_dir(tmp_path / "arg") == tmp_path / "arg"
    assert benchmarks_dir() == tmp_path / "env"


def test_default_is_found_from_the_working_directory(monkeypatch, tmp_path):
    # a checkout at tmp/repo with tmp/shared/benchmarks beside it, run from a subfolder
    shared = tmp_path / "shared" / "benchmarks"
    shared.mkdir(parents=True)
    (tmp_path / "repo" / "tests").mkdir(parents=True)
    monkeypatch.delenv("QP_BENCHMARKS_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "repo" / "tests")
    assert benchmarks_dir() == shared
    # nothing found: the path beside the working directory, not one from the source tree
    monkeypatch.chdir(tmp_path)
    assert benchmarks_dir() == tmp_path.parent / "shared" / "benchmarks"


def test_old_benchmarks_module_still_works_and_warns():
    import quantum_planner.benchmarks as old
    import quantum_planner.instances as new

    with pytest.warns(DeprecationWarning, match="quantum_planner.instances"):
        assert old.load_gap is new.load_gap
    with pytest.warns(DeprecationWarning):
        from quantum_planner.benchmarks import benchmarks_dir as old_dir
    assert old_dir is benchmarks_dir
    with pytest.raises(AttributeError):
        _ = old.no_such_loader


def _n_jobs(problem) -> int:
    return len({t.id.split("o")[0] for t in problem.tasks})


def test_benchmarks_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("QP_BENCHMARKS_DIR", str(tmp_path))
    assert benchmarks_dir() == tmp_path
    # an empty folder: no rows, no files, no crash
    assert best_known("gap") == {}
    assert benchmark_files("jsp") == []


@needs_benchmarks
@pytest.mark.parametrize("direction", ["min", "max"])
def test_every_gap_instance_loads_with_csv_sizes(direction):
    rows = best_known("gap", direction)
    assert rows, "best_known.csv has rows for this direction"
    if direction == "max":
        assert set(rows) == {f"gap{k}-{i}" for k in range(1, 13) for i in range(1, 6)}
    for name, row in rows.items():
        p = load_instance("gap", name, direction)
        assert len(p.agents) == row.n_agents, name
        assert len(p.tasks) == row.n_tasks, name
        assert p.objectives == [Objective.MINIMIZE_COST]
        assert [a.id for a in p.agents] == [f"a{i}" for i in range(row.n_agents)]
        assert [t.id for t in p.tasks] == [f"t{j}" for j in range(row.n_tasks)]


@needs_benchmarks
def test_every_gap_file_is_covered_by_the_csv():
    rows = best_known("gap", "min")
    used = {row.file for row in rows.values()}
    files = {str(p.relative_to(ROOT / "gap")) for p in benchmark_files("gap")}
    assert files == used


@needs_benchmarks
def test_gap_spot_values_match_raw_file():
    # SOURCE.md: start of orlib/gap1.txt is 5 / 5 15 / 17 21 22 18 24 ... (c[1][1..15])
    tokens = (ROOT / "gap/orlib/gap1.txt").read_text().split()
    m, n = int(tokens[1]), int(tokens[2])
    c = [int(x) for x in tokens[3 : 3 + m * n]]
    a = [int(x) for x in tokens[3 + m * n : 3 + 2 * m * n]]
    b = [int(x) for x in tokens[3 + 2 * m * n : 3 + 2 * m * n + m]]
    p = load_gap(ROOT / "gap/orlib/gap1.txt", instance=1)
    assert p.task("t0").costs["a0"] == 17 == c[0]
    assert p.task("t4").costs["a0"] == 24
    assert p.task("t3").costs["a2"] == c[2 * n + 3]
    assert p.task("t14").loads["a4"] == a[4 * n + 14]
    assert [ag.capacity for ag in p.agents] == b
    # Yagiura file: no leading instance count
    y = load_gap(ROOT / "gap/yagiura/c10400")
    ytok = (ROOT / "gap/yagiura/c10400").read_text().split()
    assert (int(ytok[0]), int(ytok[1])) == (10, 400)
    assert y.task("t1").costs["a0"] == int(ytok[3])
    assert y.agent("a9").capacity == int(ytok[-1])


@needs_benchmarks
def test_gap_max_direction_is_offset_costs_and_value_round_trips():
    pmin = load_gap(ROOT / "gap/orlib/gap1.txt", instance=1, direction="min")
    pmax = load_gap(ROOT / "gap/orlib/gap1.txt", instance=1, direction="max")
    # any assignment: profit (from the raw numbers) == gap_value(max-loaded cost)
    assign = {t.id: f"a{j % 5}" for j, t in enumerate(pmin.tasks)}
    profit = sum(pmin.task(t).costs[a] for t, a in assign.items())
    cost = sum(pmax.task(t).costs[a] for t, a in assign.items())
    assert all(v >= 0 for t in pmax.tasks for v in t.costs.values())
    assert gap_value(pmax, cost, "max") == profit
    assert gap_value(pmin, profit, "min") == profit


@needs_benchmarks
def test_large_gap_loads_fast():
    path = ROOT / "gap/yagiura/e801600"
    t0 = time.perf_counter()
    p = load_gap(path)
    elapsed = time.perf_counter() - t0
    assert len(p.tasks) == 1600 and len(p.agents) == 80
    assert elapsed < 2.0, f"80x1600 GAP took {elapsed:.2f}s"


@needs_benchmarks
def test_every_fjsp_file_loads_with_csv_sizes():
    rows = best_known("fjsp")
    files = benchmark_files("fjsp")
    assert files
    by_file = {row.file: row for row in rows.values()}
    for path in files:
        rel = str(path.relative_to(ROOT / "fjsp"))
        assert rel in by_file, f"{rel} missing from best_known_detail.csv"
        row = by_file[rel]
        p = load_fjsp(path)
        assert len(p.agents) == row.n_agents, rel
        assert _n_jobs(p) == row.n_tasks, rel
        assert p.objectives == [Objective.MINIMIZE_MAKESPAN]
        for t in p.tasks:
            job, op = t.id[1:].split("o")
            assert t.dependencies == ([f"j{job}o{int(op) - 1}"] if int(op) else [])
            assert set(t.allowed_agents) == set(t.durations)


@needs_benchmarks
def test_fjsp_spot_values_match_raw_file():
    # mk01, job 1: op 1 on machine 1 (5) or 3 (4); op 2 on machine 5 (3), 3 (5) or 2 (1)
    p = load_fjsp(ROOT / "fjsp/brandimarte/mk01.fjs")
    t = p.task("j0o0")
    assert t.durations == {"a0": 5.0, "a2": 4.0}
    assert t.duration == 4.0
    assert p.task("j0o1").durations == {"a4": 3.0, "a2": 5.0, "a1": 1.0}
    assert p.task("j0o1").dependencies == ["j0o0"]
    assert len(p.tasks) == 55  # operations, best_known_detail.csv


@needs_benchmarks
def test_every_jsp_file_loads_with_csv_sizes():
    rows = best_known("jsp")
    files = benchmark_files("jsp")
    assert files
    for path in files:
        row = rows[path.stem]
        p = load_jsp(path)
        assert len(p.agents) == row.n_agents, path.name
        assert _n_jobs(p) == row.n_tasks, path.name
        assert len(p.tasks) == row.n_agents * row.n_tasks  # every job visits every machine
        assert all(len(t.allowed_agents) == 1 for t in p.tasks)


@needs_benchmarks
def test_jsp_spot_values_match_raw_file():
    # ft06 job 1: machine 2 for 1, then machine 0 for 3, machine 1 for 6
    p = load_jsp(ROOT / "jsp/instances/ft06.txt")
    assert (p.task("j0o0").allowed_agents, p.task("j0o0").duration) == (["a2"], 1.0)
    assert (p.task("j0o1").allowed_agents, p.task("j0o1").duration) == (["a0"], 3.0)
    assert (p.task("j1o2").allowed_agents, p.task("j1o2").duration) == (["a4"], 10.0)
    assert p.task("j5o5").dependencies == ["j5o4"]


def test_bad_files_raise_format_error(tmp_path: Path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\n0 5 x 3\n")
    with pytest.raises(FormatError, match="integer"):
        load_jsp(bad)
    short = tmp_path / "short.txt"
    short.write_text("1\n2 2\n1 2 3\n")
    with pytest.raises(FormatError, match="ends early"):
        load_gap(short)
    one = tmp_path / "one.txt"
    one.write_text("1\n1 1\n5\n1\n2\n")
    assert load_gap(one).task("t0").costs == {"a0": 5.0}
    with pytest.raises(FormatError, match="no instance number 2"):
        load_gap(one, instance=2)
    fj = tmp_path / "f.fjs"
    fj.write_text("1 2 1\n1 1 3 4\n")
    with pytest.raises(FormatError, match="out of range"):
        load_fjsp(fj)
    with pytest.raises(FormatError, match="cannot read"):
        load_fjsp(tmp_path / "missing.fjs")
    with pytest.raises(FormatError, match="no instance"):
        load_instance("jsp", "nope", root=tmp_path)
