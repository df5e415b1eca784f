"""The integer annealing kernel (integer-biased models such as Gset Max-Cut)."""

from __future__ import annotations

import itertools
import math

import dimod
import numba
import numpy as np
import pytest

from quantum_planner.samplers import SimulatedAnnealingSampler, _kernels
from quantum_planner.samplers._csr import integer_form, ising_csr_from_bqm


def integer_bqm(n: int, density: float, vartype: dimod.Vartype, seed: int) -> dimod.BQM:
    """Random model with integer biases in [-3, 3] (BINARY ones stay integer as Ising)."""
    rng = np.random.default_rng(seed)
    bqm = dimod.BQM(vartype)
    for v in range(n):
        bqm.add_variable(f"x{v}", 2 * int(rng.integers(-3, 4)))
    for u, v in itertools.combinations(range(n), 2):
        if rng.random() < density:
            bqm.add_interaction(f"x{u}", f"x{v}", 4 * int(rng.integers(-3, 4)))
    return bqm


def test_integer_form_only_for_integer_biases_and_small_fields():
    bqm = integer_bqm(8, 0.5, dimod.SPIN, 0)
    form = integer_form(ising_csr_from_bqm(bqm))
    assert form is not None and form.h.dtype == np.int32 and form.data.dtype == np.int32
    bqm.add_variable("x0", 0.5)
    assert integer_form(ising_csr_from_bqm(bqm)) is None
    # a local field far beyond the table size falls back to the float kernel
    big = dimod.BQM({"a": 10**6}, {("a", "b"): 1}, 0.0, "SPIN")
    assert integer_form(ising_csr_from_bqm(big)) is None


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_integer_kernel_finds_ground_states(vartype):
    for seed in range(3):
        bqm = integer_bqm(11, 0.5, vartype, seed)
        ss = SimulatedAnnealingSampler().sample(bqm, num_reads=10, num_sweeps=200, seed=seed)
        assert ss.info["kernel"] == "integer"
        dimod.testing.assert_sampleset_energies(ss, bqm)
        exact = dimod.ExactSolver().sample(bqm).first.energy
        assert ss.first.energy == pytest.approx(exact, abs=1e-9)


def test_float_model_uses_float_kernel():
    bqm = dimod.BQM({"a": 0.3}, {("a", "b"): -1.0}, 0.0, "SPIN")
    assert SimulatedAnnealingSampler().sample(bqm, seed=1).info["kernel"] == "float"


def test_integer_kernel_seed_and_threads_determinism():
    bqm = integer_bqm(30, 0.2, dimod.SPIN, 5)
    sampler = SimulatedAnnealingSampler()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sampler.sample(bqm, num_reads=6, num_sweeps=50, seed=9)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = sampler.sample(bqm, num_reads=6, num_sweeps=50, seed=9)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one.record.sample, many.record.sample)
    other = sampler.sample(bqm, num_reads=6, num_sweeps=50, seed=10)
    assert not np.array_equal(one.record.sample, other.record.sample)


def test_thresholds_are_exp_scaled_to_32_bits():
    thr = np.zeros(40, np.uint64)
    beta = 0.37
    _kernels._int_thresholds(thr, beta)
    assert thr[0] == 2**32  # downhill and level moves always pass
    for d in range(1, 40):
        expected = math.exp(-2 * beta * d) * 2**32 if 2 * beta * d < 23 else 0.0
        assert abs(float(thr[d]) - expected) <= 1.0


def test_integer_metropolis_samples_boltzmann_at_fixed_beta():
    """An isolated spin with h = 1: at fixed beta the chain's stationary
    P(up) is e^-b / (e^-b + e^b)."""
    beta = math.log(4.0) / 2.0  # P(up) = 0.2
    bqm = dimod.BQM({"a": 1}, {}, 0.0, "SPIN")
    assert integer_form(ising_csr_from_bqm(bqm)) is not None
    ss = SimulatedAnnealingSampler().sample(
        bqm, num_reads=4000, seed=3, beta_schedule_type="custom", beta_schedule=[beta] * 60
    )
    assert ss.info["kernel"] == "integer"
    up = float(np.mean(ss.record.sample[:, ss.variables.index("a")] == 1))
    assert abs(up - 0.2) < 0.03, up


@pytest.mark.parametrize("seed", [0, 1])
def test_both_update_variants_follow_the_same_trajectory(seed):
    """Branch-free and skip-on-reject sweeps make the same decisions from the
    same draws: forcing either one everywhere, or the adaptive switch, gives
    the same states (so the switch changes speed, never the samples)."""
    rng = np.random.default_rng(seed)
    bqm = dimod.BQM("SPIN")
    for v in range(40):
        bqm.add_variable(v, int(rng.integers(-2, 3)))
    for u, v in itertools.combinations(range(40), 2):
        if rng.random() < 0.3:
            bqm.add_interaction(u, v, int(rng.choice([-1, 1])))
    csr = ising_csr_from_bqm(bqm)
    form = integer_form(csr)
    assert form is not None
    betas = np.geomspace(0.05, 3.0, 200)
    init = np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), (3, 40))
    out = []
    for above in (-1.0, 2.0, _kernels.update_above(form.mean_degree)):
        s = init.copy()
        _kernels.anneal_int(
            form.h, csr.indptr, csr.indices, form.data, s, 0, betas, betas.size, 1,
            _kernels.read_seeds(seed, 3), 0, 1, _kernels.CLOCK_ID, form.max_field, above,
        )  # fmt: skip
        out.append(s)
    assert np.array_equal(out[0], out[1])
    assert np.array_equal(out[0], out[2])
    assert not np.array_equal(out[0], init)
