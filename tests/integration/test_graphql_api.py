"""GraphQL API: role × field matrix, masking, limits, no N+1, as-of reads, mutations with typed results, SDL."""

from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from hub.adapters.database import connect
from hub.api.app import create_app
from hub.api.build import build_schema
from hub.service_layer.importer import import_registry
from hub.service_layer.tokens import create_token
from tests.factories import id_number, unique_ids, unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.registry_csv import write_registry

ROLES = ["ADMIN", "AUDITOR", "ORGANIZATION", "UNIT", "POLICE", "HR", "FINANCE", "INSURANCE", "MONITOR"]


@pytest.fixture
def world(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, leaders={"SECTION_CHIEF": 1})
    idn = make_person(db, name="林海")
    hire(db, idn, unit, rank="SECTION_CHIEF")
    old = make_person(db, name="老王", birth=date(1958, 1, 1))
    hire(db, old, unit)  # RETIREMENT_DUE: a mismatch to read
    tokens = {}
    for role in ROLES:
        _, tokens[role] = create_token(db, role=role, name=role.lower(), unit_code=unit if role == "UNIT" else None)
    return {"db": db, "unit": unit, "idn": idn, "old": old, "tokens": tokens, "client": TestClient(create_app(db))}


def q(world, role, query, variables=None, purpose="核查 2026-1"):
    headers = {"Authorization": f"Bearer {world['tokens'][role]}"}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    return world["client"].post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()


def forbidden(result) -> bool:
    return any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in result.get("errors", []))


Y, N = True, False
# field query → expected access per role, in ROLES order (the matrix of docs/access.md, written out independently)
MATRIX = {
    "person": ("query($i: String!) { person(idNumber: $i) { idNumber name gender birthDate } }", [Y, Y, Y, Y, Y, Y, Y, Y, N]),
    "person.education": ("query($i: String!) { person(idNumber: $i) { education } }", [Y, Y, Y, Y, N, Y, N, N, N]),
    "person.postings": ("query($i: String!) { person(idNumber: $i) { postings { category } } }", [Y, Y, Y, Y, N, Y, Y, Y, N]),
    "person.verifiedIdentity": ("query($i: String!) { person(idNumber: $i) { verifiedIdentity { status } } }", [Y, Y, N, N, Y, N, N, N, N]),
    "person.accessHistory": ("query($i: String!) { person(idNumber: $i) { accessHistory { totalCount } } }", [Y, Y, N, N, N, N, N, N, N]),
    "persons": ("{ persons(first: 5) { totalCount } }", [Y, Y, N, N, N, N, N, N, N]),
    "accessLog": ("{ accessLog(first: 5) { totalCount } }", [Y, Y, N, N, N, N, N, N, N]),
    "unit.postings": ("query($u: String!) { unit(code: $u) { postings { totalCount } } }", [Y, Y, Y, Y, N, N, N, N, N]),
    "unit.history": ("query($u: String!) { unit(code: $u) { history { name } } }", [Y, Y, Y, Y, N, N, N, N, Y]),
    "unit": ("query($u: String!) { unit(code: $u) { headcount quotas { available } } }", [Y] * 9),
    "mismatchStats": ("{ mismatchStats { total } }", [Y, Y, Y, N, N, N, N, N, Y]),
    "establishmentSummary": ("{ establishmentSummary { units } }", [Y, Y, Y, N, N, N, N, N, Y]),
    "headcountConsistency": ('{ headcountConsistency(period: "2026-10") { totalCount } }', [Y, Y, Y, N, N, N, Y, N, N]),
}


@pytest.mark.parametrize("field", list(MATRIX))
def test_role_field_matrix(world, field):
    query, expected = MATRIX[field]
    for role, allowed in zip(ROLES, expected):
        r = q(world, role, query, {"i": world["idn"], "u": world["unit"]})
        if allowed:
            assert not forbidden(r) and r.get("data") and "errors" not in r, (field, role, r)
        else:
            assert forbidden(r), (field, role, r)


def test_partner_without_purpose_is_refused_but_the_office_is_not(world):
    query = "query($i: String!) { person(idNumber: $i) { name } }"
    for role in ("POLICE", "HR", "FINANCE", "INSURANCE", "ORGANIZATION", "UNIT"):
        r = q(world, role, query, {"i": world["idn"]}, purpose=None)
        assert forbidden(r) and "purpose" in r["errors"][0]["message"], role
    for role in ("ADMIN", "AUDITOR"):
        assert q(world, role, query, {"i": world["idn"]}, purpose=None)["data"]["person"]["name"] == "林海"


def test_reads_are_logged_and_the_person_can_see_who_looked(world):
    q(world, "POLICE", "query Check($i: String!) { person(idNumber: $i) { name } }", {"i": world["idn"]}, purpose="协查函 17号")
    r = q(world, "AUDITOR", "query($i: String!) { person(idNumber: $i) { accessHistory { edges { node { role purpose operation } } } } }", {"i": world["idn"]})
    entries = [e["node"] for e in r["data"]["person"]["accessHistory"]["edges"]]
    assert {"role": "POLICE", "purpose": "协查函 17号", "operation": "Check"} in entries


