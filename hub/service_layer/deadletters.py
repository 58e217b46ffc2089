"""Dead letters: keep the rejected messages (``record``), list them, and replay them to their original topic after a
fix (dry-run and audited)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hub.adapters import kafka as kafka_adapter
from hub.adapters.bulk import upsert
from hub.adapters.database import Database
from hub.adapters.orm import DeadLetterRow
from hub.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Rejection:
    """An inbound message the hub rejected: where it was, what it held and why."""

    topic: str
    partition: int
    offset: int
    key: str | None  # the message key as storable text
    raw: bytes
    reason: str


def record(uow: UnitOfWork, *, connector: str, rejected: list[Rejection]) -> None:
    """Keep the rejected messages (one row per topic, partition and offset: a batch retried writes them once), in the
    transaction of the batch that consumed them; `hub deadletter replay` sends the raw bytes again."""
    if not rejected:
        return
    upsert(uow.session, DeadLetterRow.__table__,
           [dict(connector=connector, topic=r.topic, partition=r.partition, offset=r.offset, key=r.key,
                 raw_base64=base64.b64encode(r.raw).decode("ascii"), reason=r.reason, created_at=uow.now)
            for r in rejected], ["topic", "partition", "offset"])


@dataclass
class DeadLetterFilter:
    ids: list[int] | None = None
    since: datetime | None = None
    until: datetime | None = None
    reason_contains: str | None = None
    include_replayed: bool = False


def _query(f: DeadLetterFilter):
    q = select(DeadLetterRow)
    if f.ids:
        q = q.where(DeadLetterRow.id.in_(f.ids))
    if f.since:
        q = q.where(DeadLetterRow.created_at >= f.since)
    if f.until:
        q = q.where(DeadLetterRow.created_at < f.until)
    if f.reason_contains:
        q = q.where(DeadLetterRow.reason.contains(f.reason_contains, autoescape=True))
    if not f.include_replayed:
        q = q.where(DeadLetterRow.replayed_at.is_(None))
    return q.order_by(DeadLetterRow.id)


def list_dead_letters(db: Database, f: DeadLetterFilter, limit: int = 1000) -> list[DeadLetterRow]:
    with db.read_session() as s:
        return list(s.execute(_query(f).limit(limit)).scalars())


def replay(db: Database, bootstrap: str | None, f: DeadLetterFilter, *, dry_run: bool, actor: str = "cli") -> list[DeadLetterRow]:
    """Re-produce the selected dead letters' raw bytes to their original topic and key; mark them replayed."""
    with UnitOfWork(db, actor=actor) as uow:
        rows = list(uow.session.execute(_query(f)).scalars())
        if dry_run or not rows:
            uow.session.expunge_all()  # keep the rows readable after the (read-only) transaction ends
            return rows
        if not bootstrap:
            raise ValueError("replay needs a broker: set HUB_KAFKA_BOOTSTRAP_SERVERS")
        p = kafka_adapter.producer(bootstrap)
        try:
            futures = [p.send(r.topic, key=r.key.encode() if r.key else None, value=base64.b64decode(r.raw_base64)) for r in rows]
            p.flush(timeout=30)
            for fut in futures:
                fut.get(timeout=30)
        finally:
            p.close(timeout=2)
        for r in rows:
            r.replayed_at = uow.now
        uow.record("deadletter.replay", "dead_letter", None, after={"ids": [r.id for r in rows], "count": len(rows)})
        uow.commit()
        return rows
