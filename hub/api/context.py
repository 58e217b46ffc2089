"""Per-request GraphQL context: the caller, the database and helpers for access rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.fastapi import BaseContext

from hub.adapters.database import Database
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal


class Forbidden(Exception):
    """A refused field: surfaces as a GraphQL error with extensions.code = FORBIDDEN."""

    def __init__(self, message: str = "forbidden"):
        super().__init__(message)
        self.extensions = {"code": "FORBIDDEN"}


@dataclass
class HubContext(BaseContext):
    db: Database = None
    principal: Principal = None
    purpose: str | None = None
    loaders: dict = field(default_factory=dict)

    def __post_init__(self):
        super().__init__()

    def require(self, *roles: Role) -> None:
        if self.principal.role not in roles:
            raise Forbidden(f"role {self.principal.role.value} may not read this field")
