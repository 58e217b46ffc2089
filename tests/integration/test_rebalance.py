"""Scale-out: a second copy of a connector joins the consumer group mid-stream and leaves again; nothing is lost
and nothing is applied twice (PostgreSQL, consumer groups on a real Kafka-protocol broker)."""

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from hub.adapters.orm import AppliedEventRow, PartnerPayrollRow
from tests import events as ev
from tests.factories import unique_ids, unit_code
from tests.integration.streaming_harness import Streaming
from tests.waiting import wait_until


def _wait(cond, timeout, what):
    wait_until(cond, timeout, what, every=0.1)


def test_a_second_copy_joins_and_leaves_mid_stream_without_loss_or_doubles(pg_url, kafka_bootstrap):
    s = Streaming(pg_url, kafka_bootstrap, partitions=4, group=True, relay=False)
    try:
        unit = unit_code()
        people = unique_ids(3000)
        events = [ev.paid(p, "测试", unit, period=period) for period in ("2026-09", "2026-10") for p in people]
        first = s.start("finance")[0]

        def stream():
            for i in range(0, len(events), 200):
                for e in events[i:i + 200]:
                    s.partner.send_event(e)
                s.partner.flush()
                time.sleep(0.1)

        t = threading.Thread(target=stream)
        t.start()
        _wait(lambda: s.consumed("finance") >= 1500, 60, "first copy consuming")
        second_stop = threading.Event()
        second = s.start("finance", stop_event=second_stop)[0]
        _wait(lambda: second.consumer is not None and second.consumer.assignment(), 30, "second copy got partitions")
        _wait(lambda: second.records_done > 0 and s.consumed("finance") >= 3500, 60, "both copies consuming")
        second_stop.set()  # the second copy leaves the group
        t.join()
        _wait(lambda: s.consumed("finance") >= len(events), 90, "all consumed after the second copy left")
        with s.db.read_session() as db:
            assert db.scalar(select(func.count()).select_from(AppliedEventRow)) == len(events)
            assert db.scalar(select(func.count()).select_from(PartnerPayrollRow)) == len(events)
        assert first.failed is None and second.failed is None
        assert second.records_done > 0 and first.records_done > 0
        assert first.records_done + second.records_done == len(events)
    finally:
        s.close()
