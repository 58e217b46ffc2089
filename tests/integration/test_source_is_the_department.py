"""Issue 12, item 8: the source is the topic's department (service layer, SQLite and PostgreSQL).

De-duplication (event id) and ordering (sequence) key on the department that owns the topic, never on the
sender-chosen `source` string; an event claiming another source is a dead letter; a `sequence` implausibly far
ahead of the person's last one is a dead letter held for review, so the person's later events still apply.
Messages go through the police connector's translate step and ``apply_events`` exactly as a connector batch does.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.contract.inbound import InboundEvent
from connectors.hr import CONNECTOR as HR
from connectors.police import CONNECTOR as POLICE
from hub.adapters.orm import AppliedEventRow, PartnerIdentityRow, SubjectSequenceRow
from connectors.spec import partner_row
from hub.service_layer.partner_events import apply_events
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.factories import unit_code
from tests.integration.registry_helpers import make_person

JUMP = 1000


def feed(db, connector, *events: dict, max_sequence_jump: int | None = JUMP) -> list[str]:
    """Translate and apply ``events`` as one connector batch; the reasons of its dead letters."""
    translated = [connector.translate(ev.encode(e)) for e in events]
    dead = [t.reason for t in translated if not isinstance(t, InboundEvent)]
    with UnitOfWork(db, actor="test:connector") as uow:
        res = apply_events(uow, partner_row=partner_row, events=[t for t in translated if isinstance(t, InboundEvent)], plain=True,
                           max_sequence_jump=max_sequence_jump)
        uow.commit()
    return dead + [reason for _, reason in res.conflicts]


def police_name(db, idn) -> str:
    with db.read_session() as s:
        return s.get(PartnerIdentityRow, idn).name


def relabelled(event: dict, source: str) -> dict:
    return {**json.loads(json.dumps(event)), "source": source}


def test_an_older_event_relabelled_with_another_source_is_dead_lettered_not_applied(db):
    idn = make_person(db, name="孙八")
    assert feed(db, POLICE, ev.police(idn, "孙八", sequence=10)) == []
    older = ev.police(idn, "孙捌", sequence=3)  # stale for /gov/police; a new "source" must not make it fresh
    for source in ("/gov/police-mirror", "/gov/police/", "/gov/hr", "/gov/registry"):
        [reason] = feed(db, POLICE, relabelled(older, source))
        assert "source" in reason and "/gov/police" in reason
    assert police_name(db, idn) == "孙八"


def test_a_redelivered_id_relabelled_with_another_source_is_not_applied_again(db):
    idn = make_person(db, name="孙八")
    e = ev.police(idn, "孙捌", sequence=10)
    assert feed(db, POLICE, e) == []
    twin = relabelled(e, "/gov/police2")
    twin["data"]["status"] = "DECEASED"
    assert len(feed(db, POLICE, twin)) == 1
    with db.read_session() as s:
        assert s.get(PartnerIdentityRow, idn).status == "ALIVE"
        assert s.execute(select(AppliedEventRow.source, AppliedEventRow.event_id)).all() == [("/gov/police", e["id"])]


def test_bookkeeping_is_kept_per_department(db):
    idn = make_person(db, name="孙八")
    police, hr = ev.police(idn, "孙八", sequence=50), ev.hr(idn, "孙八", unit_code(), sequence=2)
    hr["id"] = police["id"]  # the same id from two departments: two events, neither a duplicate of the other
    assert feed(db, POLICE, police) == [] and feed(db, HR, hr) == []
    with db.read_session() as s:
        assert sorted(s.execute(select(AppliedEventRow.source, AppliedEventRow.event_id)).all()) == [
            ("/gov/hr", police["id"]), ("/gov/police", police["id"])]
        assert sorted(s.execute(select(SubjectSequenceRow.source, SubjectSequenceRow.sequence)).all()) == [
            ("/gov/hr", 2), ("/gov/police", 50)]


def test_a_sequence_far_ahead_is_held_for_review_and_the_persons_later_events_still_apply(db):
    idn = make_person(db, name="孙八")
    assert feed(db, POLICE, ev.police(idn, "孙八", sequence=5)) == []
    wild = ev.police(idn, "孙捌", status="DECEASED", sequence=5 + JUMP + 1)
    [reason] = feed(db, POLICE, wild)
    assert "held for review" in reason and str(5 + JUMP + 1) in reason and str(JUMP) in reason
    assert police_name(db, idn) == "孙八"
    assert feed(db, POLICE, ev.police(idn, "孙玖", sequence=6)) == []  # not locked out
    assert police_name(db, idn) == "孙玖"
    assert feed(db, POLICE, ev.police(idn, "孙拾", sequence=6 + JUMP)) == []  # exactly the limit: plausible
    assert police_name(db, idn) == "孙拾"
    with db.read_session() as s:
        assert wild["id"] not in set(s.scalars(select(AppliedEventRow.event_id)))  # a replay after review applies it
    assert feed(db, POLICE, wild, max_sequence_jump=None) == []
    assert police_name(db, idn) == "孙捌"


def test_a_sequence_far_ahead_within_one_batch_is_held_and_the_rest_of_the_batch_applies(db):
    idn = make_person(db, name="孙八")
    reasons = feed(db, POLICE, ev.police(idn, "孙八", sequence=5), ev.police(idn, "孙捌", sequence=2 ** 62),
                   ev.police(idn, "孙玖", sequence=7))
    assert len(reasons) == 1 and "held for review" in reasons[0]
    assert police_name(db, idn) == "孙玖"


def test_a_persons_first_sequence_has_nothing_to_be_compared_with(db):
    """Partners may number events with one counter for all persons: a first event's number says nothing."""
    idn = make_person(db, name="孙八")
    assert feed(db, POLICE, ev.police(idn, "孙八", sequence=10 ** 12)) == []
