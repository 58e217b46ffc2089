"""/readyz turns red when a connector stopped, is stuck or retries one batch too long, or the embedded broker died."""

import threading
import time
from types import SimpleNamespace

from hub.bootstrap import Hub, readiness


def _hub(runners, relay_healthy=True):
    hub = Hub(settings=None, db=None)
    hub.runners = runners
    hub.relay = SimpleNamespace(healthy=relay_healthy)
    return hub


def _runner(name, *, last_progress=None, failed=None, stalled=None, retry_error=None):
    return SimpleNamespace(spec=SimpleNamespace(name=name), last_progress=last_progress or time.time(), failed=failed,
                           stalled_for=lambda: stalled, retry_error=retry_error)


def test_readiness_reports_each_connector_and_the_relay():
    alive = threading.Thread(target=time.sleep, args=(2,))
    alive.start()
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    ok = _runner("police")
    stuck = _runner("hr", last_progress=time.time() - 300)
    stopped = _runner("finance", failed=RuntimeError("dlq down"))
    retrying = _runner("insurance", stalled=75.2, retry_error="OperationalError")
    checks = readiness(_hub([(ok, alive), (stuck, alive), (stopped, dead), (retrying, alive)], relay_healthy=False))
    assert checks["connector.police"] == "ok"
    assert checks["connector.hr"].startswith("stuck for")
    assert checks["connector.finance"].startswith("stopped") and "dlq down" in checks["connector.finance"]
    assert checks["connector.insurance"] == "retrying the same batch for 75s (OperationalError)"
    assert checks["outbox_relay"] != "ok"
    assert readiness(_hub([(ok, alive)]))["connector.police"] == "ok"
