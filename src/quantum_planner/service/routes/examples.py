"""``GET /api/examples``: the shipped example problems, read-only, for the web view.

The examples are the repository's ``examples/*.json``: in ``QP_EXAMPLES_DIR`` if
set, else next to the source tree (a checkout or an editable install). With none
found the list is empty, and the web view still takes an uploaded or pasted problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends

from quantum_planner.service.auth import Caller, current_caller
from quantum_planner.service.errors import APIError, responses

router = APIRouter(prefix="/api/examples", tags=["examples"])


def _folder() -> Path | None:
    env = os.environ.get("QP_EXAMPLES_DIR")
    # src/quantum_planner/service/routes/examples.py -> the repository root
    folder = Path(env) if env else Path(__file__).resolve().parents[4] / "examples"
    return folder if folder.is_dir() else None


def _files() -> dict[str, Path]:
    folder = _folder()
    return {} if folder is None else {p.stem: p for p in sorted(folder.glob("*.json"))}


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise APIError(
            500, "example_unreadable", f"example {path.stem!r} cannot be read: {e}"
        ) from None
    if not isinstance(data, dict):
        raise APIError(500, "example_unreadable", f"example {path.stem!r} is not a JSON object")
    return data


@router.get("", summary="The shipped example problems", responses=responses(401, 429))
def list_examples(caller: Caller = Depends(current_caller)) -> dict[str, Any]:
    out = []
    for name, path in _files().items():
        data = _read(path)
        out.append(
            {
                "name": name,
                "title": data.get("name", name),
                "agents": len(data.get("agents", [])),
                "tasks": len(data.get("tasks", [])),
            }
        )
    return {"examples": out}


@router.get(
    "/{name}", summary="One example problem (a Problem JSON)", responses=responses(401, 404, 429)
)
def get_example(name: str, caller: Caller = Depends(current_caller)) -> dict[str, Any]:
    path = _files().get(name)
    if path is None:
        raise APIError(
            404,
            "example_not_found",
            f"no example {name!r}; GET /api/examples lists them",
            field="name",
        )
    return _read(path)
