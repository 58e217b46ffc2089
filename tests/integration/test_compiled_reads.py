"""Compiled reads (hub/api/compiled/) answer exactly as the general path: for generated selection sets over the
compiled shapes — field subsets, aliases, arguments (first/after/includeEnded/filters), named and inline fragments,
@skip/@include, variables, named and unnamed operations — and for every role (with and without a purpose), the full
HTTP response (status, media type, body bytes) and the access-log rows written are the same with the compiled path
on and off. PostgreSQL only (SQLite has no compiled path)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, text

from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow, MismatchRow
from hub.api import compiled as compiled_pkg
from hub.api.app import create_app
from hub.api.disclosure import PERSON_DETAILS
from hub.api.execution import HubExecutionContext
from hub.api.pagination import encode_cursor
from hub.domain.identifiers import make_id_number, mask_id_number
from hub.domain.vocabulary import UNIT_LEVEL_KINDS, MismatchKind
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
    mismatches = _mismatches(db, [bureau, school, office, empty], people)
    tokens = {role: create_token(db, role=role, name=role.lower(), unit_code=bureau if role == "UNIT" else None)[1]
              for role in ROLES}
    tokens["ADMIN@330106"] = create_token(db, role="ADMIN", name="district", region_code="330106")[1]
    yield {"db": db, "units": [bureau, school, office, empty], "people": people, "tokens": tokens, "mismatches": mismatches,
           "client": TestClient(create_app(db))}
    db.dispose()
    drop()


SOURCES = ["police", "hr", "finance", "insurance", "finance,insurance", "police,hr", "registry", None]


def _mismatches(db, units, people):
    """Mismatches of every kind, several per kind, for several units and sources, OPEN and RESOLVED; details with
    person data (names, birth dates, genders), nested keys, ID numbers (valid and not) and numbers (``1e-05``: json.dumps
    writes 1e-05, orjson 0.00001 — stored JSON must keep the standard library's parser and encoder); equal detection
    times (the order's tie on id), whole seconds and microseconds. Returns the count."""
    base = datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc)
    rows, n = [], 0
    for k, kind in enumerate(MismatchKind):
        for j in range(3):
            n += 1
            unit_level = kind in UNIT_LEVEL_KINDS
            unit = units[(k + j) % 3] if (k + j) % 7 else ""
            subject = (unit or units[0]) if unit_level else people[(k + 2 * j) % len(people)]
            person = people[(k + j + 1) % len(people)]
            details = {"expected": f"人{k}" if kind is MismatchKind.NAME_MISMATCH else units[j % 3],
                       "found": {"paying_unit": units[(j + 1) % 3], "period": "2026-10", "name": f"张{j}"}
                       if kind is MismatchKind.GHOST_PAYROLL else f"甲{k}-{j}",
                       "period": "2026-10", "paying_units": [units[0], units[1]], "amount": 1234.5 + j, "rate": 1e-05 * (j + 1),
                       "other_person": person, "not_an_id": "33010219900101123X", "over": j + 1,
                       "birth_date": "1966-01-03", "gender": "M", "retirement_date": "2026-01-31", "posting_unit": unit}
            if j == 2:
                details = {"period": "2026-09"}  # no person keys even where the kind has some
            # the kinds with person data newest: on the first page of most generated requests
            hours = 0 if kind.value in PERSON_DETAILS else 1 + k % 4
            when = base - timedelta(hours=hours, microseconds=0 if j == 1 else 250 * (k + 1))
            rows.append(MismatchRow(id=f"m-{k:02d}-{j}-{n:x}", kind=kind.value, subject=subject, unit_code=unit,
                                    source=SOURCES[(k + j) % len(SOURCES)], status="RESOLVED" if (k * j) % 4 == 3 else "OPEN",
                                    details=json.dumps(details, ensure_ascii=False, sort_keys=j == 0),
                                    caused_by=json.dumps([f"ev-{k}-{j}"] if j else []), detected_at=when,
                                    updated_at=when, resolved_at=when + timedelta(days=1) if (k * j) % 4 == 3 else None))
    with db.session() as s, s.begin():
        s.add_all(rows)
    return len(rows)


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


def mismatch_sel(doc: Doc) -> str:
    nested = {"unit": lambda: "{ " + doc.fields(["code", "name"], {}, "Unit") + " }"}
    names = ["id", "kind", "class", "status", "subject", "source", "detectedAt", "resolvedAt", "causedBy"]
    details = " details" if doc.draw(st.integers(0, 3)) > 0 else ""  # mostly with details (person data, masking)
    return doc.fields(names + ["details"], nested, "Mismatch") + details


def mismatches_root(doc: Doc, draw, units: list[str], people: list[str], total: int) -> str:
    parts = []
    if doc.draw(st.integers(0, 3)) > 0:
        parts.append(doc.arg("first", "Int", draw(st.integers(0, 30)), str(draw(st.integers(0, 30)))))
    if doc.draw(st.integers(0, 3)) == 0:
        cursor = encode_cursor(doc.draw(st.integers(0, total)))
        parts.append(doc.arg("after", "String", cursor, f'"{cursor}"'))
    if draw(st.integers(0, 1)) == 0:
        parts.append(mismatch_filter(draw, units, people))
    args = "(" + ", ".join(parts) + ")" if parts else ""
    return f"{args} {connection(doc, '{ ' + mismatch_sel(doc) + ' }', total)}"


def mismatch_filter(draw, units: list[str], people: list[str]) -> str:
    person = draw(st.sampled_from(people))
    conds = draw(st.lists(st.sampled_from([
        "kinds: [NAME_MISMATCH, RETIREMENT_DUE, GHOST_PAYROLL]", "kinds: [OVER_QUOTA]", "class: WARNING",
        "class: DISCREPANCY", "status: OPEN", "status: RESOLVED", f'unitCode: "{units[0].lower()}"',
        f'unitCode: "{units[1]}"', f'subject: "{person}"', f'subject: "{mask_id_number(person)}"',
        f'subject: "{units[0]}"', 'source: "finance"', 'source: "police,hr"']), min_size=1, max_size=3, unique=True))
    return "filter: {" + ", ".join(conds) + "}"


def stats_root(doc: Doc, draw, units: list[str], people: list[str]) -> str:
    args = f"({mismatch_filter(draw, units, people)})" if draw(st.booleans()) else ""
    counts = {name: (lambda: "{ " + " ".join(draw(st.lists(st.sampled_from(["key", "count", "__typename"]),
                                                           min_size=1, max_size=3))) + " }")
              for name in ("byKind", "byClass", "byStatus", "bySource", "byUnit")}
    return f"{args} {{ {doc.fields(['total'], counts, 'MismatchStats')} }}"


@st.composite
def requests(draw, units: list[str], people: list[str], mismatches: int = 0):
    doc = Doc(draw)
    roots = []
    count = draw(st.sampled_from([1, 1, 2, 3]))
    for i in range(count):
        root = (lambda name: f"r{i}: {name}") if count > 1 else doc.key  # several roots: distinct keys
        kind = draw(st.sampled_from(["units", "units", "person", "unit", "mismatches", "mismatches", "mismatches",
                                     "mismatchStats"]))
        if kind == "mismatchStats":
            roots.append(root("mismatchStats") + stats_root(doc, draw, units, people))
        elif kind == "mismatches":
            roots.append(root("mismatches") + mismatches_root(doc, draw, units, people, mismatches))
        elif kind == "units":
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
    purpose = draw(st.sampled_from(["案件 2026-11", "案件 2026-11", None, " "]))
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


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False, database=None)
@given(data=st.data())
def test_compiled_and_general_paths_answer_alike_for_every_role(city, counted, data):
    query, variables, purpose = data.draw(requests(city["units"], city["people"], city["mismatches"]))
    for who in (*ROLES, "ADMIN@330106"):
        general = ask(city, who, query, variables, purpose, compiled=False)
        answered = counted["answered"]
        fast = ask(city, who, query, variables, purpose, compiled=True)
        if counted["answered"] > answered:  # the compiled path answered: byte for byte the general path's answer
            assert fast == general, (who, query, variables, purpose)
        else:
            # The planner declined: both requests ran the general path. When an error nulls the whole answer,
            # graphql-core settles the other root fields in the background, so whether their own errors (e.g. a
            # missing purpose) make it into `errors` is a matter of timing (one run in a few on a loaded machine):
            # the status, the data and the log must agree, and one side's errors be a subset of the other's.
            (status_f, type_f, body_f), log_f = fast
            (status_g, type_g, body_g), log_g = general
            jf, jg = json.loads(body_f), json.loads(body_g)
            assert (status_f, type_f, jf.get("data"), log_f) == (status_g, type_g, jg.get("data"), log_g), \
                (who, query, variables, purpose)
            if jf.get("data") is not None:
                assert body_f == body_g, (who, query, variables, purpose)
            else:
                errors_f, errors_g = jf["errors"], jg["errors"]
                assert set(map(json.dumps, errors_f)) <= set(map(json.dumps, errors_g)) or \
                    set(map(json.dumps, errors_g)) <= set(map(json.dumps, errors_f)), (who, query, variables, purpose)


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


