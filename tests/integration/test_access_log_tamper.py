"""Session 9 review of the access log stored as batches (migration 0019): `hub audit verify` must catch every edit
of the stored batches and of the chain head — an ID number replaced, duplicated, dropped, added or moved between
batches, a batch's attributes (its number included) edited, the head's ``reads`` counter edited — and report an
element that is not an ID number (NULL on PostgreSQL, a number in SQLite's JSON) instead of failing with a
traceback."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select, text, update

from hub.adapters import access_chain
from hub.adapters.orm import AccessChainHeadRow, AccessLogBatchRow
from hub.api.access import write_reads
from hub.domain.vocabulary import Role

POLICE = SimpleNamespace(token_id=1, actor="police", role=Role.POLICE)
PEOPLE = [f"1101011990010{k:05d}" for k in range(6)]


def _write(db) -> None:
    """Three requests: two of one field each, one of two fields (two batches under one seal)."""
    write_reads(db, principal=POLICE, reads=[(p, "A", "Query.person", "协查", None) for p in PEOPLE[:3]])
    write_reads(db, principal=POLICE, reads=[(p, "B", "Query.person", "协查", None) for p in PEOPLE[3:]])
    write_reads(db, principal=POLICE, reads=[(PEOPLE[0], "C", "Query.person", "协查", None),
                                            (PEOPLE[1], "C", "Query.person", "协查", None),
                                            (PEOPLE[2], "C", "Person.postings", "协查", None)])


def _verify(db):
    with db.read_session() as s:
        return access_chain.verify(s)


def _batches(db) -> list[tuple[int, int | None, list[str]]]:
    with db.read_session() as s:
        return [(b.id, b.seal_seq, list(b.id_numbers)) for b in
                s.execute(select(AccessLogBatchRow).order_by(AccessLogBatchRow.id)).scalars()]


def _set_numbers(db, batch_id: int, numbers: list) -> None:
    with db.session() as s, s.begin():
        s.execute(update(AccessLogBatchRow).where(AccessLogBatchRow.id == batch_id).values(id_numbers=numbers))


@pytest.fixture
def written(db):
    _write(db)
    report = _verify(db)
    assert report.ok and report.checked == 9, report.problems
    assert [(b[0], len(b[2])) for b in _batches(db)] == [(1, 3), (4, 3), (7, 2), (9, 1)]
    return db


@pytest.mark.parametrize("change", [
    lambda n: [n[1], n[1], n[2]],            # an ID number duplicated over another
    lambda n: [n[0], "110101199001019999", n[2]],  # replaced
    lambda n: n[:2],                          # dropped
    lambda n: n + ["110101199001019999"],     # added
    lambda n: [n[0], n[1], n[2], n[2]],       # repeated
], ids=["duplicated", "replaced", "dropped", "added", "repeated"])
def test_an_id_number_edited_inside_a_batch_is_caught(written, change):
    _set_numbers(written, 1, change(_batches(written)[0][2]))
    assert not _verify(written).ok


def test_an_id_number_moved_between_batches_is_caught(written):
    first, second = _batches(written)[:2]
    _set_numbers(written, first[0], first[2] + second[2][:1])
    _set_numbers(written, second[0], second[2][1:])
    problems = _verify(written).problems
    assert len([p for p in problems if "access seal" in p]) >= 2, problems


def test_a_batch_moved_to_another_seal_or_its_attributes_edited_is_caught(written):
    with written.session() as s, s.begin():
        s.execute(update(AccessLogBatchRow).where(AccessLogBatchRow.id == 9).values(seal_seq=2))
    assert not _verify(written).ok
    with written.session() as s, s.begin():
        s.execute(update(AccessLogBatchRow).where(AccessLogBatchRow.id == 9).values(seal_seq=3, field="Person.education"))
    assert not _verify(written).ok


@pytest.mark.parametrize("reads", [8, 10, 0, 100])
def test_the_heads_reads_counter_edited_is_caught(written, reads):
    """The counter numbers the next batch: lowered, the next reads would take numbers already given (overlapping the
    last batch without a key violation when it lands inside it); raised, a gap."""
    with written.session() as s, s.begin():
        s.execute(update(AccessChainHeadRow).where(AccessChainHeadRow.id == 1).values(reads=reads))
    problems = _verify(written).problems
    assert any("reads" in p for p in problems), problems


def test_a_batch_renumbered_into_another_is_caught(written):
    """A batch's number is its first read's: moved onto the numbers of the batch before, two reads share a number."""
    with written.session() as s, s.begin():
        s.execute(update(AccessLogBatchRow).where(AccessLogBatchRow.id == 4).values(id=2))
    problems = _verify(written).problems
    assert any("overlap" in p for p in problems), problems


def test_a_lowered_counter_is_caught_after_the_next_write_too(written):
    """Numbers handed out twice: the head lowered by two, then a request writes its read as number 8, inside batch 7
    (reads 7–8): no key violation, two reads numbered 8."""
    with written.session() as s, s.begin():
        s.execute(update(AccessChainHeadRow).where(AccessChainHeadRow.id == 1).values(reads=7))
    written.access_head = None  # another process: no hint of the head
    write_reads(written, principal=POLICE, reads=[(PEOPLE[5], "D", "Query.person", "协查", None)])
    problems = _verify(written).problems
    assert any("overlap" in p for p in problems), problems


def test_an_element_that_is_not_an_id_number_is_reported_not_a_traceback(written):
    with written.engine.begin() as c:
        if c.dialect.name == "postgresql":
            c.execute(text("UPDATE access_log_batches SET id_numbers[2] = NULL WHERE id = 1"))
        else:
            c.execute(text("UPDATE access_log_batches SET id_numbers = json_set(id_numbers, '$[1]', 42) WHERE id = 1"))
    report = _verify(written)
    assert any("do not match its hash" in p for p in report.problems), report.problems
