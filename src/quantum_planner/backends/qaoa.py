"""QAOA for a BQM with Qiskit: cost Hamiltonian, ansatz, angle optimisation, sampling.

The angles are optimised with SciPy (COBYLA) on qiskit-aer's ``EstimatorV2``
(exact expectation values); the final circuit is sampled on whatever device
``run_counts(circuit, shots)`` reaches: qiskit-aer locally, IBM Quantum or an
Azure Quantum target. Optimising locally and sampling remotely costs one remote
job per solve instead of one per optimiser step.

qiskit is imported with this module, which the backends import when they are
created (in the caller's thread): importing qiskit's Rust extension for the first
time inside a worker thread while other threads ran crashed the interpreter
(segfault in ``QuantumCircuit.copy_empty_like``) in our tests.

Bit convention: dimod's spin is ``s = 2x - 1`` and ``Z|0> = +|0>``, so bit ``b``
of qubit ``i`` means ``x_i = 1 - b``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dimod
import numpy as np
from qiskit import transpile
from qiskit.circuit.library import qaoa_ansatz
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2, SamplerV2
from scipy.optimize import minimize

CountsFn = Callable[[Any, int], dict[str, int]]

# One QAOA at a time per process: Aer already uses every core, and qiskit's Rust core
# was seen to hang when circuits are built in several threads at once (an abandoned,
# timed-out solve still running while the next one starts).
_QISKIT_LOCK = threading.Lock()


@dataclass
class QAOAResult:
    samples: list[dict[Any, int]]  # distinct bitstrings as samples, lowest energy first
    metadata: dict[str, Any] = field(default_factory=dict)


def cost_operator(bqm: dimod.BinaryQuadraticModel) -> tuple[Any, list[Any], float]:
    """``(SparsePauliOp, variable order, offset)`` of ``bqm`` as an Ising Hamiltonian."""
    h, j, offset = bqm.to_ising()
    order = list(bqm.variables)
    idx = {v: i for i, v in enumerate(order)}
    terms = [("Z", [idx[v]], b) for v, b in h.items() if b]
    terms += [("ZZ", [idx[u], idx[v]], b) for (u, v), b in j.items() if b]
    if not terms:  # a constant model still needs an operator
        terms = [("I", [0], 0.0)]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=len(order)), order, offset


def bitstring_to_sample(bits: str, order: list[Any]) -> dict[Any, int]:
    """Qiskit bitstring (qubit 0 rightmost) -> ``{variable: 0/1}``."""
    rev = bits.replace(" ", "")[::-1]
    return {v: 1 - int(rev[i]) for i, v in enumerate(order)}


def aer_counts(circuit: Any, shots: int, seed: int | None = None) -> dict[str, int]:
    """Sample ``circuit`` on qiskit-aer's SamplerV2."""
    sampler = SamplerV2(seed=seed)
    result = sampler.run([circuit], shots=shots).result()[0]
    return result.data.meas.get_counts()


def run_qaoa(
    bqm: dimod.BinaryQuadraticModel,
    *,
    reps: int = 2,
    shots: int = 2048,
    maxiter: int = 80,
    deadline: float | None = None,
    seed: int | None = None,
    run_counts: CountsFn | None = None,
    stop: threading.Event | None = None,
) -> QAOAResult:
    """Optimise QAOA angles for ``bqm`` until ``maxiter`` or ``deadline`` (time.monotonic),
    sample the optimised circuit, and return the distinct samples by energy."""
    from quantum_planner.errors import TransientBackendError

    wait = 30.0 if deadline is None else max(0.0, deadline - time.monotonic())
    if not _QISKIT_LOCK.acquire(timeout=wait):
        raise TransientBackendError("quantum circuit simulator busy with another solve")
    try:
        return _run_qaoa(bqm, reps, shots, maxiter, deadline, seed, run_counts, stop)
    finally:
        _QISKIT_LOCK.release()


def _run_qaoa(
    bqm: dimod.BinaryQuadraticModel,
    reps: int,
    shots: int,
    maxiter: int,
    deadline: float | None,
    seed: int | None,
    run_counts: CountsFn | None,
    stop: threading.Event | None,
) -> QAOAResult:
    t0 = time.monotonic()
    op, order, _offset = cost_operator(bqm)
    # normalise so the same angle ranges suit every problem scale
    norm = float(np.max(np.abs(op.coeffs))) or 1.0
    op_n = op / norm
    ansatz = qaoa_ansatz(op_n, reps=reps, flatten=True)
    ansatz = transpile(
        ansatz, basis_gates=["h", "rx", "rz", "rzz", "cx", "sx", "x"], optimization_level=1
    )
    estimator = EstimatorV2(options={"default_precision": 0.0})
    evals = 0
    best: tuple[float, np.ndarray] | None = None

    class _Deadline(Exception):
        pass

    def energy(x: np.ndarray) -> float:
        nonlocal evals, best
        late = deadline is not None and time.monotonic() > deadline
        if best is not None and (late or (stop is not None and stop.is_set())):
            raise _Deadline
        evals += 1
        ev = float(estimator.run([(ansatz, op_n, x)]).result()[0].data.evs)
        if best is None or ev < best[0]:
            best = (ev, np.array(x))
        return ev

    # linear-ramp start (a good QAOA initialisation); parameters sort as beta..., gamma...
    betas = np.linspace(0.8, 0.2, reps) if reps > 1 else np.array([0.5])
    gammas = np.linspace(0.2, 0.8, reps) if reps > 1 else np.array([0.5])
    x0 = np.concatenate([betas, gammas])
    with contextlib.suppress(_Deadline):
        minimize(energy, x0, method="COBYLA", options={"maxiter": maxiter, "rhobeg": 0.3})
    assert best is not None
    circuit = ansatz.assign_parameters(best[1])
    circuit.measure_all()
    counts = (run_counts or (lambda c, n: aer_counts(c, n, seed)))(circuit, shots)
    bad = [b for b in counts if len(b.replace(" ", "")) != len(order) or set(b) - set("01 ")]
    if bad or not counts:
        from quantum_planner.backends.base import InvalidResultError

        raise InvalidResultError(
            f"corrupted counts: {len(bad)} bitstring(s) not of {len(order)} bits, e.g. {bad[:1]}"
        )
    samples = [bitstring_to_sample(b, order) for b in counts]
    samples.sort(key=bqm.energy)
    total = sum(counts.values()) or 1
    top = max(counts.values(), default=0)
    return QAOAResult(
        samples=samples,
        metadata={
            "qubits": len(order),
            "reps": reps,
            "optimizer_evaluations": evals,
            "expected_energy": best[0] * norm,
            "shots": total,
            "distinct_bitstrings": len(counts),
            "top_bitstring_probability": top / total,
            "circuit_depth": circuit.depth(),
            "seconds": time.monotonic() - t0,
        },
    )
