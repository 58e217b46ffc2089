"""The FastAPI application: /graphql behind bearer tokens (HTTP and graphql-transport-ws), /healthz, /readyz, /metrics."""

from __future__ import annotations

import time
from typing import Callable
from urllib.parse import unquote

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from starlette.requests import HTTPConnection, Request
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter

from hub.adapters.database import Database
from hub.adapters.heap import freeze_heap, watch_collector  # noqa: F401 - hub.api.app.freeze_heap stays importable
from hub.api.build import build_schema
from hub.api.compiled import CompiledData, ascii_json
from hub.api.context import HubContext
from hub.api.limits import DEFAULT_MAX_BODY_BYTES, BodySizeLimit
from hub.api.errors import unstorable
from hub.service_layer.tokens import authenticate


class Unauthorized(Exception):
    pass


class BadPurpose(ValueError):
    """An X-Purpose header the access log cannot store (answered 400, BAD_USER_INPUT)."""


class TokenCache:
    """Bearer token → principal, reused for ``ttl_s`` seconds after a successful database lookup.

    Only accepted tokens are cached (unknown ones are looked up every time, so random tokens cannot fill it). A
    token revoked meanwhile (``hub token revoke``, possibly from another process) is refused at the latest
    ``ttl_s`` seconds after its revocation. ``ttl_s = 0`` turns the cache off: every request looks the token up.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, db: Database, ttl_s: float):
        self.db = db
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, object]] = {}

    def authenticate(self, token: str | None):
        if not token or self.ttl_s <= 0:
            return authenticate(self.db, token)
        now = time.monotonic()
        hit = self._entries.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = authenticate(self.db, token)
        if principal is None:
            self._entries.pop(token, None)
        else:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[token] = (now + self.ttl_s, principal)
        return principal


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


class HubGraphQLRouter(GraphQLRouter):
    """Strawberry's FastAPI router made to follow the GraphQL-over-HTTP spec (docs/graphql-over-http.md).

    - Response media type by the request's ``Accept``: ``application/graphql-response+json`` when the client
      prefers it, else ``application/json`` (also for a missing Accept, ``*/*`` or ``application/*``).
    - With ``application/graphql-response+json``, a request that fails before execution (document not
      parseable, validation errors, variable coercion failure) is answered 400 without a ``data`` entry;
      with ``application/json`` it stays 200 with ``"data": null``, as before. Results of execution are 200.
    - Transport failures carry a GraphQL-shaped body ``{"errors": [{"message", "extensions": {"code"}}]}``:
      body not JSON / not an object, missing or non-string ``query``, bad ``variables``, ``operationName``
      or ``extensions`` types → 400; POST media type other than ``application/json`` → 415; a mutation via
      GET → 405 (``Allow: POST``); a method other than GET and POST → 405 (``Allow: GET, POST``).

    Authentication is unchanged: the context getter runs first and a missing or bad token is 401.
    """

    token_cache: "TokenCache | None" = None  # set by create_app
    GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
    JSON = "application/json"
    # Answered 405 by a route of their own (any other method gets FastAPI's 405 from the GET route).
    OTHER_METHODS = ("PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE")
    ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA_TYPE",
                   500: "INTERNAL_SERVER_ERROR"}

    def __init__(self, schema, path: str = "", *, context_getter, **kwargs):
        super().__init__(schema, path, context_getter=context_getter, **kwargs)
        self._hub_context = context_getter
        self._lean_post(path)
        self.add_api_route(path, self._method_not_allowed, methods=list(self.OTHER_METHODS), include_in_schema=False)

    def _lean_post(self, path: str) -> None:
        """Answer POST with ``handle_post`` instead of strawberry's ``handle_http_post``.

        Strawberry's endpoint takes its context through FastAPI dependencies (the context getter, a sub-response,
        background tasks, the root value), which FastAPI resolves anew for every request: ~200 Python calls, about
        a tenth of a person lookup's (issue 18, session 9). ``handle_post`` builds the same context and calls the
        same ``run``; only the resolution is gone. GET and WebSocket keep strawberry's endpoints."""
        from fastapi.routing import APIRoute

        for i, route in enumerate(self.routes):
            if isinstance(route, APIRoute) and route.path == path and route.methods == {"POST"}:
                del self.routes[i]
                self.add_api_route(path, self.handle_post, methods=["POST"], name=route.name,
                                   include_in_schema=route.include_in_schema)
                return
        raise RuntimeError("strawberry's POST route was not found")  # a strawberry upgrade moved it: look again

    async def handle_post(self, request: Request):
        """strawberry's ``handle_http_post`` with its dependencies made here: the hub's context (its errors —
        401, 400 for X-Purpose — raise as before), strawberry's additions to it, FastAPI's empty sub-response."""
        from cross_web import HTTPException
        from fastapi import BackgroundTasks, Response

        sub_response = Response()  # as FastAPI makes it for a `response: Response` parameter
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]
        context = await self._hub_context(request)
        context.request, context.background_tasks, context.response = request, BackgroundTasks(), sub_response
        self.temporal_response = sub_response
        try:
            return await self.run(request=request, context=context, root_value=None)
        except HTTPException as e:
            return PlainTextResponse(e.reason, status_code=e.status_code)

    @classmethod
    def response_media_type(cls, accept: str | None) -> str:
        """The media type to answer with for an ``Accept`` header: highest q wins, the first listed on a tie."""
        best, best_q = cls.JSON, 0.0
        for item in (accept or "").split(","):
            media_type, *params = (part.strip() for part in item.split(";"))
            media_type = media_type.lower()
            if media_type == cls.GRAPHQL_RESPONSE_JSON:
                candidate = cls.GRAPHQL_RESPONSE_JSON
            elif media_type in (cls.JSON, "application/*", "*/*"):
                candidate = cls.JSON
            else:
                continue
            q = 1.0
            for param in params:
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    try:
                        q = float(value)
                    except ValueError:
                        q = 0.0
            if q > best_q:
                best, best_q = candidate, q
        return best  # nothing acceptable listed (or no Accept at all): application/json

    def error_response(self, conn: HTTPConnection, status_code: int, message: str, headers: dict | None = None):
        """A transport-level failure as a GraphQL response body, in the media type the client accepts."""
        from starlette.responses import Response

        error = {"message": message, "extensions": {"code": self.ERROR_CODES.get(status_code, "BAD_REQUEST")}}
        return Response(self.encode_json({"errors": [error]}), status_code=status_code, headers=headers,
                        media_type=self.response_media_type(conn.headers.get("accept")))

    async def _method_not_allowed(self, conn: HTTPConnection):
        return self.error_response(conn, 405, f"GraphQL is served over GET and POST, not {conn.scope['method']}.",
                                   {"Allow": "GET, POST"})

    async def run(self, request, *args, **kwargs):
        from cross_web import HTTPException

        if self.is_websocket_request(request):
            return await super().run(request, *args, **kwargs)
        media_type = self.response_media_type(request.headers.get("accept"))
        request.state.graphql_media_type = media_type  # read by process_result
        request.state.graphql_status = None  # set by process_result for a request error
        try:
            response = await super().run(request, *args, **kwargs)
        except HTTPException as e:
            headers = None
            if e.status_code == 405:
                headers = {"Allow": "POST" if request.method == "GET" else "GET, POST"}
            return self.error_response(request, e.status_code, e.reason, headers)
        if response.headers.get("content-type") == self.JSON:  # a GraphQL result (not the IDE, not a stream)
            response.headers["content-type"] = media_type
            if request.state.graphql_status is not None:
                response.status_code = request.state.graphql_status
        return response

    def encode_json(self, data):
        """Strawberry's encoding (compact JSON, non-ASCII escaped); the data of a compiled read (hub/api/compiled/)
        the same bytes through the faster ``ascii_json``."""
        if type(data) is dict and len(data) == 1:
            answer = data.get("data")
            if type(answer) is CompiledData and not answer.has_float:
                encoded = ascii_json(data)
                if encoded is not None:
                    return encoded
        return super().encode_json(data)

    def decode_json(self, data):
        """JSON as strawberry parses it, but nesting deeper than Python's parser goes is bad JSON (HTTP 400; a
        WebSocket message: closed with 4400), not a RecursionError."""
        import json

        try:
            return super().decode_json(data)
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None

    def should_render_graphql_ide(self, request) -> bool:
        # Without an IDE, a GET without a query is a GraphQL request missing its query (400), not a 404.
        return self.graphql_ide is not None and super().should_render_graphql_ide(request)

    async def parse_http_body(self, request):
        from cross_web import HTTPException
        from strawberry.http import GraphQLRequestData
        from strawberry.http.parse_content_type import parse_content_type

        if request.method != "POST":
            return await super().parse_http_body(request)  # GET: query string parameters
        media_type, _ = parse_content_type(request.content_type or "")
        if media_type != self.JSON:
            if self.multipart_uploads_enabled and media_type == "multipart/form-data":
                return await super().parse_http_body(request)
            raise HTTPException(415, f"POST bodies must be {self.JSON}, not {request.content_type or 'untyped'}.")
        data = self.parse_json(await request.get_body())  # not JSON: 400
        transport = self._get_stream_transport_from_headers(request.headers)
        protocol = transport.protocol if transport else "http"

        def request_data(item) -> GraphQLRequestData:
            if not isinstance(item, dict):
                raise HTTPException(400, "The request body must be a JSON object.")
            for name, kinds, what in (("query", (str, type(None)), "a string"),
                                      ("operationName", (str, type(None)), "a string"),
                                      ("variables", (dict, type(None)), "an object"),
                                      ("extensions", (dict, type(None)), "an object")):
                if not isinstance(item.get(name), kinds):
                    raise HTTPException(400, f"The GraphQL operation's `{name}` must be {what} or null, if provided.")
            return GraphQLRequestData(query=item.get("query"), variables=item.get("variables"),
                                      operation_name=item.get("operationName"), extensions=item.get("extensions"),
                                      protocol=protocol)

        if isinstance(data, list):
            self._validate_batch_request(data, protocol=protocol)  # 400 unless batching is enabled
            return [request_data(item) for item in data]
        return request_data(data)

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):
        """One operation, not streamed. Unlike strawberry's, subscriptions are refused here (they are served over
        WebSocket, graphql-transport-ws) instead of being run as a query, and an operation that only POST allows
        sent via GET (a mutation) is 405."""
        from cross_web import HTTPException
        from strawberry.exceptions import MissingQueryError
        from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
        from strawberry.types.graphql import OperationType

        method = request_adapter.method
        allowed = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        if method == "GET" and not self.allow_queries_via_get:
            allowed -= {OperationType.QUERY}
        try:
            return await self.schema.execute(request_data.query, root_value=root_value,
                                             variable_values=request_data.variables, context_value=context,
                                             operation_name=request_data.operation_name,
                                             allowed_operation_types=allowed,
                                             operation_extensions=request_data.extensions)
        except CannotGetOperationTypeError as e:  # no operation, several without operationName, unknown name
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            if e.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, "subscriptions are served over WebSocket (graphql-transport-ws), "
                                         f"not {method}") from e
            status = 405 if method == "GET" else 400  # 405: POST it instead (Allow: POST)
            raise HTTPException(status, e.as_http_error_reason(method)) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e

    def parse_query_params(self, params):
        from cross_web import HTTPException

        try:
            return super().parse_query_params(params)
        except HTTPException as e:
            raise HTTPException(400, "The `variables` and `extensions` query parameters must be JSON.") from e

    @staticmethod
    def request_error_status(result) -> int | None:
        """400 for a result that failed before execution (parse, validation, variable coercion), 500 if that
        failure was an unexpected exception; None for an execution result (data present, or field errors)."""
        from graphql import GraphQLError

        if result.data is not None or not result.errors or any(e.path for e in result.errors):
            return None
        expected = (GraphQLError, ValueError, TypeError)  # as hub.api.errors.classify: refusals, bad values
        unexpected = any(e.original_error is not None and not isinstance(e.original_error, expected) for e in result.errors)
        return 500 if unexpected else 400

    async def process_result(self, request, result):
        response_data = await super().process_result(request, result)
        if getattr(request.state, "graphql_media_type", self.JSON) == self.GRAPHQL_RESPONSE_JSON:
            status = self.request_error_status(result)
            if status is not None:
                response_data.pop("data", None)  # a request error has no data entry
                request.state.graphql_status = status
        return response_data

    async def on_ws_connect(self, context: HubContext):
        """graphql-transport-ws: the token comes in connection_init ({"Authorization": "Bearer …"})."""
        params = context.connection_params or {}
        token = _bearer(params.get("Authorization") or params.get("authorization")) or params.get("token")
        check = self.token_cache.authenticate if self.token_cache else (lambda t: authenticate(context.db, t))
        principal = check(token)
        if principal is None:
            raise ConnectionRejectionError({"message": "missing or invalid bearer token"})
        purpose = params.get("X-Purpose") or params.get("purpose")
        if purpose is not None and (not isinstance(purpose, str) or unstorable(purpose)):
            raise ConnectionRejectionError({"message": "X-Purpose must be text without NUL characters"})
        context.principal = principal
        context.purpose = purpose
        context.token, context.reauthenticate = token, check  # an open subscription ends when the token is revoked
        return {"role": principal.role.value}


