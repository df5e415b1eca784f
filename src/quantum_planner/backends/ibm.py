"""``ibm``: QAOA through Qiskit, on qiskit-aer locally or on IBM Quantum with a token.

Without ``QISKIT_IBM_TOKEN`` the circuits run on qiskit-aer (always configured when
qiskit and qiskit-aer are installed: ``pip install quantum-planner[ibm]``). With the
token (environment or ``QP_CREDENTIALS_FILE``), angles are still optimised on Aer and
the final circuit is sampled on the IBM device ``QP_IBM_BACKEND`` (or the least busy
one) through ``qiskit_ibm_runtime``, imported only then.

Problems whose BQM needs more than ``QP_IBM_MAX_QUBITS`` qubits are refused with
:class:`~quantum_planner.errors.BackendUnavailableError` (the executor fails over).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from quantum_planner.backends.base import (
    BackendKind,
    BackendProperties,
    BaseBackend,
    module_installed,
)
from quantum_planner.backends.credentials import get_credential, mask
from quantum_planner.backends.probe import probe_problem
from quantum_planner.backends.qubo import decode_best, formulate
from quantum_planner.config import Settings, get_settings
from quantum_planner.errors import BackendUnavailableError, CredentialsError
from quantum_planner.model import Problem, Solution

CountsFn = Callable[[Any, int], dict[str, int]]


def _qaoa() -> Any:
    """The QAOA module (imports qiskit); None when qiskit or qiskit-aer is missing."""
    if not (module_installed("qiskit") and module_installed("qiskit_aer")):
        return None
    from quantum_planner.backends import qaoa

    return qaoa


class QAOABackend(BaseBackend):
    """QAOA on a gate-model device reached through ``_counts_fn``; subclasses pick it."""

    device = "aer"

    def __init__(self, *, settings: Settings | None = None, max_qubits: int | None = None):
        self._settings = settings
        self._max_qubits = max_qubits
        _qaoa()  # import qiskit now, in the creating thread (see backends.qaoa)

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @property
    def max_qubits(self) -> int:
        return self._max_qubits or self.settings.ibm_max_qubits

    def _counts_fn(self) -> CountsFn | None:
        return None  # None: qiskit-aer

    def probe(self, timeout: float) -> None:
        """Health probe: a one-layer QAOA with few optimiser steps and shots on a 5-qubit
        model, through the same device path as a solve (cheaper than a full solve)."""
        f = formulate(probe_problem())
        result = _qaoa().run_qaoa(
            f.bqm,
            reps=1,
            shots=128,
            maxiter=8,
            deadline=time.monotonic() + 0.5 * timeout,
            seed=0,
            run_counts=self._counts_fn(),
        )
        decode_best(f, result.samples, self.name, limit=1)

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        stop: threading.Event | None = None,
    ) -> list[Solution]:
        f = formulate(problem)
        n = len(f.bqm.variables)
        if n > self.max_qubits:
            raise BackendUnavailableError(
                f"{self.name}: problem needs {n} qubits, more than the {self.max_qubits} this "
                f"backend takes ({len(problem.tasks)} tasks x {len(problem.agents)} agents); "
                "use a classical or annealing backend",
                backend=self.name,
                qubits=n,
            )
        if n == 0:
            raise BackendUnavailableError(f"{self.name}: empty model", backend=self.name)
        s = self.settings
        result = _qaoa().run_qaoa(
            f.bqm,
            reps=s.ibm_reps,
            shots=s.ibm_shots,
            maxiter=s.ibm_maxiter,
            # keep time for sampling and decoding
            deadline=time.monotonic() + 0.5 * time_limit,
            seed=seed,
            run_counts=self._counts_fn(),
            stop=stop,
        )
        sols = decode_best(f, result.samples, self.name)
        for sol in sols:
            sol.metadata.update(result.metadata, device=self.device, formulation=f.source)
        return sols


class IBMQAOABackend(QAOABackend):
    """``ibm`` backend (see the module docstring)."""

    name = "ibm"

    def __init__(self, *, settings: Settings | None = None, max_qubits: int | None = None):
        super().__init__(settings=settings, max_qubits=max_qubits)
        self.properties = BackendProperties(
            kind=BackendKind.QUANTUM,
            max_variables=self.max_qubits,
            remote=True,
            credentials=("QISKIT_IBM_TOKEN",),
            description="QAOA via Qiskit: qiskit-aer simulator, IBM Quantum with a token",
        )
        self._device_backend: Any = None

    @property
    def device(self) -> str:  # type: ignore[override]
        return "ibm_quantum" if self._token() else "aer"

    def _token(self) -> str | None:
        return get_credential("QISKIT_IBM_TOKEN", self._settings)

    def configuration_problem(self) -> str | None:
        for mod in ("qiskit", "qiskit_aer"):
            if not module_installed(mod):
                return f"{mod} is not installed: pip install 'quantum-planner[ibm]'"
        if self._token() and not module_installed("qiskit_ibm_runtime"):
            return "QISKIT_IBM_TOKEN is set but qiskit-ibm-runtime is not installed"
        return None

    def _service(self) -> Any:
        from qiskit_ibm_runtime import QiskitRuntimeService

        try:
            return QiskitRuntimeService(
                channel=get_credential("QISKIT_IBM_CHANNEL", self._settings) or "ibm_quantum",
                token=self._token(),
                instance=get_credential("QISKIT_IBM_INSTANCE", self._settings),
            )
        except Exception as e:
            text = mask(e, self._settings)
            if "401" in text or "auth" in text.lower() or "token" in text.lower():
                raise CredentialsError(f"IBM Quantum: {text}", backend=self.name) from None
            raise BackendUnavailableError(f"IBM Quantum: {text}", backend=self.name) from None

    def _counts_fn(self) -> CountsFn | None:
        if not self._token():
            return None

        def run(circuit: Any, shots: int) -> dict[str, int]:
            from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
            from qiskit_ibm_runtime import SamplerV2

            if self._device_backend is None:
                service = self._service()
                name = self.settings.ibm_backend
                self._device_backend = (
                    service.backend(name) if name else service.least_busy(operational=True)
                )
            pm = generate_preset_pass_manager(optimization_level=1, backend=self._device_backend)
            job = SamplerV2(mode=self._device_backend).run([pm.run(circuit)], shots=shots)
            return job.result()[0].data.meas.get_counts()

        return run

    def check_credentials(self) -> str:
        if not self._token():
            return "QISKIT_IBM_TOKEN not set; circuits run on the local qiskit-aer simulator"
        service = self._service()
        return f"IBM Quantum: {len(service.backends())} backend(s) visible"
