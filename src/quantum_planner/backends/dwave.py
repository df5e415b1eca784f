"""``dwave``: D-Wave's QPU and Leap hybrid solvers through ``dwave-system``.

* QPU (BQMs up to ``QP_DWAVE_HYBRID_MIN_VARIABLES`` variables): ``DWaveSampler`` under a
  ``FixedEmbeddingComposite`` whose minor embedding (``minorminer``) is cached per
  problem structure (variables and couplers), so repeated solves of same-shaped
  problems skip the embedding step. Chain strength:
  ``dwave.embedding.chain_strength.uniform_torque_compensation``. Each plan's metadata
  reports the embedding size (physical qubits, longest chain), the chain-break
  fraction (best sample and mean over reads), chain strength and QPU timing.
* larger BQMs go to ``LeapHybridSampler``; ``mode="cqm"`` sends the formulation's CQM
  export to ``LeapHybridCQMSampler``.

Credentials: ``DWAVE_API_TOKEN`` (environment or ``QP_CREDENTIALS_FILE``). Offline,
``QP_DWAVE_MOCK=true`` or ``DWaveBackend(sampler=MockDWaveSampler(...))`` runs the
same code on ``dwave.system.testing.MockDWaveSampler``: a real Pegasus graph, real
embedding, real chain breaks, classical sampling of the embedded problem.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from quantum_planner.backends.base import (
    BackendKind,
    BackendProperties,
    BaseBackend,
    module_installed,
)
from quantum_planner.backends.credentials import get_credential, mask
from quantum_planner.backends.probe import probe_problem
from quantum_planner.backends.qubo import Formulated, decode_best, formulate
from quantum_planner.config import Settings, get_settings
from quantum_planner.errors import (
    BackendUnavailableError,
    CredentialsError,
    TransientBackendError,
)
from quantum_planner.model import Problem, Solution

_AUTH = {"SolverAuthenticationError"}
_TRANSIENT = {"RequestTimeout", "PollingTimeout", "ServiceUnavailable", "RequestError"}
_UNAVAILABLE = {"SolverNotFoundError", "ProblemStructureError", "ProblemUploadError"}


def _translate(e: Exception, backend: str) -> Exception:
    """A vendor exception as one of our typed errors, secrets masked."""
    names = {c.__name__ for c in type(e).__mro__}
    text = f"D-Wave: {type(e).__name__}: {mask(e)}"
    if names & _AUTH:
        return CredentialsError(text, backend=backend)
    if names & _TRANSIENT or isinstance(e, ConnectionError | TimeoutError):
        return TransientBackendError(text, backend=backend)
    return BackendUnavailableError(text, backend=backend)


def structure_key(bqm: Any) -> str:
    """Hash of a BQM's variables and couplers (not biases): same key, same embedding."""
    h = hashlib.sha256()
    h.update(repr(sorted(map(str, bqm.variables))).encode())
    h.update(repr(sorted(tuple(sorted(map(str, e))) for e in bqm.quadratic)).encode())
    return h.hexdigest()


