"""The documented bounds of every number and id in a problem, defined once.

The model's fields are declared with these types, so the same constants
validate input, appear as ``minimum``/``maximum``/``pattern``/``maxLength`` in
the JSON Schema (``quantum-planner schema``, the OpenAPI document), and name
the bound in the error a value out of range gets. Every bound is finite: a
duration of ``1e308`` or a horizon of ``Infinity`` is an error, not a plan.

This module imports nothing of quantum-planner but :mod:`errors`.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from quantum_planner.errors import InvalidValueError, ProblemError, error_class

__all__ = [
    "ALTERNATIVES_MAX",
    "COST_MAX",
    "FRONT_POINTS_MAX",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "LOAD_MAX",
    "PRIORITY_MAX",
    "TIME_LIMIT_MIN",
    "TIME_MAX",
    "Cost",
    "Flag",
    "Id",
    "Load",
    "Name",
    "Priority",
    "Time",
    "field_path",
    "id_keys",
    "no_bool",
    "problem_error",
]

#: Durations, release times, deadlines, availability and the horizon (about 31 years in s).
TIME_MAX = 1e9
#: Per-agent cost rates and per-task cost overrides.
COST_MAX = 1e9
#: Task priorities.
PRIORITY_MAX = 1e6
#: Task loads and agent capacities.
LOAD_MAX = 1e9
#: Smallest solve time limit in seconds (below it no solver returns anything useful).
TIME_LIMIT_MIN = 0.01
#: Most points a Pareto front request may ask for (``points``; each becomes a stored plan).
FRONT_POINTS_MAX = 100
#: Most alternative plans one request may ask for (``k``).
ALTERNATIVES_MAX = 20

#: Longest id (agent, task) or skill name, in characters.
ID_MAX_LENGTH = 128
#: Characters an id may not hold: C0/C1 control characters (NUL included), zero-width and
#: bidirectional formatting characters (U+200B-U+200F, U+202A-U+202E, U+2060-U+206F),
#: line/paragraph separators and the BOM (lone surrogates never get this far: the string
#: check refuses them). Anything else is allowed, so ``"José"`` and ``"job 3/a"`` are ids.
#: Written with ``\\uXXXX`` escapes, which Python's ``re``, ECMA-262 (JSON Schema) and
#: pydantic all read the same way.
ID_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+$"
ID_RULE = (
    f"1 to {ID_MAX_LENGTH} characters, none of them a control character (NUL included), "
    "a zero-width or bidirectional-formatting character, a line separator or a BOM"
)


def no_bool(value: Any) -> Any:
    """Refuse booleans where a number is expected (``True`` is not ``1.0`` here)."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "a boolean is not a number")
    return value


def _number(maximum: float) -> Any:
    # the before-validator goes last so that pydantic still writes minimum/maximum to the schema
    return Annotated[float, Field(ge=0, le=maximum, allow_inf_nan=False), BeforeValidator(no_bool)]


#: A point or span of time, in [0, TIME_MAX].
Time = _number(TIME_MAX)
#: A cost or cost rate, in [0, COST_MAX].
Cost = _number(COST_MAX)
#: A priority, in [0, PRIORITY_MAX].
Priority = _number(PRIORITY_MAX)
#: A load or capacity, in [0, LOAD_MAX].
Load = _number(LOAD_MAX)
#: A yes/no flag: ``true`` or ``false`` only (``0`` and ``"yes"`` are not flags).
Flag = Annotated[bool, Field(strict=True)]


def id_keys(schema: dict[str, Any]) -> None:
    """JSON Schema of a map keyed by ids: the key rule in ``propertyNames``, no other keys.

    Pydantic writes ``dict[Id, X]`` as ``patternProperties``, which lets keys that break
    the pattern through as unchecked additional properties; this states what the model
    enforces. Used as ``json_schema_extra`` (also finds the map inside an ``anyOf``).
    """
    for branch in [schema, *schema.get("anyOf", [])]:
        patterns = branch.pop("patternProperties", None)
        if patterns:
            ((pattern, value),) = patterns.items()
            branch["additionalProperties"] = value
            branch.setdefault("propertyNames", {})["pattern"] = pattern


#: An agent or task id.
Id = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, description=ID_RULE),
]
#: A skill name (same alphabet and length as an id).
Name = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]

