"""Per-request GraphQL context: the caller, the database, DataLoaders and the stated purpose."""

from __future__ import annotations

from strawberry.fastapi import BaseContext

from hub.adapters.database import Database
from hub.service_layer.tokens import Principal


class Forbidden(Exception):
    """A refused field: surfaces as a GraphQL error with extensions.code = FORBIDDEN."""

    def __init__(self, message: str = "forbidden"):
        super().__init__(message)
        self.extensions = {"code": "FORBIDDEN"}


class HubContext(BaseContext):
    def __init__(self, db: Database, principal: Principal | None, purpose: str | None = None, settings=None):
        super().__init__()
        from hub.api.loaders import Loaders

        self.db = db
        self.principal = principal
        self.purpose = purpose
        self.settings = settings
        self.loaders = Loaders(db)

    @staticmethod
    def operation_name(info) -> str | None:
        op = info.operation
        return op.name.value if op is not None and op.name is not None else info.path.key
