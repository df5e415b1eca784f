"""Simulated annealing's default beta range (hot end from the typical local field)."""

from __future__ import annotations

import math

import dimod
import numpy as np
import pytest

from quantum_planner.samplers import SimulatedAnnealingSampler
from quantum_planner.samplers._csr import (
    anneal_beta_range,
    default_beta_range,
    ising_csr_from_bqm,
)


def regular_maxcut(n: int, degree: int, seed: int) -> dimod.BQM:
    """Max-Cut Ising model (all J = +1) of a random ``degree``-regular-ish graph."""
    rng = np.random.default_rng(seed)
    edges: set[tuple[int, int]] = set()
    for _ in range(degree // 2):
        perm = rng.permutation(n)
        for k in range(n):
            u, v = int(perm[k]), int(perm[(k + 1) % n])
            edges.add((min(u, v), max(u, v)))
    return dimod.BQM({v: 0.0 for v in range(n)}, {e: 1.0 for e in edges}, 0.0, "SPIN")


def test_hot_end_from_typical_field():
    bqm = regular_maxcut(400, 20, 0)
    csr = ising_csr_from_bqm(bqm)
    degrees = np.diff(csr.indptr).astype(float)
    typical = float(np.mean(np.sqrt(degrees)))  # |J| = 1, h = 0
    hot, cold = anneal_beta_range(csr)
    old_hot, old_cold = default_beta_range(csr)
    assert hot == pytest.approx(math.log(4.0) / (2.0 * typical))
    # cold end: the smallest bias (1) flips with probability e**-6; dwave's
    # rule (a 1% excitation rate over all 400 variables) is colder
    assert cold == pytest.approx(3.0) and old_cold > cold
    # the largest-field rule is ~7x hotter on a degree-20 model
    assert hot > 5 * old_hot
    # with hot_accept = 1/2 the hot end is half as cold
    assert anneal_beta_range(csr, 0.5)[0] == pytest.approx(hot / 2)


def test_cold_end_from_the_bias_unit_of_integer_models_only():
    bqm = regular_maxcut(400, 20, 0)
    doubled = dimod.BQM({v: 0.0 for v in bqm.variables}, {e: 2.0 for e in bqm.quadratic}, 0, "SPIN")
    # every flip cost is a multiple of 2g: g = 2 halves the cold end
    assert anneal_beta_range(ising_csr_from_bqm(doubled))[1] == pytest.approx(1.5)
    # float biases: flip costs can be far below the smallest bias, dwave's cold end stays
    floats = dimod.BQM(
        {v: 0.0 for v in bqm.variables},
        {e: 1.0 + 0.01 * (k % 7) for k, e in enumerate(bqm.quadratic)},
        0,
        "SPIN",
    )
    csr = ising_csr_from_bqm(floats)
    assert anneal_beta_range(csr)[1] == default_beta_range(csr)[1] > 3.0


def test_hot_end_never_hotter_than_default_nor_colder_than_cold():
    # one strong field among weak couplings: the typical field is small, the
    # cold end (set by the smallest bias) bounds the hot end
    bqm = dimod.BQM({"a": 100.0}, {("a", "b"): 1.0}, 0.0, "SPIN")
    csr = ising_csr_from_bqm(bqm)
    hot, cold = anneal_beta_range(csr)
    old_hot, old_cold = default_beta_range(csr)
    assert old_hot <= hot <= cold
    # two variables: dwave's cold end (ln(2 / 0.01) / 2 = 2.65) is the warmer one
    assert cold == old_cold < 3.0
    # fields all zero: falls back to the default
    zero = dimod.BQM({"a": 0.0, "b": 0.0}, {}, 0.0, "SPIN")
    assert anneal_beta_range(ising_csr_from_bqm(zero)) == default_beta_range(
        ising_csr_from_bqm(zero)
    )


def test_sampler_uses_it_and_it_anneals_better_than_the_largest_field_rule():
    bqm = regular_maxcut(400, 20, 1)
    csr = ising_csr_from_bqm(bqm)
    sampler = SimulatedAnnealingSampler()
    new = sampler.sample(bqm, num_reads=16, num_sweeps=200, seed=3)
    assert new.info["beta_range"] == pytest.approx(anneal_beta_range(csr))
    old = sampler.sample(
        bqm, num_reads=16, num_sweeps=200, seed=3, beta_range=default_beta_range(csr)
    )
    # same seeds, same sweeps: the colder hot end spends them where order forms
    assert new.record.energy.mean() < old.record.energy.mean()


def is_local_minimum(bqm: dimod.BQM, sample: dict) -> bool:
    e = bqm.energy(sample)
    for v in sample:
        flipped = dict(sample)
        flipped[v] = -flipped[v]
        if bqm.energy(flipped) < e - 1e-9:
            return False
    return True


def test_geometric_and_linear_reads_end_in_local_minima_custom_ones_do_not():
    bqm = regular_maxcut(60, 6, 2)
    sampler = SimulatedAnnealingSampler()
    # a schedule that ends hot: without the final descent states stay random
    for kind in ("geometric", "linear"):
        ss = sampler.sample(
            bqm,
            num_reads=4,
            num_sweeps=10,
            beta_range=(0.01, 0.05),
            beta_schedule_type=kind,
            seed=4,
        )
        assert all(is_local_minimum(bqm, s) for s in ss.samples())
    ss = sampler.sample(
        bqm, num_reads=4, beta_schedule_type="custom", beta_schedule=[0.01] * 10, seed=4
    )
    assert not all(is_local_minimum(bqm, s) for s in ss.samples())
