"""The dashboard (数据展现, issue 16, contract section 10) served by the hub itself at ``/dashboard``.

- ``GET /dashboard``: the page (Simplified Chinese by default, English by a switch). It signs in with a bearer
  token kept in the browser's sessionStorage and reads everything through the public GraphQL API: headline
  numbers (``establishmentSummary``, ``mismatchStats``), the report catalogue (``report(name, params)``) and the
  live ``mismatchEvents`` subscription over graphql-transport-ws. Roles and districts are the API's: a MONITOR
  sees masked ID numbers, a district ADMIN its district.
- ``GET /dashboard/static/<file>``: Apache ECharts (vendored from npm by ``scripts/fetch_dashboard_assets.sh``,
  pinned by ``SHA256SUMS``) and the page's own script and stylesheet. Nothing comes from a CDN; the page's
  Content-Security-Policy allows only the hub's own origin.
- ``GET /dashboard/export/<report>.csv|xlsx?<param>=<value>…``: a report's CSV or XLSX. It carries the same
  ``Authorization: Bearer`` header (the page downloads with fetch and saves the Blob) and runs the GraphQL
  ``report`` field itself, so the export obeys exactly the API's rules: the report's roles, the district,
  masking, the purpose rule and the access log.

See docs/reports.md, "Dashboard".
"""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path
from typing import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from hub.api.static_assets import CSS, JS, TEXT, StaticAssets

STATIC_DIR = Path(__file__).parent / "static" / "dashboard"
PAGE_PATH = "/dashboard"
STATIC_PREFIX = "/dashboard/static"
EXPORT_PREFIX = "/dashboard/export"
# Only these files are served: the vendored npm files (see SHA256SUMS) and the dashboard's own two files.
STATIC_FILES: dict[str, str] = {
    "echarts.min.js": JS,
    "dashboard.js": JS,
    "dashboard.css": CSS,
    "LICENSE.echarts": TEXT,
    "NOTICE.echarts": TEXT,
    "SHA256SUMS": TEXT,
    "VERSIONS": TEXT,
}
ASSETS = StaticAssets(STATIC_DIR, STATIC_FILES)
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
EXPORT_QUERY = ("query DashboardExport($name: String!, $params: JSON) { report(name: $name, params: $params) "
                "{ name title columns labels rows generatedOn } }")

# The hub's origin only. ECharts sets element styles from script (tooltips), hence 'unsafe-inline' for styles;
# the exports are saved from blob: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>机构编制数据展现 — 编制实名制数据中心</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{static}/dashboard.css">
</head>
<body>
<script id="hub-config" type="application/json">{config}</script>
<header class="bar">
  <strong data-i18n="title">机构编制数据展现</strong>
  <nav id="crumbs" aria-label="breadcrumb"></nav>
  <span class="spacer"></span>
  <button id="lang" type="button" aria-label="language">English</button>
  <form id="signin" autocomplete="off">
    <input id="token" type="password" spellcheck="false" data-i18n-placeholder="tokenPlaceholder">
    <button id="signin-btn" type="submit" data-i18n="signIn">登录</button>
    <button id="signout-btn" type="button" data-i18n="signOut">退出</button>
    <span id="who" role="status"></span>
  </form>
