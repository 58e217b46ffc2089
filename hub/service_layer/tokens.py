"""Partner bearer tokens: created once and shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hub.adapters.database import Database
from hub.adapters.orm import ApiTokenRow, UnitRow
from hub.domain.identifiers import parse_region_code, parse_unit_code
from hub.domain.vocabulary import Role
from hub.service_layer.unit_of_work import UnitOfWork

TOKEN_PREFIX = "hub_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name, role, (for UNIT) bound unit and (for a district ADMIN) region."""

    token_id: int
    name: str
    role: Role
    unit_code: str | None = None
    region_code: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, *, role: str, name: str, unit_code: str | None = None, region_code: str | None = None,
                 actor: str = "cli") -> tuple[int, str]:
    """Create a token; returns (id, the token in clear) — the clear token is never stored. ``region_code`` binds an
    ADMIN token to a district (a six-digit administrative division code): it then acts and lists only there."""
    r = Role.parse(role, "role")
    name = (name or "").strip()
    if not name:
        raise ValueError("token name must not be empty")
    if r is Role.UNIT and not unit_code:
        raise ValueError("a UNIT token must be bound to a unit: --unit CODE")
    if r is not Role.UNIT and unit_code:
        raise ValueError("only UNIT tokens are bound to a unit")
    if region_code is not None:
        if r is not Role.ADMIN:
            raise ValueError("only ADMIN tokens are bound to a region (a district's establishment office)")
        region_code = parse_region_code(region_code)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with UnitOfWork(db, actor=actor) as uow:
        if unit_code:
            unit_code = parse_unit_code(unit_code)
            if uow.session.get(UnitRow, unit_code) is None:
                raise ValueError(f"unit {unit_code} is not in the registry")
        row = ApiTokenRow(name=name, role=r.value, unit_code=unit_code, region_code=region_code,
                          token_hash=hash_token(token), created_at=uow.now)
        uow.session.add(row)
        uow.session.flush()
        uow.record("token.create", "token", str(row.id), after={"name": name, "role": r.value, "unit_code": unit_code,
                                                                    "region_code": region_code})
        uow.commit()
        return row.id, token


def list_tokens(db: Database) -> list[ApiTokenRow]:
    with db.read_session() as s:
        return list(s.execute(select(ApiTokenRow).order_by(ApiTokenRow.id)).scalars())


def revoke_token(db: Database, *, token_id: int, actor: str = "cli") -> datetime | None:
    """Revoke a token; returns when it had been revoked already (then nothing changes), else None."""
    with UnitOfWork(db, actor=actor) as uow:
        row = uow.session.get(ApiTokenRow, token_id)
        if row is None:
            raise ValueError(f"no token with id {token_id} (see `hub token list`)")
        if row.revoked_at is not None:
            return row.revoked_at
        row.revoked_at = uow.now
        uow.record("token.revoke", "token", str(row.id), before={"revoked": False}, after={"revoked": True})
        uow.commit()
    return None


def authenticate(db: Database, token: str | None) -> Principal | None:
    """The principal for a bearer token, or None when missing, unknown or revoked."""
    if not token:
        return None
    with db.read_session() as s:
        row = s.execute(select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token))).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        return Principal(row.id, row.name, Role(row.role), row.unit_code, row.region_code)
