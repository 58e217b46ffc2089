"""/readyz turns red when a connector stopped or is stuck, or the embedded broker died."""

import threading
import time
from types import SimpleNamespace

from hub.bootstrap import Hub, readiness


def _hub(runners, relay_healthy=True):
    hub = Hub(settings=None, db=None)
    hub.runners = runners
    hub.relay = SimpleNamespace(healthy=relay_healthy)
    return hub


def test_readiness_reports_each_connector_and_the_relay():
    alive = threading.Thread(target=time.sleep, args=(2,))
    alive.start()
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    ok = SimpleNamespace(spec=SimpleNamespace(name="police"), last_progress=time.time(), failed=None)
    stuck = SimpleNamespace(spec=SimpleNamespace(name="hr"), last_progress=time.time() - 300, failed=None)
    stopped = SimpleNamespace(spec=SimpleNamespace(name="finance"), last_progress=time.time(), failed=RuntimeError("dlq down"))
    checks = readiness(_hub([(ok, alive), (stuck, alive), (stopped, dead)], relay_healthy=False))
    assert checks["connector.police"] == "ok"
    assert checks["connector.hr"].startswith("stuck for")
    assert checks["connector.finance"].startswith("stopped") and "dlq down" in checks["connector.finance"]
    assert checks["outbox_relay"] != "ok"
    assert readiness(_hub([(ok, alive)]))["connector.police"] == "ok"
