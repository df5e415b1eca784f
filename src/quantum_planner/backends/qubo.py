"""Problem -> BQM -> samples -> plans, for the backends that sample a QUBO remotely.

:func:`formulate` returns a :class:`Formulated`: the labelled
:class:`dimod.BinaryQuadraticModel` and a ``decode(sample)`` that turns one sample
into a plan, repairing it when it breaks a hard constraint. It uses the
formulation layer (:mod:`quantum_planner.formulation`) when installed, else the
compact assignment QUBO below (one binary per eligible task-agent pair), which is
what fits today's QPUs and simulators anyway.

Samples are untrusted: :func:`check_sample` rejects ones with missing variables or
non-binary values (:class:`~quantum_planner.backends.base.InvalidResultError`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dimod

from quantum_planner.backends.base import InvalidResultError
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import make_solution


@dataclass
class Formulated:
    """A problem's BQM and the way back from a sample to a plan."""

    bqm: dimod.BinaryQuadraticModel
    decode: Callable[[Mapping[Any, int], str], Solution]
    penalties: dict[str, float] = field(default_factory=dict)
    cqm: Callable[[], dimod.ConstrainedQuadraticModel] | None = None
    source: str = "assignment-qubo"


def var(task: str, agent: str) -> str:
    return f"x[{task},{agent}]"


def _assignment_qubo(problem: Problem) -> Formulated:
    """One-hot assignment QUBO: each mandatory task to exactly one eligible agent (optional:
    at most one, rewarded by priority), objective by agent load (makespan/balance proxy),
    cost and priority. Penalty weight exceeds any single move's objective change."""
    bqm = dimod.BinaryQuadraticModel("BINARY")
    pairs: dict[str, list[str]] = {}
    for t in problem.tasks:
        pairs[t.id] = [a.id for a in problem.eligible_agents(t)]
        for a in pairs[t.id]:
            bqm.add_variable(var(t.id, a), 0.0)
    objs = set(problem.objectives)
    total = sum(problem.task(t).duration for t in pairs) or 1.0
    obj = dimod.BinaryQuadraticModel("BINARY")
    if objs & {Objective.MINIMIZE_MAKESPAN, Objective.BALANCE_LOAD}:
        # sum over agents of (load / total)^2: smallest when loads are even
        for a in problem.agents:
            terms = [
                (var(t, a.id), problem.task(t).duration_on(a.id) / total)
                for t, ag in pairs.items()
                if a.id in ag
            ]
            for i, (u, du) in enumerate(terms):
                obj.add_linear(u, du * du)
                for v, dv in terms[i + 1 :]:
                    obj.add_quadratic(u, v, 2 * du * dv)
    if Objective.MINIMIZE_COST in objs:
        top = max((t.cost_on(a) for t in problem.tasks for a in problem.agents), default=0) or 1
        for t, ag in pairs.items():
            for a in ag:
                obj.add_linear(var(t, a), problem.task(t).cost_on(problem.agent(a)) / top)
    if Objective.MAXIMIZE_PRIORITY in objs:
        top = max((t.priority for t in problem.tasks), default=0) or 1
        for t, ag in pairs.items():
            for a in ag:
                obj.add_linear(var(t, a), -problem.task(t).priority / top)
    bqm.update(obj)
    scale = max([abs(b) for b in obj.linear.values()] + [abs(b) for b in obj.quadratic.values()])
    penalty = 2.0 + 4.0 * (scale or 0.0) * max((len(v) for v in pairs.values()), default=1)
    for t, ag in pairs.items():
        names = [var(t, a) for a in ag]
        if problem.task(t).optional:
            for i, u in enumerate(names):  # at most one
                for v in names[i + 1 :]:
                    bqm.add_quadratic(u, v, penalty)
        elif names:  # exactly one: penalty * (sum - 1)^2
            bqm.update(dimod.generators.combinations(names, 1, strength=penalty))

    def decode(sample: Mapping[Any, int], backend: str) -> Solution:
        check_sample(bqm, sample)
        load = {a.id: 0.0 for a in problem.agents}
        chosen: dict[str, str] = {}
        repaired = 0
        for tid in problem.topological_order():
            ag = pairs[tid]
            on = [a for a in ag if sample[var(tid, a)]]
            if len(on) == 1:
                pick = on[0]
            elif not ag or (not on and problem.task(tid).optional):
                continue
            else:  # none or several: the least-loaded of them (or of all eligible)
                pick = min(on or ag, key=lambda a: load[a])
                repaired += 1
            chosen[tid] = pick
            load[pick] += problem.task(tid).duration_on(pick)
        schedule = build_schedule(problem, chosen)
        sol = make_solution(problem, chosen, schedule, backend=backend)
        sol.metadata["repaired_tasks"] = repaired
        sol.metadata["energy"] = float(bqm.energy(sample))
        return sol

    return Formulated(bqm=bqm, decode=decode, penalties={"one_hot": penalty})


def _from_formulation_layer(problem: Problem) -> Formulated | None:
    try:
        mod = importlib.import_module("quantum_planner.formulation")
    except ImportError:
        return None
    builder_cls = getattr(mod, "QUBOBuilder", None)
    if builder_cls is None:
        return None
    return None  # wired in once the formulation layer's API is on main


def formulate(problem: Problem) -> Formulated:
    """The BQM for ``problem`` and its decoder (formulation layer, else assignment QUBO)."""
    return _from_formulation_layer(problem) or _assignment_qubo(problem)


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
