"""Problem -> BQM -> samples -> plans, for the backends that sample a QUBO remotely.

:func:`formulate` returns a :class:`Formulated`: the labelled
:class:`dimod.BinaryQuadraticModel` built by :class:`~quantum_planner.formulation.QUBOBuilder`
and a ``decode(sample)`` that turns one sample into a plan, repairing it when it
breaks a hard constraint (:func:`quantum_planner.formulation.decode`).

Samples are untrusted: :func:`check_sample` rejects ones with missing variables or
non-binary values (:class:`~quantum_planner.backends.base.InvalidResultError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dimod

from quantum_planner.backends.base import InvalidResultError
from quantum_planner.formulation import QUBOBuilder
from quantum_planner.formulation import decode as decode_sample
from quantum_planner.formulation.cqm import build_cqm
from quantum_planner.model import Problem, Solution


@dataclass
class Formulated:
    """A problem's BQM and the way back from a sample to a plan."""

    bqm: dimod.BinaryQuadraticModel
    decode: Callable[[Mapping[Any, int], str], Solution]
    penalties: dict[str, float] = field(default_factory=dict)
    cqm: Callable[[], dimod.ConstrainedQuadraticModel] | None = None
    source: str = "QUBOBuilder"


def formulate(problem: Problem) -> Formulated:
    """The BQM for ``problem`` and its decoder, from the formulation layer.

    Assignment mode (one binary per eligible task-agent pair, plus slack bits for
    capacities and horizons; makespan by its quadratic proxy): the time-indexed model
    is far too large for today's QPUs and circuit simulators. Precedence and windows
    are then met by the list scheduler and repair in ``decode``.
    """
    builder = QUBOBuilder(problem, mode="assignment", makespan="proxy")
    bqm = builder.bqm

    def decode(sample: Mapping[Any, int], backend: str) -> Solution:
        check_sample(bqm, sample)
        sol = decode_sample(builder, sample, backend=backend)
        sol.metadata["energy"] = float(bqm.energy(sample))
        return sol

    return Formulated(
        bqm=bqm,
        decode=decode,
        penalties=dict(builder.penalties),
        cqm=lambda: build_cqm(problem, builder),
        source="QUBOBuilder(mode=assignment)",
    )


def check_sample(bqm: dimod.BinaryQuadraticModel, sample: Mapping[Any, int]) -> None:
    """Raise :class:`InvalidResultError` unless ``sample`` gives 0/1 to every variable."""
    missing = [v for v in bqm.variables if v not in sample]
    if missing:
        raise InvalidResultError(
            f"corrupted sample: {len(missing)} variable(s) missing, e.g. {missing[0]!r}"
        )
    bad = [v for v in bqm.variables if sample[v] not in (0, 1)]
    if bad:
        raise InvalidResultError(
            f"corrupted sample: non-binary value {sample[bad[0]]!r} for {bad[0]!r}"
        )


def decode_best(
    f: Formulated, samples: list[Mapping[Any, int]], backend: str, *, limit: int = 5
) -> list[Solution]:
    """Decode the ``limit`` lowest-energy distinct samples (corrupted ones are skipped;
    if all are corrupted the first error is raised)."""
    out: list[Solution] = []
    first_error: InvalidResultError | None = None
    seen: set[tuple[int, ...]] = set()
    order = list(f.bqm.variables)
    for s in samples:
        try:
            check_sample(f.bqm, s)
        except InvalidResultError as e:
            first_error = first_error or e
            continue
        key = tuple(int(s[v]) for v in order)
        if key in seen:
            continue
        seen.add(key)
        out.append(f.decode(s, backend))
        if len(out) >= limit:
            break
    if not out:
        raise first_error or InvalidResultError("backend returned no samples")
    return out
