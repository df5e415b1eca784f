"""Binary quadratic model -> Ising model in compressed sparse row (CSR) form.

Every sampler in this package works on spins ``s`` in {-1, +1} with energy

    E(s) = offset + sum_i h_i s_i + sum_{i<j} J_ij s_i s_j

and stores the couplings as a symmetric CSR matrix (both ``J_ij`` and ``J_ji``),
so the local field ``f_i = h_i + sum_j J_ij s_j`` of a variable is one row. The
energy change of flipping ``s_i`` is ``-2 s_i f_i``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import dimod
import numba as nb
import numpy as np

from quantum_planner.samplers._compile import prepare

__all__ = [
    "IntegerForm",
    "IsingCSR",
    "anneal_beta_range",
    "default_beta_range",
    "integer_form",
    "ising_csr_from_bqm",
]


@dataclass(frozen=True)
class IsingCSR:
    """An Ising model as flat arrays (the form the numba kernels take).

    Attributes:
        variables: labels, in the order of the arrays.
        h: linear biases, float64, shape (n,).
        indptr, indices, data: symmetric coupling matrix in CSR form
            (uint32, uint32, float64); no diagonal entries.
        offset: constant energy term of the Ising model.
    """

    variables: Sequence[Hashable]
    h: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    offset: float

    @property
    def num_variables(self) -> int:
        return int(self.h.shape[0])

    @property
    def num_couplings(self) -> int:
        """Number of nonzero couplings ``J_ij`` with ``i < j``."""
        return int(self.indices.shape[0] // 2)

    def energies(self, spins: np.ndarray) -> np.ndarray:
        """Ising energies of the rows of ``spins`` (shape (R, n), values +-1)."""
        s = np.asarray(spins, dtype=np.float64)
        if s.ndim == 1:
            s = s[None, :]
        rows = np.repeat(np.arange(self.num_variables), np.diff(self.indptr))
        # each coupling appears twice in the symmetric CSR, hence the 0.5
        pair = 0.5 * (s[:, rows] * s[:, self.indices]) @ self.data
        return self.offset + s @ self.h + pair


def ising_csr_from_bqm(bqm: dimod.BinaryQuadraticModel) -> IsingCSR:
    """Convert ``bqm`` (SPIN or BINARY, any labels) to an :class:`IsingCSR`.

    Raises:
        ValueError: a bias is NaN or infinite (no sampler can rank such states).
    """
    variables = list(bqm.variables)
    n = len(variables)
    spin = bqm.spin if bqm.vartype is dimod.BINARY else bqm
    ldata, (irow, icol, qdata), offset = spin.to_numpy_vectors(variable_order=variables)
    h = np.ascontiguousarray(ldata, dtype=np.float64)
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(qdata)) and math.isfinite(offset)):
        raise ValueError("the BQM has a NaN or infinite bias; every bias must be a finite number")
    keep = qdata != 0.0  # zero couplings cost time and carry no information
    args = (
        n,
        np.ascontiguousarray(irow[keep], dtype=np.int64),
        np.ascontiguousarray(icol[keep], dtype=np.int64),
        np.ascontiguousarray(qdata[keep], dtype=np.float64),
    )
    prepare(_symmetric_csr, args)  # a cold compile is counted, so callers can take it out
    indptr, indices, data = _symmetric_csr(*args)
    return IsingCSR(
        variables=variables,
        h=h,
        indptr=indptr,
        indices=indices,
        data=data,
        offset=float(offset),
    )


@nb.njit(cache=True)
def _symmetric_csr(n, irow, icol, qdata):
    """CSR (uint32 indptr and indices, float64 data) of the symmetric matrix
    with ``J[irow[k], icol[k]] = J[icol[k], irow[k]] = qdata[k]``, columns
    ascending in every row. Two stable counting sorts (by column, then by
    row), O(n + m): a numpy argsort of the (row, col) keys took 2 ms of a
    G22 call (20k couplings); this takes ~0.1 ms."""
    m = irow.shape[0]
    rows = np.empty(2 * m, np.int64)
    cols = np.empty(2 * m, np.int64)
    vals = np.empty(2 * m, np.float64)
    for k in range(m):
        rows[k] = irow[k]
        cols[k] = icol[k]
        rows[m + k] = icol[k]
        cols[m + k] = irow[k]
        vals[k] = qdata[k]
        vals[m + k] = qdata[k]
    # pass 1: order the entries by column (stable)
    start = np.zeros(n + 1, np.int64)
    for k in range(2 * m):
        start[cols[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    by_col = np.empty(2 * m, np.int64)
    for k in range(2 * m):
        c = cols[k]
        by_col[start[c]] = k
        start[c] += 1
    # pass 2: bucket by row in column order, so each row's columns ascend
    indptr = np.zeros(n + 1, np.uint32)
    for k in range(2 * m):
        indptr[rows[k] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:n].astype(np.int64)
    indices = np.empty(2 * m, np.uint32)
    data = np.empty(2 * m, np.float64)
    for t in range(2 * m):
        k = by_col[t]
        r = rows[k]
        q = fill[r]
        indices[q] = np.uint32(cols[k])
        data[q] = vals[k]
        fill[r] = q + 1
    return indptr, indices, data


def _row_of(csr: IsingCSR) -> np.ndarray:
    """Row index of every stored coupling."""
    return np.repeat(np.arange(csr.num_variables), np.diff(csr.indptr).astype(np.int64))


def default_beta_range(csr: IsingCSR, excitation_rate: float = 0.01) -> tuple[float, float]:
    """Hot and cold inverse temperatures derived from the biases.

    Same rule as dwave-samplers: at the hot end the largest possible flip cost
    (twice the sum of a variable's absolute biases) is accepted with
    probability 1/2; at the cold end the smallest nonzero bias of any
    variable, counted over the variables that share it, excites with total
    probability ``excitation_rate``.
    """
    n = csr.num_variables
    if n == 0:
        return 0.1, 1.0
    absd = np.abs(csr.data)
    rowsum = np.abs(csr.h) + np.bincount(_row_of(csr), weights=absd, minlength=n)
    max_field = float(rowsum.max())
    if max_field == 0.0:
        return 0.1, 1.0  # all biases zero: every state has the same energy
    hot = math.log(2.0) / (2.0 * max_field)
    # smallest nonzero |bias| per variable (h or any of its couplings)
    per_var = np.where(csr.h != 0.0, np.abs(csr.h), np.inf)
    if absd.size:
        np.minimum.at(per_var, _row_of(csr), absd)
    finite = per_var[np.isfinite(per_var)]
    min_field = float(finite.min())
    count = int(np.sum(finite == min_field))
    cold = math.log(count / excitation_rate) / (2.0 * min_field)
    return hot, max(cold, hot)


#: acceptance probability, at the hot end of the annealing default, of a flip
#: against a typical local field of a random state (see :func:`anneal_beta_range`)
HOT_ACCEPT = 0.25
#: acceptance probability, at the cold end of the annealing default for
#: integer models, of the cheapest uphill flip (e**-6)
COLD_ACCEPT = math.exp(-6.0)


def anneal_beta_range(
    csr: IsingCSR, hot_accept: float = HOT_ACCEPT, cold_accept: float = COLD_ACCEPT
) -> tuple[float, float]:
    """Simulated annealing's default (hot, cold), from the biases.

    Hot end: at a uniformly random state the field
    ``f_i = h_i + sum_j J_ij s_j`` has mean ``h_i`` and variance
    ``sum_j J_ij**2``; its typical size is
    ``F = mean_i sqrt(h_i**2 + sum_j J_ij**2)``. The hot end accepts a flip
    that costs ``2F`` with probability ``hot_accept``: hot enough that the
    typical spin still flips freely (the state is still random there), but not
    as hot as :func:`default_beta_range`'s largest-field rule, which on
    models of degree 10-50 puts half of a geometric schedule above any
    ordering temperature (on Gset this rule lands at 0.6-0.7 of the
    Bethe-lattice spin-glass transition).

    Cold end, for integer biases: every flip cost is a multiple of ``2g``,
    ``g`` the greatest common divisor of the biases, so the cheapest uphill
    flip is accepted with probability at most ``cold_accept`` at
    beta = ln(1/cold_accept) / 2g (3/g by default); :func:`default_beta_range`'s
    cold end if that is warmer. Its rule (1% excitation over all the variables
    sharing the smallest bias) grows with n (6.1 at n = 2,000 on Gset), and
    the sweeps spent colder than ~3/g change nothing: the anneal ends with a
    greedy descent that removes any excitation left. Float biases keep
    :func:`default_beta_range`'s cold end: their flip costs can be far
    smaller than the smallest bias (on the planner's sub-QUBOs a 3/b cold end
    raised the mean energy at 300 sweeps).

    Per read on Gset G22-G47 at 1,000 sweeps this halves (or better) the
    sweeps per read reaching 99.9% of the best-known cut. The hot end is never
    hotter than :func:`default_beta_range`'s, nor colder than the cold end.
    """
    hot, cold = default_beta_range(csr)
    n = csr.num_variables
    if n == 0:
        return hot, cold
    biases = np.concatenate([np.abs(csr.h), np.abs(csr.data)])
    biases = biases[biases != 0.0]
    if biases.size == 0:
        return hot, cold  # all biases zero: every state has the same energy
    if 0.0 < cold_accept < 1.0 and biases.max() < 2**62 and np.all(biases == np.round(biases)):
        unit = float(np.gcd.reduce(biases.astype(np.int64)))
        cold = min(cold, math.log(1.0 / cold_accept) / (2.0 * unit))
    if 0.0 < hot_accept < 1.0:
        sq = csr.h * csr.h + np.bincount(_row_of(csr), weights=csr.data * csr.data, minlength=n)
        typical = float(np.mean(np.sqrt(sq)))
        hot = max(hot, math.log(1.0 / hot_accept) / (2.0 * typical))
    return min(hot, cold), cold


@dataclass(frozen=True)
class IntegerForm:
    """Integer copies of an :class:`IsingCSR`'s biases for the integer kernels.

    Attributes:
        h, data: int32 linear biases and couplings.
        max_field: largest possible |local field|, max_i (|h_i| + sum_j |J_ij|).
        mean_degree: mean number of couplings per variable.
    """

    h: np.ndarray
    data: np.ndarray
    max_field: int
    mean_degree: float


def integer_form(csr: IsingCSR) -> IntegerForm | None:
    """The integer form of ``csr`` if every bias is an integer and the largest
    possible |local field| is small enough for a per-temperature table of
    acceptance thresholds (at most max(64, n) entries), else None."""
    n = csr.num_variables
    if n == 0:
        return None
    if not (np.all(csr.h == np.round(csr.h)) and np.all(csr.data == np.round(csr.data))):
        return None
    rowsum = np.abs(csr.h) + np.bincount(_row_of(csr), weights=np.abs(csr.data), minlength=n)
    max_field = float(rowsum.max())
    if max_field > max(64, n):
        return None
    return IntegerForm(
        h=csr.h.astype(np.int32),
        data=csr.data.astype(np.int32),
        max_field=int(max_field),
        mean_degree=csr.indices.shape[0] / n,
    )
