"""Bearer API keys: who is calling, with which role; every ``/api/*`` route needs one."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from quantum_planner.service.deps import ServiceState
from quantum_planner.service.errors import APIError
from quantum_planner.store import accounts

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `quantum-planner keys create`, sent as a bearer token.",
)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    """The authenticated key (never the key itself)."""

    key_id: str
    role: str
    name: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def find_caller(state: ServiceState, token: str | None) -> Caller:
    """The key ``token`` belongs to (401 if none or unknown); shared by the API and ``/mcp``."""
    if not token:
        raise APIError(
            401,
            "unauthenticated",
            "send an API key as `Authorization: Bearer <key>` (create one with "
            "`quantum-planner keys create`)",
            field="Authorization",
            headers=_CHALLENGE,
        )
    with state.db.session() as s:
        row = accounts.find_key(s, token)
        caller = None if row is None else Caller(row.id, row.role, row.name)
    if caller is None:
        raise APIError(
            401,
            "invalid_key",
            "the API key is unknown or revoked; ask an admin for a new one",
            field="Authorization",
            headers=_CHALLENGE,
        )
    return caller


def current_caller(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Caller:
    """The caller, after authentication and rate limiting."""
    state = request.app.state.qp
    caller = find_caller(state, creds.credentials if creds is not None else None)
    request.state.caller = caller
    state.limiter.check(caller.key_id)
    return caller


def admin_caller(caller: Caller = Depends(current_caller)) -> Caller:
    """The caller, who must hold the admin role."""
    if not caller.is_admin:
        raise APIError(403, "forbidden", "this route needs an admin key; yours is a client key")
    return caller
