"""The three views of a rule, each asked the same two questions about a case: does it
penalise the plan breaking the rule, and does it leave the plan keeping it alone?

* validator: :func:`quantum_planner.validate.validate` (and the rule's own check);
* analysis: the rule's entry in :func:`quantum_planner.analysis.analyse`;
* qubo: a real ``dimod`` BQM from :class:`QUBOBuilder` -- the rule's term is zero on
  the good plan's sample and positive on the bad one's, whose energy is higher
  (``penalty_strategy="safe"``); or, where the rule is no term, the breaking choice
  has no variable, or decode hands back plans that keep the rule.
"""

from __future__ import annotations

from typing import Any

from quantum_planner.analysis import analyse
from quantum_planner.constraints import CATALOGUE, make_plan
from quantum_planner.formulation import QUBOBuilder, decode
from quantum_planner.model import Solution
from quantum_planner.validate import validate

from .cases import BY_RULE, Case

CHECKERS = ("validator", "analysis", "qubo")


def penalized(rule: str, checker: str) -> None:
    case = BY_RULE[rule]
    {"validator": _validator_flags, "analysis": _analysis_flags, "qubo": _qubo_flags}[checker](case)


def unpenalized(rule: str, checker: str) -> None:
    case = BY_RULE[rule]
    {"validator": _validator_passes, "analysis": _analysis_passes, "qubo": _qubo_passes}[checker](
        case
    )


# -- validator -----------------------------------------------------------------------


def _validator_flags(case: Case) -> None:
    found = CATALOGUE[case.rule].validate(make_plan(case.problem, case.bad))
    assert found, f"{case.rule} misses the broken plan"
    assert all(v.constraint == case.rule and v.amount > 0 and v.message for v in found)
    assert case.rule in {v.constraint for v in validate(case.problem, case.bad)}


def _validator_passes(case: Case) -> None:
    assert validate(case.problem, case.good) == []


# -- analysis ------------------------------------------------------------------------


def _entry(report: dict[str, Any], rule: str) -> dict[str, Any]:
    return next(c for c in report["constraints"] if c["constraint"] == rule)


def _analysis_flags(case: Case) -> None:
    report = analyse(case.problem, case.bad)
    entry = _entry(report, case.rule)
    assert entry["enabled"] and entry["status"] == "violated"
    assert entry["penalty"] > 0 and entry["checked"] >= 1
    # each match carries its share of the penalty and a justification
    assert all(m["amount"] > 0 and m["message"] and m["items"] for m in entry["violated"])
    assert entry["penalty"] == sum(m["amount"] for m in entry["violated"])
    assert case.rule in report["violated_constraints"] and not report["feasible"]


def _analysis_passes(case: Case) -> None:
    report = analyse(case.problem, case.good)
    entry = _entry(report, case.rule)
    assert entry["enabled"] and entry["status"] in ("satisfied", "binding")
    assert entry["penalty"] == 0 and entry["violated"] == []
    assert report["violated_constraints"] == [] and report["validator_violations"] == []


# -- QUBO ----------------------------------------------------------------------------


def _builder(case: Case) -> QUBOBuilder:
    return QUBOBuilder(case.problem, mode=case.mode, penalty_strategy="safe")  # type: ignore[arg-type]


def _sample(b: QUBOBuilder, sol: Solution) -> dict[Any, int]:
    starts = {t: iv[0] for t in sol.assignments if (iv := sol.interval_of(t)) is not None}
    return b.encode(sol.assignments, starts)


def _x_set(sample: dict[Any, int]) -> int:
    return sum(v for k, v in sample.items() if k[0] == "x")


def _qubo_flags(case: Case) -> None:
    b = _builder(case)
    good, bad = _sample(b, case.good), _sample(b, case.bad)
    if case.qubo == "term":
        assert CATALOGUE[case.rule].in_qubo and case.rule in b.constraint_kinds
        assert b.constraint_bqm(case.rule).energy(bad) >= 1  # integer units: at least 1
        assert b.bqm.energy(bad) > b.bqm.energy(good)
    elif case.qubo == "variables":
        assert case.rule not in b.constraint_kinds
        assert case.absent and not set(case.absent) & set(b.bqm.variables)
    else:
        assert case.rule not in b.constraint_kinds
        decoded = decode(b, bad)
        assert CATALOGUE[case.rule].validate(make_plan(case.problem, decoded)) == []


def _qubo_passes(case: Case) -> None:
    b = _builder(case)
    good = _sample(b, case.good)
    assert _x_set(good) == len(case.good.assignments)  # the good plan is expressible
    if case.qubo == "term":
        assert b.constraint_bqm(case.rule).energy(good) == 0
    else:
        assert all(v == 0 for v in b.violations(b.x_matrix([good])[0]).values())
    decoded = decode(b, good)
    assert decoded.assignments == case.good.assignments
    assert CATALOGUE[case.rule].validate(make_plan(case.problem, decoded)) == []
