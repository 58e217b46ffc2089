"""Feed lag (issue 16, feed-health): the connector keeps when each applied event was sent — its CloudEvent `time`,
or the Kafka record timestamp when it has none — next to when it was applied, on a real broker (SQLite and
PostgreSQL); the feed-health report's lag is computed from those two times."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from hub import reports
from hub.adapters.orm import AppliedEventRow
from hub.domain.calendar import office_date
from hub.domain.vocabulary import Role
from tests import events as ev
from tests.factories import id_number
from tests.integration.streaming_harness import Streaming


@pytest.fixture
def streaming(db_url, kafka_bootstrap):
    s = Streaming(db_url, kafka_bootstrap)
    yield s
    s.close()


def test_connector_stores_the_sent_time_and_feed_health_reports_the_lag(streaming):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    timed, untimed = id_number(), id_number()
    with_time = ev.police(timed, "甲一")
    cloud_time = now - timedelta(seconds=90)
    with_time["time"] = cloud_time.astimezone(timezone(timedelta(hours=8))).isoformat()  # +08:00, as a partner writes it
    without_time = ev.police(untimed, "乙二")
    del without_time["time"]
    kafka_ms = int((now - timedelta(seconds=30)).timestamp() * 1000) + 123
    streaming.start("police")
    streaming.partner.send_event(with_time)
    streaming.partner.p.produce(streaming.prefix + ev.topic_of(without_time), key=untimed.encode(),
                                value=ev.encode(without_time), timestamp=kafka_ms)
    streaming.partner.flush()
    streaming.wait_consumed("police", 2)
    with streaming.db.read_session() as s:
        got = {r.event_id: r for r in s.execute(select(AppliedEventRow)).scalars()}
    utc = lambda t: t if t.tzinfo else t.replace(tzinfo=timezone.utc)  # noqa: E731  (SQLite reads back naive UTC)
    a, b = got[with_time["id"]], got[without_time["id"]]
    assert utc(a.sent_at) == cloud_time  # the CloudEvent time, not the record's
    assert utc(b.sent_at) == datetime.fromtimestamp(kafka_ms / 1000, tz=timezone.utc)  # the Kafka timestamp
    lags = sorted((utc(r.applied_at) - utc(r.sent_at)).total_seconds() for r in (a, b))
    assert 30 <= lags[0] < 90 <= lags[1] < 150, lags

    day = office_date(a.applied_at)  # feed-health counts on the office's days (UTC+8)
    assert office_date(b.applied_at) == day or pytest.skip("the two events were applied either side of the office's midnight")
    table, _ = reports.run_report(streaming.db, "feed-health", {"days": "1"},
                                  caller=reports.Caller(name="t", role=Role.ADMIN), today=day)
    row = next(r for r in table.rows if r[1] == "police")
    assert row[2] == 2 and row[7:] == [2, round(sum(lags) / 2, 1), round(lags[1], 1)]


def test_event_time_is_read_as_rfc3339_and_never_refuses_an_event():
    from hub.contract.inbound import event_time, translate

    assert event_time("2026-11-01T08:00:00Z") == datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    assert event_time("2026-11-01T16:00:00.250+08:00") == datetime(2026, 11, 1, 8, 0, 0, 250000, tzinfo=timezone.utc)
    for bad in (None, "", "yesterday", "2026-11-01T08:00:00", "2026-13-01T08:00:00Z"):
        assert event_time(bad) is None, bad
    e = ev.police(id_number(), "丙三")
    e["time"] = "yesterday"
    t = translate(ev.encode(e), frozenset({e["type"]}), e["source"])
    assert t.event_id == e["id"] and t.sent_at is None  # applied; the connector falls back to the Kafka timestamp
    e["time"] = "2026-11-01T08:00:00Z"
    assert translate(ev.encode(e), frozenset({e["type"]}), e["source"]).sent_at == datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
