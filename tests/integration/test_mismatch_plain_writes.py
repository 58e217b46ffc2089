"""The mismatch book's plain writes: a batch that only opened mismatches is written by a plain INSERT (fresh ids
cannot conflict, so ON CONFLICT's speculative insertion per row buys nothing — the connectors' common case at
1,000 ghost payrolls a second); a batch that also changed or resolved open rows is one upsert, as before."""

from __future__ import annotations

from sqlalchemy import event, select

from hub.adapters.database import connect
from hub.adapters.orm import MismatchRow
from hub.domain.vocabulary import MismatchKind
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork


def _writes(db, fn) -> list[str]:
    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "mismatches" in statement and statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    return seen


def test_only_opened_rows_are_inserted_plainly_and_changed_ones_upserted(db_url):
    db = connect(db_url)
    subjects = [f"11010519900101{i:04d}" for i in range(3)]

    def open_three():
        with UnitOfWork(db, actor="test") as uow:
            book = MismatchBook(uow)
            for s in subjects:
                row = book.open_or_update_plain(MismatchKind.GHOST_PAYROLL, subject=s, unit_code="U1",
                                                source="/gov/finance", details={"n": 1}, caused_by=["e1"])
                # raised again in the same batch: still one new row, written with its last details
                book.open_or_update_plain(MismatchKind.GHOST_PAYROLL, subject=s, unit_code="U1",
                                          source="/gov/finance", details={"n": 2}, caused_by=["e2"], existing=row)
            book.write_plain()
            uow.commit()

    first = _writes(db, open_three)
    assert len(first) == 1 and "ON CONFLICT" not in first[0].upper(), first

    def resolve_one_and_open_another():
        with UnitOfWork(db, actor="test") as uow:
            book = MismatchBook(uow)
            (old,) = [r for r in book.load_open_plain([MismatchKind.GHOST_PAYROLL.value], subjects[:1])]
            book.resolve_plain(old, caused_by=["e3"])
            book.open_or_update_plain(MismatchKind.NAME_MISMATCH, subject=subjects[0], unit_code="",
                                      source="/gov/police", details={"k": "v"}, caused_by=["e3"])
            book.write_plain()
            uow.commit()

    second = _writes(db, resolve_one_and_open_another)
    assert len(second) == 1 and "ON CONFLICT" in second[0].upper(), second

    with db.read_session() as s:
        rows = {(r.kind, r.subject): r for r in s.execute(select(MismatchRow)).scalars()}
    assert len(rows) == 4
    for subject in subjects[1:]:
        r = rows[("GHOST_PAYROLL", subject)]
        assert r.details == '{"n":2}' and r.caused_by == '["e1","e2"]'
    assert rows[("GHOST_PAYROLL", subjects[0])].status == "RESOLVED"
    assert rows[("GHOST_PAYROLL", subjects[0])].caused_by == '["e1","e2","e3"]'
    assert {rows[("GHOST_PAYROLL", s)].status for s in subjects[1:]} == {"OPEN"}
    assert rows[("NAME_MISMATCH", subjects[0])].status == "OPEN"
    db.engine.dispose()


def test_opened_and_resolved_in_one_batch_and_changed_after_an_earlier_write(db_url):
    """A row this book opened and resolved before writing is inserted plainly, resolved; a row it opened and wrote
    earlier in the transaction is in the table: changing it afterwards must be the upsert (a plain INSERT of the
    same id would fail on the primary key)."""
    db = connect(db_url)
    s = "11010519900101" + "0007"

    def batch():
        with UnitOfWork(db, actor="test") as uow:
            book = MismatchBook(uow)
            gone = book.open_or_update_plain(MismatchKind.GHOST_PAYROLL, subject=s, unit_code="U1",
                                             source="/gov/finance", details={"n": 1}, caused_by=["e1"])
            book.resolve_plain(gone, caused_by=["e2"])
            book.write_plain()
            kept = book.open_or_update_plain(MismatchKind.NAME_MISMATCH, subject=s, unit_code="",
                                             source="/gov/police", details={"k": 1}, caused_by=["e3"])
            book.write_plain()
            book.open_or_update_plain(MismatchKind.NAME_MISMATCH, subject=s, unit_code="", source="/gov/police",
                                      details={"k": 2}, caused_by=["e4"], existing=kept)
            book.write_plain()
            uow.commit()
            return book.tally

    seen = _writes(db, batch)
    assert ["ON CONFLICT" in w.upper() for w in seen] == [False, False, True], seen
    with db.read_session() as r:
        rows = {row.kind: row for row in r.execute(select(MismatchRow)).scalars()}
    assert rows["GHOST_PAYROLL"].status == "RESOLVED" and rows["GHOST_PAYROLL"].caused_by == '["e1","e2"]'
    assert rows["NAME_MISMATCH"].status == "OPEN" and rows["NAME_MISMATCH"].details == '{"k":2}'
    assert rows["NAME_MISMATCH"].caused_by == '["e3","e4"]'
    db.engine.dispose()
