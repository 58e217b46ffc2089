"""Session 11 review of s11-lookup: the access log written on Core connections (a compiled read's), ORM sessions
and short transactions of its own, by several processes at once, starting from an empty keyed chain (every process
tries to sign it): no read lost, numbers 1..n each given once, one unbroken signed chain; a refused write (another
key) on a Core connection leaves nothing written and no connection checked out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.operation_log import AuditKeyError
from hub.adapters.orm import AccessChainHeadRow, AccessLogRow
from hub.api.access import write_reads
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal

KEY = b"session-11 review audit key"
WHO = Principal(token_id=None, name="t", role=Role.POLICE)


def test_core_connections_sessions_and_own_transactions_from_several_processes_keep_one_chain(pg_url):
    processes = [connect(pg_url, audit_key=KEY) for _ in range(3)]
    try:
        def request(k: int) -> None:
            db = processes[k % 3]
            n = 1 + k % 5
            reads = [(f"1101{k:04d}{i:05d}", f"Op{k}", "Query.person" if i % 2 else "Posting.person", "p", None)
                     for i in range(n)]
            how = k % 3 if k >= 6 else 0  # the first writes all on Core connections: each tries to sign the chain
            if how == 0:
                with db.read_engine.connect() as c:
                    write_reads(db, principal=WHO, reads=reads, session=c)
            elif how == 1:
                with db.read_session() as s:
                    write_reads(db, principal=WHO, reads=reads, session=s)
            else:
                write_reads(db, principal=WHO, reads=reads)

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(request, range(120)))
        expected = sum(1 + k % 5 for k in range(120))
        db = processes[0]
        with db.read_session() as s:
            report = access_chain.verify(s, key=KEY)
            ids = s.scalars(select(AccessLogRow.id).order_by(AccessLogRow.id)).all()
            head = s.execute(select(AccessChainHeadRow)).scalar_one()
            assert s.scalar(select(func.count(func.distinct(AccessLogRow.operation)))) == 120
        assert report.ok and report.checked == expected, report.problems
        assert ids == list(range(1, expected + 1))
        assert head.key_id == access_chain.key_id(KEY) and head.reads == expected
        for p in processes:
            assert p.read_engine.pool.checkedout() == 0
    finally:
        for db in processes:
            db.dispose()


def test_a_write_refused_on_a_core_connection_writes_nothing_and_returns_the_connection(pg_url):
    db = connect(pg_url, audit_key=KEY)
    other = connect(pg_url, audit_key=b"another key")
    try:
        write_reads(db, principal=WHO, reads=[("a1", "Op", "Query.person", "p", None)])
        for _ in range(2):  # no hint, then the hint the refused write must not have left
            with other.read_engine.connect() as c, pytest.raises(AuditKeyError):
                write_reads(other, principal=WHO, reads=[("b1", "Op", "Query.person", "p", None)], session=c)
        assert other.read_engine.pool.checkedout() == 0
        with db.read_session() as s:
            assert s.scalar(select(func.count()).select_from(AccessLogRow)) == 1
            assert access_chain.verify(s, key=KEY).ok
        write_reads(db, principal=WHO, reads=[("a2", "Op", "Query.person", "p", None)])
    finally:
        db.dispose()
        other.dispose()
