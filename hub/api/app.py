"""The FastAPI application: /graphql behind bearer tokens (HTTP and graphql-transport-ws), /healthz, /readyz, /metrics."""

from __future__ import annotations

from typing import Callable
from urllib.parse import unquote

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter

from hub.adapters.database import Database
from hub.api.build import build_schema
from hub.api.context import HubContext
from hub.service_layer.tokens import authenticate


class Unauthorized(Exception):
    pass


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


class HubGraphQLRouter(GraphQLRouter):
    async def on_ws_connect(self, context: HubContext):
        """graphql-transport-ws: the token comes in connection_init ({"Authorization": "Bearer …"})."""
        params = context.connection_params or {}
        token = _bearer(params.get("Authorization") or params.get("authorization")) or params.get("token")
        principal = authenticate(context.db, token)
        if principal is None:
            raise ConnectionRejectionError({"message": "missing or invalid bearer token"})
        context.principal = principal
        context.purpose = params.get("X-Purpose") or params.get("purpose")
        return {"role": principal.role.value}


def create_app(db: Database, *, production: bool = False, readiness: Callable[[], dict] | None = None, settings=None) -> FastAPI:
    """Build the HTTP app on a database; ``readiness`` adds component checks (connectors, broker)."""
    app = FastAPI(title="Staffing registry hub", docs_url=None, redoc_url=None, openapi_url=None)

    async def context_getter(conn: HTTPConnection) -> HubContext:
        if conn.scope["type"] == "websocket":
            return HubContext(db, None, settings=settings)  # authenticated in on_ws_connect
        principal = authenticate(db, _bearer(conn.headers.get("authorization")))
        if principal is None:
            raise Unauthorized()
        purpose = conn.headers.get("x-purpose")
        # HTTP headers are ASCII: a purpose in Chinese is sent percent-encoded (UTF-8), e.g. %E6%A1%88%E4%BB%B6
        return HubContext(db, principal, unquote(purpose) if purpose else None, settings=settings)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_request, _exc):
        return JSONResponse({"errors": [{"message": "missing or invalid bearer token", "extensions": {"code": "UNAUTHENTICATED"}}]},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    if not production:
        try:
            from hub.api.graphiql import graphiql_router

            app.include_router(graphiql_router("/graphql"))
        except ImportError:  # pragma: no cover - assets not built
            pass
    router = HubGraphQLRouter(build_schema(production=production), context_getter=context_getter, graphql_ide=None,
                              allow_queries_via_get=True)
    app.include_router(router, prefix="/graphql")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics():
        from hub.adapters.metrics import METRICS

        return PlainTextResponse(METRICS.render(), media_type="text/plain; version=0.0.4")

    @app.get("/readyz")
    def readyz():
        checks = {}
        try:
            with db.read_engine.connect() as c:
                c.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as e:  # noqa: BLE001 - readiness reports any failure
            checks["database"] = f"error: {e.__class__.__name__}"
        if readiness:
            checks.update(readiness())
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    return app