class DWaveBackend(BaseBackend):
    """``dwave`` backend (see the module docstring)."""

    name = "dwave"

    def __init__(
        self,
        *,
        sampler: Any = None,
        hybrid_sampler: Any = None,
        cqm_sampler: Any = None,
        settings: Settings | None = None,
        mode: str = "auto",
        embedding_timeout: float = 10.0,
        cache_size: int = 64,
    ) -> None:
        if mode not in ("auto", "qpu", "hybrid", "cqm"):
            raise ValueError("mode must be auto, qpu, hybrid or cqm")
        self._settings = settings
        self._qpu = sampler
        self._hybrid = hybrid_sampler
        self._cqm = cqm_sampler
        self.mode = mode
        self.embedding_timeout = embedding_timeout
        self._cache: OrderedDict[str, dict[Any, tuple[int, ...]]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.properties = BackendProperties(
            kind=BackendKind.QUANTUM,
            remote=True,
            native_constraints=mode == "cqm",
            credentials=("DWAVE_API_TOKEN",),
            description="D-Wave QPU (embedded BQM) and Leap hybrid solvers",
        )

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def _token(self) -> str | None:
        return get_credential("DWAVE_API_TOKEN", self._settings)

    @property
    def offline(self) -> bool:
        return self._qpu is not None or self.settings.dwave_mock

    def configuration_problem(self) -> str | None:
        if not module_installed("dwave.system"):
            return "dwave-system is not installed: pip install 'quantum-planner[dwave]'"
        if self.offline:
            return None
        if not self._token():
            return "set DWAVE_API_TOKEN (environment or QP_CREDENTIALS_FILE)"
        return None

    # -- samplers (created lazily: creating DWaveSampler contacts Leap) ----------
    def _client_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"token": self._token()}
        endpoint = get_credential("DWAVE_API_ENDPOINT", self._settings)
        if endpoint:
            kw["endpoint"] = endpoint
        return kw

    def qpu(self) -> Any:
        with self._lock:
            if self._qpu is None:
                if self.settings.dwave_mock:
                    from dwave.system.testing import MockDWaveSampler

                    self._qpu = MockDWaveSampler(topology_type="pegasus", topology_shape=[6])
                else:
                    from dwave.system import DWaveSampler

                    solver = self.settings.dwave_solver
                    try:
                        self._qpu = DWaveSampler(
                            **self._client_kwargs(), **({"solver": solver} if solver else {})
                        )
                    except Exception as e:
                        raise _translate(e, self.name) from None
            return self._qpu

    def _leap(self, kind: str) -> Any:
        if kind == "cqm" and self._cqm is not None:
            return self._cqm
        if kind == "bqm" and self._hybrid is not None:
            return self._hybrid
        if self.offline:
            raise BackendUnavailableError(
                f"dwave: the Leap hybrid {kind.upper()} solver is not available offline "
                "(mock QPU only); the problem is too large for the QPU path",
                backend=self.name,
            )
        from dwave.system import LeapHybridCQMSampler, LeapHybridSampler

        try:
            if kind == "cqm":
                self._cqm = LeapHybridCQMSampler(**self._client_kwargs())
                return self._cqm
            self._hybrid = LeapHybridSampler(**self._client_kwargs())
            return self._hybrid
        except Exception as e:
            raise _translate(e, self.name) from None

    def check_credentials(self) -> str:
        if self.offline:
            return "offline mock QPU: no credentials used"
        from dwave.cloud import Client

        try:
            with Client(**self._client_kwargs()) as client:
                solvers = client.get_solvers()
        except Exception as e:
            raise _translate(e, self.name) from None
        return f"Leap: {len(solvers)} solver(s) available"

    def probe(self, timeout: float) -> None:
        """Health probe without spending QPU time on Leap: the solver must be reachable and
        online. Offline (mock), a small embedded sample of the probe problem."""
        qpu = self.qpu()
        if not self.offline:
            if not getattr(getattr(qpu, "solver", None), "online", True):
                raise BackendUnavailableError("dwave: the QPU solver is offline", backend=self.name)
            return
        f = formulate(probe_problem())
        emb, _ = self._embedding(f.bqm, qpu, max(0.5, timeout / 2), 0)
        from dwave.system import FixedEmbeddingComposite

        ss = FixedEmbeddingComposite(qpu, emb).sample(f.bqm, num_reads=10)
        decode_best(f, [dict(x) for x in ss.samples()], self.name, limit=1)

    # -- solving -----------------------------------------------------------------
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
        if n == 0:
            raise BackendUnavailableError("dwave: empty model", backend=self.name)
        mode = self.mode
        if mode == "auto":
            mode = "qpu" if n <= self.settings.dwave_hybrid_min_variables else "hybrid"
        try:
            if mode == "qpu":
                return self._solve_qpu(f, time_limit, seed)
            return self._solve_hybrid(problem, f, mode, time_limit)
        except (BackendUnavailableError, TransientBackendError, CredentialsError):
            raise
        except Exception as e:
            raise _translate(e, self.name) from None

    def _embedding(self, bqm: Any, qpu: Any, timeout: float, seed: int | None) -> tuple[Any, bool]:
        import minorminer

        key = structure_key(bqm)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key], True
        emb = minorminer.find_embedding(
            [tuple(e) for e in bqm.quadratic] or [],
            qpu.edgelist,
            timeout=max(0.5, timeout),
            random_seed=seed if seed is not None else 0,
        )
        coupled = {v for edge in bqm.quadratic for v in edge}
        if any(v not in emb for v in coupled):  # minorminer gives {} when it fails
            raise BackendUnavailableError(
                f"dwave: no embedding found for {len(bqm.variables)} variables / "
                f"{len(bqm.quadratic)} couplers on {qpu.properties.get('topology')}",
                backend=self.name,
            )
        used = {q for chain in emb.values() for q in chain}
        nodes = iter(q for q in qpu.nodelist if q not in used)
        for v in (v for v in bqm.variables if v not in emb):  # uncoupled: a free qubit each
            emb[v] = (next(nodes),)
        emb = {v: tuple(c) for v, c in emb.items()}
        with self._lock:
            self._cache[key] = emb
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return emb, False

    def _solve_qpu(self, f: Formulated, time_limit: float, seed: int | None) -> list[Solution]:
        from dwave.embedding.chain_strength import uniform_torque_compensation
        from dwave.system import FixedEmbeddingComposite

        t0 = time.monotonic()
        qpu = self.qpu()
        emb, cached = self._embedding(f.bqm, qpu, min(self.embedding_timeout, time_limit / 2), seed)
        chain_strength = float(uniform_torque_compensation(f.bqm, embedding=emb))
        sampler = FixedEmbeddingComposite(qpu, emb)
        params: dict[str, Any] = {
            "num_reads": self.settings.dwave_num_reads,
            "chain_strength": chain_strength,
            "label": "quantum-planner",
        }
        params = {k: v for k, v in params.items() if k in qpu.parameters or k == "chain_strength"}
        sampleset = sampler.sample(f.bqm, **params).aggregate()
        sampleset = sampleset.truncate(len(sampleset))  # sorted by energy
        cbf = np.asarray(sampleset.record.chain_break_fraction, dtype=float)
        samples = [dict(s) for s in sampleset.samples()]
        sols = decode_best(f, samples, self.name)
        chains = [len(c) for c in emb.values()]
        info = {
            "device": qpu.properties.get("chip_id", "dwave"),
            "topology": qpu.properties.get("topology"),
            "logical_variables": len(f.bqm.variables),
            "embedding": {
                "physical_qubits": int(sum(chains)),
                "max_chain_length": int(max(chains)),
                "mean_chain_length": float(np.mean(chains)),
                "cached": cached,
            },
            "chain_strength": chain_strength,
            "chain_break_fraction": float(cbf[0]) if len(cbf) else 0.0,
            "mean_chain_break_fraction": float(
                np.average(cbf, weights=sampleset.record.num_occurrences)
            )
            if len(cbf)
            else 0.0,
            "num_reads": int(sampleset.record.num_occurrences.sum()),
            "timing": sampleset.info.get("timing", {}),
            "formulation": f.source,
            "seconds": time.monotonic() - t0,
        }
        for sol in sols:
            sol.metadata.update(info)
            sol.penalties.update(f.penalties)
        return sols

    def _solve_hybrid(
        self, problem: Problem, f: Formulated, mode: str, time_limit: float
    ) -> list[Solution]:
        if mode == "cqm":
            if f.cqm is None:
                raise BackendUnavailableError(
                    "dwave: the formulation has no CQM export", backend=self.name
                )
            sampler = self._leap("cqm")
            ss = sampler.sample_cqm(
                f.cqm(), time_limit=max(5.0, time_limit), label="quantum-planner"
            )
            feasible = ss.filter(lambda d: d.is_feasible)
            ss = feasible if len(feasible) else ss
        else:
            sampler = self._leap("bqm")
            ss = sampler.sample(f.bqm, time_limit=max(3.0, time_limit), label="quantum-planner")
        ss = ss.truncate(len(ss))
        sols = decode_best(f, [dict(s) for s in ss.samples()], self.name)
        for sol in sols:
            sol.metadata.update(
                device=f"leap_hybrid_{mode}",
                logical_variables=len(f.bqm.variables),
                timing=ss.info,
                formulation=f.source,
            )
        return sols
