"""A unit's postings come in start-date order on the general GraphQL path whatever join PostgreSQL picks.

The loader paged each unit's postings in a LATERAL subquery ordered by start date, then joined the holders: when
PostgreSQL builds the hash of that join on the postings (a hash right join), rows come out in the persons' order, and
the page listed postings in id or ID-number order instead (found by tests/integration/test_compiled_reads.py with a
person root beside a units root). Here the planner is pushed to that plan for the whole database."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.adapters.database import connect
from hub.api.app import create_app
from hub.api.execution import HubExecutionContext
from hub.service_layer.tokens import create_token
from tests.integration.registry_helpers import hire, make_person, make_unit

PAGE = """query { units(first: 10) { edges { node { code postings(first: 10) { edges { node { startDate
            person { idNumber } } } } } } } }"""


@pytest.fixture
def hashing_db(pg_url):
    name = make_url(pg_url).database
    admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:  # no nested loops or merge joins: the holders' join is hashed
        for setting in ("enable_nestloop", "enable_mergejoin"):
            c.execute(text(f'ALTER DATABASE "{name}" SET {setting} = off'))
    admin.dispose()
    database = connect(pg_url)
    yield database
    database.dispose()


def test_unit_postings_are_in_start_date_order_with_a_hashed_join_to_their_holders(hashing_db, monkeypatch):
    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)  # the general path's loaders
    db = hashing_db
    unit = make_unit(db, approved={"ADMINISTRATIVE": 9})
    starts = [date(2023, 5, 1), date(2021, 1, 1), date(2024, 2, 1), date(2020, 7, 1), date(2022, 3, 1)]
    for i, start in enumerate(starts):  # hired in id order, started in another order
        hire(db, make_person(db, birth=date(1970 + i * 3, 1 + i, 10 + i), name=f"人{i}"), unit, start=start)
    token = create_token(db, role="AUDITOR", name="auditor")[1]
    r = TestClient(create_app(db)).post("/graphql", json={"query": PAGE}, headers={"Authorization": f"Bearer {token}"})
    body = r.json()
    assert "errors" not in body, body
    [page] = [u["node"]["postings"]["edges"] for u in body["data"]["units"]["edges"] if u["node"]["code"] == unit]
    assert [e["node"]["startDate"] for e in page] == sorted(s.isoformat() for s in starts)