def test_monitor_never_sees_a_birth_date_kind_partners_see_their_own_source(world):
    # RETIREMENT_DUE is computed from the birth date (ID digits 7-14): MONITOR neither lists nor counts it
    r = q(world, "MONITOR", "{ mismatches { totalCount } mismatchStats { total byKind { key } } }")
    assert r["data"]["mismatches"]["totalCount"] == 0 and r["data"]["mismatchStats"] == {"total": 0, "byKind": []}
    assert q(world, "FINANCE", "{ mismatches { totalCount } }")["data"]["mismatches"]["totalCount"] == 0  # registry-sourced
    assert q(world, "UNIT", "{ mismatches { totalCount } }")["data"]["mismatches"]["totalCount"] == 1


@pytest.mark.parametrize("query,limit", [
    ("{ " + "unit(code: \"X\") { parent { " * 13 + "code" + " } }" * 13 + " }", "depth"),
    ("{ " + " ".join(f"a{i}: units(first: 1) {{ totalCount }}" for i in range(31)) + " }", "alias"),
    ("{ units(first: 500) { edges { node { postings(first: 500) { totalCount } } } } }", "cost limit"),
    ("{ units(first: 501) { totalCount } }", "at most 500"),
    ("{ units(first: -1) { totalCount } }", "must not be negative"),
])
def test_limits_refuse_with_a_message_naming_the_limit(world, query, limit):
    r = q(world, "ADMIN", query)
    assert r.get("errors") and limit in " ".join(e["message"] for e in r["errors"]).lower().replace("aliases", "alias"), r
    assert "SELECT" not in str(r)


def test_token_limit(world):
    from hub.api.app import create_app as make

    client = TestClient(make(world["db"]))
    huge = "{ " + " ".join(["__typename"] * 6000) + " }"
    r = client.post("/graphql", json={"query": huge}, headers={"Authorization": f"Bearer {world['tokens']['ADMIN']}"}).json()
    assert "token" in r["errors"][0]["message"].lower()


def test_mutations_return_typed_results_and_refuse_non_admins(world):
    m = """mutation($c: String!) { setQuota(unitCode: $c, category: WORKER, approved: 2, effectiveDate: "2026-01-01", documentNumber: "杭编〔2026〕3号") {
             __typename ... on QuotaPayload { unit { quotas { category approved } } } ... on NotAllowed { message } } }"""
    assert q(world, "HR", m, {"c": world["unit"]})["data"]["setQuota"]["__typename"] == "NotAllowed"
    r = q(world, "ADMIN", m, {"c": world["unit"]})["data"]["setQuota"]
    assert {"category": "WORKER", "approved": 2} in r["unit"]["quotas"]
    bad = q(world, "ADMIN", 'mutation { registerPerson(person: {idNumber: "110105194912310021", name: "X"}, effectiveDate: "2026-01-01") { __typename ... on InvalidIdNumber { message } } }')
    assert bad["data"]["registerPerson"]["__typename"] == "InvalidIdNumber"
    r = q(world, "ADMIN", 'mutation($i: String!) { endPosting(idNumber: $i, endDate: "2026-11-01", reason: RETIREMENT) { __typename ... on PostingPayload { posting { active endReason } form { kind } } } }', {"i": world["old"]})
    assert r["data"]["endPosting"]["posting"] == {"active": False, "endReason": "RETIREMENT"}
    assert r["data"]["endPosting"]["form"] == {"kind": "DEPARTURE"}
    r = q(world, "ADMIN", 'mutation($i: String!) { endPosting(idNumber: $i, endDate: "2026-11-01", reason: OTHER) { __typename } }', {"i": world["old"]})
    assert r["data"]["endPosting"]["__typename"] == "PostingNotFound"


def test_set_leader_quota_returns_the_unit_or_a_typed_failure(world):
    m = """mutation($c: String!, $n: Int!) { setLeaderQuota(unitCode: $c, rank: SECTION_CHIEF, approved: $n,
             effectiveDate: "2026-01-01", documentNumber: "杭编〔2026〕4号") { __typename
             ... on QuotaPayload { unit { leaderQuotas { rank approved used } } } ... on InvalidInput { message }
             ... on UnitNotFound { message } ... on NotAllowed { message } } }"""
    assert q(world, "FINANCE", m, {"c": world["unit"], "n": 3})["data"]["setLeaderQuota"]["__typename"] == "NotAllowed"
    r = q(world, "ADMIN", m, {"c": world["unit"], "n": 3})["data"]["setLeaderQuota"]
    assert r["unit"]["leaderQuotas"] == [{"rank": "SECTION_CHIEF", "approved": 3, "used": 1}]
    r = q(world, "ADMIN", m, {"c": world["unit"], "n": -1})["data"]["setLeaderQuota"]
    assert r["__typename"] == "InvalidInput" and "zero or more" in r["message"]
    from tests.factories import unit_code

    r = q(world, "ADMIN", m, {"c": unit_code(), "n": 1})["data"]["setLeaderQuota"]  # a valid code, no such unit
    assert r["__typename"] == "UnitNotFound"


