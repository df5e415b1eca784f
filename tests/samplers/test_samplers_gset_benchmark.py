"""The Gset benchmark's Max-Cut -> Ising conversion and its reference kernel."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from quantum_planner.samplers import SimulatedAnnealingSampler

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "samplers.py"
_spec = importlib.util.spec_from_file_location("bench_samplers", _PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_samplers"] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)

TINY = """5 6
1 2 1
1 3 -1
2 3 1
3 4 1
4 5 -1
2 5 1
"""


def test_cut_equals_half_of_total_weight_minus_ising_energy():
    graph = bench.parse_gset(TINY, "tiny")
    assert graph.n == 5 and len(graph.weights) == 6
    bqm = bench.maxcut_ising(graph)
    best = -np.inf
    for bits in itertools.product([-1, 1], repeat=graph.n):
        s = np.array(bits)
        energy = bqm.energy(dict(enumerate(bits)))
        cut = bench.cut_value(graph, s)
        assert cut == pytest.approx((graph.total_weight - energy) / 2)
        best = max(best, cut)
    # brute-force max cut of the tiny graph, reached by the sampler too
    assert best == 3
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=4, num_sweeps=100, seed=1)
    assert bench.cuts_of(graph, ss).max() == best


def test_reference_rate_measures_both_kernels():
    graph = bench.parse_gset(TINY, "tiny")
    bqm = bench.maxcut_ising(graph)
    ref, ours = bench.reference_rate(graph, bqm, sweeps=50)
    assert ref > 0 and ours > 0


def test_time_budgeted_sa_candidate_fills_its_own_limit():
    graph = bench.parse_gset(TINY, "tiny")
    bqm = bench.maxcut_ising(graph)
    sa = bench.our_solvers(sa_sweeps=(100,), sa_budgets=(0.05,))[0]
    budgeted = [st for st in sa.settings if "time_limit" in st]
    assert len(budgeted) == 2 and all("num_sweeps" not in st for st in budgeted)
    # the setting's time_limit applies while the budget left is larger
    ss = sa.call(bqm, bench.resolve(budgeted[0], bqm), 1, 100.0)
    assert ss.info["schedule"] == "time"
    assert bench.cuts_of(graph, ss).max() == 3
    # its flip rate is measured on a fixed sweep count
    assert bench.flip_rate(sa, graph, bqm, bench.resolve(budgeted[0], bqm)) > 0


def test_tempering_candidates_include_cluster_moves():
    graph = bench.parse_gset(TINY, "tiny")
    bqm = bench.maxcut_ising(graph)
    pt = next(s for s in bench.our_solvers(sa_budgets=(0.05,)) if s.name == "ours-pt")
    icm = [st for st in pt.settings if st.get("cluster_moves")]
    # fixed-round candidates (time to target) and a time-budgeted one (best cut)
    assert {"time_limit" in st for st in icm} == {True, False}
    for st in icm:
        setting = bench.resolve(st, bqm)
        ss = pt.call(bqm, {**setting, "num_sweeps": 20} if "num_sweeps" in st else setting, 1, 5.0)
        assert ss.info["cluster_moves"] >= 0
        assert bench.cuts_of(graph, ss).max() == 3
    # the flip count of a cluster-move round covers both ladders
    fixed = next(st for st in icm if "num_sweeps" in st)
    assert pt.flips_per_call(5, fixed) == 2 * 5 * fixed["num_sweeps"] * 8 * fixed["num_reads"]


@pytest.mark.benchmarks
def test_real_gset_file_parses_when_present():
    directory = bench.gset_dir()
    if not (directory / "graphs" / "G11.txt").exists():
        pytest.skip("shared Gset benchmarks not present")
    graph = bench.load_graph(directory, "G11")
    assert graph.n == 800 and len(graph.weights) == 1600
    assert set(np.unique(graph.weights)) <= {-1.0, 1.0}
    assert bench.best_known(directory)["G11"] == 564
