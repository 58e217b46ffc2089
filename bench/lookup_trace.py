"""Where a lookup stall comes from: instrumentation that graphql_bench.py's `hub up` launcher installs when
``BENCH_TRACE`` names a file (``--trace``). Not used by the hub itself.

Events, one JSON array per line in the file (wall times in seconds since the epoch, durations in ms):

- ``["req", t0, ms, thread_cpu_ms]``: one HTTP request inside the app (ASGI), on the event loop thread;
  ``thread_cpu_ms`` is the loop thread's CPU over the request (includes other requests interleaved with it).
- ``["flush", t0, ms, reads, on_loop]``: the end-of-operation access-log write (``HubContext.aclose``).
- ``["merge", t0, ms, pages, cpu_ms]``: the background GIN pending-list merge (``merge_pending_reads``).
- ``["busy", t0, ms, run_ms, wait_ms, stacks]``: the event loop thread was busy (not waiting in the loop's poll)
  for more than ``BUSY_MS`` in a row: what it ran (innermost frames sampled every ~1 ms, with counts), and from
  its schedstat how much of the span it was on a CPU (``run_ms``) and waiting for one (``wait_ms``).
- ``["gap", t0, ms, loop_run_ms, loop_wait_ms]``: this watchdog thread itself did not run for ``ms`` (it wanted to
  every 1 ms): the GIL was held by another thread, or the process got no CPU.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

BUSY_MS = 15.0
GAP_MS = 15.0


def _schedstat(tid: int) -> tuple[float, float]:
    """(ms on a CPU, ms waiting on a run queue) of a thread so far."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            run, wait, _ = f.read().split()
        return int(run) / 1e6, int(wait) / 1e6
    except (OSError, ValueError):
        return 0.0, 0.0


def install(path: str) -> None:
    events: list = []
    main = threading.main_thread()
    main_id, main_tid = main.ident, main.native_id

    from hub.api import context as ctxmod

    orig_aclose = ctxmod.HubContext.aclose

    async def aclose(self):
        t0, p0, n = time.time(), time.perf_counter(), len(self.pending_reads)
        try:
            await orig_aclose(self)
        finally:
            events.append(("flush", round(t0, 4), round((time.perf_counter() - p0) * 1000, 2), n))

    ctxmod.HubContext.aclose = aclose

    from hub.adapters import access_chain

    orig_merge = access_chain.merge_pending_reads

    def merge(db):
        t0, p0, c0 = time.time(), time.perf_counter(), time.thread_time()
        r = orig_merge(db)
        events.append(("merge", round(t0, 4), round((time.perf_counter() - p0) * 1000, 2), r,
                       round((time.thread_time() - c0) * 1000, 2)))
        return r

    access_chain.merge_pending_reads = merge

    from hub.api import app as appmod

    orig_create = appmod.create_app
    last_request = [0.0]  # the watchdog sleeps while no request came for a second (the bench waits for an idle hub)

    def create_app(*a, **k):
        inner = orig_create(*a, **k)

        async def traced(scope, receive, send):
            if scope["type"] != "http":
                return await inner(scope, receive, send)
            t0, p0, c0 = time.time(), time.perf_counter(), time.thread_time()
            last_request[0] = p0
            try:
                await inner(scope, receive, send)
            finally:
                events.append(("req", round(t0, 4), round((time.perf_counter() - p0) * 1000, 2),
                               round((time.thread_time() - c0) * 1000, 2)))

        return traced

    appmod.create_app = create_app

    def idle(frame) -> bool:
        # the loop waits in uvloop's C code: the main thread's innermost Python frame is asyncio.run's runner
        return frame is None or frame.f_code.co_filename.endswith(("asyncio/runners.py", "uvicorn/server.py"))

    def where(frame, depth: int = 5) -> str:
        out = []
        while frame is not None and len(out) < depth:
            co = frame.f_code
            out.append(f"{'/'.join(co.co_filename.rsplit('/', 2)[-2:])}:{co.co_name}:{frame.f_lineno}")
            frame = frame.f_back
        return " < ".join(out)

    def watch():
        out = open(path, "a", buffering=1)
        last = time.perf_counter()
        busy_since = None
        stacks: dict[str, int] = {}
        flushed = last
        s_last = _schedstat(main_tid)
        while True:
            time.sleep(0.001)
            now = time.perf_counter()
            if now - last_request[0] > 1.0:
                time.sleep(0.1)
                last = time.perf_counter()
                s_last = _schedstat(main_tid)
                continue
            gap = (now - last) * 1000
            s_now = _schedstat(main_tid)
            if gap > GAP_MS:
                events.append(("gap", round(time.time() - gap / 1000, 4), round(gap, 1),
                               round(s_now[0] - s_last[0], 1), round(s_now[1] - s_last[1], 1)))
            last, s_last = now, s_now
            frame = sys._current_frames().get(main_id)
            if idle(frame):
                if busy_since is not None and (now - busy_since[0]) * 1000 > BUSY_MS:
                    top = sorted(stacks.items(), key=lambda kv: -kv[1])[:6]
                    events.append(("busy", round(busy_since[1], 4), round((now - busy_since[0]) * 1000, 1),
                                   round(s_now[0] - busy_since[2][0], 1), round(s_now[1] - busy_since[2][1], 1), top))
                busy_since, stacks = None, {}
            else:
                if busy_since is None:
                    busy_since = (now, time.time(), s_now)
                k = where(frame)
                stacks[k] = stacks.get(k, 0) + 1
            del frame
            if now - flushed > 0.5 and events:
                batch = events[:]
                del events[:len(batch)]
                for e in batch:
                    out.write(json.dumps(e) + "\n")
                flushed = now

    threading.Thread(target=watch, name="bench-trace", daemon=True).start()
    os.environ.pop("BENCH_TRACE", None)
