"""Consumed offsets of the connectors, kept in the database with the effects they cover (exactly once in effect).

A batch locks its partitions' rows (``lock``: the fence against another copy that applied them first) and stores
the next offsets in the same transaction as its changes (``store``); a consumer starts from ``stored``; a log that
started over moves its partitions back to the log's first offset (``reset``, recorded in the operation log)."""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, func, select

from hub.adapters.bulk import upsert
from hub.adapters.database import Database
from hub.adapters.orm import ConsumerOffsetRow
from hub.service_layer.unit_of_work import UnitOfWork

_KEY = ["connector", "topic", "partition"]


def stored(db: Database, *, connector: str, topic: str) -> dict[int, tuple[int, str | None]]:
    """partition -> (next offset, the topic id it was stored under)."""
    with db.read_session() as s:
        rows = s.execute(select(ConsumerOffsetRow.partition, ConsumerOffsetRow.next_offset, ConsumerOffsetRow.topic_id)
                         .where(ConsumerOffsetRow.connector == connector, ConsumerOffsetRow.topic == topic)).all()
    return {p: (n, tid) for p, n, tid in rows}


def lock(uow: UnitOfWork, *, connector: str, topic: str, partitions: list[int],
         settings: dict[str, str] | None = None) -> dict[int, int]:
    """Lock the partitions' offset rows until the transaction ends; partition -> next offset stored.

    ``settings`` (PostgreSQL): configuration set for the rest of the transaction (``set_config(…, true)``) by the same
    statement — a one-time filter PostgreSQL evaluates before it reads any row, also when none matches — so that
    a batch's planner settings cost no round trip of their own."""
    q = _lock_statement(tuple(sorted(settings.items())) if settings and uow.is_postgres else ())
    rows = uow.session.execute(q, {"connector": connector, "topic": topic, "partitions": partitions})
    return {p: n for p, n in rows.all()}


@functools.lru_cache(maxsize=8)
def _lock_statement(settings: tuple[tuple[str, str], ...]):
    """``lock``'s statement, built once per set of settings: one built per batch (its expression objects refer to
    each other) was cyclic garbage for the collector every batch (docs/bench-streaming.md, session 12)."""
    q = select(ConsumerOffsetRow.partition, ConsumerOffsetRow.next_offset).where(
        ConsumerOffsetRow.connector == bindparam("connector"), ConsumerOffsetRow.topic == bindparam("topic"),
        ConsumerOffsetRow.partition.in_(bindparam("partitions", expanding=True)))
    if settings:
        configs = [func.set_config(k, v, True) for k, v in settings]
        q = q.where(select(func.concat(*configs)).scalar_subquery().is_not(None))
    return q.with_for_update()


def store(uow: UnitOfWork, *, connector: str, topic: str, next_offsets: dict[int, int], topic_id: str | None) -> None:
    """Store the next offset of each partition, in the transaction of the effects they cover."""
    upsert(uow.session, TABLE, rows(uow, connector=connector, topic=topic, next_offsets=next_offsets,
                                    topic_id=topic_id), _KEY)


TABLE = ConsumerOffsetRow.__table__
KEY = tuple(_KEY)


def rows(uow: UnitOfWork, *, connector: str, topic: str, next_offsets: dict[int, int],
         topic_id: str | None) -> list[dict]:
    """The rows ``store`` upserts (on ``KEY``), for a caller that writes them with its own statement."""
    return [dict(connector=connector, topic=topic, partition=p, next_offset=n, topic_id=topic_id, updated_at=uow.now)
            for p, n in sorted(next_offsets.items())]


def reset(uow: UnitOfWork, *, connector: str, topic: str, starts: dict[int, int], topic_id: str | None,
          was: dict[int, int | None], why: str) -> None:
    """The stored offsets do not belong to the broker's log (re-created, or cut by retention): continue from the log's
    first offsets ``starts``, recorded in the operation log with ``why``."""
    store(uow, connector=connector, topic=topic, next_offsets=starts, topic_id=topic_id)
    uow.record(f"connector.{connector}.offset_reset", "connector", connector,
               before={str(p): was.get(p) for p in starts},
               after={"reason": why, **{str(p): n for p, n in starts.items()}})