def test_get_requests_cannot_run_mutations(world):
    client = world["client"]
    r = client.get("/graphql", params={"query": 'mutation { abolishUnit(code: "X", effectiveDate: "2026-01-01") { __typename } }'},
                   headers={"Authorization": f"Bearer {world['tokens']['ADMIN']}", "Accept": "application/json"})
    assert r.status_code in (400, 405)


def test_unit_and_person_read_as_of_a_past_date(world):
    _db, unit = world["db"], world["unit"]
    r = q(world, "ADMIN", 'mutation($c: String!) { updateUnit(code: $c, changes: {name: "杭州市新名局"}, effectiveDate: "2025-07-01", documentNumber: "杭编〔2025〕7号") { __typename } }', {"c": unit})
    assert r["data"]["updateUnit"]["__typename"] == "UnitPayload"
    old = q(world, "ADMIN", 'query($c: String!) { unit(code: $c, asOf: "2024-01-01") { name headcount quotas { category approved } } }', {"c": unit})["data"]["unit"]
    new = q(world, "ADMIN", 'query($c: String!) { unit(code: $c) { name history { name validFrom documentNumber } } }', {"c": unit})["data"]["unit"]
    assert old["name"] == "杭州市测试局" and new["name"] == "杭州市新名局"
    assert [(h["name"], h["documentNumber"]) for h in new["history"]] == [("杭州市测试局", None), ("杭州市新名局", "杭编〔2025〕7号")]
    assert old["headcount"] == 2  # both hired 2021-03-01
    slots = 'query($c: String!, $d: Date!) { unit(code: $c, asOf: $d) { quotas { category approved used available } leaderQuotas { rank approved used available } } }'
    held = q(world, "ADMIN", slots, {"c": unit, "d": "2024-01-01"})["data"]["unit"]
    assert held["quotas"] == [{"category": "ADMINISTRATIVE", "approved": 5, "used": 2, "available": 3}]
    assert held["leaderQuotas"] == [{"rank": "SECTION_CHIEF", "approved": 1, "used": 1, "available": 0}]
    before = q(world, "ADMIN", slots, {"c": unit, "d": "2021-01-01"})["data"]["unit"]  # before the hires
    assert [x["used"] for x in before["quotas"] + before["leaderQuotas"]] == [0, 0]


def _count_sql(db, client, token, query):
    n = {"count": 0}

    def count(*_args, **_kw):
        n["count"] += 1

    engines = {db.engine, db.read_engine}
    for e in engines:
        event.listen(e, "before_cursor_execute", count)
    try:
        r = client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", count)
    assert "errors" not in r, r
    return n["count"], r


def test_sql_statements_do_not_grow_with_the_number_of_units(db_url, tmp_path, request):
    query = """{ units(first: UNITS) { totalCount edges { node { code quotas { category approved used available }
                 leaderQuotas { rank approved used } headcount postings(first: 20) { totalCount edges { node { category
                 startDate unit { code } person { name } } } } } } } }"""
    counts = {}
    drops = []
    for n_units in (10, 50):
        url = db_url if n_units == 10 else None
        if url is None:  # a second, bigger registry in a fresh database of the same kind
            if db_url.startswith("sqlite"):
                import shutil

                shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "big.sqlite3")
                url = f"sqlite:///{tmp_path / 'big.sqlite3'}"
            else:
                from tests.conftest import new_pg_database

                url, drop = new_pg_database(request.getfixturevalue("pg_template"))
                drops.append(drop)
        db = connect(url)
        units = [unit_code() for _ in range(n_units)]
        people = unique_ids(n_units * 20)[-n_units * 20:]
        write_registry(tmp_path / f"r{n_units}", units=[{"code": u, "name": f"单位{i}"} for i, u in enumerate(units)],
                       persons=[(p, "某人") for p in people],
                       postings=[(p, units[i // 20], "ADMINISTRATIVE", "SECTION_CHIEF" if i % 20 == 0 else "") for i, p in enumerate(people)],
                       quotas=[(u, "ADMINISTRATIVE", 25) for u in units] + [(u, "WORKER", 2) for u in units],
                       leader_quotas=[(u, "SECTION_CHIEF", 1) for u in units])
        import_registry(db, tmp_path / f"r{n_units}")
        _, token = create_token(db, role="ADMIN", name="count")
        counts[n_units], r = _count_sql(db, TestClient(create_app(db)), token, query.replace("UNITS", str(n_units)))
        assert len(r["data"]["units"]["edges"]) == n_units
        assert all(len(e["node"]["postings"]["edges"]) == 20 for e in r["data"]["units"]["edges"])
        db.dispose()
    for drop in drops:
        drop()
    assert counts[10] == counts[50], counts


def test_exported_sdl_matches_the_code():
    path = Path(__file__).resolve().parents[2] / "schema" / "registry.graphql"
    assert path.read_text(encoding="utf-8") == str(build_schema()) + "\n", "run: python scripts/export_schema.py"
