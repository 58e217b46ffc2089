"""Personal data (issue 12, items 1-5) through the HTTP API, on SQLite and PostgreSQL: masked filters, person data in
mismatch details, no membership oracle, errors without SQL or ID numbers, CSV without formulas."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.adapters.orm import AccessLogRow
from hub.api.app import create_app
from hub.domain.identifiers import id_check_char, parse_id_number
from hub.service_layer.comparison.roster import export_roster
from hub.service_layer.tokens import create_token
from tests import events as ev
from tests.integration.registry_helpers import apply, hire, make_person, make_unit

ROLES = ["ADMIN", "AUDITOR", "ORGANIZATION", "UNIT", "POLICE", "HR", "FINANCE", "INSURANCE", "MONITOR"]


@pytest.fixture
def town(db):
    unit, other = make_unit(db), make_unit(db, name="杭州市另一局")
    here, there = make_person(db, name="本单位"), make_person(db, name="外单位")
    hire(db, here, unit)
    hire(db, there, other)
    unposted = make_person(db, name="无编人")
    tokens = {r: create_token(db, role=r, name=r.lower(), unit_code=unit if r == "UNIT" else None)[1] for r in ROLES}
    return {"db": db, "unit": unit, "other": other, "here": here, "there": there, "unposted": unposted,
            "tokens": tokens, "client": TestClient(create_app(db))}


def post(town, role, query, variables=None, purpose="核查 2026-1", client=None):
    headers = {"Authorization": f"Bearer {town['tokens'][role]}"}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    return (client or town["client"]).post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def nobody_holds(like: str) -> str:
    """A valid ID number nobody in the registry holds."""
    body = "110101" + "19900307" + like[14:17]
    return body + id_check_char(body)


def access_rows(db):
    with db.read_session() as s:
        return [(r.role, r.id_number, r.field, r.outcome) for r in s.execute(select(AccessLogRow).order_by(AccessLogRow.id)).scalars()]


# ---- 1: masking: filters that would confirm a guess ------------------------------------------------------------

def test_a_monitor_subject_filter_matches_on_the_visible_characters_only(town):
    db, x = town["db"], town["here"]
    apply(db, ev.police(x, "别名", event_id=f"police-{x}"))  # NAME_MISMATCH, caused by an event id holding the number
    day = date(1940, 1, 1)  # the twin: another birth date under the same mask (same check character)
    while id_check_char(x[:6] + f"{day:%Y%m%d}" + x[14:17]) != x[17] or f"{day:%Y%m%d}" == x[6:14]:
        day += timedelta(days=1)
    twin = x[:6] + f"{day:%Y%m%d}" + x[14:]
    assert parse_id_number(twin)
    q = "query($s: String!) { mismatches(filter: {subject: $s}) { totalCount edges { node { subject details causedBy } } } }"
    answers = [post(town, "MONITOR", q, {"s": s}).json() for s in (x, twin, x[:6] + "********" + x[14:], x.lower())]
    assert all(a == answers[0] for a in answers) and answers[0]["data"]["mismatches"]["totalCount"] == 1
    node = answers[0]["data"]["mismatches"]["edges"][0]["node"]
    assert node == {"subject": x[:6] + "********" + x[14:], "details": {}, "causedBy": []}
    other = nobody_holds(x)
    assert post(town, "MONITOR", q, {"s": other}).json()["data"]["mismatches"]["totalCount"] == 0
    stats = "query($s: String!) { mismatchStats(filter: {subject: $s}) { total } }"
    assert post(town, "MONITOR", stats, {"s": x}).json() == post(town, "MONITOR", stats, {"s": twin}).json()
    # the others see the number, the event id and the names as before
    admin = post(town, "ADMIN", q, {"s": x}).json()["data"]["mismatches"]["edges"][0]["node"]
    assert admin["subject"] == x and admin["causedBy"] == [f"police-{x}"] and admin["details"]["found"] == {"police": "别名"}


# ---- 2 (queries): person data in mismatch details is purpose-bound and logged -------------------------------------

def test_names_in_mismatch_details_need_a_purpose_and_are_logged(town):
    db, x = town["db"], town["here"]
    apply(db, ev.police(x, "别名"))
    q = "query Names { mismatches(filter: {kinds: [NAME_MISMATCH]}) { edges { node { subject details } } } }"
    without = post(town, "POLICE", q, purpose=None).json()["data"]["mismatches"]["edges"][0]["node"]
    assert without == {"subject": x, "details": {}}  # no purpose: the names are withheld, the finding is not
    assert not [r for r in access_rows(db) if r[0] == "POLICE"]
    with_purpose = post(town, "POLICE", q).json()["data"]["mismatches"]["edges"][0]["node"]
    assert with_purpose["details"] == {"expected": "本单位", "found": {"police": "别名"}}
    assert ("POLICE", x, "Mismatch.details", None) in access_rows(db)


# ---- 3: no membership oracle -----------------------------------------------------------------------------------

LOOKUPS = [
    "query($i: String!) { person(idNumber: $i) { idNumber name } }",
    "query($i: String!) { person(idNumber: $i) { idNumber name postings { unit { code } active } } }",
    'query($i: String!) { person(idNumber: $i, asOf: "2022-01-01") { name education } }',
]


@pytest.mark.parametrize("role", ROLES)
def test_a_lookup_outside_the_callers_scope_answers_as_an_unknown_number_and_is_logged(town, role):
    """Each role's scope: UNIT reads only persons posted in its unit; MONITOR no one; every other role anyone."""
    db = town["db"]
    unknown = nobody_holds(town["there"])
    in_scope = {"UNIT": [town["here"]], "MONITOR": []}.get(role, [town["here"], town["there"], town["unposted"]])
    out_of_scope = [p for p in (town["here"], town["there"], town["unposted"]) if p not in in_scope]
    for query in LOOKUPS:
        nobody = post(town, role, query, {"i": unknown})
        for idn in out_of_scope:
            r = post(town, role, query, {"i": idn})
            assert (r.status_code, r.json()) == (nobody.status_code, nobody.json()), (role, idn)
    for idn in in_scope:
        assert post(town, role, LOOKUPS[0], {"i": idn}).json()["data"]["person"]["name"], (role, idn)
    if role == "MONITOR":
        assert nobody.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # refused before any lookup
        return
    assert nobody.json() == {"data": {"person": None}}
    rows = [r for r in access_rows(db) if r[0] == role]
    assert ("Query.person", "NOT_FOUND") in {(r[2], r[3]) for r in rows if r[1] == unknown}
    for idn in out_of_scope:
        assert {r[3] for r in rows if r[1] == idn} == {"OUT_OF_SCOPE"}, (role, idn)
    for idn in in_scope:
        assert {r[3] for r in rows if r[1] == idn} == {None}


