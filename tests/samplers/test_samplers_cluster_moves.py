"""Houdayer cluster moves in parallel tempering, and the time window of a
read that starts late."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from test_samplers_integer_kernel import integer_bqm
from test_samplers_time_budget import ring_model

from quantum_planner.samplers import ParallelTemperingSampler, SimulatedAnnealingSampler, _kernels
from quantum_planner.samplers._csr import integer_form, ising_csr_from_bqm


def _energy(bqm: dimod.BQM, s: np.ndarray) -> float:
    return float(bqm.energy(dict(zip(bqm.variables, s.tolist(), strict=True))))


@pytest.mark.parametrize("integer", [True, False])
def test_houdayer_move_swaps_a_cluster_and_keeps_the_summed_energy(integer):
    bqm = integer_bqm(60, 0.08, dimod.SPIN, 9) if integer else ring_model(60, 3, False)
    csr = ising_csr_from_bqm(bqm)
    form = integer_form(csr) if integer else None
    h, data = (form.h, form.data) if form is not None else (csr.h, csr.data)
    rng = np.random.default_rng(2)
    n = csr.num_variables
    mark = np.zeros(n, np.int64)
    stack = np.empty(n, np.int64)
    x = np.uint64(_kernels.read_seeds(3, 1)[0])
    moved = 0
    for stamp in range(1, 30):
        a = rng.choice(np.array([-1, 1], np.int8), n)
        b = a.copy()
        b[rng.random(n) < 0.3] *= -1  # differ on ~30% of the sites
        fa = np.empty(n, h.dtype)
        fb = np.empty(n, h.dtype)
        _kernels._fields(h, csr.indptr, csr.indices, data, a, fa)
        _kernels._fields(h, csr.indptr, csr.indices, data, b, fb)
        a0, b0, ea, eb = a.copy(), b.copy(), _energy(bqm, a), _energy(bqm, b)
        dea, deb, size, x = _kernels._houdayer(
            csr.indptr, csr.indices, data, a, b, fa, fb, mark, stamp, stack, x, 64
        )
        x = np.uint64(x)
        changed = np.flatnonzero(a != a0)
        assert size == changed.size
        if size == 0:
            continue
        moved += 1
        # the cluster is swapped between the replicas, the rest untouched
        np.testing.assert_array_equal(a[changed], b0[changed])
        np.testing.assert_array_equal(b[changed], a0[changed])
        np.testing.assert_array_equal(b != b0, a != a0)
        # the returned energy changes are exact and cancel
        assert _energy(bqm, a) - ea == pytest.approx(dea, abs=1e-9)
        assert _energy(bqm, b) - eb == pytest.approx(deb, abs=1e-9)
        assert dea + deb == pytest.approx(0.0, abs=1e-9)
        # the fields followed the flips
        ref = np.empty(n, h.dtype)
        _kernels._fields(h, csr.indptr, csr.indices, data, a, ref)
        np.testing.assert_allclose(fa, ref)
        # a cluster is closed: no site outside it differs next to it
        inside = np.zeros(n, bool)
        inside[changed] = True
        for i in changed:
            for p in range(csr.indptr[i], csr.indptr[i + 1]):
                j = csr.indices[p]
                assert inside[j] or a[j] == b[j]
    assert moved > 20


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("integer", [True, False])
def test_tempering_with_cluster_moves_finds_ground_states(vartype, integer):
    bqm = integer_bqm(14, 0.4, vartype, 5)
    if not integer:
        bqm.scale(0.37)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    ss = ParallelTemperingSampler().sample(
        bqm, num_reads=3, num_sweeps=150, num_replicas=6, cluster_moves=True, seed=8
    )
    assert ss.info["kernel"] == ("integer" if integer else "float")
    assert ss.info["cluster_moves"] > 0 and ss.info["mean_cluster_size"] >= 1.0
    assert ss.first.energy == pytest.approx(ground)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), atol=1e-9)


def test_cluster_moves_are_reproducible_and_checked():
    bqm = ring_model(200, 5, True)
    kw = {"num_reads": 3, "num_sweeps": 50, "num_replicas": 6, "cluster_moves": True}
    a = ParallelTemperingSampler().sample(bqm, seed=21, **kw)
    b = ParallelTemperingSampler().sample(bqm, seed=21, **kw)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    # at most one move per round at each of the 3 coldest of 6 temperatures
    assert 0 < a.info["cluster_moves"] == b.info["cluster_moves"] <= 3 * 50 * 3
    plain = ParallelTemperingSampler().sample(bqm, seed=21, **{**kw, "cluster_moves": False})
    assert "cluster_moves" not in plain.info
    with pytest.raises(ValueError, match="cluster_fraction"):
        ParallelTemperingSampler().sample(bqm, cluster_moves=True, cluster_fraction=1.5)


def test_a_read_that_starts_late_still_anneals_to_the_cold_end():
    """A window that would end after the deadline is shrunk to fit it: the
    kernel starts with a quarter of the call's time left yet still ends
    its schedule cold and uncut, instead of being cut while hot."""
    bqm = ring_model(400, 11, True)
    SimulatedAnnealingSampler().sample(bqm, seed=0, time_limit=0.01)  # compile
    csr = ising_csr_from_bqm(bqm)
    form = integer_form(csr)
    assert form is not None
    states = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (1, 400))
    deadline = _kernels.now_ns() + 100_000_000  # 0.1 s from now
    window = 400_000_000  # 0.4 s: planned as if the read had started on time
    _sweeps, cut = _kernels.anneal_int(
        form.h, csr.indptr, csr.indices, form.data, states, 1, np.array([0.05, 5.0]), 1000,
        1, _kernels.read_seeds(1, 1), deadline, 1, _kernels.CLOCK_ID, form.max_field,
        _kernels.update_above(form.mean_degree), window,
    )  # fmt: skip
    assert not cut[0]
    assert _kernels.now_ns() < deadline


def test_align_flips_the_second_replica_whole_when_most_sites_differ():
    """Without linear biases E(s) = E(-s): the flip keeps b's energy and
    fields consistent and leaves at most half the sites differing."""
    bqm = ring_model(50, 4, True)
    assert not any(bqm.linear.values())
    csr = ising_csr_from_bqm(bqm)
    rng = np.random.default_rng(5)
    a = rng.choice(np.array([-1, 1], np.int8), 50)
    b = -a
    b[:10] *= -1  # differs on 40 of 50 sites
    fb = np.empty(50)
    _kernels._fields(csr.h, csr.indptr, csr.indices, csr.data, b, fb)
    before = _energy(bqm, b)
    _kernels._align(a, b, fb)
    assert np.count_nonzero(a != b) == 10
    assert _energy(bqm, b) == pytest.approx(before)
    ref = np.empty(50)
    _kernels._fields(csr.h, csr.indptr, csr.indices, csr.data, b, ref)
    np.testing.assert_allclose(fb, ref)
    kept = b.copy()
    _kernels._align(a, b, fb)  # already aligned: unchanged
    np.testing.assert_array_equal(b, kept)
