"""The streaming bench's latency phase runs the connectors and the relay in its own process, as `hub up` runs them:
its heap is frozen as `hub up` freezes its own once started, and the collector's pauses are reported (session 12:
the unexplained p99 spike every ~12 s of a 60-s phase at 1,000/s was a full collection walking the bench's own heap
— the city's ID numbers and the phase's events — for 140–320 ms)."""

from __future__ import annotations

import gc

import pytest

from tests.bench_modules import load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("streaming_bench")


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_phase_freezes_the_heap_as_hub_up_does_and_puts_it_back(bench, restore_gc):
    before = gc.get_threshold()
    held = [{"id": i} for i in range(5_000)]  # the bench's own data, alive when the phase starts
    heap = bench.HeapAsHubUp().start()
    try:
        assert gc.get_freeze_count() >= len(held)  # out of the collector's reach, as in `hub up`
        assert gc.get_threshold()[0] == 2_000  # hub.api.app.freeze_heap's thresholds
    finally:
        result = heap.stop()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert result["frozen_at_start"] >= len(held)


def test_the_phase_reports_each_full_collection(bench, restore_gc):
    heap = bench.HeapAsHubUp().start()
    try:
        gc.collect(0)
        gc.collect()
        gc.collect()
    finally:
        result = heap.stop()
    assert result["gen2"]["collections"] == 2
    assert result["gen0"]["collections"] >= 1
    assert len(result["gen2_pauses"]) == 2
    start, ms = result["gen2_pauses"][0]
    assert start >= 0 and ms >= 0
    assert result["gen2"]["max_ms"] == max(p[1] for p in result["gen2_pauses"])
    gc.collect()  # after stop(): not recorded any more
    assert heap.stop()["gen2"]["collections"] == 2


def test_no_heap_freeze_leaves_the_heap_as_it_is(bench, restore_gc):
    heap = bench.HeapAsHubUp(lambda: None).start()
    try:
        assert gc.get_freeze_count() == 0
    finally:
        result = heap.stop()
    assert result["frozen_at_start"] == 0