def test_a_unit_token_reading_a_former_holder_through_its_postings_gets_null_not_an_error(town):
    from hub.service_layer import registry_changes
    from hub.service_layer.unit_of_work import UnitOfWork

    db = town["db"]
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.end_posting(uow, id_number=town["here"], end_date=date(2024, 6, 30), reason="TRANSFER")
        uow.commit()
    q = "query($u: String!) { unit(code: $u) { postings(includeEnded: true) { edges { node { active person { name } } } } } }"
    r = post(town, "UNIT", q, {"u": town["unit"]}).json()
    assert "errors" not in r and r["data"]["unit"]["postings"]["edges"] == [{"node": {"active": False, "person": None}}]
    assert ("UNIT", town["here"], "Posting.person", "OUT_OF_SCOPE") in access_rows(db)


# ---- 4: errors: no SQL, no tracebacks for refusals, no ID numbers at ERROR ---------------------------------------

def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


NUL = "a\x00b"
CRAFTED = [
    ("ADMIN", "query($a: String) { units(first: 5, after: $a) { totalCount } }", {"a": _cursor("o:-5")}),
    ("ADMIN", "query($a: String) { units(first: 5, after: $a) { totalCount } }", {"a": _cursor("o:99999999999999999999")}),
    ("MONITOR", "query($a: String) { mismatches(after: $a) { totalCount } }", {"a": _cursor("x:1")}),
    ("AUDITOR", "query($a: String) { accessLog(after: $a) { totalCount } }", {"a": "%%%not base64"}),
    ("ADMIN", "query($a: String) { persons(after: $a) { totalCount } }", {"a": _cursor("o:1\x00")}),
    ("ADMIN", "query($n: String) { units(filter: {nameContains: $n}) { totalCount } }", {"n": NUL}),
    ("ADMIN", "query($n: String) { units(filter: {regionCode: $n}) { totalCount } }", {"n": NUL}),
    ("MONITOR", "query($n: String) { mismatches(filter: {source: $n}) { totalCount } }", {"n": NUL}),
    ("MONITOR", "query($n: String) { mismatches(filter: {subject: $n}) { totalCount } }", {"n": "3301061985\x0006159251"}),
    ("ADMIN", "query($n: String) { mismatchStats(filter: {unitCode: $n}) { total } }", {"n": NUL}),
    ("AUDITOR", "query($n: String) { accessLog(filter: {actor: $n}) { totalCount } }", {"n": NUL}),
    ("ADMIN", "query($n: String) { persons(filter: {nameContains: $n}) { totalCount } }", {"n": NUL}),
    ("ADMIN", "query($n: ID!) { comparison(id: $n) { status } }", {"n": NUL}),
    ("POLICE", "query($i: String!, $p: String) { person(idNumber: $i, purpose: $p) { name } }", {"i": "330106198506159251", "p": NUL}),
    ("ADMIN", '{ units(filter: {nameContains: "a\\u0000b"}) { totalCount } }', {}),
    ("ADMIN", "query($n: String) { units(filter: {nameContains: $n}) { totalCount } }", {"n": "\ud800"}),
    ("ADMIN", 'query($i: String!) { person(idNumber: $i) { name } }', {"i": "33010619850615925X"}),  # bad check character
]


