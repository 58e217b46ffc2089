"""Issue 16, the dashboard (/dashboard): the page and its assets come from the hub itself (vendored, checksummed),
and its CSV/XLSX exports carry the bearer token and obey the report catalogue's rules (roles, district, purpose,
access log). The browser side is tests/e2e/test_dashboard_browser.py."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.adapters.orm import AccessLogRow
from hub.api.app import create_app
from hub.api.dashboard import STATIC_FILES
from hub.service_layer.tokens import create_token
from tests.integration import report_city as rc

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "hub" / "api" / "static"
REPORT_Q = "query($n: String!, $p: JSON) { report(name: $n, params: $p) { columns labels rows } }"


@pytest.fixture
def city(db):
    return rc.build(db)


def _bearer(token: str, purpose: str | None = None) -> dict:
    h = {"Authorization": f"Bearer {token}"}
    if purpose:
        h["X-Purpose"] = quote(purpose)
    return h


@pytest.mark.parametrize("folder", ["dashboard", "graphiql"])
def test_vendored_browser_assets_match_their_sha256sums(folder):
    sums = (STATIC / folder / "SHA256SUMS").read_text().splitlines()
    assert sums
    for line in sums:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((STATIC / folder / name).read_bytes()).hexdigest() == digest, name
    if folder == "dashboard":
        assert {line.split()[1] for line in sums} == {"echarts.min.js", "LICENSE.echarts", "NOTICE.echarts"}
        assert re.fullmatch(r"echarts@\d+\.\d+\.\d+ dist/echarts.min.js LICENSE NOTICE\n",
                            (STATIC / folder / "VERSIONS").read_text())
        assert "Apache License" in (STATIC / folder / "LICENSE.echarts").read_text()
        checked = subprocess.run([str(REPO / "scripts" / "fetch_dashboard_assets.sh"), "--check"],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0 and "match SHA256SUMS" in checked.stdout, checked.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_page_and_assets_come_from_the_hub_only(db):
    client = TestClient(create_app(db))
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "connect-src 'self'" in csp
    assert '<html lang="zh-CN">' in page.text and "机构编制数据展现" in page.text  # Chinese by default
    refs = [r for r in re.findall(r'(?:src|href)="([^"]+)"', page.text) if r != "data:,"]  # data:, no favicon request
    assert refs and all(r.startswith("/dashboard/static/") for r in refs), refs
    assert "/dashboard/static/echarts.min.js" in refs and "/dashboard/static/dashboard.js" in refs
    assert '"330106": "西湖区"' in page.text  # division names for the charts
    for name, media in STATIC_FILES.items():
        r = client.get(f"/dashboard/static/{name}")
        assert r.status_code == 200 and r.headers["content-type"] == media, name
        assert r.content == (STATIC / "dashboard" / name).read_bytes()
    own = (STATIC / "dashboard" / "dashboard.js").read_text() + (STATIC / "dashboard" / "dashboard.css").read_text()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", own)  # no CDN, no external URL
    assert "sessionStorage" in own and "Authorization" in own and "graphql-transport-ws" in own
    assert client.get("/dashboard/static/../app.py").status_code == 404
    assert client.get("/dashboard/static/nothing.js").status_code == 404
    etag = client.get("/dashboard/static/echarts.min.js").headers["etag"]
    assert client.get("/dashboard/static/echarts.min.js", headers={"If-None-Match": etag}).status_code == 304


def test_exports_carry_the_token_and_follow_the_reports_rules(city):
    db, u = city["db"], city["units"]
    client = TestClient(create_app(db))
    admin = create_token(db, role="ADMIN", name="office")[1]
    district = create_token(db, role="ADMIN", name="xihu", region_code=rc.DISTRICT)[1]
    monitor = create_token(db, role="MONITOR", name="monitor")[1]
    organization = create_token(db, role="ORGANIZATION", name="org")[1]
    unit = create_token(db, role="UNIT", name="school", unit_code=u["school"])[1]

    # No token, a wrong one: 401, nothing rendered.
    assert client.get("/dashboard/export/quota-use.csv").status_code == 401
    assert client.get("/dashboard/export/quota-use.csv", headers=_bearer("hub_wrong")).status_code == 401

    # CSV: the header is the columns, the rows are what GraphQL answers the same token.
    r = client.get("/dashboard/export/quota-use.csv", headers=_bearer(admin))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="quota-use-\d{4}-\d{2}-\d{2}\.csv"', r.headers["content-disposition"])
    got = list(csv.reader(io.StringIO(r.text)))
    want = client.post("/graphql", json={"query": REPORT_Q, "variables": {"n": "quota-use"}},
                       headers=_bearer(admin)).json()["data"]["report"]
    assert got[0] == want["columns"]
    assert got[1:] == [[str(c) for c in row] for row in want["rows"]] and len(got) == 6

    # XLSX, read back: title, Chinese labels, columns, rows (numbers stay numbers); parameters pass through.
    r = client.get("/dashboard/export/quota-use.xlsx", params={"region": rc.DISTRICT}, headers=_bearer(admin))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    values = [list(v) for v in openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert values[0][0] == "用编余量表 Quota use" and values[1][:3] == ["单位代码", "编制类型", "核定数"]
    assert values[2] == want["columns"]
    assert sorted(v[0] for v in values[3:]) == sorted([u["branch"], u["street"]])
    assert all(isinstance(v[2], int) for v in values[3:])

    # A district office's export: its district only, whatever the city has.
    r = client.get("/dashboard/export/quota-use.csv", headers=_bearer(district))
    assert sorted(row[0] for row in list(csv.reader(io.StringIO(r.text)))[1:]) == sorted([u["branch"], u["street"]])

    # Roles: MONITOR may not read age-structure (birth dates), UNIT no report at all; ORGANIZATION must state a
    # purpose for a person-level report.
    r = client.get("/dashboard/export/age-structure.xlsx", headers=_bearer(monitor))
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert client.get("/dashboard/export/quota-use.csv", headers=_bearer(unit)).status_code == 403
    assert client.get("/dashboard/export/retirements-due.csv", headers=_bearer(organization)).status_code == 403
    assert client.get("/dashboard/export/retirements-due.csv", headers=_bearer(organization, "规划编制")).status_code == 200

    # Bad input: a clear 400; an unknown format 404.
    r = client.get("/dashboard/export/quota-use.csv", params={"region": "33"}, headers=_bearer(admin))
    assert r.status_code == 400 and "six-digit" in r.json()["errors"][0]["message"]
    assert client.get("/dashboard/export/nope.csv", headers=_bearer(admin)).status_code == 400
    assert client.get("/dashboard/export/quota-use.pdf", headers=_bearer(admin)).status_code == 404

    # A person-level export is a person read: the access log names the export and every person listed.
    r = client.get("/dashboard/export/retirements-due.csv", params={"months": "120"}, headers=_bearer(admin))
    listed = {row[1] for row in list(csv.reader(io.StringIO(r.text)))[1:]}
    assert r.status_code == 200 and listed, r.text
    with db.read_session() as s:
        logged = {(a.id_number, a.operation) for a in s.execute(select(AccessLogRow).where(
            AccessLogRow.field == "Report.retirements-due", AccessLogRow.actor.like("%office%"))).scalars()}
    assert {i for i, _ in logged} == listed and {op for _, op in logged} == {"DashboardExport"}


def test_graphiql_static_files_are_served_like_the_dashboard_s(db):
    """Both pages serve their files through one StaticAssets: listed files only, ETag and 304, gzip when asked."""
    from hub.api.graphiql import STATIC_FILES as GRAPHIQL_FILES

    client = TestClient(create_app(db))
    for name, media in GRAPHIQL_FILES.items():
        r = client.get(f"/graphiql/static/{name}", headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200 and r.headers["content-type"] == media, name
        assert r.content == (STATIC / "graphiql" / name).read_bytes()
    assert client.get("/graphiql/static/nothing.js").status_code == 404
    assert client.get("/graphiql/static/echarts.min.js").status_code == 404  # the dashboard's file, not GraphiQL's
    r = client.get("/graphiql/static/graphiql.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.content == (STATIC / "graphiql" / "graphiql.min.js").read_bytes()  # the client decompressed it
    etag = r.headers["etag"]
    assert client.get("/graphiql/static/graphiql.min.js", headers={"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
