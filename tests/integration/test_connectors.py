"""Connectors on a real Kafka-protocol broker: dead letters, idempotency, staleness, replay (SQLite and PostgreSQL)."""

import base64
import json

import pytest
from sqlalchemy import func, select

from hub.adapters.orm import AppliedEventRow, DeadLetterRow, MismatchRow, PartnerEmploymentRow, PartnerIdentityRow
from hub.service_layer.deadletters import DeadLetterFilter, list_dead_letters, replay
from tests import events as ev
from tests.factories import id_number, unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.streaming_harness import Streaming


@pytest.fixture
def streaming(db_url, kafka_bootstrap):
    s = Streaming(db_url, kafka_bootstrap)
    yield s
    s.close()


def _open(db, kind):
    with db.read_session() as s:
        return s.execute(select(MismatchRow).where(MismatchRow.kind == kind, MismatchRow.status == "OPEN")).scalars().all()


def test_poison_pills_of_every_class_are_dead_lettered_with_reason_and_the_next_good_message_applies(streaming):
    idn = id_number()
    good = ev.police(idn, "王五")
    wrong_check = ev.police(idn, "王五")
    wrong_check["data"]["id_number"] = idn[:17] + ("0" if idn[17] != "0" else "1")
    missing_field = ev.police(idn, "王五")
    del missing_field["data"]["name"]
    ill_typed = ev.paid(idn, "王五", unit_code(), amount="1.00")
    ill_typed["data"]["gross_amount"] = 8650.0
    bad_unit = ev.hr(idn, "王五", "91350100M000100Y44")
    poison = [
        ("police.identity.v1", b"{not json", "not valid JSON"),
        ("police.identity.v1", json.dumps({"hello": "world"}).encode(), "not a CloudEvent"),
        ("police.identity.v1", json.dumps({**good, "type": "gov.police.unknown", "id": "x1"}).encode(), "unknown type"),
        ("police.identity.v1", json.dumps(missing_field).encode(), "name: Field required"),
        ("finance.payroll.v1", json.dumps(ill_typed).encode(), "gross_amount"),
        ("police.identity.v1", json.dumps(wrong_check).encode(), "check character"),
        ("hr.employment.v1", json.dumps(bad_unit).encode(), "unit code"),
    ]
    dlq = streaming.reader("registry.deadletter.v1")
    streaming.start()
    for topic, raw, _ in poison:
        streaming.partner.send(topic, idn, raw)
    streaming.partner.flush()
    streaming.send(good)
    dlq.poll_until(lambda ms: len(ms) >= len(poison), 60)
    reasons = [v["data"]["reason"] for v in dlq.values()]
    for _, raw, expected in poison:
        assert any(expected in r for r in reasons), (expected, reasons)
    msg = next(m for m in dlq.messages if "not valid JSON" in json.loads(m.value())["data"]["reason"])
    headers = dict(msg.headers())
    v = json.loads(msg.value())
    assert v["type"] == "gov.registry.deadletter" and v["data"]["topic"] == streaming.prefix + "police.identity.v1"
    assert base64.b64decode(v["data"]["raw_base64"]) == headers["hub.raw"]
    assert headers["hub.reason"].decode() == v["data"]["reason"] and msg.key().decode() == idn
    streaming.wait_consumed("police", 6)
    with streaming.db.read_session() as s:
        assert s.get(PartnerIdentityRow, idn).name == "王五"
        assert s.scalar(select(func.count()).select_from(DeadLetterRow)) == len(poison)
    dlq.close()