def test_a_failed_root_field_does_not_cancel_a_sibling_roots_loads(city):
    # general path: a UNIT token's FORBIDDEN postings of another unit cancel that unit's other fields; their loads
    # (quotas, children) are shared with the `units` root, which must still get them (was: CancelledError, no answer)
    other = city["units"][3]
    query = (f'{{ r1: units {{ edges {{ node {{ code quotas {{ approved }} children {{ code }} }} }} }} '
             f'r2: unit(code: "{other}") {{ quotas {{ approved }} leaderQuotas {{ rank }} postings {{ totalCount }} '
             f'children {{ code }} }} }}')
    (status, _, body), _ = ask(city, "UNIT", query, {}, "p", compiled=False)
    answer = json.loads(body)
    assert status == 200 and answer["data"]["r2"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    assert len(answer["data"]["r1"]["edges"]) == 4 and answer["data"]["r1"]["edges"][0]["node"]["quotas"]


def test_mismatch_list_and_several_roots_are_one_statement_with_the_same_log(city):
    statements = []

    def count(conn, cursor, statement, *_):
        statements.append(statement)

    multi = """query Desk($i: String!) { person(idNumber: $i) { name postings { unit { code } } }
               units(first: 2) { edges { node { code postings { edges { node { person { idNumber } } } } } } }
               mismatches(first: 40, filter: {status: OPEN}) { totalCount edges { cursor node { id kind subject
               detectedAt details causedBy unit { code } } } } }"""
    refused = """query Desk { units(first: 2) { edges { node { code name } } }
                 mismatches(first: 40) { edges { node { kind subject details } } } }"""
    masked = """query Watch { mismatches(first: 40) { totalCount pageInfo { endCursor } edges { node { kind subject
                class causedBy } } } }"""
    event.listen(city["db"].read_engine, "before_cursor_execute", count)
    try:
        for who, query, purpose, logged in (("ADMIN", multi, "p-1", True), ("AUDITOR", multi, "p-1", True),
                                             ("FINANCE", refused, None, False), ("MONITOR", masked, None, False)):
            variables = {"i": city["people"][1]} if query is multi else {}
            statements.clear()
            fast = ask(city, who, query, variables, purpose, compiled=True)
            reads = [s for s in statements if "access_" not in s and "api_tokens" not in s]
            assert len(reads) == 1 and "json_build_object" in reads[0], (who, statements)
            assert fast == ask(city, who, query, variables, purpose, compiled=False), who
            assert bool(fast[1]) is logged, who
            if who == "ADMIN":
                assert any(r[4] == "Mismatch.details" for r in fast[1]), "details with person data are logged"
            if query is refused:  # no purpose: the person keys of the details withheld (RETIREMENT_DUE: all three)
                nodes = [e["node"] for e in json.loads(fast[0][2])["data"]["mismatches"]["edges"]]
                due = [n["details"] for n in nodes if n["kind"] == "RETIREMENT_DUE"]
                assert due and all("birth_date" not in d and "gender" not in d for d in due), due
                assert any("birth_date" in n["details"] for n in nodes if n["kind"] == "GHOST_PAYROLL")
    finally:
        event.remove(city["db"].read_engine, "before_cursor_execute", count)
