"""The garbage collector of a long-running hub process: freeze the start-up heap once started, and measure pauses.

Every long-running process that runs connectors, the outbox relay or HTTP workers calls ``freeze_heap()`` once it
has finished starting (`hub up` in both modes, each HTTP worker, `hub connector run`). Without it each full
(generation-2) collection walks every long-lived object of the imported libraries: 150–600 ms pauses in the HTTP
workers (docs/bench-graphql.md) and, in the process running connectors and relay, 140–220 ms every ~12 s at
1,000 events/s (docs/bench-streaming.md, session 12).

``watch_collector()`` (once per process, by the composition root) hooks ``gc.callbacks``: every collection's pause
and the frozen objects reach /metrics (`hub_gc_pause_seconds` by generation, `hub_gc_frozen_objects`). The hook only
notes the pause in a list (a collection can start while this thread holds a metrics lock: taking one inside the
hook could deadlock); the notes reach the metrics every second and whenever /metrics is rendered."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time

_pending: list[tuple[int, float]] = []  # (generation, seconds) noted by the hook, not yet in the metrics
_started: dict[int, float] = {}  # thread id → perf_counter at the collection's start
_publishing = threading.Lock()  # never taken by the hook
_watching: dict[str, int] = {}  # "pid": the process whose collector is hooked (a forked child hooks again)
# Objects frozen by freeze_heap, counted once when it froze them: gc.get_freeze_count() walks the whole frozen list
# (~14 ms for 147k objects, holding the GIL) — done every second it stalled every request in flight (session 12:
# person lookup p99 10.8 → 27–36 ms). Nothing else in the hub freezes or unfreezes.
_frozen: dict[str, int] = {}  # "pid" → count, "count"

# Notes held at most: a second's collections are far fewer; beyond it nothing moves them into the metrics (the thread
# stopped, a forked child that does not watch) and they are dropped.
_MAX_PENDING = 10_000


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads: a lock one of them held stays held. The parent's notes and
    lock are not the child's; the hook stays and the notes stay bounded until the child watches for itself."""
    global _publishing
    _publishing = threading.Lock()
    _pending.clear()
    _started.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def freeze_heap(threshold0: int = 2_000) -> None:
    """Call once start-up is done: move every object alive now (modules, schema, ORM mappings…) out of the
    garbage collector's reach (``gc.freeze``), and collect the youngest generation a little less often.

    Without it every full collection walked ~180,000 long-lived objects and paused the server for 150–600 ms while
    requests were in flight, and a big page spent half its time in the collector (docs/bench-graphql.md). A much
    larger generation-0 threshold (50,000) was tried too: fewer collections, but each one scanned that many young
    objects, 30–80 ms pauses that showed in the lookups' p99; 2,000 keeps each pause to a few ms. Full collections
    (threshold 1,000 middle-generation runs) become rare: one walks whatever big pages have in flight (100s of ms).
    Reference counting still frees everything that is not part of a cycle at once; cycles are still collected."""
    gc.collect()
    gc.freeze()
    _frozen.update(pid=os.getpid(), count=gc.get_freeze_count())  # walked once, here
    _, t1, t2 = gc.get_threshold()
    gc.set_threshold(threshold0, max(t1, 10), max(t2, 1000))
    publish()


def _hook(phase: str, info: dict) -> None:
    """gc.callbacks: note the pause (no lock, no allocation beyond a tuple)."""
    ident = threading.get_ident()
    if phase == "start":
        _started[ident] = time.perf_counter()
        return
    t0 = _started.pop(ident, None)
    if t0 is not None and len(_pending) < _MAX_PENDING:
        _pending.append((info["generation"], time.perf_counter() - t0))


def watch_collector(stop_event: threading.Event | None = None, every_s: float = 1.0) -> None:
    """Hook the collector once per process and move its notes into the metrics every ``every_s`` seconds (until
    ``stop_event``). A second call in the same process does nothing."""
    pid = os.getpid()
    if _watching.get("pid") == pid:
        return
    _watching["pid"] = pid
    _pending.clear()
    _started.clear()
    if _hook not in gc.callbacks:
        gc.callbacks.append(_hook)

    def loop() -> None:
        said = False
        while not (stop_event.wait(every_s) if stop_event is not None else time.sleep(every_s)):
            try:
                publish()
            except Exception as e:  # noqa: BLE001 - one line, and the next second tries again (not a dead thread)
                if not said:
                    logging.getLogger("hub").warning("collector pauses not published to the metrics: %s: %s (tried "
                                                     "again every %gs; said once)", e.__class__.__name__, e, every_s)
                    said = True

    threading.Thread(target=loop, name="gc-metrics", daemon=True).start()
    publish()


def publish() -> None:
    """The pauses noted since the last call, and the frozen objects count, into the metrics (this process)."""
    if _watching.get("pid") != os.getpid():
        return
    from hub.adapters.metrics import METRICS

    with _publishing:  # the gc-metrics thread and a /metrics request: each note counted once
        n = len(_pending)
        notes = _pending[:n]
        del _pending[:n]  # the hook may have appended meanwhile: only what was read goes
    for generation, seconds in notes:
        METRICS.observe("hub_gc_pause_seconds", seconds, generation=generation)
    METRICS.set("hub_gc_frozen_objects", frozen_objects())


def frozen_objects() -> int:
    """How many objects ``freeze_heap`` froze in this process (0: not frozen), without walking them."""
    return _frozen["count"] if _frozen.get("pid") == os.getpid() else 0
