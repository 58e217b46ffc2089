"""Every long-running hub process that runs connectors or the relay freezes its start-up heap once started
(hub/adapters/heap.py): `hub up` with HTTP workers (its own process runs connectors and relay) and `hub connector
run`. Before session 12 neither did, and each full collection there walked every object of the imported libraries
(140–220 ms pauses every ~12 s at 1,000 events/s, docs/bench-streaming.md). The collector's pauses and the frozen
objects are at /metrics."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid

import httpx

from tests.e2e.hub_process import HubProcess, hub_executable
from tests.waiting import wait_until


def _samples(body: str, name: str) -> dict[str, float]:
    """Labels text ('' when none) → value of the series ``name``."""
    found = {}
    for line in body.splitlines():
        m = re.match(rf"{name}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            found[m.group(1) or ""] = float(m.group(2))
    return found


def test_hub_up_with_http_workers_freezes_its_own_heap_and_shows_collector_pauses(tmp_path, pg_url):
    hub = HubProcess(tmp_path / "data", env={"HUB_HTTP_WORKERS": "2", "HUB_DATABASE_URL": pg_url}).start(timeout=90)
    try:
        body = {}

        def frozen_everywhere() -> bool:  # the parent and both workers report; a process that is still starting
            body["text"] = httpx.get(hub.url + "/metrics", timeout=10).text  # says 0 until its freeze
            frozen = _samples(body["text"], "hub_gc_frozen_objects")
            return len(frozen) >= 3 and all(v > 0 for v in frozen.values())

        wait_until(frozen_everywhere, 30, "hub_gc_frozen_objects of the parent and both workers",
                   detail=lambda: body.get("text", ""))
        frozen = _samples(body["text"], "hub_gc_frozen_objects")
        parent = frozen.get(f'{{pid="{hub.proc.pid}"}}')  # the process running connectors and relay
        assert parent is not None and parent > 10_000, frozen
        assert all(v > 10_000 for v in frozen.values()), frozen  # the workers too
        pauses = _samples(body["text"], "hub_gc_pause_seconds_count")
        assert pauses.get('{generation="0"}', 0) > 0, pauses  # the youngest generation is collected all the time
        assert set(pauses) <= {'{generation="0"}', '{generation="1"}', '{generation="2"}'}, pauses
        buckets = _samples(body["text"], "hub_gc_pause_seconds_bucket")
        assert buckets['{generation="0",le="+Inf"}'] == pauses['{generation="0"}'], buckets
    finally:
        assert hub.stop() == 0, hub.output()


def test_a_standalone_connector_freezes_its_heap_once_started(tmp_path, pg_url, kafka_bootstrap):
    env = {**os.environ, "HUB_DATABASE_URL": pg_url, "HUB_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "HUB_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.", "HUB_DATA_DIR": str(tmp_path / "data")}
    log_path = tmp_path / "connector.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([hub_executable(), "connector", "run", "police"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
        out = " ".join(log_path.read_text(errors="replace").split())  # the console wraps long lines
        m = re.search(r"start-up heap frozen: (\d+) objects", out)
        assert m and int(m.group(1)) > 10_000, out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
