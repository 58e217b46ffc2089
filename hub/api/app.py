"""The FastAPI application: /graphql behind bearer tokens, /healthz and /readyz."""

from __future__ import annotations

from typing import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from strawberry.fastapi import GraphQLRouter

from hub.adapters.database import Database
from hub.api.context import HubContext
from hub.api.schema import schema
from hub.service_layer.tokens import authenticate


class Unauthorized(Exception):
    pass


def create_app(db: Database, *, production: bool = False, readiness: Callable[[], dict] | None = None) -> FastAPI:
    """Build the HTTP app on a database; ``readiness`` adds component checks (connectors, broker)."""
    app = FastAPI(title="Staffing registry hub", docs_url=None, redoc_url=None)

    async def context_getter(request: Request) -> HubContext:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        principal = authenticate(db, token)
        if principal is None:
            raise Unauthorized()
        return HubContext(db=db, principal=principal, purpose=request.headers.get("x-purpose"))

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_request, _exc):
        return JSONResponse({"errors": [{"message": "missing or invalid bearer token",
                                         "extensions": {"code": "UNAUTHENTICATED"}}]},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    router = GraphQLRouter(schema, context_getter=context_getter, graphql_ide=None if production else "graphiql",
                           allow_queries_via_get=True)
    app.include_router(router, prefix="/graphql")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics():
        from fastapi.responses import PlainTextResponse

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
