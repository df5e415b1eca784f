"""The time-budgeted anneal: ``time_limit`` without ``num_sweeps``."""

from __future__ import annotations

import time

import dimod
import numba
import numpy as np
import pytest

from quantum_planner.samplers import ParallelTemperingSampler, SimulatedAnnealingSampler


def ring_model(n: int, seed: int, integer: bool) -> dimod.BQM:
    """Ring plus random chords, +-1 couplings (integer kernel) or real ones (float kernel)."""
    rng = np.random.default_rng(seed)
    pairs = [(i, (i + 1) % n) for i in range(n)]
    pairs += [(int(a), int(b)) for a, b in rng.integers(0, n, (n, 2)) if a != b]
    weights = rng.choice([-1.0, 1.0], len(pairs))
    if not integer:
        weights = weights * rng.uniform(0.5, 1.5, len(pairs))
    return dimod.BQM.from_ising({}, dict(zip(pairs, weights, strict=True)))


def is_local_minimum(bqm: dimod.BQM, sample: dict) -> bool:
    """No single flip lowers the energy."""
    e = bqm.energy(sample)
    for v in bqm.variables:
        flipped = dict(sample)
        flipped[v] = -flipped[v]
        if bqm.energy(flipped) < e - 1e-9:
            return False
    return True


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (SimulatedAnnealingSampler, {}),
        (ParallelTemperingSampler, {"num_replicas": 6}),
        (ParallelTemperingSampler, {"num_replicas": 6, "cluster_moves": True}),
    ],
)
@pytest.mark.parametrize("integer", [True, False])
def test_time_budgeted_run_fills_and_respects_the_limit(cls, kwargs, integer):
    """SA's time-budgeted anneal and PT's rounds until the clock."""
    bqm = ring_model(300, 0, integer)
    cls().sample(bqm, seed=0, time_limit=0.01, **kwargs)  # compile outside the clock
    t0 = time.perf_counter()
    ss = cls().sample(bqm, seed=1, time_limit=0.4, **kwargs)
    elapsed = time.perf_counter() - t0
    assert ss.info["schedule"] == "time"
    assert ss.info["kernel"] == ("integer" if integer else "float")
    # one long anneal / one ladder per thread by default
    assert len(ss) == numba.get_num_threads()
    # the schedule runs on the clock, so the reads last (most of) the budget
    # whatever the load, and the call returns close to it
    assert ss.info["sampling_time_s"] >= 0.2
    assert elapsed < 3.0, elapsed
    assert np.all(ss.record.num_sweeps > 0)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), atol=1e-9)
    # every read ends with a greedy descent
    for sample in ss.samples():
        assert is_local_minimum(bqm, dict(sample))


def test_time_budgeted_anneal_honours_num_reads_and_initial_states():
    bqm = ring_model(100, 1, True)
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=5, seed=2, time_limit=0.1)
    assert len(ss) == 5
    assert ss.info["schedule"] == "time"
    init = np.ones((3, 100), dtype=np.int8)
    ss = SimulatedAnnealingSampler().sample(
        bqm, initial_states=(init, list(bqm.variables)), seed=2, time_limit=0.1
    )
    assert len(ss) == 3


def test_fixed_num_sweeps_with_time_limit_is_reproducible():
    bqm = ring_model(200, 2, True)
    sampler = SimulatedAnnealingSampler()
    a = sampler.sample(bqm, num_reads=4, num_sweeps=300, seed=7, time_limit=60.0)
    b = sampler.sample(bqm, num_reads=4, num_sweeps=300, seed=7, time_limit=60.0)
    assert a.info["schedule"] == b.info["schedule"] == "sweeps"
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert list(a.record.num_sweeps) == [300] * 4


def test_sweep_schedule_without_a_finite_time_limit():
    bqm = ring_model(50, 3, True)
    sampler = SimulatedAnnealingSampler()
    for limit in (None, float("inf")):
        ss = sampler.sample(bqm, num_reads=2, seed=1, time_limit=limit)
        assert ss.info["schedule"] == "sweeps"
        assert list(ss.record.num_sweeps) == [1000, 1000]
    # a custom schedule is a list of betas, never stretched over time
    ss = sampler.sample(
        bqm,
        num_reads=2,
        seed=1,
        time_limit=10.0,
        beta_schedule_type="custom",
        beta_schedule=[0.1, 1.0, 3.0],
    )
    assert ss.info["schedule"] == "sweeps"
    assert list(ss.record.num_sweeps) == [3, 3]
