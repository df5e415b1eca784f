"""A quadratic polynomial over integer-indexed binary variables, built from numpy arrays.

The QUBO builder assembles each objective and each constraint kind as one
:class:`Poly` and combines them linearly (``objective + sum(weight_k * C_k)``),
so re-weighting penalties never rebuilds the terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Poly"]


@dataclass
class Poly:
    """``offset + sum_i lin_i z_i + sum_(i<j) w_ij z_i z_j`` over binary ``z``.

    Terms are appended as arrays and merged (duplicates summed) by
    :meth:`compact`; ``i < j`` is enforced there.
    """

    offset: float = 0.0
    _li: list[np.ndarray] = field(default_factory=list)
    _lw: list[np.ndarray] = field(default_factory=list)
    _qi: list[np.ndarray] = field(default_factory=list)
    _qj: list[np.ndarray] = field(default_factory=list)
    _qw: list[np.ndarray] = field(default_factory=list)

    # -- building ---------------------------------------------------------------
    def add_linear(self, idx: np.ndarray, w: np.ndarray | float) -> None:
        idx = np.asarray(idx, dtype=np.int64)
        self._li.append(idx)
        self._lw.append(np.broadcast_to(np.asarray(w, dtype=float), idx.shape).copy())

    def add_quadratic(self, i: np.ndarray, j: np.ndarray, w: np.ndarray | float) -> None:
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        self._qi.append(i)
        self._qj.append(j)
        self._qw.append(np.broadcast_to(np.asarray(w, dtype=float), i.shape).copy())

    def add_square(self, idx: np.ndarray, coef: np.ndarray, target: float, scale: float) -> None:
        """Add ``scale * (sum_k coef_k z_idx[k] - target)**2`` (using ``z**2 == z``)."""
        idx = np.asarray(idx, dtype=np.int64)
        c = np.asarray(coef, dtype=float)
        if idx.size == 0:
            self.offset += scale * target * target
            return
        self.add_linear(idx, scale * (c * c - 2.0 * target * c))
        if idx.size > 1:
            a, b = np.triu_indices(idx.size, k=1)
            self.add_quadratic(idx[a], idx[b], 2.0 * scale * c[a] * c[b])
        self.offset += scale * target * target

    def add_pairs_within(self, idx: np.ndarray, scale: float) -> None:
        """Add ``scale * sum_(k<l) z_k z_l`` (zero iff at most one of ``idx`` is set)."""
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size > 1:
            a, b = np.triu_indices(idx.size, k=1)
            self.add_quadratic(idx[a], idx[b], scale)

    # -- reading ----------------------------------------------------------------
    def compact(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(linear[n], i, j, w)`` with duplicate pairs summed and ``i < j``."""
        lin = np.zeros(n)
        if self._li:
            np.add.at(lin, np.concatenate(self._li), np.concatenate(self._lw))
        if not self._qi:
            e = np.zeros(0, dtype=np.int64)
            return lin, e, e, np.zeros(0)
        i = np.concatenate(self._qi)
        j = np.concatenate(self._qj)
        w = np.concatenate(self._qw)
        diag = i == j  # z*z == z: a "quadratic" term on one variable is linear
        if diag.any():
            np.add.at(lin, i[diag], w[diag])
            i, j, w = i[~diag], j[~diag], w[~diag]
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        key = lo * n + hi
        uniq, inv = np.unique(key, return_inverse=True)
        ws = np.bincount(inv, weights=w, minlength=uniq.size)
        keep = ws != 0
        uniq, ws = uniq[keep], ws[keep]
        # keep the merged form so later calls are cheap
        self._li, self._lw = [np.arange(n)], [lin.copy()]
        self._qi, self._qj, self._qw = [uniq // n], [uniq % n], [ws]
        return lin, uniq // n, uniq % n, ws

    def energy(self, n: int, x: np.ndarray) -> np.ndarray:
        """Value for each row of ``x`` (shape ``(k, n)`` or ``(n,)``)."""
        lin, i, j, w = self.compact(n)
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return self.offset + x @ lin + (x[:, i] * x[:, j]) @ w

    def local_field_bound(self, n: int) -> np.ndarray:
        """``|h_v| + sum_u |J_uv|`` per variable: the most one flip of ``v`` can change it."""
        lin, i, j, w = self.compact(n)
        aw = np.abs(w)
        return np.abs(lin) + np.bincount(i, aw, minlength=n) + np.bincount(j, aw, minlength=n)

    def total_range(self, n: int) -> float:
        """``sum |h| + sum |J|``: bounds max minus min of the polynomial over all states."""
        lin, _, _, w = self.compact(n)
        return float(np.abs(lin).sum() + np.abs(w).sum())

    def scaled(self, factor: float) -> Poly:
        """A copy multiplied by ``factor``."""
        out = Poly(offset=self.offset * factor)
        out._li, out._lw = list(self._li), [w * factor for w in self._lw]
        out._qi, out._qj = list(self._qi), list(self._qj)
        out._qw = [w * factor for w in self._qw]
        return out

    def extend(self, other: Poly, factor: float = 1.0) -> None:
        """Add ``factor * other`` to this polynomial."""
        self.offset += factor * other.offset
        self._li += other._li
        self._lw += [w * factor for w in other._lw]
        self._qi += other._qi
        self._qj += other._qj
        self._qw += [w * factor for w in other._qw]
