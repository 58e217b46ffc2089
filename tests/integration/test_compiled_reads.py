"""Compiled reads (hub/api/compiled/) answer exactly as the general path: for generated selection sets over the
compiled shapes — field subsets, aliases, arguments (first/after/includeEnded/filters), named and inline fragments,
@skip/@include, variables, named and unnamed operations — and for every role (with and without a purpose), the full
HTTP response (status, media type, body bytes) and the access-log rows written are the same with the compiled path
on and off. PostgreSQL only (SQLite has no compiled path)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, text

from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow
from hub.api import compiled as compiled_pkg
from hub.api.app import create_app
from hub.api.execution import HubExecutionContext
from hub.api.pagination import encode_cursor
from hub.domain.identifiers import make_id_number
from hub.service_layer import registry_changes as registry
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests.conftest import new_pg_database
from tests.factories import unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit

NOBODY = make_id_number("110101", date(1990, 3, 7), 1, True)  # valid, registered nowhere
ROLES = ("ADMIN", "AUDITOR", "ORGANIZATION", "UNIT", "MONITOR", "POLICE", "HR", "FINANCE", "INSURANCE")


@pytest.fixture(scope="module")
def city(pg_template):
    if pg_template is None:
        pytest.skip("PostgreSQL not reachable")
    url, drop = new_pg_database(pg_template)
    db = connect(url)
    bureau = make_unit(db, approved={"ADMINISTRATIVE": 4, "WORKER": 1}, leaders={"DIVISION_CHIEF": 1}, name="市财政局")
    school = make_unit(db, approved={"PUBLIC_INSTITUTION": 3}, name="市第一中学_%/", funding="PARTIAL")
    office = make_unit(db, approved={"ADMINISTRATIVE": 2}, name="区办公室")
    empty = make_unit(db, approved={}, name="空单位")
    people = [make_person(db, name=f"人{i}", birth=date(1970 + i, 1 + i % 12, 3), male=i % 2 == 0) for i in range(9)]
    for i, idn in enumerate(people[:4]):
        hire(db, idn, bureau, rank="DIVISION_CHIEF" if i == 0 else None, start=date(2021, 1 + i, 1))
    hire(db, people[4], bureau, category="WORKER", start=date(2021, 1, 1))
    hire(db, people[5], school, category="PUBLIC_INSTITUTION")
    hire(db, people[6], school, category="PUBLIC_INSTITUTION", start=date(2019, 5, 1))
    hire(db, people[7], office)
    hire(db, people[8], office, start=date(2018, 1, 1))
    with UnitOfWork(db, actor="test") as uow:
        registry.end_posting(uow, id_number=people[8], end_date=date(2020, 1, 1), reason="调出")
        uow.commit()
    hire(db, people[8], school, category="PUBLIC_INSTITUTION", start=date(2020, 2, 1))
    with db.session() as s, s.begin():  # variety the helpers do not make: a parent, a district, a verified identity
        s.execute(text("UPDATE units SET parent_code = :p, region_code = '330106', grade = 'SECTION', "
                       "civil_service_managed = true WHERE code = :c"), {"p": bureau, "c": office})
        s.execute(text("UPDATE persons SET verified_name = name, identity_status = 'ALIVE', degree = 'BACHELOR' "
                       "WHERE id_number = :i"), {"i": people[0]})
    tokens = {role: create_token(db, role=role, name=role.lower(), unit_code=bureau if role == "UNIT" else None)[1]
              for role in ROLES}
    tokens["ADMIN@330106"] = create_token(db, role="ADMIN", name="district", region_code="330106")[1]
    yield {"db": db, "units": [bureau, school, office, empty], "people": people, "tokens": tokens,
           "client": TestClient(create_app(db))}
    db.dispose()
    drop()


def _log(db):
    with db.read_session() as s:
        return s.scalar(select(func.coalesce(func.max(AccessLogRow.id), 0)))


def _rows_after(db, last):
    with db.read_session() as s:
        rows = s.execute(select(AccessLogRow.actor, AccessLogRow.role, AccessLogRow.id_number, AccessLogRow.operation,
                                AccessLogRow.field, AccessLogRow.purpose, AccessLogRow.outcome)
                         .where(AccessLogRow.id > last)).all()
    return sorted(tuple(r) for r in rows)


def ask(city, who, query, variables, purpose, compiled: bool):
    headers = {"Authorization": f"Bearer {city['tokens'][who]}"}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    before = _log(city["db"])
    HubExecutionContext.compiled_reads = compiled
    try:
        r = city["client"].post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    finally:
        HubExecutionContext.compiled_reads = True
    return (r.status_code, r.headers.get("content-type"), r.content), _rows_after(city["db"], before)


# --- generated documents -----------------------------------------------------------------------------------------

class Doc:
    """A document being drawn: its variables, definitions and fragments."""

    def __init__(self, draw):
        self.draw, self.vars, self.defs, self.frags = draw, {}, [], []

    def var(self, name: str, gql_type: str, value) -> str:
        name = f"{name}{len(self.defs)}"
        self.defs.append(f"${name}: {gql_type}")
        self.vars[name] = value
        return f"${name}"

    def arg(self, name: str, gql_type: str, value, literal: str) -> str:
        return f"{name}: {self.var(name, gql_type, value) if self.draw(st.booleans()) else literal}"

    def key(self, name: str) -> str:
        """The field, sometimes under an alias (two possible per field name: a repeated one merges)."""
        return f"{name}_{self.draw(st.integers(0, 1))}: {name}" if self.draw(st.integers(0, 3)) == 0 else name

    def directive(self) -> str:
        c = self.draw(st.integers(0, 9))
        if c == 0:
            return f" @skip(if: {self.var('s', 'Boolean!', self.draw(st.booleans()))})"
        if c == 1:
            return f" @include(if: {self.draw(st.sampled_from(['true', 'false']))})"
        return ""

    def wrap(self, type_name: str, body: str) -> str:
        c = self.draw(st.integers(0, 5))
        if c == 0:
            name = f"F{len(self.frags)}"
            self.frags.append(f"fragment {name} on {type_name} {{ {body} }}")
            return f"...{name}"
        if c == 1:
            return f"... on {type_name} {{ {body} }}"
        return body

    def fields(self, names: list[str], nested: dict, type_name: str) -> str:
        chosen = self.draw(st.lists(st.sampled_from(names), min_size=1, max_size=5))
        parts = [self.key(n) + self.directive() for n in chosen]
        for name, build in nested.items():
            if self.draw(st.integers(0, 2)) > 0:
                parts.append(f"{self.key(name)}{self.directive()} {build()}")
        if self.draw(st.integers(0, 5)) == 0:
            parts.append("__typename")
        return self.wrap(type_name, " ".join(parts))


def page_args(doc: Doc, total: int) -> str:
    parts = []
    if doc.draw(st.booleans()):
        parts.append(doc.arg("first", "Int", doc.draw(st.integers(0, 4)), str(doc.draw(st.integers(0, 4)))))
    if doc.draw(st.integers(0, 3)) == 0:
        cursor = encode_cursor(doc.draw(st.integers(0, total)))
        parts.append(doc.arg("after", "String", cursor, f'"{cursor}"'))
    return parts and "(" + ", ".join(parts) + ")" or ""


def connection(doc: Doc, node: str, total: int) -> str:
    parts = []
    if doc.draw(st.booleans()):
        parts.append(f"{doc.key('totalCount')}")
    if doc.draw(st.integers(0, 2)) == 0:
        info = doc.draw(st.lists(st.sampled_from(["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]),
                                 min_size=1, max_size=4))
        parts.append(f"{doc.key('pageInfo')} {{ {' '.join(info)} }}")
    edge = ["node " + node] + (["cursor"] if doc.draw(st.booleans()) else [])
    parts.append(f"{doc.key('edges')} {{ {' '.join(edge)} }}")
    return "{ " + " ".join(parts) + " }"


def person_sel(doc: Doc, depth: int) -> str:
    nested = {"verifiedIdentity": lambda: "{ name status photoSha256 }"}
    if depth < 2:
        nested["postings"] = lambda: "{ " + posting_sel(doc, depth + 1) + " }"
    return "{ " + doc.fields(["idNumber", "name", "gender", "birthDate", "education", "degree", "inServiceEducation",
                              "inServiceDegree"], nested, "Person") + " }"


def posting_sel(doc: Doc, depth: int) -> str:
    nested = {"unit": lambda: "{ " + doc.fields(["code", "name", "status"], {}, "Unit") + " }"}
    if depth < 2:
        nested["person"] = lambda: person_sel(doc, depth + 1)
    return doc.fields(["id", "category", "leaderRank", "startDate", "endDate", "endReason", "active"], nested, "Posting")


def unit_sel(doc: Doc, depth: int) -> str:
    def postings():
        args = page_args(doc, 6)
        if doc.draw(st.integers(0, 3)) == 0:
            inc = doc.arg("includeEnded", "Boolean", True, "true")
            args = f"({inc}{', ' + args[1:-1] if args else ''})"
        return args + " " + connection(doc, "{ " + posting_sel(doc, depth + 1) + " }", 6)

    nested = {"quotas": lambda: "{ " + " ".join(doc.draw(st.lists(st.sampled_from(
                  ["category", "approved", "used", "reserved", "available", "documentNumber"]), min_size=1, max_size=4))) + " }",
              "leaderQuotas": lambda: "{ rank approved used available }",
              "postings": postings}
    if depth < 1:
        nested["parent"] = lambda: "{ " + unit_sel(doc, depth + 1) + " }"
        nested["children"] = lambda: "{ code name }"
    return doc.fields(["code", "name", "kind", "level", "funding", "regionCode", "status", "establishedOn",
                       "abolishedOn", "grade", "civilServiceManaged", "classification", "dispatched", "headcount"],
                      nested, "Unit")


@st.composite
def requests(draw, units: list[str], people: list[str]):
    doc = Doc(draw)
    roots = []
    count = draw(st.sampled_from([1, 1, 1, 2]))  # two roots: the general path on both sides (planner)
    for i in range(count):
        root = (lambda name: f"r{i}: {name}") if count > 1 else doc.key  # two roots: distinct keys
        kind = draw(st.sampled_from(["units", "units", "person", "unit"]))
        if kind == "units":
            args = page_args(doc, 4)
            if draw(st.integers(0, 2)) == 0:
                f = draw(st.sampled_from(['{nameContains: "_%/"}', '{nameContains: "市"}', "{funding: PARTIAL}",
                                          '{regionCode: "330106"}', f'{{parentCode: "{units[0]}"}}',
                                          "{overQuotaOnly: true}", "{kind: COURT, level: CITY}"]))
                args = f"(filter: {f}{', ' + args[1:-1] if args else ''})"
            roots.append(f"{root('units')}{args} {connection(doc, '{ ' + unit_sel(doc, 0) + ' }', 4)}")
        elif kind == "unit":
            code = draw(st.sampled_from(units + ["91330100MA27XYZ12X"]))
            roots.append(f"{root('unit')}({doc.arg('code', 'String!', code, repr(code).replace(chr(39), chr(34)))})"
                         f" {{ {unit_sel(doc, 0)} }}")
        else:
            idn = draw(st.sampled_from(people + [NOBODY, "not-a-number"]))
            args = [doc.arg("idNumber", "String!", idn, f'"{idn}"')]
            if draw(st.integers(0, 3)) == 0:
                args.append(doc.arg("purpose", "String", "核查-7", '"核查-7"'))
            roots.append(f"{root('person')}({', '.join(args)}) {person_sel(doc, 0)}")
    head = "query" + (" Q" if draw(st.booleans()) else "")
    head += f"({', '.join(doc.defs)})" if doc.defs else ""
    query = f"{head} {{ {' '.join(roots)} }} " + " ".join(doc.frags)
    purpose = draw(st.sampled_from(["案件 2026-11", "案件 2026-11", "案件 2026-11", None, " "]))
    return query, doc.vars, purpose


COMPILED = {"runs": 0, "answered": 0}


@pytest.fixture(scope="module")
def counted():
    original = compiled_pkg.answer

    def counting(*a, **k):
        out = original(*a, **k)
        COMPILED["runs"] += 1
        COMPILED["answered"] += out is not None
        return out

    compiled_pkg.answer = counting
    yield COMPILED
    compiled_pkg.answer = original


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False, database=None)
@given(data=st.data())
def test_compiled_and_general_paths_answer_alike_for_every_role(city, counted, data):
    query, variables, purpose = data.draw(requests(city["units"], city["people"]))
    for who in (*ROLES, "ADMIN@330106"):
        general = ask(city, who, query, variables, purpose, compiled=False)
        fast = ask(city, who, query, variables, purpose, compiled=True)
        assert fast == general, (who, query, variables, purpose)


def test_the_generated_requests_mostly_take_the_compiled_path(city, counted):
    # runs after the property test (same module): the comparison above must have exercised the compiled path
    assert counted["runs"] > 100 and counted["answered"] >= counted["runs"] // 8, counted


def test_units_page_and_person_lookup_are_one_statement_with_the_same_log(city):
    statements = []

    def count(conn, cursor, statement, *_):
        statements.append(statement)

    page = """query Page { units(first: 100) { edges { node { code name quotas { category approved used available }
              postings(first: 50) { totalCount edges { node { category startDate person { idNumber name } } } } } } } }"""
    lookup = """query L($i: String!) { person(idNumber: $i) { name postings { category unit { code name } } } }"""
    event.listen(city["db"].read_engine, "before_cursor_execute", count)
    try:
        for who, query, variables in (("ADMIN", page, {}), ("FINANCE", lookup, {"i": city["people"][0]})):
            statements.clear()
            fast = ask(city, who, query, variables, "p-1", compiled=True)
            reads = [s for s in statements if "access_" not in s and "api_tokens" not in s]
            assert len(reads) == 1 and "json_build_object" in reads[0], statements
            assert fast == ask(city, who, query, variables, "p-1", compiled=False)
            assert fast[1], "person reads are logged"
    finally:
        event.remove(city["db"].read_engine, "before_cursor_execute", count)


def test_a_failing_compiled_statement_is_answered_by_the_general_path(city, monkeypatch):
    from hub.api.compiled import planner

    real = planner.plan

    def broken(*a):
        found = real(*a)
        if found is not None:
            found.sql = found.sql.replace("json_build_object(", "no_such_function(", 1)
        return found

    monkeypatch.setattr(planner, "plan", broken)
    query = "query P { units(first: 3) { edges { node { code postings { edges { node { person { name } } } } } } } }"
    fast = ask(city, "ADMIN", query, {}, None, compiled=True)
    assert fast == ask(city, "ADMIN", query, {}, None, compiled=False)
    assert b'"errors"' not in fast[0][2] and fast[1]
