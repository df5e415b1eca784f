"""A schemathesis check of our own, loaded by test_fuzz.py through ``SCHEMATHESIS_HOOKS``.

A problem can satisfy the JSON Schema and still not be plannable: the schema
cannot say that ids are unique, that references exist, that dependencies have
no cycle or that a window fits its task. The solve routes answer those with
422 and a semantic code, so the run lets 422 pass ``positive_data_acceptance``
there; this check keeps that narrow: a schema-valid request refused for any
other reason (a bound, a type, an id the schema allows) is a contract drift. The
trade-off routes add the few arguments whose rule depends on another field
(:data:`RELATIVE_FIELDS`).
"""

from __future__ import annotations

from typing import Any

import schemathesis

SOLVE_ROUTES = {"/api/optimize", "/api/jobs", "/api/pareto", "/api/alternatives"}
#: arguments of a trade-off the schema cannot tie to the rest of the request: ``points``
#: under the number of objectives, ``reference`` of another length, ``min_distance`` above
#: the task count (each refused with ``invalid_value`` naming that field)
RELATIVE_FIELDS = {
    "/api/pareto": {"points", "reference"},
    "/api/alternatives": {"min_distance"},
}
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
    body = response.json()
    code = body.get("code")
    relative = RELATIVE_FIELDS.get(case.operation.path, set())
    if code == "invalid_value" and body.get("field") in relative:
        return None
    if code not in SEMANTIC_CODES:
        raise AssertionError(
            f"a schema-valid request was refused with {code!r}, which the schema should "
            f"have ruled out: {response.text[:300]}"
        )
    return None
