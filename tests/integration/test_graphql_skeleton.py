"""The /graphql endpoint behind bearer tokens: unit with quotas and headcount, person, mismatches."""

from datetime import date
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.service_layer import registry_changes
from hub.service_layer.tokens import create_token, revoke_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.integration.registry_helpers import apply, hire, make_person, make_unit


@pytest.fixture
def client(db):
    return TestClient(create_app(db))


def gql(client, token, query, variables=None, purpose=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    return client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def test_no_token_or_a_bad_or_revoked_token_is_answered_401(db, client):
    assert gql(client, None, "{ __typename }").status_code == 401
    r = gql(client, "hub_nope", "{ __typename }")
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    tid, tok = create_token(db, role="ADMIN", name="office")
    assert gql(client, tok, "{ __typename }").status_code == 200
    revoke_token(db, token_id=tid)
    assert gql(client, tok, "{ __typename }").status_code == 401


def test_unit_with_quotas_leader_quotas_and_headcount(db, client):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 3, "WORKER": 1}, leaders={"DIVISION_CHIEF": 1})
    hire(db, make_person(db), unit, rank="DIVISION_CHIEF")
    hire(db, make_person(db), unit)
    _, tok = create_token(db, role="HR", name="hr")
    r = gql(client, tok, """query($c: String!) { unit(code: $c) { code name kind level funding headcount
        quotas { category approved used available } leaderQuotas { rank approved used available } } }""", {"c": unit})
    u = r.json()["data"]["unit"]
    assert u["headcount"] == 2 and u["kind"] == "GOVERNMENT_ORGAN"
    assert {q["category"]: (q["approved"], q["used"], q["available"]) for q in u["quotas"]} == {
        "ADMINISTRATIVE": (3, 2, 1), "WORKER": (1, 0, 1)}
    assert u["leaderQuotas"] == [{"rank": "DIVISION_CHIEF", "approved": 1, "used": 1, "available": 0}]


def test_person_lookup_with_postings(db, client):
    unit = make_unit(db)
    idn = make_person(db, name="陈静")
    hire(db, idn, unit, start=date(2022, 9, 1))
    _, tok = create_token(db, role="FINANCE", name="fin")
    r = gql(client, tok, "query($i: String!) { person(idNumber: $i) { idNumber name gender birthDate postings { unit { code } category startDate active } } }", {"i": idn.lower()},
            purpose="财政工资核对 2026-10")
    p = r.json()["data"]["person"]
    assert p["name"] == "陈静" and p["postings"][0]["unit"]["code"] == unit and p["postings"][0]["startDate"] == "2022-09-01"


def test_invalid_id_number_is_a_clear_error(db, client):
    _, tok = create_token(db, role="ADMIN", name="a")
    r = gql(client, tok, '{ person(idNumber: "123") { name } }')
    assert "must be 17 digits" in r.json()["errors"][0]["message"]


def test_monitor_sees_mismatches_with_masked_id_numbers_and_may_not_read_persons(db, client):
    unit = make_unit(db)
    old = make_person(db, birth=date(1958, 1, 1), name="王五")
    hire(db, old, unit, start=date(1990, 1, 1))  # RETIREMENT_DUE: never shown to MONITOR (computed from the birth date)
    apply(db, ev.police(old, "王六"))  # NAME_MISMATCH
    _, tok = create_token(db, role="MONITOR", name="mon")
    r = gql(client, tok, "{ mismatches { totalCount edges { node { kind subject status details causedBy } } } }")
    data = r.json()["data"]["mismatches"]
    assert data["totalCount"] == 1
    assert data["edges"][0]["node"] == {"kind": "NAME_MISMATCH", "subject": old[:6] + "********" + old[-4:], "status": "OPEN",
                                        "details": {}, "causedBy": []}
    r = gql(client, tok, f'{{ person(idNumber: "{old}") {{ name }} }}')
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_negative_first_is_a_validation_error_without_sql(db, client):
    _, tok = create_token(db, role="ADMIN", name="a")
    r = gql(client, tok, "{ units(first: -1) { totalCount } }")
    msg = r.json()["errors"][0]["message"]
    assert "must not be negative" in msg and "SELECT" not in msg


def test_units_connection_pages(db, client):
    codes = sorted(make_unit(db) for _ in range(3))
    _, tok = create_token(db, role="ADMIN", name="a")
    r = gql(client, tok, "{ units(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { code } } } }")
    c = r.json()["data"]["units"]
    assert c["totalCount"] == 3 and c["pageInfo"]["hasNextPage"] is True
    r = gql(client, tok, "query($a: String) { units(first: 2, after: $a) { pageInfo { hasNextPage } edges { node { code } } } }", {"a": c["pageInfo"]["endCursor"]})
    c2 = r.json()["data"]["units"]
    assert [e["node"]["code"] for e in c["edges"] + c2["edges"]] == codes and c2["pageInfo"]["hasNextPage"] is False


def test_health_and_readiness(db, client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["database"] == "ok"


def test_a_partner_without_a_purpose_is_refused_and_reads_are_logged(db, client):
    idn = make_person(db, name="陈静")
    _, fin = create_token(db, role="FINANCE", name="fin")
    r = gql(client, fin, "query($i: String!) { person(idNumber: $i) { name } }", {"i": idn})
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "purpose" in r.json()["errors"][0]["message"]
    r = gql(client, fin, "query Lookup($i: String!) { person(idNumber: $i) { name } }", {"i": idn}, purpose="案件 2026-17")
    assert r.json()["data"]["person"]["name"] == "陈静"
    _, aud = create_token(db, role="AUDITOR", name="aud")
    r = gql(client, aud, "query($i: String!) { accessLog(filter: {idNumber: $i}) { totalCount edges { node { actor role operation purpose field } } } }", {"i": idn})
    log = r.json()["data"]["accessLog"]
    assert log["totalCount"] == 1
    assert log["edges"][0]["node"] == {"actor": "FINANCE:fin", "role": "FINANCE", "operation": "Lookup", "purpose": "案件 2026-17", "field": "Query.person"}