def _no_sql(text: str) -> None:
    for word in ("SELECT", "select ", "sqlalchemy", "[SQL", "parameters", "psycopg", "sqlite3", "Traceback"):
        assert word not in text, (word, text)


def _ours(records):
    """The records of this request's code: kafka-python's background threads (clients of brokers that earlier tests
    started and stopped) log reconnect failures at ERROR at any moment; they are no part of what is tested here."""
    return [rec for rec in records if not (rec.name == "kafka" or rec.name.startswith("kafka."))]


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_crafted_input_is_a_clean_bad_user_input_and_logged_without_traceback_or_id_number(town, caplog, production):
    client = TestClient(create_app(town["db"], production=production))
    caplog.set_level(logging.DEBUG)
    for role, query, variables in CRAFTED:
        headers = {"Authorization": f"Bearer {town['tokens'][role]}", "Content-Type": "application/json", "X-Purpose": "x"}
        r = client.post("/graphql", content=json.dumps({"query": query, "variables": variables}), headers=headers)
        body = r.text
        _no_sql(body)
        codes = [e.get("extensions", {}).get("code") for e in r.json().get("errors", [])]
        assert codes and set(codes) == {"BAD_USER_INPUT"}, (query, variables, body)
    r = client.post("/graphql", json={"query": "{ units { totalCount } }"},
                    headers={"Authorization": f"Bearer {town['tokens']['ADMIN']}", "X-Purpose": "a%00b"})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    errors = [rec for rec in _ours(caplog.records) if rec.levelno >= logging.ERROR]
    assert not errors, [rec.getMessage() for rec in errors]
    assert not [rec for rec in _ours(caplog.records) if rec.exc_info], "a refusal was logged with a traceback"
    assert "33010619850615925X" not in caplog.text and "330106198506159251" not in caplog.text
    refused = [rec for rec in caplog.records if rec.name == "hub.api" and "refused" in rec.getMessage()]
    assert any("330106********925X" in rec.getMessage() for rec in refused)  # said whose, masked


def test_a_database_error_never_shows_its_sql_and_its_log_has_no_id_number(town, caplog, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from hub.api.loaders import Loaders

    idn = town["here"]

    async def broken(self, codes):
        raise OperationalError("SELECT * FROM units WHERE code IN (?) AND holder = ?", (codes[0], idn), Exception("disk I/O error"))

    monkeypatch.setattr(Loaders, "_units", broken)
    from hub.api.execution import HubExecutionContext

    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)  # the loaders' path (a compiled read that
    # fails is answered by it too: test_compiled_reads.py)
    caplog.set_level(logging.DEBUG)
    r = post(town, "ADMIN", "query($c: String!) { unit(code: $c) { name } }", {"c": town["unit"]})  # development mode
    body = r.text
    _no_sql(body)
    assert idn not in body and r.json()["errors"][0] == {
        "message": "Unexpected error.", "locations": [{"line": 1, "column": 22}], "path": ["unit"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    failed = [rec for rec in _ours(caplog.records) if rec.levelno >= logging.ERROR]
    assert failed and "OperationalError" in failed[0].getMessage()  # the operator gets the traceback...
    assert idn not in caplog.text and idn[:6] + "********" + idn[14:] in caplog.text  # ...without the ID number


# ---- 5: CSV without formulas -------------------------------------------------------------------------------------

def test_the_roster_export_neutralises_spreadsheet_formulas(db, tmp_path):
    from typer.testing import CliRunner

    from hub.cli import app

    unit = make_unit(db, name="=cmd|' /C calc'!A0", funding="FULL")
    names = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "普通人"]
    people = [make_person(db, name=n) for n in names]
    for p in people:
        hire(db, p, unit)
    out = io.StringIO()
    export_roster(db, period="2026-10", for_="finance", out=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert {r[1] for r in rows[1:]} == {"'" + n for n in names[:4]} | {"普通人"}
    assert {r[3] for r in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    target = tmp_path / "roster.csv"  # the command, as a user types it
    r = CliRunner().invoke(app, ["--database-url", db.url, "export", "roster", "--period", "2026-10", "--for", "finance",
                                 "--out", str(target)])
    assert r.exit_code == 0, r.output
    assert target.read_bytes().decode("utf-8") == out.getvalue()