def test_redelivered_event_changes_nothing_and_a_reused_id_with_other_payload_is_dead_lettered(streaming):
    idn = make_person(streaming.db, name="周六")
    e = ev.police(idn, "周陆")  # opens NAME_MISMATCH
    twin = json.loads(json.dumps(e))
    twin["data"]["name"] = "周六"
    streaming.start()
    streaming.send(e, e, e)
    streaming.wait_consumed("police", 3)
    streaming.send(twin)
    dlq = streaming.reader("registry.deadletter.v1")
    dlq.poll_until(lambda ms: len(ms) == 1, 60)
    assert "already applied with a different payload" in dlq.values()[0]["data"]["reason"]
    with streaming.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(AppliedEventRow)) == 1
        assert s.get(PartnerIdentityRow, idn).name == "周陆"
    assert len(_open(streaming.db, "NAME_MISMATCH")) == 1
    streaming.wait_outbox_drained()
    mism = streaming.reader("registry.mismatches.v1")
    mism.poll_until(lambda ms: len(ms) >= 1, 30)
    import time

    time.sleep(1)
    mism.poll_until(lambda ms: True, 1)
    assert [v["type"] for v in mism.values()] == ["gov.registry.mismatch.opened"]
    dlq.close()
    mism.close()


def test_an_event_older_than_the_applied_sequence_is_stale(streaming):
    idn = id_number()
    u1, u2 = unit_code(), unit_code()
    newer = ev.hr(idn, "吴七", u1, sequence=10)
    older = ev.hr(idn, "吴七", u2, sequence=9)
    streaming.start()
    streaming.send(newer, older)
    streaming.wait_consumed("hr", 2)
    with streaming.db.read_session() as s:
        assert s.get(PartnerEmploymentRow, idn).unit_code == u1


def test_registry_change_rechecks_partner_data_and_posting_fixes_ghost_pay(streaming):
    unit = make_unit(streaming.db)
    idn = make_person(streaming.db, name="郑八")
    streaming.start()
    streaming.send(ev.paid(idn, "郑八", unit))
    streaming.wait_consumed("finance", 1)
    assert [m.subject for m in _open(streaming.db, "GHOST_PAYROLL")] == [idn]
    hire(streaming.db, idn, unit)  # the registry change re-checks finance's latest data
    assert _open(streaming.db, "GHOST_PAYROLL") == []


def test_dead_letter_replay_reinjects_after_a_fix_and_dry_run_changes_nothing(streaming):
    idn = id_number()
    unknown_type = ev.police(idn, "冯九")
    unknown_type["type"] = "gov.police.identity.updated.v2"
    streaming.start()
    streaming.partner.send("police.identity.v1", idn, json.dumps(unknown_type).encode())
    streaming.partner.flush()
    streaming.wait_consumed("police", 1)
    [row] = list_dead_letters(streaming.db, DeadLetterFilter(reason_contains="unknown type"))
    assert replay(streaming.db, streaming.bootstrap, DeadLetterFilter(ids=[row.id]), dry_run=True)[0].id == row.id
    assert list_dead_letters(streaming.db, DeadLetterFilter(ids=[row.id]))  # still not replayed
    replay(streaming.db, streaming.bootstrap, DeadLetterFilter(ids=[row.id]), dry_run=False)
    assert list_dead_letters(streaming.db, DeadLetterFilter(ids=[row.id])) == []
    streaming.wait_consumed("police", 2)  # consumed again (and dead-lettered again: the type is still unknown)
    assert len(list_dead_letters(streaming.db, DeadLetterFilter(include_replayed=True))) == 2


def test_police_events_update_the_verified_identity_and_publish_it(streaming):
    idn = make_person(streaming.db, name="褚十")
    updates = streaming.reader("registry.updates.v1")
    streaming.start("police")
    streaming.send(ev.police(idn, "褚十", status="ALIVE"))
    streaming.wait_consumed("police", 1)
    from hub.adapters.orm import PersonRow

    with streaming.db.read_session() as s:
        p = s.get(PersonRow, idn)
    assert (p.verified_name, p.identity_status, p.name) == ("褚十", "ALIVE", "褚十")
    updates.poll_until(lambda ms: any(json.loads(m.value())["type"] == "gov.registry.person.updated" for m in ms), 30)
    upd = [json.loads(m.value()) for m in updates.messages if json.loads(m.value())["type"] == "gov.registry.person.updated"]
    assert upd[-1]["data"]["identity_status"] == "ALIVE" and upd[-1]["subject"] == idn
    updates.close()
