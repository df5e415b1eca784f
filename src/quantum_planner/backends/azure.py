"""``azure_quantum``: QAOA circuits on an Azure Quantum target.

Azure Quantum retired its optimisation solvers (the QIO / "Microsoft QIO" and 1QBit
targets) in 2023-24, so there is no annealing-style service to send a QUBO to. This
adapter runs the same QAOA as ``ibm`` and submits the final circuit to a gate-model
target (``QP_AZURE_TARGET``, default ``rigetti.sim.qvm``) through the ``azure-quantum``
SDK's Qiskit provider. It is configured only when ``AZURE_QUANTUM_RESOURCE_ID`` and
``AZURE_QUANTUM_LOCATION`` are set (environment or ``QP_CREDENTIALS_FILE``; Azure
authentication through ``azure-identity``'s default credential chain) and
``pip install 'quantum-planner[azure]'`` was run; otherwise its status is
``unconfigured``. Tests pass a local ``target`` (qiskit-aer's ``AerSimulator``, which has
the same ``run(circuit, shots=...)`` interface as an Azure Qiskit backend).
"""

from __future__ import annotations

from typing import Any

from quantum_planner.backends.base import BackendKind, BackendProperties, module_installed
from quantum_planner.backends.credentials import get_credential, mask
from quantum_planner.backends.ibm import CountsFn, QAOABackend
from quantum_planner.config import Settings
from quantum_planner.errors import BackendUnavailableError, CredentialsError


class AzureQuantumBackend(QAOABackend):
    """``azure_quantum`` backend (see the module docstring)."""

    name = "azure_quantum"
    device = "azure_quantum"

    def __init__(
        self,
        *,
        target: Any = None,
        settings: Settings | None = None,
        max_qubits: int | None = None,
    ) -> None:
        super().__init__(settings=settings, max_qubits=max_qubits)
        self._target = target  # a Qiskit backend: an Azure target, or a local stand-in
        self.properties = BackendProperties(
            kind=BackendKind.QUANTUM,
            max_variables=self.max_qubits,
            remote=True,
            credentials=("AZURE_QUANTUM_RESOURCE_ID", "AZURE_QUANTUM_LOCATION"),
            description="QAOA circuits on an Azure Quantum gate-model target",
        )

    @property
    def max_qubits(self) -> int:
        return self._max_qubits or self.settings.azure_max_qubits

    def configuration_problem(self) -> str | None:
        if self._target is not None:
            return None
        for mod in ("qiskit", "qiskit_aer"):
            if not module_installed(mod):
                return f"{mod} is not installed: pip install 'quantum-planner[azure]'"
        if not (
            get_credential("AZURE_QUANTUM_RESOURCE_ID", self._settings)
            and get_credential("AZURE_QUANTUM_LOCATION", self._settings)
        ):
            return "set AZURE_QUANTUM_RESOURCE_ID and AZURE_QUANTUM_LOCATION (no workspace)"
        if not module_installed("azure.quantum"):
            return "azure-quantum is not installed: pip install 'quantum-planner[azure]'"
        return None

    def _workspace(self) -> Any:
        from azure.quantum import Workspace

        try:
            return Workspace(
                resource_id=get_credential("AZURE_QUANTUM_RESOURCE_ID", self._settings),
                location=get_credential("AZURE_QUANTUM_LOCATION", self._settings),
            )
        except Exception as e:
            raise CredentialsError(
                f"Azure Quantum workspace: {mask(e, self._settings)}", backend=self.name
            ) from None

    def target(self) -> Any:
        if self._target is None:
            from azure.quantum.qiskit import AzureQuantumProvider

            provider = AzureQuantumProvider(self._workspace())
            try:
                self._target = provider.get_backend(self.settings.azure_target)
            except Exception as e:
                raise BackendUnavailableError(
                    f"Azure Quantum target {self.settings.azure_target!r}: {mask(e)}",
                    backend=self.name,
                ) from None
        return self._target

    def _counts_fn(self) -> CountsFn | None:
        def run(circuit: Any, shots: int) -> dict[str, int]:
            from qiskit import transpile

            target = self.target()
            job = target.run(transpile(circuit, backend=target), shots=shots)
            return job.result().get_counts()

        return run

    def check_credentials(self) -> str:
        if self._target is not None:
            return f"local stand-in target {self._target.name}"
        ws = self._workspace()
        targets = [t.name for t in ws.get_targets()]
        return f"Azure Quantum workspace reachable, {len(targets)} target(s)"
