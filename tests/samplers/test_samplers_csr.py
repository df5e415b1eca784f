"""The BQM -> Ising CSR conversion and the SampleSet's label order."""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest

from quantum_planner.samplers import SimulatedAnnealingSampler
from quantum_planner.samplers._csr import ising_csr_from_bqm


def random_bqm(n: int, density: float, vartype: dimod.Vartype, seed: int) -> dimod.BQM:
    rng = np.random.default_rng(seed)
    labels = [int(v) for v in rng.permutation(n)]  # labels not in sorted order
    bqm = dimod.BQM(vartype)
    for v in labels:
        bqm.add_variable(v, float(rng.normal()))
    for u, v in itertools.combinations(labels, 2):
        if rng.random() < density:
            bqm.add_interaction(u, v, float(rng.choice([-2.0, -0.5, 0.0, 1.0, 3.0])))
    return bqm


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("seed", range(4))
def test_csr_is_the_symmetric_coupling_matrix_with_sorted_rows(vartype, seed):
    bqm = random_bqm(30, 0.3, vartype, seed)
    csr = ising_csr_from_bqm(bqm)
    n = csr.num_variables
    assert csr.indptr.dtype == np.uint32 and csr.indices.dtype == np.uint32
    dense = np.zeros((n, n))
    for i in range(n):
        cols = csr.indices[csr.indptr[i] : csr.indptr[i + 1]]
        assert np.all(np.diff(cols.astype(np.int64)) > 0)  # ascending, no duplicates
        dense[i, cols] = csr.data[csr.indptr[i] : csr.indptr[i + 1]]
    spin = bqm.spin if vartype is dimod.BINARY else bqm
    want = np.zeros((n, n))
    pos = {v: k for k, v in enumerate(csr.variables)}
    for (u, v), b in spin.quadratic.items():
        want[pos[u], pos[v]] = want[pos[v], pos[u]] = b
    np.testing.assert_array_equal(dense, want)  # zero couplings dropped, both halves kept
    assert not np.any(csr.data == 0.0)
    rng = np.random.default_rng(seed)
    s = 2 * rng.integers(0, 2, (5, n)) - 1
    samples = s if vartype is dimod.SPIN else (s + 1) // 2
    np.testing.assert_allclose(
        csr.energies(s), bqm.energies((samples, csr.variables)), rtol=1e-12, atol=1e-9
    )


@pytest.mark.parametrize("labels", [range(6), [3, 1, 0, 5, 2, 4], list("fbdaec")])
def test_sampleset_labels_sorted_and_energies_match(labels):
    labels = list(labels)
    bqm = dimod.BQM({v: 0.1 * k for k, v in enumerate(labels)}, {}, 0.0, "SPIN")
    for u, v in itertools.pairwise(labels):
        bqm.add_interaction(u, v, -1.0)
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=3, num_sweeps=20, seed=1)
    assert list(ss.variables) == sorted(labels)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