</header>
<main id="main">
  <section id="error" class="error" hidden></section>
  <section id="kpis" class="kpis">
    <div class="kpi"><span data-i18n="kpiUnits">机构数</span><b id="kpi-units">–</b></div>
    <div class="kpi"><span data-i18n="kpiApproved">核定编制</span><b id="kpi-approved">–</b></div>
    <div class="kpi"><span data-i18n="kpiUsed">实有人数</span><b id="kpi-used">–</b></div>
    <div class="kpi"><span data-i18n="kpiAvailable">空编数</span><b id="kpi-available">–</b></div>
    <div class="kpi warn"><span data-i18n="kpiOver">超编单位</span><b id="kpi-over">–</b></div>
    <div class="kpi warn"><span data-i18n="kpiMismatches">未处理比对问题</span><b id="kpi-mismatches">–</b></div>
  </section>
  <div class="grid">
    <section class="card wide" id="card-quota"></section>
    <section class="card" id="card-feed">
      <h2><span data-i18n="feedTitle">比对问题实时动态</span> <small id="feed-status"></small></h2>
      <ol id="feed"></ol>
    </section>
    <section class="card" id="card-over"></section>
    <section class="card" id="card-findings"></section>
    <section class="card" id="card-units"></section>
    <section class="card" id="card-age"></section>
    <section class="card" id="card-education"></section>
    <section class="card" id="card-rank"></section>
    <section class="card" id="card-scorecard"></section>
    <section class="card" id="card-absorption"></section>
    <section class="card wide" id="card-ledger" hidden></section>
  </div>
  <section id="report-view" class="card wide" hidden></section>
</main>
<footer><span data-i18n="footer">图表：Apache ECharts（随本系统提供，无需互联网）</span>
  · <a href="{static}/LICENSE.echarts">LICENSE</a></footer>
<noscript>需要启用 JavaScript / JavaScript is required.</noscript>
<script src="{static}/echarts.min.js"></script>
<script src="{static}/dashboard.js"></script>
</body>
</html>
"""


def region_names() -> dict[str, str]:
    """Names of the city's divisions (GB/T 2260), as the demo city (hub.demo.city) knows them."""
    from hub.demo.city import division_names

    return division_names()


def _export_error(result) -> JSONResponse:
    codes = [(e.extensions or {}).get("code") for e in result.errors]
    status = 401 if "UNAUTHENTICATED" in codes else 403 if "FORBIDDEN" in codes else 400
    return JSONResponse({"errors": [{"message": e.message, "extensions": e.extensions or {}} for e in result.errors]},
                        status_code=status)


def dashboard_router(*, schema, context_for: Callable[[Request], Awaitable]) -> APIRouter:
    """The dashboard page, its static files and its exports; ``context_for`` authenticates a request as the
    GraphQL endpoint does (a bad or missing token raises the app's 401)."""
    router = APIRouter(include_in_schema=False)

    @router.get(PAGE_PATH, response_class=HTMLResponse)
    def dashboard_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        config = json.dumps({"graphql": root + "/graphql", "export": root + EXPORT_PREFIX, "regions": region_names()},
                            ensure_ascii=False).replace("<", "\\u003c")
        return HTMLResponse(PAGE.format(static=html.escape(root + STATIC_PREFIX), config=config), headers={
            "Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"})

    @router.get(STATIC_PREFIX + "/{name}")
    def dashboard_static(name: str, request: Request) -> Response:
        return ASSETS.response(name, request)

    @router.get(EXPORT_PREFIX + "/{name}.{fmt}")
    async def dashboard_export(name: str, fmt: str, request: Request) -> Response:
        """A report as CSV or XLSX, through the GraphQL ``report`` field (its rules, its access log)."""
        if fmt not in EXPORT_FORMATS:
            return JSONResponse({"errors": [{"message": f"format {fmt!r}: csv or xlsx"}]}, status_code=404)
        context = await context_for(request)
        params = dict(request.query_params) or None
        result = await schema.execute(EXPORT_QUERY, variable_values={"name": name, "params": params},
                                      context_value=context, operation_name="DashboardExport")
        if result.errors:
            return _export_error(result)
        table = _table(result.data["report"], params or {})
        from hub.reports import render

        body = render.to_csv(table).encode("utf-8") if fmt == "csv" else render.to_xlsx([table])
        filename = f"{table.name}-{table.generated_on.isoformat()}.{fmt}"
        return Response(body, media_type=EXPORT_FORMATS[fmt], headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"})

    return router


def _table(data: dict, params: dict):
    from hub.reports import ReportTable

    return ReportTable(name=data["name"], title=data["title"], columns=data["columns"], labels=data["labels"],
                       rows=data["rows"], params=params, generated_on=date.fromisoformat(data["generatedOn"]))
