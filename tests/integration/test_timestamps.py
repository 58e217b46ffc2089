"""Every timestamp the hub publishes or serves is RFC 3339 with an offset, on SQLite and PostgreSQL alike — also
in a mismatch re-announced after it was read back from the database."""

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.adapters.orm import MismatchRow
from tests import events as ev
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.streaming_harness import Streaming

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")
TIME_KEYS = re.compile(r"(^time$|_at$)")


def _times(value, path=""):
    """(path, value) of every timestamp field (``time``, ``*_at``) in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            if TIME_KEYS.search(k) and v is not None:
                yield f"{path}.{k}", v
            yield from _times(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _times(v, f"{path}[{i}]")


@pytest.fixture
def streaming(db_url, kafka_bootstrap):
    s = Streaming(db_url, kafka_bootstrap)
    yield s
    s.close()


def test_published_events_and_a_reannounced_mismatch_carry_rfc3339_times_with_an_offset(streaming):
    db = streaming.db
    unit = make_unit(db)
    idn = make_person(db, name="张伟")
    hire(db, idn, unit)
    mismatches = streaming.reader("registry.mismatches.v1")
    updates = streaming.reader("registry.updates.v1")
    streaming.start("police")
    streaming.send(ev.police(idn, "张卫"))  # NAME_MISMATCH opened
    mismatches.poll_until(lambda ms: len(ms) >= 1, 60)
    streaming.send(ev.police(idn, "章伟"))  # raised again with new details: re-announced from the stored row
    mismatches.poll_until(lambda ms: len(ms) >= 2, 60)
    updates.poll_until(lambda ms: len(ms) >= 3, 60)  # unit, person, posting
    opened = [v for v in mismatches.values() if v["data"]["kind"] == "NAME_MISMATCH"]
    assert len(opened) == 2 and opened[0]["data"]["mismatch_id"] == opened[1]["data"]["mismatch_id"]
    assert [e["type"] for e in opened] == ["gov.registry.mismatch.opened", "gov.registry.mismatch.updated"]
    assert opened[1]["data"]["detected_at"] == opened[0]["data"]["detected_at"]
    seen = [(p, v) for e in mismatches.values() + updates.values() for p, v in _times(e)]
    assert {p for p, _ in seen} >= {".time", ".data.detected_at"}
    bad = [(p, v) for p, v in seen if not (isinstance(v, str) and RFC3339.match(v))]
    assert not bad, bad
    mismatches.close()
    updates.close()


def test_graphql_serves_times_with_an_offset(db):
    from hub.api.app import create_app
    from hub.service_layer.tokens import create_token

    from datetime import date

    unit = make_unit(db)
    idn = make_person(db, birth=date(1955, 1, 1))
    hire(db, idn, unit)  # past retirement age: RETIREMENT_DUE, a mismatch with detected_at
    with db.read_session() as s:
        assert s.execute(select(MismatchRow.detected_at)).scalars().first().tzinfo is not None
    _, token = create_token(db, role="ADMIN", name="t")
    client = TestClient(create_app(db))
    r = client.post("/graphql", json={"query": "{ mismatches(first: 5) { edges { node { detectedAt resolvedAt } } } }"},
                    headers={"Authorization": f"Bearer {token}", "X-Purpose": "test"})
    nodes = [e["node"] for e in r.json()["data"]["mismatches"]["edges"]]
    assert nodes, r.text
    for n in nodes:
        assert RFC3339.match(n["detectedAt"]), n
        assert datetime.fromisoformat(n["detectedAt"]).tzinfo is not None
