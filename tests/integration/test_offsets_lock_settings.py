"""A connector batch's planner settings ride on the statement that locks its offsets (no round trip of their own):
they hold for the rest of the transaction, also when no offset row exists yet (the first batch), and end with it."""

from __future__ import annotations

from sqlalchemy import text

from hub.service_layer import offsets
from hub.service_layer.unit_of_work import UnitOfWork

SETTINGS = {"plan_cache_mode": "force_custom_plan", "random_page_cost": "1.1"}


def _current(uow) -> tuple[str, str]:
    return tuple(uow.session.execute(text("SELECT current_setting('plan_cache_mode'), "
                                          "current_setting('random_page_cost')")).one())


def test_the_settings_hold_for_the_batch_s_transaction_with_and_without_offset_rows(db):
    if not db.is_postgres:
        with UnitOfWork(db, actor="test") as uow:  # SQLite: no settings, the lock still reads the offsets
            assert offsets.lock(uow, connector="finance", topic="t", partitions=[0], settings=SETTINGS) == {}
        return
    with UnitOfWork(db, actor="test") as uow:
        before = _current(uow)
    assert before != ("force_custom_plan", "1.1")
    with UnitOfWork(db, actor="test") as uow:  # no offset row yet
        assert offsets.lock(uow, connector="finance", topic="t", partitions=[0, 1], settings=SETTINGS) == {}
        assert _current(uow) == ("force_custom_plan", "1.1")
    with UnitOfWork(db, actor="test") as uow:
        offsets.store(uow, connector="finance", topic="t", next_offsets={0: 5}, topic_id=None)
        uow.commit()
    with UnitOfWork(db, actor="test") as uow:
        assert offsets.lock(uow, connector="finance", topic="t", partitions=[0, 1], settings=SETTINGS) == {0: 5}
        assert _current(uow) == ("force_custom_plan", "1.1")
    with UnitOfWork(db, actor="test") as uow:  # they ended with the transaction
        assert _current(uow) == before