#: The largest value of every bounded field (all have minimum 0), for error messages.
FIELD_MAX: dict[str, float] = {
    **dict.fromkeys(
        (
            "duration",
            "durations",
            "earliest_start",
            "latest_finish",
            "available_from",
            "available_until",
            "time_horizon",
        ),
        TIME_MAX,
    ),
    **dict.fromkeys(("cost_rate", "costs"), COST_MAX),
    "priority": PRIORITY_MAX,
    **dict.fromkeys(("load", "loads", "capacity"), LOAD_MAX),
}
_ID_FIELDS = {"id", "skills", "required_skills", "dependencies", "allowed_agents"}
_MAPS = {"durations", "costs", "loads", "metadata", "precedence"}
_NUMBER_ERRORS = {
    "bool_not_number",
    "greater_than_equal",
    "less_than_equal",
    "finite_number",
    "float_parsing",
    "float_type",
}
_STRING_ERRORS = {
    "string_too_long",
    "string_too_short",
    "string_pattern_mismatch",
    "string_unicode",
    "string_type",
}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """One path style for every error: ``tasks[3].durations["a1"]`` (indexes, keys quoted)."""
    out = ""
    parent: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif parent in _MAPS:
            out += f"[{json.dumps(str(part))}]"
        else:
            out += f".{part}" if out else str(part)
        parent = part
    return out


def _item_id(data: Any, loc: tuple[Any, ...]) -> tuple[str, str] | None:
    """``("task", "t4")`` for an error under ``tasks[3]``, if that item has a well-formed id."""
    if len(loc) < 2 or loc[0] not in ("agents", "tasks") or not isinstance(loc[1], int):
        return None
    try:
        item_id = data[loc[0]][loc[1]]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(item_id, str) or not is_valid_id(item_id):
        return None  # never echo an id that breaks the rules
    return loc[0][:-1], item_id


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is a well-formed id (see :data:`ID_PATTERN`)."""
    return 0 < len(value) <= ID_MAX_LENGTH and re.match(ID_PATTERN, value) is not None


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return f"{float(value):g}"
        except OverflowError:
            return "a number beyond 1e308"
    return "a value of type " + type(value).__name__


def problem_error(e: ValidationError, data: Any = None) -> ProblemError:
    """The typed error for the first problem in ``e``, its path with index and id.

    ``data`` is the input that failed (to name the agent or task by id). Values out
    of their bounds become :class:`InvalidValueError` naming the bound; malformed ids
    name the rule without echoing the id; errors our validators raised keep their
    own code.
    """
    errors = e.errors()
    err = errors[0]
    if _union_tags(err.get("loc", ())):  # the deepest branch says most
        err = max(errors, key=lambda x: len(x.get("loc", ())))
    loc = tuple(err.get("loc", ()))
    is_key = bool(loc) and loc[-1] == "[key]"
    if is_key:  # a map key that is not an id: name the map, never echo the key
        loc = loc[:-2]
    tags = _union_tags(loc)
    loc = tuple(x for i, x in enumerate(loc) if i not in tags)
    path = field_path(loc)
    named = [x for x in loc if isinstance(x, str)]
    field = next((x for x in reversed(named) if x in FIELD_MAX or x in _ID_FIELDS), None)
    owner = _item_id(data, loc)
    details: dict[str, Any] = {"id": owner[1]} if owner else {}
    where = f"{path} ({owner[0]} {owner[1]!r})" if owner else path or "problem"
    kind = err.get("type", "")
    if kind in _NUMBER_ERRORS and field in FIELD_MAX:
        maximum = FIELD_MAX[field]
        details.update(minimum=0, maximum=maximum)
        return InvalidValueError(
            f"{where} must be a finite number from 0 to {maximum:g}, got "
            f"{_shown(err.get('input'))}",
            field=path,
            **details,
        )
    if kind in _STRING_ERRORS and (field in _ID_FIELDS or is_key):
        what = "every key (an id)" if is_key else "an id or skill name"
        return InvalidValueError(f"{where}: {what} must be {ID_RULE}", field=path, **details)
    cls = error_class(kind, ProblemError)
    ctx = err.get("ctx") or {}
    if cls is not ProblemError and ctx.get("field"):
        path = f"{path}.{ctx['field']}" if path else str(ctx["field"])
    message = err.get("msg", "invalid value")
    if cls is ProblemError:
        message = f"{where}: {message}"
    return cls(message, field=path or None, **details)


#: the fields whose type is a union: pydantic puts the member that failed ("bool",
#: "dict[str,list[str]]") in the error's location, right after the field's name
_UNIONS = {"precedence", "objective"}


def _union_tags(loc: tuple[Any, ...] | list[Any]) -> set[int]:
    """Positions in ``loc`` that name a union member rather than a field, index or key."""
    return {i for i in range(1, len(loc)) if loc[i - 1] in _UNIONS and isinstance(loc[i], str)}
