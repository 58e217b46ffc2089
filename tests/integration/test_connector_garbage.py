"""Cyclic garbage per applied event in the connector batch path and the outbox relay (docs/bench-streaming.md,
session 12): what reference counting cannot free waits for the collector, and at 1,000 events/s the process running
the connectors and the relay paused 140–220 ms for a full collection every ~12 s."""

from __future__ import annotations

import collections
import gc
import time

from tests import events as ev
from tests.factories import id_number
from tests.integration.streaming_harness import Streaming

BURSTS, PER_BURST = 30, 10  # small batches, as at a steady 1,000 events/s (not one big catch-up batch)


def _wait_done(runner, n: int, timeout: float = 60) -> None:
    """Until ``runner`` applied ``n`` records (its own counter: no query of this thread adds garbage)."""
    deadline = time.monotonic() + timeout
    while runner.records_done < n:
        assert time.monotonic() < deadline, f"{runner.records_done} of {n} applied"
        time.sleep(0.02)


def test_applying_events_leaves_little_cyclic_garbage_for_the_collector(pg_url, kafka_bootstrap):
    st = Streaming(pg_url, kafka_bootstrap, partitions=1)
    try:
        (runner,) = st.start("police")
        st.send(*(ev.police(id_number(), "卫一") for _ in range(PER_BURST)))  # warm-up: consumer, caches, relay
        _wait_done(runner, PER_BURST)
        st.wait_outbox_drained()
        gc.collect()
        gc.garbage.clear()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage instead of freed
        try:
            for i in range(BURSTS):
                st.send(*(ev.police(id_number(), "卫一") for _ in range(PER_BURST)))
                _wait_done(runner, PER_BURST * (i + 2))
            st.wait_outbox_drained()
            gc.collect()
            garbage = list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        per_event = len(garbage) / (BURSTS * PER_BURST)
        kinds = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in garbage).most_common(25)
        print(f"cyclic garbage: {len(garbage)} objects, {per_event:.1f} per event; {kinds}")
        import sys; sys.path.insert(0, "/tmp"); import s12gc_diag; s12gc_diag.diag(garbage)
        assert per_event < BOUND, (per_event, kinds)
    finally:
        st.close()


BOUND = 1e9
