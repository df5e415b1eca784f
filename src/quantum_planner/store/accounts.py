"""API keys, the backend switches table and the audit log: who may call, what is on,
and who changed it. Keys are stored as hashes; the plaintext is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quantum_planner.errors import PlannerError
from quantum_planner.store.db import canonical_json
from quantum_planner.store.repositories import new_id
from quantum_planner.store.tables import ApiKey, AuditRow, BackendStateRow, utcnow

ROLES = ("client", "admin")
KEY_PREFIX = "qp_"


# --- API keys -----------------------------------------------------------------


def hash_key(token: str) -> str:
    """SHA-256 of a key. Keys are 256-bit random, so a fast hash suffices (no guessing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(session: Session, role: str, name: str = "") -> tuple[ApiKey, str]:
    """A new key; returns its row and the plaintext key (shown once, never stored)."""
    if role not in ROLES:
        raise PlannerError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(id=new_id(), name=name, role=role, key_hash=hash_key(token), prefix=token[:10])
    session.add(row)
    session.flush()
    return row, token


def find_key(session: Session, token: str) -> ApiKey | None:
    """The active key matching ``token``, or None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(session: Session, key_id: str) -> ApiKey | None:
    """Revoke by id or by the key's displayed prefix; None if no such key."""
    row = session.get(ApiKey, key_id) or session.scalar(
        select(ApiKey).where(ApiKey.prefix == key_id)
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


# --- backend state and audit log ----------------------------------------------


def backend_states(session: Session) -> dict[str, bool]:
    return {r.name: r.enabled for r in session.scalars(select(BackendStateRow))}


def set_backend_state(
    session: Session, name: str, enabled: bool, actor_id: str | None = None
) -> None:
    row = session.get(BackendStateRow, name)
    if row is None:
        session.add(
            BackendStateRow(name=name, enabled=enabled, updated_at=utcnow(), updated_by=actor_id)
        )
    else:
        row.enabled, row.updated_at, row.updated_by = enabled, utcnow(), actor_id
    session.flush()


def audit(
    session: Session, actor_id: str | None, action: str, target: str = "", **details: Any
) -> None:
    session.add(
        AuditRow(actor_id=actor_id, action=action, target=target, details=canonical_json(details))
    )


def list_audit(session: Session, limit: int = 100) -> list[AuditRow]:
    return list(session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)))
