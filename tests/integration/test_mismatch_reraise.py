"""An open mismatch raised again: `gov.registry.mismatch.updated` only when its details (or source) changed;
a grown `caused_by` alone is recorded but not published (a monitoring consumer counts one problem once) —
the ORM (`open_or_update`) and plain-row (`open_or_update_plain`) paths alike, SQLite and PostgreSQL."""

import json

import pytest
from sqlalchemy import select

from hub.adapters.orm import MismatchRow, OutboxRow
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import id_number


def published(db, subject):
    with db.read_session() as s:
        return [json.loads(v)["type"] for v in s.execute(select(OutboxRow.value).where(
            OutboxRow.topic == "registry.mismatches.v1").order_by(OutboxRow.id)).scalars()
                if json.loads(v)["subject"] == subject]


def stored(db, subject):
    with db.read_session() as s:
        r = s.execute(select(MismatchRow).where(MismatchRow.subject == subject)).scalar_one()
        return json.loads(r.details), json.loads(r.caused_by)


@pytest.mark.parametrize("plain", [False, True], ids=["orm", "plain"])
def test_reraising_publishes_updated_only_when_details_change(db, plain):
    idn = id_number()

    def book_it(details, cause):
        with UnitOfWork(db, actor="test") as uow:
            book = MismatchBook(uow)
            kw = dict(subject=idn, unit_code=None, source="police", details=details, caused_by=[cause])
            if plain:
                [existing] = book.load_open_plain([K.NAME_MISMATCH.value], [idn]) or [None]
                book.open_or_update_plain(K.NAME_MISMATCH, existing=existing, **kw)
                book.write_plain()
            else:
                book.open_or_update(K.NAME_MISMATCH, **kw)
            uow.commit()
            return book.tally

    book_it({"found": "张卫"}, "e1")
    assert published(db, idn) == ["gov.registry.mismatch.opened"]
    tally = book_it({"found": "张卫"}, "e2")  # the same problem seen again: only caused_by grows
    assert published(db, idn) == ["gov.registry.mismatch.opened"] and not tally.updated
    assert stored(db, idn) == ({"found": "张卫"}, ["e1", "e2"])
    book_it({"found": "章伟"}, "e3")  # its details changed
    assert published(db, idn) == ["gov.registry.mismatch.opened", "gov.registry.mismatch.updated"]
    book_it({"found": "章伟"}, "e3")  # nothing new at all
    assert published(db, idn) == ["gov.registry.mismatch.opened", "gov.registry.mismatch.updated"]
    assert stored(db, idn) == ({"found": "章伟"}, ["e1", "e2", "e3"])
