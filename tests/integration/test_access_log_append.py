"""Issue 18 (session 8): the access log written with fewer round trips, the same log.

On PostgreSQL a batch of reads is sealed, chained and written by one statement when this process wrote the chain's
head last (``access_chain.Head``); when another writer moved the head meanwhile (another process, `hub audit rekey`,
a concurrent request) that statement writes nothing and the batch is sealed the usual way. Either way the chain
verifies and every read has its row. Also: the validation of a document is cached again (strawberry's depth and
alias limiters made a new rule class per request, so every request missed the cache)."""

from __future__ import annotations

import threading

from sqlalchemy import event, func, select

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.orm import AccessChainHeadRow, AccessLogRow, AccessSealRow
from hub.api.access import write_reads
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal

KEY = b"session-8 audit key for the tests"


def _verify(db):
    with db.read_session() as s:
        return access_chain.verify(s, key=db.audit_key)


def _rows(db):
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AccessLogRow))


def _statements(db):
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda c, cur, statement, *a: seen.append(statement))
    return seen


def _reads(n: int, tag: str):
    return [(f"{tag}{i:06d}", "Op", "Posting.person", "p", None) for i in range(n)]


def test_a_process_that_wrote_the_head_last_writes_a_batch_in_one_statement(pg_url):
    db = connect(pg_url, audit_key=KEY)
    other = connect(pg_url, audit_key=KEY)  # another process writing the same chain
    who = Principal(token_id=None, name="t", role=Role.ADMIN)
    try:
        seen = _statements(db)
        write_reads(db, principal=who, reads=_reads(3, "a"))  # no hint yet: the usual way
        assert any("FOR UPDATE" in s for s in seen)
        seen.clear()
        write_reads(db, principal=who, reads=_reads(2, "b") + [("x1", "Q", "Query.person", "p", "NOT_FOUND")])
        writes = [s for s in seen if "access_" in s]
        assert len(writes) == 1 and writes[0].startswith("WITH head AS (UPDATE access_chain_head"), seen
        write_reads(other, principal=who, reads=_reads(4, "c"))  # the head moves under db's hint
        seen.clear()
        write_reads(db, principal=who, reads=_reads(5, "d"))  # the hint misses: nothing written, then on the locked head
        assert any("FOR UPDATE" in s for s in seen) and any(s.startswith("WITH head") for s in seen)
        seen.clear()
        write_reads(db, principal=who, reads=_reads(1, "e"))
        assert [s for s in seen if "access_" in s][0].startswith("WITH head")
        report = _verify(db)
        assert report.ok and report.checked == 3 + 3 + 4 + 5 + 1 == _rows(db), report.problems
        with db.read_session() as s:  # the one-statement batch's rows: each read once, with its outcome and seal
            got = s.execute(select(AccessLogRow.id_number, AccessLogRow.field, AccessLogRow.outcome, AccessLogRow.seal_seq)
                            .where(AccessLogRow.id_number.in_(["b000000", "b000001", "x1"]))
                            .order_by(AccessLogRow.id_number)).all()
        assert [tuple(r[:3]) for r in got] == [("b000000", "Posting.person", None), ("b000001", "Posting.person", None),
                                               ("x1", "Query.person", "NOT_FOUND")]
        assert len({r[3] for r in got}) == 1
    finally:
        db.dispose()
        other.dispose()


