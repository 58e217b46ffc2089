"""Statements built once and executed many times (session 12: offsets.lock, the relay's marking UPDATE) lock and
update exactly the rows of each call's values, whatever their shape — one value, many, duplicates, none, lists of
other lengths in turn (PostgreSQL prepares a statement from its fifth run; an expanding IN list is another text per
length on SQLite) — on SQLite and PostgreSQL. Written by the session-12 review (docs/bench-streaming.md): these held."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert, select

from hub.adapters.orm import OutboxRow
from hub.adapters.outbox_relay import _mark_sent
from hub.service_layer import offsets
from hub.service_layer.unit_of_work import UnitOfWork

SETTINGS = {"plan_cache_mode": "force_custom_plan", "random_page_cost": "1.1"}
SHAPES = [[3], list(range(8)), [1, 1, 2], [7, 0], [], [5], list(range(8)), [6, 2, 6], [0], [4, 5, 6]]


def test_the_offsets_lock_reads_each_call_s_partitions_only(db):
    with UnitOfWork(db, actor="test") as uow:
        offsets.store(uow, connector="police", topic="t", next_offsets={p: 10 + p for p in range(8)}, topic_id=None)
        offsets.store(uow, connector="hr", topic="t", next_offsets={p: 99 for p in range(8)}, topic_id=None)
        uow.commit()
    for shape in SHAPES * 2:
        with UnitOfWork(db, actor="test") as uow:
            got = offsets.lock(uow, connector="police", topic="t", partitions=shape, settings=SETTINGS)
            assert got == {p: 10 + p for p in set(shape)}, shape
            assert offsets.lock(uow, connector="police", topic="other", partitions=shape, settings=SETTINGS) == {}


def test_the_relay_s_marks_set_exactly_the_ids_given(db):
    with db.session() as s, s.begin():
        s.execute(insert(OutboxRow), [{"topic": "t", "key": str(i), "value": "{}",
                                       "created_at": datetime(2026, 12, 6, tzinfo=timezone.utc)} for i in range(2500)])
        ids = list(s.scalars(select(OutboxRow.id).order_by(OutboxRow.id)))
    marked: set[int] = set()
    now = datetime(2026, 12, 6, 23, 59, 1, 123456, tzinfo=timezone.utc)
    for chunk in [[], [ids[0]], ids[1:1001], [ids[5], ids[5]], ids[2000:2003], ids[1001:1002], []]:
        with db.session() as s, s.begin():  # the relay's session path (SQLite; PostgreSQL when not leading)
            _mark_sent(s, chunk, now)
        marked |= set(chunk)
        with db.read_session() as r:
            sent = dict(r.execute(select(OutboxRow.id, OutboxRow.sent_at).where(OutboxRow.sent_at.is_not(None))).all())
        assert set(sent) == marked, len(chunk)
        assert all(v == now for v in sent.values())
    if db.is_postgres:  # the leading relay's own connection
        with db.engine.connect() as c, c.begin():
            _mark_sent(c, ids[2100:2200] + ids[2100:2101], now)
        with db.read_session() as r:
            assert set(r.scalars(select(OutboxRow.id).where(OutboxRow.sent_at.is_not(None)))) == marked | set(ids[2100:2200])
