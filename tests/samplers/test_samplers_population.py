"""Population annealing: resampling, population, time budget, returned reads."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_samplers_time_budget import ring_model

from quantum_planner.samplers import PopulationAnnealingSampler, _kernels
from quantum_planner.samplers.population_annealing import default_population


def _population(m: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    spins = np.where(rng.random((m, n)) < 0.5, -1, 1).astype(np.int8)
    fields = rng.integers(-5, 5, (m, n)).astype(np.int32)
    energy = rng.normal(0.0, 10.0, m)
    return spins, fields, energy, np.arange(m, dtype=np.int64)


def _resample(spins, fields, energy, acc, dbeta, seed=7):
    m = energy.shape[0]
    counts = np.zeros(m, np.int64)
    dead = np.zeros(m, np.int64)
    _kernels._resample(spins, fields, energy, acc, dbeta, np.uint64(seed), counts, dead)


def test_resampling_without_a_temperature_step_keeps_every_replica():
    spins, fields, energy, acc = _population(50, 8, 0)
    before = (spins.copy(), fields.copy(), energy.copy())
    _resample(spins, fields, energy, acc, 0.0)
    # equal weights: systematic resampling draws each replica exactly once
    assert np.array_equal(spins, before[0])
    assert np.array_equal(fields, before[1])
    assert np.array_equal(energy, before[2])
    assert np.array_equal(acc, np.arange(50))


def test_resampling_copies_whole_replicas_and_favours_low_energy():
    spins, fields, energy, acc = _population(200, 8, 1)
    original = {int(a): (spins[k].copy(), fields[k].copy(), energy[k]) for k, a in enumerate(acc)}
    mean_before = energy.mean()
    _resample(spins, fields, energy, acc, 0.1)
    # every slot holds an intact copy of some replica (state, fields and energy together)
    for k in range(200):
        s, f, e = original[int(acc[k])]
        assert np.array_equal(spins[k], s) and np.array_equal(fields[k], f) and energy[k] == e
    assert energy.mean() < mean_before
    # a very large step leaves only copies of the lowest-energy replica
    _resample(spins, fields, energy, acc, 1e6)
    assert np.all(energy == energy.min())
    assert len({spins[k].tobytes() for k in range(200)}) == 1


@pytest.mark.parametrize("integer", [True, False])
def test_returns_the_lowest_energy_replicas_with_exact_energies(integer):
    bqm = ring_model(120, 3, integer)
    ss = PopulationAnnealingSampler().sample(
        bqm, num_reads=5, population_size=40, num_sweeps=200, seed=2
    )
    assert len(ss) == 5
    assert ss.info["population_size"] == 40
    assert ss.info["num_steps"] == 20  # 200 sweeps, 10 per temperature
    assert ss.info["kernel"] == ("integer" if integer else "float")
    assert ss.info["schedule"] == "sweeps"
    assert 1 <= ss.info["distinct_final_states"] <= 40
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=0, atol=1e-9)
    # each returned state is a local minimum (the final greedy descent)
    for sample, energy in ss.data(["sample", "energy"]):
        for v in bqm.variables:
            flipped = dict(sample)
            flipped[v] = -flipped[v]
            assert bqm.energy(flipped) >= energy - 1e-9


def test_population_beats_its_own_single_replica():
    # same sweeps per replica: selection among 64 replicas finds energies at
    # least as low as one replica annealed alone, over a few seeds
    bqm = ring_model(400, 5, True)
    pa = PopulationAnnealingSampler()
    crowd = [
        pa.sample(bqm, population_size=64, num_sweeps=100, seed=s).first.energy for s in range(3)
    ]
    alone = [
        pa.sample(bqm, population_size=1, num_sweeps=100, seed=s).first.energy for s in range(3)
    ]
    assert np.mean(crowd) < np.mean(alone)


@pytest.mark.parametrize("integer", [True, False])
def test_time_budgeted_run_fills_and_respects_the_limit(integer):
    bqm = ring_model(300, 0, integer)
    sampler = PopulationAnnealingSampler()
    sampler.sample(bqm, seed=0, time_limit=0.01)  # compile outside the clock
    t0 = time.perf_counter()
    ss = sampler.sample(bqm, seed=1, time_limit=0.4, population_size=50)
    elapsed = time.perf_counter() - t0
    assert ss.info["schedule"] == "time"
    assert ss.info["timed_out"] is False  # the schedule ends inside the budget
    assert ss.info["num_steps"] > 1
    assert ss.info["sampling_time_s"] >= 0.2
    assert elapsed < 3.0, elapsed
    assert len(ss) == 1


def test_population_size_rules_and_errors():
    bqm = ring_model(30, 1, True)
    pa = PopulationAnnealingSampler()
    assert pa.sample(bqm, num_sweeps=10, seed=0).info["population_size"] == default_population(30)
    assert default_population(30) == 200
    assert default_population(10**7) == 16  # memory bound on huge models
    init = [{v: 1 for v in bqm.variables}] * 3
    ss = pa.sample(bqm, initial_states=init, initial_states_generator="none", num_sweeps=10)
    assert ss.info["population_size"] == 3 and len(ss) == 3
    with pytest.raises(ValueError, match="population_size"):
        pa.sample(bqm, population_size=0)
    with pytest.raises(ValueError, match="at least num_reads"):
        pa.sample(bqm, num_reads=10, population_size=5)
    with pytest.raises(ValueError, match="num_sweeps_per_beta"):
        pa.sample(bqm, num_sweeps_per_beta=0)
    with pytest.raises(ValueError, match="multiple"):
        pa.sample(bqm, num_sweeps=15, num_sweeps_per_beta=10)
    # num_sweeps left out (also in a time-budgeted run): the default fits any
    # num_sweeps_per_beta
    assert pa.sample(bqm, num_sweeps_per_beta=6, seed=1).record.num_occurrences.sum() == 1
    ss = pa.sample(bqm, num_sweeps_per_beta=6, time_limit=0.2, seed=1)
    assert ss.info["schedule"] == "time"
    with pytest.raises(ValueError, match="beta_range"):
        pa.sample(bqm, beta_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="beta_schedule_type"):
        pa.sample(bqm, beta_schedule_type="custom")
