"""Session 9 review: several processes writing reads at once (each its own Database, so its own hint of the chain's
head, access_chain.Head) on SQLite and PostgreSQL: no read lost, numbers 1..n each given once, one unbroken chain,
and each process's later writes still right after another process moved the head."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from sqlalchemy import func, select

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.adapters.orm import AccessChainHeadRow, AccessLogRow
from hub.api.access import write_reads
from hub.domain.vocabulary import Role

POLICE = SimpleNamespace(token_id=1, actor="police", role=Role.POLICE)


def test_processes_writing_at_once_lose_nothing_and_number_every_read_once(db_url):
    processes = [connect(db_url) for _ in range(3)]
    try:
        def request(k: int) -> None:
            db = processes[k % 3]
            n = 1 + k % 7
            reads = [(f"110101199{k:04d}{i:05d}", f"Op{k}", "Query.person" if i % 3 else "Person.postings", "p",
                      None if i % 5 else "NOT_FOUND") for i in range(n)]
            write_reads(db, principal=POLICE, reads=reads)

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(request, range(90)))
        expected = sum(1 + k % 7 for k in range(90))
        db = processes[0]
        with db.read_session() as s:
            report = access_chain.verify(s)
            ids = s.scalars(select(AccessLogRow.id).order_by(AccessLogRow.id)).all()
            assert s.scalar(select(AccessChainHeadRow.reads)) == expected
            assert s.scalar(select(func.count(func.distinct(AccessLogRow.operation)))) == 90
        assert report.ok and report.checked == expected, report.problems
        assert ids == list(range(1, expected + 1))
    finally:
        for db in processes:
            db.dispose()