def create_app(db: Database, *, production: bool = False, readiness: Callable[[], dict] | None = None, settings=None,
               token_cache_s: float = 0.0, form_key: bytes | None = None) -> FastAPI:
    """Build the HTTP app on a database; ``readiness`` adds component checks (connectors, broker).

    ``token_cache_s``: see TokenCache (`hub up` passes ``HUB_TOKEN_CACHE_S``; the default here looks every token up).
    ``settings``: the query limits (``HUB_GRAPHQL_MAX_*``, ``HUB_HTTP_MAX_BODY_BYTES``) come from it; without it,
    the defaults.
    ``form_key``: the approval forms' key; by default read from (or created in) ``settings.form_key_path()``, and
    without settings a random key of this app alone (tests: its forms verify only while it runs).
    """
    app = FastAPI(title="Staffing registry hub", docs_url=None, redoc_url=None, openapi_url=None)
    tokens = TokenCache(db, token_cache_s)
    if form_key is None:
        import secrets

        from hub.adapters.form_key import load_or_create

        form_key = load_or_create(settings.form_key_path()) if settings is not None else secrets.token_bytes(32)
    from hub.adapters.calendar_file import load_calendar

    calendar = load_calendar(settings.calendar_file if settings is not None else None)

    async def context_getter(conn: HTTPConnection) -> HubContext:
        if conn.scope["type"] == "websocket":
            ctx = HubContext(db, None, settings=settings, form_key=form_key, calendar=calendar)  # authenticated in on_ws_connect
            ctx.shared_by_operations = True  # each operation of the connection gets its own (hub.api.build.hub_request)
            return ctx
        principal = tokens.authenticate(_bearer(conn.headers.get("authorization")))
        if principal is None:
            raise Unauthorized()
        purpose = conn.headers.get("x-purpose")
        # HTTP headers are ASCII: a purpose in Chinese is sent percent-encoded (UTF-8), e.g. %E6%A1%88%E4%BB%B6
        purpose = unquote(purpose) if purpose else None
        if purpose and unstorable(purpose):
            raise BadPurpose(f"X-Purpose {unstorable(purpose)}")
        return HubContext(db, principal, purpose, settings=settings, form_key=form_key, calendar=calendar)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_request, _exc):
        return JSONResponse({"errors": [{"message": "missing or invalid bearer token", "extensions": {"code": "UNAUTHENTICATED"}}]},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(BadPurpose)
    async def _bad_purpose(_request, exc):
        return JSONResponse({"errors": [{"message": str(exc), "extensions": {"code": "BAD_USER_INPUT"}}]}, status_code=400)

    if not production:
        try:
            from hub.api.graphiql import graphiql_router

            app.include_router(graphiql_router("/graphql"))
        except ImportError:  # pragma: no cover - assets not built
            pass
    limits = settings.graphql_limits() if settings is not None else {}
    router = HubGraphQLRouter(build_schema(production=production, **limits), context_getter=context_getter, graphql_ide=None,
                              allow_queries_via_get=True)
    router.token_cache = tokens
    app.include_router(router, prefix="/graphql")
    from hub.api.dashboard import dashboard_router

    app.include_router(dashboard_router(schema=router.schema, context_for=context_getter))
    app.add_middleware(BodySizeLimit, max_bytes=settings.http_max_body_bytes if settings is not None else DEFAULT_MAX_BODY_BYTES)

    from hub.api.forms_page import forms_router

    app.include_router(forms_router(db, form_key))

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics():
        from hub.adapters.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, METRICS

        for component, state in (readiness() if readiness else {}).items():  # what /readyz checks besides the database
            METRICS.set("hub_component_ready", 1 if state == "ok" else 0, component=component)
        return PlainTextResponse(METRICS.render(), media_type=METRICS_CONTENT_TYPE)

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


def worker_app() -> FastAPI:
    """The app of one HTTP worker process (`hub up` with ``HUB_HTTP_WORKERS`` > 1; uvicorn factory).

    Configured from the environment like the parent (which puts its effective ``HUB_DATABASE_URL`` there). A worker
    serves HTTP and WebSocket only: no migrations, broker, connectors, relay or checks (the parent runs those), so
    its /readyz checks the database alone."""
    from hub.adapters.database import connect
    from hub.adapters.logs import configure
    from hub.config import load_settings

    settings = load_settings()
    configure(settings.log_format, settings.log_level)
    db = connect(settings.effective_database_url(), busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                 audit_key=settings.audit_key_bytes())
    app = create_app(db, production=settings.env == "production", token_cache_s=settings.token_cache_s, settings=settings)
    _exit_with_parent()
    watch_collector()  # this worker's collector pauses and frozen objects at /metrics
    freeze_heap()
    return app


PARENT_PID_VARIABLE = "HUB_WORKERS_PARENT_PID"  # set by `hub up` for its worker processes; not a setting


def _exit_with_parent(every_s: float = 1.0) -> None:
    """End this worker when `hub up` (its parent) is gone. uvicorn's supervisor stops its workers when it stops, but
    killed (kill -9, the OOM killer) it tells them nothing: they served on, against the same database, while a
    restarted hub held the one-per-store lock (found by the session-11 CLI review). SIGTERM: uvicorn's own graceful
    shutdown of the worker."""
    import os
    import signal
    import threading
    import time

    # the pid `hub up` gave its workers (hub/cli.py), not os.getppid() now: killed while this worker was still
    # starting, the parent is already gone here (the worker has been handed to init)
    parent = int(os.environ.get(PARENT_PID_VARIABLE) or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
