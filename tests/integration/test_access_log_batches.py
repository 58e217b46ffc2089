"""Issue 18 (session 9): the access log stored as batches (migration 0019) — one row per batch group with its ID
numbers as an array, read back one row per read through the ``access_log`` view.

Rows written before the migration keep their numbers, values and order, and their seals verify unchanged (the MAC
covers the same tuples); a migrated read edited afterwards is caught. The readers (``accessLog`` with its filters,
order and pagination, ``Person.accessHistory``, the read-access report) answer read by read as before, on SQLite
and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from hub import reports
from hub.adapters import access_chain
from hub.adapters.database import connect, migrate
from hub.adapters.orm import AccessChainHeadRow, AccessLogBatchRow, Timestamp
from hub.api.access import write_reads
from hub.api.app import create_app
from hub.domain.calendar import office_today
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal, create_token
from tests.integration.registry_helpers import make_person

_OLD = sa.table("access_log", sa.column("id", sa.BigInteger), sa.column("at", Timestamp), sa.column("token_id"),
                sa.column("actor"), sa.column("role"), sa.column("id_number"), sa.column("operation"),
                sa.column("field"), sa.column("purpose"), sa.column("outcome"), sa.column("seal_seq"))
_COLS = "id, at, token_id, actor, role, id_number, operation, field, purpose, outcome, seal_seq"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path, pg_available):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    if not pg_available:
        pytest.skip("PostgreSQL not reachable")
    from tests.conftest import _admin_engine, _pg_url

    name = f"hub_mig_{uuid.uuid4().hex[:10]}"
    eng = _admin_engine()
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def _old_batch(c, at: datetime, actor: str, reads: list[tuple], *, sealed: bool = True, first_id: int | None = None):
    """A batch as write_reads wrote it before 0019: one row per read, the seal's MAC over the tuples (unkeyed)."""
    seal = None
    if sealed:
        seq, prev = c.execute(text("SELECT seq, hash FROM access_chain_head WHERE id = 1")).one()
        seal, when = seq + 1, access_chain._at(at)
        rows = [(7, actor, "UNIT", i, o, f, p, oc) for i, o, f, p, oc in reads]
        h = access_chain.seal_hash(prev, seal, when, rows, None)
        c.execute(text("INSERT INTO access_log_seals (seq, at, rows, prev_hash, hash) VALUES (:s, :a, :n, :p, :h)"),
                  {"s": seal, "a": when, "n": len(rows), "p": prev, "h": h})
        c.execute(text("UPDATE access_chain_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seal, "h": h})
    for k, (i, o, f, p, oc) in enumerate(reads):
        values = dict(at=at, token_id=7, actor=actor, role="UNIT", id_number=i, operation=o, field=f, purpose=p,
                      outcome=oc, seal_seq=seal)
        if first_id is not None:
            values["id"] = first_id + k
        c.execute(_OLD.insert().values(**values))


def _verify(db):
    with db.read_session() as s:
        return access_chain.verify(s)


def test_old_rows_are_migrated_keep_their_numbers_and_verify_and_a_tampered_one_is_caught(empty_url):
    migrate(empty_url, "0018")
    db = connect(empty_url)
    t0 = datetime(2026, 11, 2, 8, 30, 0, 123456, tzinfo=timezone.utc)
    with db.engine.begin() as c:
        _old_batch(c, t0, "UNIT:old", [("110101199001010011", "Op", "Query.person", "p", None)], sealed=False)
        _old_batch(c, t0 + timedelta(seconds=1), "UNIT:a",
                   [(f"1101011990010100{k:02d}", "Units", "Posting.person", "staffing", None) for k in range(5)])
        _old_batch(c, t0 + timedelta(seconds=2), "UNIT:b", [  # a mixed batch: three runs
            ("110101199001010021", "Q", "Person.education", "p", None),
            ("110101199001010022", "Q", "Query.person", "p", "NOT_FOUND"),
            ("110101199001010023", "Q", "Person.education", "p", None)])
        _old_batch(c, t0 + timedelta(seconds=2, microseconds=5), "UNIT:d", [  # an old request reading one ID twice
            ("110101199001010024", "Q", "Query.person", "p", None), ("110101199001010024", "Q", "Query.person", "p", None)])
        _old_batch(c, t0 + timedelta(seconds=3), "UNIT:c",  # after a gap in the numbers (a rolled-back insert)
                   [("110101199001010031", None, "Query.person", None, None),
                    ("110101199001010032", None, "Query.person", None, None)], first_id=20)
        before = c.execute(text(f"SELECT {_COLS} FROM access_log ORDER BY id")).all()
    db.dispose()

    migrate(empty_url)
    db = connect(empty_url)
    try:
        with db.engine.connect() as c:
            after = c.execute(text(f"SELECT {_COLS} FROM access_log ORDER BY id")).all()
        assert after == before  # every read, its number and its values
        with db.read_session() as s:
            batches = s.execute(select(AccessLogBatchRow.id, AccessLogBatchRow.id_numbers)
                                .order_by(AccessLogBatchRow.id)).all()
            assert s.scalar(select(AccessChainHeadRow.reads)) == 21
        assert [b[0] for b in batches] == [1, 2, 7, 8, 9, 10, 11, 20]  # legacy, the page, three runs, the repeated ID
        # in a batch each, after the gap
        assert batches[1][1] == [f"1101011990010100{k:02d}" for k in range(5)]
        report = _verify(db)  # old seals, unchanged, still verify
        assert report.ok and report.checked == 12, report.problems
        assert any("1 access-log row(s) from before sealing" in n for n in report.notes)

        who = Principal(token_id=None, name="t", role=Role.ADMIN)
        write_reads(db, principal=who, reads=[("110101199001010041", "Op", "Query.person", "p", None),
                                              ("110101199001010042", "Op", "Query.person", "p", None)])
        with db.engine.connect() as c:
            assert c.execute(text("SELECT id, id_number FROM access_log WHERE id > 20 ORDER BY id")).all() == [
                (21, "110101199001010032"), (22, "110101199001010041"), (23, "110101199001010042")]
        report = _verify(db)
        assert report.ok and report.checked == 14, report.problems
        with db.read_session() as s:  # a person's reads: the batches holding the ID number, one read each
            assert s.scalar(select(sa.func.count()).where(AccessLogBatchRow.holds("110101199001010024"))) == 2

        with db.session() as s, s.begin():  # an insider swaps one migrated read's ID number
            numbers = s.scalar(select(AccessLogBatchRow.id_numbers).where(AccessLogBatchRow.id == 2))
            s.execute(update(AccessLogBatchRow).where(AccessLogBatchRow.id == 2)
                      .values(id_numbers=[*numbers[:2], "110101199001019999", *numbers[3:]]))
        report = _verify(db)
        assert not report.ok and any("access seal 1: its rows do not match its hash" in p for p in report.problems)
        with db.session() as s, s.begin():  # ... or drops a read from a mixed batch's run
            s.execute(AccessLogBatchRow.__table__.delete().where(AccessLogBatchRow.id == 9))
        assert any("access seal 2: covers 3 row(s), 2 found" in p for p in _verify(db).problems)
    finally:
        db.dispose()


def _q(client, token, query, variables=None):
    r = client.post("/graphql", json={"query": query, "variables": variables or {}},
                    headers={"Authorization": f"Bearer {token}"}).json()
    assert "errors" not in r, r
    return r["data"]


_NODE = "at actor role idNumber operation field purpose outcome"


def test_the_readers_answer_read_by_read(db):
    """A big page, a mixed batch and lookups; accessLog (each filter, order, pagination), accessHistory and the
    read-access report answer as one row per read would: newest first, by read number within a batch."""
    person = make_person(db)  # accessHistory needs a person; its own lookups below are the auditor's
    batches = [  # (actor, reads)
        ("UNIT:u1", [(f"1101011990010{k:05d}", "Units", "Posting.person", "staffing", None) for k in range(40)]
         + [(person, "Units", "Posting.person", "staffing", None)]),
        ("UNIT:u2", [(person, "Q", "Query.person", "check", None), ("110101199001010098", "Q", "Query.person", "check",
                                                                    "NOT_FOUND"),
                     (person, "Q", "Person.education", "check", None)]),
        ("UNIT:u1", [(person, "L", "Query.person", None, None)]),
    ]
    written = []  # (actor, read), oldest first
    times = []
    for actor, reads in batches:
        write_reads(db, principal=Principal(token_id=None, name=actor.split(":")[1], role=Role.UNIT), reads=reads)
        written += [(actor, r) for r in reads]
        times.append(datetime.now(timezone.utc))
    client = TestClient(create_app(db))
    auditor = create_token(db, role="AUDITOR", name="audit")[1]

    def expect(keep):
        return [{"actor": a, "role": "UNIT", "idNumber": r[0], "operation": r[1], "field": r[2], "purpose": r[3],
                 "outcome": r[4]} for a, r in reversed(written) if keep(a, r)]

    def page(query, path, variables, first):
        nodes, after = [], None
        while True:
            d = _q(client, auditor, query, {**variables, "first": first, "after": after})
            for key in path:
                d = d[key]
            nodes += [{k: v for k, v in e["node"].items() if k != "at"} for e in d["edges"]]
            total = d["totalCount"]
            if not d["pageInfo"]["hasNextPage"]:
                return nodes, total
            after = d["pageInfo"]["endCursor"]

    log = (f"query($first: Int, $after: String, $f: AccessLogFilter) {{ accessLog(first: $first, after: $after, "
           f"filter: $f) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {_NODE} }} }} }} }}")
    mine = expect(lambda a, r: True)
    got, total = page(log, ["accessLog"], {"f": None}, 7)
    assert got[:len(mine)] == mine and total == len(got)  # newest first; then the auditor's own reads, if any
    for f, keep in (({"idNumber": person.lower()}, lambda a, r: r[0] == person),
                    ({"actor": "UNIT:u2"}, lambda a, r: a == "UNIT:u2"),
                    ({"role": "UNIT", "idNumber": "110101199001000003"}, lambda a, r: r[0] == "110101199001000003"),
                    ({"idNumber": person, "until": times[1].isoformat()}, lambda a, r: r[0] == person and a == "UNIT:u1"
                     and r[1] == "Units" or r[0] == person and a == "UNIT:u2"),
                    ({"idNumber": " "}, lambda a, r: False),
                    ({"actor": "UNIT:u1", "since": times[0].isoformat()}, lambda a, r: a == "UNIT:u1" and r[1] == "L"),
                    ({"role": "UNIT", "until": times[0].isoformat()}, lambda a, r: r[1] == "Units")):
        want = expect(keep)
        assert page(log, ["accessLog"], {"f": f}, 2) == (want, len(want)), f
    history = (f"query($i: String!, $first: Int, $after: String) {{ person(idNumber: $i) {{ accessHistory(first: $first, "
               f"after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {_NODE} }} }} }} }} }}")
    want = expect(lambda a, r: r[0] == person)  # one page: the auditor's own reading of the person is logged after it
    assert page(history, ["person", "accessHistory"], {"i": person}, 10) == (want, len(want))
    nodes, total = page(history, ["person", "accessHistory"], {"i": person}, 10)  # now with that first read, newest
    assert nodes[1:] == want and nodes[0]["role"] == "AUDITOR" and total == len(want) + 1

    today = office_today()
    table, _ = reports.run_report(db, "read-access", {}, caller=reports.Caller(name="a", role=Role.ADMIN), today=today)
    assert [r[:6] for r in table.rows if r[0] == "UNIT"] == [
        ["UNIT", "UNIT:u1", "staffing", "Posting.person", 41, 41], ["UNIT", "UNIT:u1", "", "Query.person", 1, 1],
        ["UNIT", "UNIT:u2", "check", "Person.education", 1, 1], ["UNIT", "UNIT:u2", "check", "Query.person", 1, 1]]


def test_downgrade_expands_the_batches_back_into_rows_and_upgrade_regroups_them(empty_url):
    from alembic import command

    from hub.adapters.database import alembic_config

    migrate(empty_url)
    db = connect(empty_url)
    who = Principal(token_id=3, name="t", role=Role.HR)
    write_reads(db, principal=who, reads=[(f"1101011990010{k:05d}", "Op", "Person.postings", "p", None) for k in range(30)])
    write_reads(db, principal=who, reads=[("110101199001010001", "Q", "Query.person", None, "NOT_FOUND"),
                                          ("110101199001010002", "Q", "Person.postings", "p", None)])
    with db.engine.connect() as c:
        before = c.execute(text(f"SELECT {_COLS} FROM access_log ORDER BY id")).all()
    db.dispose()
    command.downgrade(alembic_config(empty_url), "0018")
    eng = sa.create_engine(empty_url)
    with eng.connect() as c:
        assert c.execute(text(f"SELECT {_COLS} FROM access_log ORDER BY id")).all() == before
    eng.dispose()
    migrate(empty_url)
    db = connect(empty_url)
    try:
        with db.engine.connect() as c:
            assert c.execute(text(f"SELECT {_COLS} FROM access_log ORDER BY id")).all() == before
        report = _verify(db)
        assert report.ok and report.checked == 32, report.problems
        write_reads(db, principal=who, reads=[("110101199001010003", "Q", "Query.person", None, None)])
        with db.engine.connect() as c:
            assert c.execute(text("SELECT max(id) FROM access_log")).scalar() == 33
    finally:
        db.dispose()