def test_concurrent_writers_keep_one_chain_and_every_row(pg_url):
    dbs = [connect(pg_url, audit_key=KEY) for _ in range(2)]
    who = Principal(token_id=None, name="t", role=Role.HR)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for j in range(15):
                write_reads(dbs[k % 2], principal=who, reads=_reads(1 + j % 3, f"w{k}-{j}-"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        expected = sum(1 + j % 3 for j in range(15)) * 4
        report = _verify(dbs[0])
        assert report.ok and report.checked == expected == _rows(dbs[0]), report.problems
    finally:
        for d in dbs:
            d.dispose()


def test_a_missed_hint_costs_two_statements_more_and_writes_the_same_chain(pg_url):
    """Issue 18 (session 11): when another writer moved the head (a lookup that overlapped another's write, another
    process), the batch is appended to the head locked and read by one statement — three statements in all, not the
    five of ``seal_head`` (lock and read the head, insert the seal, move the head, insert the rows) after the miss.
    The chain is the same: it verifies, every read is numbered once, the seal links to the other writer's."""
    db = connect(pg_url, audit_key=KEY)
    other = connect(pg_url, audit_key=KEY)
    who = Principal(token_id=None, name="t", role=Role.ADMIN)
    try:
        write_reads(db, principal=who, reads=_reads(2, "a"))
        write_reads(other, principal=who, reads=_reads(3, "b"))  # the head moves under db's hint
        seen = _statements(db)
        write_reads(db, principal=who, reads=_reads(4, "c") + [("x1", "Q", "Query.person", "p", "NOT_FOUND")])
        writes = [s for s in seen if "access_" in s]
        assert len(writes) == 3, writes
        assert writes[0].startswith("WITH head") and "FOR UPDATE" in writes[1] and writes[2].startswith("WITH head")
        seen.clear()
        write_reads(db, principal=who, reads=_reads(1, "d"))  # its own head again: one statement
        assert len([s for s in seen if "access_" in s]) == 1
        report = _verify(db)
        assert report.ok and report.checked == 2 + 3 + 5 + 1 == _rows(db), report.problems
        with db.read_session() as s:
            seals = s.execute(select(AccessSealRow.seq, AccessSealRow.rows, AccessSealRow.prev_hash,
                                     AccessSealRow.hash).order_by(AccessSealRow.seq)).all()
            got = s.execute(select(AccessLogRow.id, AccessLogRow.id_number, AccessLogRow.seal_seq)
                            .where(AccessLogRow.id_number.in_(["c000000", "x1", "d000000"]))
                            .order_by(AccessLogRow.id)).all()
        assert [r[1] for r in seals] == [2, 3, 5, 1] and seals[2][2] == seals[1][3]
        assert [tuple(r) for r in got] == [(6, "c000000", seals[2][0]), (10, "x1", seals[2][0]),
                                           (11, "d000000", seals[3][0])]
    finally:
        db.dispose()
        other.dispose()


def test_a_batch_written_on_a_core_connection_is_the_same_chain(pg_url):
    """Issue 18 (session 11): a compiled read writes its log on the Core connection that ran its statement (no ORM
    session: its bookkeeping cost ~0.24 ms of CPU per request). The first write of a keyed chain still signs it
    (``seal_head`` on an ORM session joined to that connection's transaction), a missed hint appends to the locked
    head, the commit is the connection's, and the chain verifies with every read numbered once."""
    db = connect(pg_url, audit_key=KEY)
    other = connect(pg_url, audit_key=KEY)
    who = Principal(token_id=None, name="t", role=Role.FINANCE)
    try:
        with db.read_engine.connect() as c:  # the chain is empty and unkeyed: this write signs it
            write_reads(db, principal=who, reads=_reads(2, "a"), session=c)
        assert not c.in_transaction()
        with db.read_engine.connect() as c:  # this process's head: one statement
            seen = _statements(db)
            write_reads(db, principal=who, reads=[("q1", "L", "Query.person", "p", "NOT_FOUND")], session=c)
        assert len([s for s in seen if "access_" in s]) == 1, seen
        write_reads(other, principal=who, reads=_reads(3, "b"))  # the head moves under db's hint
        with db.read_engine.connect() as c:
            write_reads(db, principal=who, reads=_reads(1, "c"), session=c)
        report = _verify(db)
        assert report.ok and report.checked == 2 + 1 + 3 + 1 == _rows(db), report.problems
        with db.read_session() as s:
            head = s.execute(select(AccessChainHeadRow)).scalar_one()
        assert head.key_id is not None and head.seq == 4 and head.reads == 7
    finally:
        db.dispose()
        other.dispose()


def test_a_hint_from_another_key_or_a_rekeyed_chain_is_not_used(pg_url):
    db = connect(pg_url, audit_key=KEY)
    who = Principal(token_id=None, name="t", role=Role.ADMIN)
    try:
        write_reads(db, principal=who, reads=_reads(2, "a"))
        write_reads(db, principal=who, reads=_reads(2, "b"))
        with db.session() as s, s.begin():  # `hub audit rekey`: every seal re-signed, the head's hash changes
            access_chain.rekey(s, new_key=b"another key, rotated", old_key=KEY)
        db.audit_key = b"another key, rotated"
        seen = _statements(db)
        write_reads(db, principal=who, reads=_reads(2, "c"))  # the hint names the old key: the usual way
        assert any("FOR UPDATE" in s for s in seen)
        report = _verify(db)
        assert report.ok and report.checked == 6, report.problems
    finally:
        db.dispose()


def test_a_document_is_validated_once():
    import asyncio

    from hub.api.build import _validate_cache, build_schema

    schema = build_schema()
    cache = _validate_cache(512)
    run = lambda q: asyncio.run(schema.execute(q))  # noqa: E731
    query = "query Session8ValidationCache { __typename }"
    assert run(query).data == {"__typename": "Query"}
    before = cache.cache_info()
    for _ in range(3):
        assert run(query).data == {"__typename": "Query"}
    after = cache.cache_info()
    assert after.hits - before.hits == 3 and after.misses == before.misses
    # the limits still apply (the rules are the same, built once)
    deep = "{ " + "unit(code: \"X\") { parent { " * 13 + "code" + " } }" * 13 + " }"
    for _ in range(2):
        result = run(deep)
        assert result.errors and "depth" in result.errors[0].message
