"""Issue 12, items 6 and 8, on a real Kafka-protocol broker (the embedded Tansu unless HUB_TEST_KAFKA_BOOTSTRAP_SERVERS):
poison messages of every kind the issue names, then good ones, on one partition. Every poison message is
dead-lettered (with a reason, in `dead_letters` and on `registry.deadletter.v1`), every good one behind it is applied,
and the connector never stops or stalls. SQLite and PostgreSQL (whose text cannot hold NUL)."""

from __future__ import annotations

import base64
import hashlib
import json

from sqlalchemy import select

from hub.adapters.orm import AppliedEventRow, DeadLetterRow, PartnerEmploymentRow, PartnerIdentityRow
from tests import events as ev
from tests.integration.registry_helpers import make_person, make_unit
from tests.integration.streaming_harness import Streaming

BIG = 600_000  # bytes: the broker takes it on the inbound topic; whole, its dead letter (value + headers) would not fit


def _escaped(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=True).encode("ascii")


def test_poison_messages_are_dead_lettered_and_the_good_ones_behind_them_applied(db_url, kafka_bootstrap):
    st = Streaming(db_url, kafka_bootstrap, partitions=1, relay=False)
    try:
        idn = make_person(st.db, name="钱七")
        unit = make_unit(st.db)
        first = ev.police(idn, "钱七", sequence=5)
        big = b'{"specversion": "1.0", "padding": "' + b"x" * BIG + b'"}'
        poison = [  # (key, value, words of the reason)
            (idn, b'{"specversion": "1.0", "sequence": ' + b"9" * 5000 + b"}", "not valid JSON"),
            (idn, b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
            (idn, _escaped({**ev.police(idn, "钱七"), "id": "a\x00b"}), "NUL"),
            (idn, _escaped({**ev.police(idn, "钱七"), "source": "/gov/police\x00"}), "NUL"),
            (idn, _escaped({**ev.police(idn, "钱七"), "time": "2026-11-01T08:00:00Z\x00"}), "NUL"),
            (idn, _escaped({**ev.police(idn, "钱七"), "subject": idn + "\x00"}), "NUL"),
            (idn, _escaped({**ev.police(idn, "钱七"), "traceparent": "\ud800"}), "lone surrogate"),
            (idn + "\x00", b"{not json", "not valid JSON"),  # a key PostgreSQL cannot store as text
            (idn, big, "not a CloudEvent"),
            # item 8: the source is the topic's department
            (idn, ev.encode({**ev.police(idn, "假名"), "source": "/gov/hr"}), "source '/gov/hr'"),
            (idn, ev.encode({**ev.police(idn, "假名"), "source": "/gov/police/elsewhere"}), "source"),
            (idn, ev.encode(ev.police(idn, "跳号", sequence=5 + 10 ** 7)), "held for review"),
        ]
        good = [ev.police(idn, "钱七", sequence=6), ev.police(idn, "钱柒", sequence=7)]
        st.start("police", "hr")
        st.send(first)
        st.wait_consumed("police", 1)
        for key, value, _ in poison:
            st.partner.send("police.identity.v1", key, value)
        st.partner.p.produce(st.prefix + "police.identity.v1", key=b"\xff\xfe\x00", value=b"\x00\x01")  # bytes key
        st.partner.flush()
        st.send(*good, ev.hr(idn, "钱柒", unit))
        total = 1 + len(poison) + 1 + len(good)
        st.wait_consumed("police", total, timeout=90)
        st.wait_consumed("hr", 1)
        assert all(t.is_alive() and r.failed is None for r, t in st.runners), [r.failed for r, _ in st.runners]

        with st.db.read_session() as s:
            assert s.get(PartnerIdentityRow, idn).name == "钱柒"  # the good ones behind the poison were applied
            assert s.get(PartnerEmploymentRow, idn).name == "钱柒"
            applied = set(s.scalars(select(AppliedEventRow.event_id)))
            rows = s.execute(select(DeadLetterRow).order_by(DeadLetterRow.offset)).scalars().all()
        assert {first["id"], *(e["id"] for e in good)} <= applied
        assert len(rows) == len(poison) + 1
        for row, (key, value, words) in zip(rows, poison):
            assert words in row.reason, (words, row.reason)
            assert base64.b64decode(row.raw_base64) == value  # the table keeps the whole message, for replay
        assert rows[7].key == idn + "\\x00" and rows[-1].key == "\ufffd\ufffd\\x00"

        dlq = st.reader("registry.deadletter.v1")
        dlq.poll_until(lambda ms: len(ms) >= len(poison) + 1, 60)
        letters = {json.loads(m.value())["data"]["offset"]: m for m in dlq.messages}
        dlq.close()
        big_letter = letters[rows[8].offset]
        data, headers = json.loads(big_letter.value())["data"], dict(big_letter.headers())
        assert data["raw_truncated"] is True and data["raw_size"] == len(big)
        assert data["raw_sha256"] == hashlib.sha256(big).hexdigest() == headers["hub.raw-sha256"].decode()
        assert base64.b64decode(data["raw_base64"]) == big[:1024] == headers["hub.raw"]
        assert len(big_letter.value()) < 10_000
        small = json.loads(letters[rows[0].offset].value())["data"]
        assert small["raw_truncated"] is False and base64.b64decode(small["raw_base64"]) == poison[0][1]
    finally:
        st.close()


def test_a_dead_letter_refused_as_too_large_is_sent_in_head_form(db_url, kafka_bootstrap):
    """HUB_DEADLETTER_MAX_BYTES set above what the producer or the topic accepts: the refusal is not a reason to
    stop; the dead letter goes out in its head form."""
    import threading

    from connectors.runner import ConnectorRunner
    from connectors.spec import all_connectors

    st = Streaming(db_url, kafka_bootstrap, partitions=1, relay=False)
    stop = threading.Event()
    r = ConnectorRunner(all_connectors()["police"], st.db, kafka_bootstrap, topic_prefix=st.prefix, stop_event=stop,
                        max_backoff_s=0.5, deadletter_give_up_s=20, deadletter_max_bytes=50_000_000)
    t = threading.Thread(target=r.run, daemon=True)
    t.start()
    try:
        idn = make_person(st.db, name="钱七")
        big = b'{"padding": "' + b"x" * BIG + b'"}'
        st.partner.send("police.identity.v1", idn, big)
        st.partner.flush()
        st.send(ev.police(idn, "钱柒"))
        st.wait_consumed("police", 2, timeout=60)
        assert t.is_alive() and r.failed is None
        with st.db.read_session() as s:
            assert s.get(PartnerIdentityRow, idn).name == "钱柒"
        dlq = st.reader("registry.deadletter.v1")
        [letter] = dlq.poll_until(lambda ms: len(ms) >= 1, 30)
        dlq.close()
        data = json.loads(letter.value())["data"]
        assert data["raw_truncated"] is True and data["raw_size"] == len(big)
    finally:
        stop.set()
        t.join(15)
        st.close()


def test_a_dead_letter_that_fits_is_whole_and_one_that_does_not_carries_head_size_and_hash():
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from connectors.runner import dead_letter_message

    now = datetime.now(timezone.utc)
    record = SimpleNamespace(topic="police.identity.v1", partition=0, offset=7, key=b"k" * 3000, value=b"v" * 50_000)
    key, value, headers = dead_letter_message("police", record, "not valid JSON", now, max_bytes=1_000_000)
    assert key == record.key and dict(headers)["hub.raw"] == record.value
    assert json.loads(value)["data"]["raw_truncated"] is False
    key, value, headers = dead_letter_message("police", record, "not valid JSON", now, max_bytes=100_000)
    data = json.loads(value)["data"]
    assert key == b"k" * 1024 and dict(headers)["hub.raw"] == b"v" * 1024
    assert data["raw_truncated"] is True and data["raw_size"] == 50_000
    assert data["raw_sha256"] == hashlib.sha256(record.value).hexdigest()
    assert len(key) + len(value) + sum(len(k) + len(v) for k, v in headers) < 100_000
