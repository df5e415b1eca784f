"""Azure Quantum adapter: unconfigured without a workspace; QAOA circuits on a target."""

from __future__ import annotations

import pytest
from backend_fakes import make_problem

pytest.importorskip("qiskit_aer", reason="needs the [azure] extra")

from qiskit_aer import AerSimulator

from quantum_planner.backends import get_backend
from quantum_planner.backends.azure import AzureQuantumBackend
from quantum_planner.backends.integrity import candidate_problems
from quantum_planner.config import Settings
from quantum_planner.health import check_backend


def test_unconfigured_without_workspace(monkeypatch):
    for name in ("AZURE_QUANTUM_RESOURCE_ID", "AZURE_QUANTUM_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    backend = AzureQuantumBackend(settings=Settings())
    assert "AZURE_QUANTUM_RESOURCE_ID" in backend.configuration_problem()
    assert get_backend("azure_quantum").name == "azure_quantum"
    assert check_backend("azure_quantum", timeout=1)["status"] == "unconfigured"


def test_workspace_without_sdk_is_reported(monkeypatch):
    from quantum_planner.backends.base import module_installed

    monkeypatch.setenv("AZURE_QUANTUM_RESOURCE_ID", "/subscriptions/x/resourceGroups/y/w")
    monkeypatch.setenv("AZURE_QUANTUM_LOCATION", "westeurope")
    why = AzureQuantumBackend(settings=Settings()).configuration_problem()
    if not module_installed("azure.quantum"):
        assert "azure-quantum" in why
    else:
        assert why is None


def test_qaoa_circuit_runs_on_a_qiskit_target():
    # AerSimulator has the interface of an Azure Quantum Qiskit target: run(circuit, shots)
    problem = make_problem(4, 2, seed=1)
    backend = AzureQuantumBackend(
        target=AerSimulator(seed_simulator=3), settings=Settings(ibm_maxiter=30)
    )
    assert backend.configuration_problem() is None
    sols = backend.solve(problem, time_limit=10, seed=1)
    assert all(not candidate_problems(problem, s) for s in sols)
    assert sols[0].metadata["device"] == "azure_quantum"
    assert "stand-in" in backend.check_credentials()
