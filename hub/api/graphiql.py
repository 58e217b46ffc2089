"""GraphiQL served from the hub itself: no CDN, no external URL (government intranets have neither).

Strawberry's own IDE page loads React and GraphiQL from a public CDN and stays blank offline. This
router serves instead:

- ``GET /graphiql``: the IDE page, which loads only ``/graphiql/static/...`` and has a token box that
  sends ``Authorization: Bearer <token>`` with every request (kept in the browser's localStorage);
- ``GET /graphiql/static/<file>``: React 18 and GraphiQL 3 UMD builds committed under
  ``hub/api/static/graphiql/`` (fetched from the npm registry by ``scripts/fetch_graphiql_assets.sh``,
  pinned by ``SHA256SUMS``), plus the hub's small bootstrap script and stylesheet;
- ``GET /graphql`` from a browser (``Accept: text/html``): a redirect to ``/graphiql``. Any other GET
  /graphql (a query via GET, an API client) is not matched here and reaches the GraphQL router, as long
  as this router is included before it.

The page's Content-Security-Policy allows only the hub's own origin, so the browser itself refuses to
reach anything else. See docs/graphiql.md.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import Scope

from hub.api.static_assets import CSS, JS, TEXT, StaticAssets

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
PAGE_PATH = "/graphiql"
STATIC_PREFIX = "/graphiql/static"
TITLE = "Staffing registry hub \u2014 GraphiQL"

# Only these files are served: the vendored npm assets (see SHA256SUMS) and the hub's own two files.
STATIC_FILES: dict[str, str] = {
    "react.production.min.js": JS,
    "react-dom.production.min.js": JS,
    "graphiql.min.js": JS,
    "graphiql.min.css": CSS,
    "hub-graphiql.js": JS,
    "hub-graphiql.css": CSS,
    "LICENSE.react": TEXT,
    "LICENSE.react-dom": TEXT,
    "LICENSE.graphiql": TEXT,
    "SHA256SUMS": TEXT,
    "VERSIONS": TEXT,
}

# Everything from the hub's own origin, nothing from anywhere else. GraphiQL injects <style> elements and
# inlines its fonts and icons as data: URLs, hence 'unsafe-inline' for styles and data: for fonts/images.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/graphiql.min.css">
<link rel="stylesheet" href="{static}/hub-graphiql.css">
</head>
<body>
<header class="hub-bar">
  <strong>{title}</strong>
  <form id="hub-token-form" autocomplete="off">
    <label for="hub-token">Bearer token</label>
    <input id="hub-token" name="token" type="password" spellcheck="false"
           placeholder="paste a token from: hub token create --role ... --name ...">
    <button id="hub-token-save" type="submit">Use token</button>
    <button id="hub-token-forget" type="button">Forget</button>
    <span id="hub-token-status" role="status"></span>
  </form>
</header>
<div id="graphiql" data-graphql-url="{graphql_url}">Loading GraphiQL\u2026</div>
<noscript>GraphiQL needs JavaScript.</noscript>
<script src="{static}/react.production.min.js"></script>
<script src="{static}/react-dom.production.min.js"></script>
<script src="{static}/graphiql.min.js"></script>
<script src="{static}/hub-graphiql.js"></script>
</body>
</html>
"""


ASSETS = StaticAssets(STATIC_DIR, STATIC_FILES)


class BrowserOnlyRoute(APIRoute):
    """Matches only requests whose Accept header asks for HTML (a browser's address bar), else none at all,
    so API clients' GETs go on to the routes after it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or "text/html" not in Headers(scope=scope).get("accept", ""):
            return Match.NONE, {}
        return super().matches(scope)


def graphiql_router(graphql_path: str = "/graphql") -> APIRouter:
    """The offline GraphiQL page, its static files and the browser redirect from ``graphql_path``.

    Include it before the GraphQL router, or the redirect never gets a browser's GET.
    """
    router = APIRouter(include_in_schema=False)

    def _root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    @router.get(PAGE_PATH, response_class=HTMLResponse)
    def graphiql_page(request: Request) -> HTMLResponse:
        root = _root(request)
        body = PAGE.format(title=html.escape(TITLE), static=html.escape(root + STATIC_PREFIX),
                           graphql_url=html.escape(root + graphql_path))
        return HTMLResponse(body, headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        })

    @router.get(STATIC_PREFIX + "/{name}")
    def graphiql_static(name: str, request: Request) -> Response:
        return ASSETS.response(name, request)

    def graphql_browser_redirect(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse(_root(request) + PAGE_PATH + ("?" + query if query else ""), status_code=307)

    router.add_api_route(graphql_path, graphql_browser_redirect, methods=["GET"],
                         route_class_override=BrowserOnlyRoute, include_in_schema=False)
    return router
