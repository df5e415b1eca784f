"""Admin routes: the backend operations of the incident playbook, over HTTP, audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.convertors import Convertor, register_url_convertor

from quantum_planner.service.auth import Caller, admin_caller
from quantum_planner.service.deps import ServiceState, get_state
from quantum_planner.service.errors import APIError, responses
from quantum_planner.service.schemas import (
    BackendList,
    BackendSwitch,
    BackendSwitched,
    CredentialResults,
)
from quantum_planner.store import accounts

router = APIRouter(prefix="/api/backends", tags=["admin"])


class _BackendName(Convertor[str]):
    """Any path segment but ``test-credentials``, which is a route and never a name, so
    ``PUT /api/backends/test-credentials`` is a 405 (``Allow: POST``), not a switch."""

    regex = "(?!test-credentials$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("backend_name", _BackendName())

_ADMIN = (401, 403, 429, 500)


@router.get(
    "", response_model=BackendList, summary="Backends and their state", responses=responses(*_ADMIN)
)
def list_backends(
    caller: Caller = Depends(admin_caller), state: ServiceState = Depends(get_state)
) -> BackendList:
    return BackendList(backends=state.backends.list())


@router.put(
    "/{name:backend_name}",
    response_model=BackendSwitched,
    summary="Enable or disable a backend (for every replica)",
    responses=responses(*_ADMIN, 404, 422),
)
def switch_backend(
    name: str,
    body: BackendSwitch,
    caller: Caller = Depends(admin_caller),
    state: ServiceState = Depends(get_state),
) -> BackendSwitched:
    if name not in state.backends.names():
        raise APIError(
            404,
            "unknown_backend",
            f"no backend {name[:64]!r}; GET /api/backends lists them",  # repr: escaped
            field="name",
        )
    out = state.backends.switch(name, body.enabled)
    with state.db.session() as s:
        accounts.audit(s, caller.key_id, "switch_backend", name, enabled=body.enabled)
    state.logger.warning(
        "backend %s %s by key %s",
        name,
        "enabled" if body.enabled else "disabled",
        caller.key_id,
        extra={"backend": name},
    )
    return BackendSwitched(**out)


@router.post(
    "/test-credentials",
    response_model=CredentialResults,
    summary="Check every backend's credentials (no secret is returned)",
    responses=responses(*_ADMIN),
)
def test_credentials(
    caller: Caller = Depends(admin_caller), state: ServiceState = Depends(get_state)
) -> CredentialResults:
    out = state.backends.test_credentials()
    with state.db.session() as s:
        accounts.audit(s, caller.key_id, "test_credentials")
    return CredentialResults(**out)
