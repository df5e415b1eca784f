"""A schemathesis check of our own, loaded by test_fuzz.py through ``SCHEMATHESIS_HOOKS``.

A problem can satisfy the JSON Schema and still not be plannable: the schema
cannot say that ids are unique, that references exist, that dependencies have
no cycle or that a window fits its task. The solve routes answer those with
422 and a semantic code, so the run lets 422 pass ``positive_data_acceptance``
there; this check keeps that narrow: a schema-valid request refused for any
other reason (a bound, a type, an id the schema allows) is a contract drift.
"""

from __future__ import annotations

from typing import Any

import schemathesis

SOLVE_ROUTES = {"/api/optimize", "/api/jobs"}
SEMANTIC_CODES = {
    "duplicate_id",
    "unknown_reference",
    "dependency_cycle",
    "no_eligible_agent",
    "invalid_time_window",
    "infeasible",
}


@schemathesis.check
def schema_valid_problem_refused_only_for_semantics(
    ctx: Any, response: Any, case: schemathesis.Case
) -> bool | None:
    """A 422 to a schema-valid solve request must carry one of :data:`SEMANTIC_CODES`."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if case.operation.path not in SOLVE_ROUTES or response.status_code != 422:
        return None
    code = response.json().get("code")
    if code not in SEMANTIC_CODES:
        raise AssertionError(
            f"a schema-valid request was refused with {code!r}, which the schema should "
            f"have ruled out: {response.text[:300]}"
        )
    return None
