"""Parallel tempering on the integer kernel (its time-budgeted run is tested in
test_samplers_time_budget.py)."""

from __future__ import annotations

import dimod
import numba
import numpy as np
import pytest
from test_samplers_integer_kernel import integer_bqm
from test_samplers_time_budget import ring_model

from quantum_planner.samplers import ParallelTemperingSampler, _kernels
from quantum_planner.samplers._csr import integer_form, ising_csr_from_bqm


@pytest.mark.parametrize("always_update", [True, False])
def test_integer_sweep_reports_its_energy_change(always_update):
    """The energy change a sweep returns is what tempering's swaps rely on."""
    bqm = integer_bqm(30, 0.1, dimod.SPIN, 4)
    csr = ising_csr_from_bqm(bqm)
    form = integer_form(csr)
    assert form is not None
    s = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), 30)
    field = np.empty(30, np.int32)
    _kernels._fields(form.h, csr.indptr, csr.indices, form.data, s, field)
    thr = np.zeros(form.max_field + 1, np.uint64)
    _kernels._int_thresholds(thr, 0.3)
    x = _kernels.read_seeds(1, 1)[0]
    moved = 0
    for _ in range(20):
        before = float(bqm.energy(dict(zip(bqm.variables, s.tolist(), strict=True))))
        _, de, x = _kernels._metropolis_sweep_int_de(
            csr.indptr, csr.indices, form.data, s, field, thr, np.uint64(x), always_update
        )
        moved += de != 0
        after = float(bqm.energy(dict(zip(bqm.variables, s.tolist(), strict=True))))
        assert after - before == de
    assert moved > 0


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_integer_tempering_finds_ground_states(vartype):
    bqm = integer_bqm(12, 0.5, vartype, 6)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    ss = ParallelTemperingSampler().sample(bqm, num_reads=4, num_sweeps=200, num_replicas=8, seed=3)
    assert ss.info["kernel"] == "integer"
    assert ss.first.energy == pytest.approx(ground)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), atol=1e-9)


def test_integer_tempering_seed_and_threads_determinism():
    bqm = ring_model(120, 7, True)
    sampler = ParallelTemperingSampler()
    kw = {"num_reads": 5, "num_sweeps": 60, "num_replicas": 6, "adapt_every": 5}
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sampler.sample(bqm, seed=11, **kw)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = sampler.sample(bqm, seed=11, **kw)
    finally:
        numba.set_num_threads(before)
    assert one.info["kernel"] == "integer" and one.info["schedule"] == "sweeps"
    assert np.array_equal(one.record.sample, many.record.sample)
    assert one.info["ladders"] == many.info["ladders"]
    other = sampler.sample(bqm, seed=12, **kw)
    assert not np.array_equal(one.record.sample, other.record.sample)
    assert list(one.record.num_sweeps) == [60] * 5


def test_integer_tempering_adapts_the_ladder_between_fixed_ends():
    bqm = ring_model(200, 3, True)
    ss = ParallelTemperingSampler().sample(
        bqm, num_reads=2, num_sweeps=400, num_replicas=8, beta_range=(0.2, 3.0), seed=5
    )
    for ladder in ss.info["ladders"]:
        assert ladder[0] == pytest.approx(0.2) and ladder[-1] == pytest.approx(3.0)
        assert np.all(np.diff(ladder) > 0)
        # respaced: not the initial geometric ladder any more
        assert not np.allclose(ladder, np.geomspace(0.2, 3.0, 8))


def test_fixed_rounds_with_time_limit_stay_reproducible():
    bqm = ring_model(150, 2, True)
    kw = {"num_reads": 3, "num_sweeps": 80, "num_replicas": 5, "seed": 4, "time_limit": 60.0}
    a = ParallelTemperingSampler().sample(bqm, **kw)
    b = ParallelTemperingSampler().sample(bqm, **kw)
    assert a.info["schedule"] == "sweeps"
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
