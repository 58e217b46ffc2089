"""Benchmark: streaming connectors on PostgreSQL against an embedded (Tansu) Kafka-compatible broker.

Run:   .venv/bin/python bench/streaming_bench.py [--persons 200000 --events 100000]   (here: /work/venv/bin/python)
Quick: .venv/bin/python bench/streaming_bench.py --persons 20000 --events 20000
Results: JSON on stdout (and --json-out FILE, plus FILE.tree.txt / FILE.pstats of the profiles); progress on
stderr. Method, numbers and findings: docs/bench-streaming.md.

One run, one scratch PostgreSQL database (bench/common.scratch_postgres; registry = demo city imported with
import_registry; the import's own outbox rows are marked sent), one EmbeddedBroker started here:

(a) floor      kafka-python (assign(), no group, no auto-commit, max_poll_records=1000) consumes the planned events
               (plan_events, JSON values keyed by ID number) from one 6-partition topic and per poll writes each
               event's source-state row with ONE batched INSERT … ON CONFLICT DO UPDATE (psycopg, unnest arrays)
               into a scratch table, committing per poll. Run --floor-repeats times; the median is the reference.
(a') set floor the same consumer reads ALL the events, then ONE INSERT … ON CONFLICT of the whole run's rows and one
               commit (the set-based floor of issue 18). Also --floor-repeats times, median.
(b) connectors the four ConnectorRunners (assign mode, group=False, batch 1000, each in a thread, as `hub up`
               runs them) consume the same events from the contract topics; timed from start until
               consumer_offsets covers every record. Stage timers (module attributes wrapped at run time; a few
               calls per batch) and per-statement SQL timings show where the time goes. Then the OutboxRelay
               drains what the connectors wrote (timed separately), and a probe times the duplicate lookup.
(c) latency    connectors and relay running; a separate process produces payroll lines for unknown ID numbers
               (each opens GHOST_PAYROLL for a unique subject) at each of --rates events/s for --latency-seconds (plus
               1 s of warm-up, reported separately) and reads `registry.mismatches.v1` with its own consumer
               (assign(); what is already there is skipped before producing); latency = produce() call →
               `gov.registry.mismatch.opened` whose caused_by holds the event id is readable. The database's own
               timestamps split each latency into broker/poll, transaction + relay, and read. Once started, this
               process's heap is frozen as `hub up` freezes its own (HeapAsHubUp; --no-heap-freeze: not), and the
               garbage collector's pauses during the phase are reported ("gc").
(e) what-ifs   fresh events (other seeds, other topics) through the four connectors again: baseline, and with
               bulk.upsert replaced by an executemany variant and/or lock_persons disabled (experiments only).
(p) profiles   the same with each connector thread under pyinstrument, then under cProfile; top functions.

Targets (issue 18): (b) ≥ 1/3 of (a'); p99 ≤ 250 ms at 200 and at 1,000 events/s (--rates).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

FLOOR_TOPIC = "bench.floor.v1"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# CPU accounting (read-only /proc): machine busy share, this process, the broker, PostgreSQL processes
# ----------------------------------------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


PG_URL: str | None = None  # the scratch database: only its backends are counted


def _pg_backend_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the scratch database (others share the server)."""
    if PG_URL is None:
        return {}
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as c:
        pids = [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    return {p: _proc_cpu(p) for p in pids}


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process, by thread name (threads of one name summed; threads Python does
    not know — none expected — as "(native)"). Shows how much of one core — the GIL's limit — the Python threads
    (connectors, relay, the Kafka clients' I/O threads) take together."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        name = names.get(int(tid), "(native)")
        name = "kafka-python threads" if name.startswith("kafka") else name
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(parts[11]) + int(parts[12])) / _TICK
        except (OSError, IndexError, ValueError):
            continue
    return out


def _machine() -> tuple[float, float]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) / _TICK, idle / _TICK


def cpu_per_msg(cpu: dict, n: int) -> dict:
    """CPU milliseconds per message (less sensitive than msgs/s to other jobs on the machine)."""
    c = cpu["cpu_s"]
    return {"bench_process": round(1000 * c["bench"] / n, 3), "postgres": round(1000 * c["postgres"] / n, 3),
            "broker": round(1000 * c["broker"] / n, 3),
            "total": round(1000 * (c["bench"] + c["postgres"] + c["broker"]) / n, 3)}


class CpuMeter:
    def __init__(self, broker_pid: int | None):
        self.broker_pid = broker_pid

    def __enter__(self):
        self.load0 = os.getloadavg()[0]
        self.t0 = time.perf_counter()
        self.m0 = _machine()
        t = os.times()
        self.self0 = t.user + t.system
        self.b0 = _proc_cpu(self.broker_pid) if self.broker_pid else 0.0
        self.pg0 = _pg_backend_cpu()
        self.th0 = _thread_cpu()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        m1 = _machine()
        t = os.times()
        total, idle = m1[0] - self.m0[0], m1[1] - self.m0[1]
        ncpu = os.cpu_count() or 1
        busy = ncpu * (total - idle) / total if total else 0.0
        bench = (t.user + t.system - self.self0) / wall
        broker = (_proc_cpu(self.broker_pid) - self.b0) / wall if self.broker_pid else 0.0
        pg1 = _pg_backend_cpu()
        pg = sum(v - self.pg0.get(p, 0.0) for p, v in pg1.items()) / wall
        th1 = _thread_cpu()
        threads = {k: round((v - self.th0.get(k, 0.0)) / wall, 3) for k, v in sorted(th1.items())
                   if v - self.th0.get(k, 0.0) > 0}
        self.result = {  # in cores (1.0 = one core fully busy)
            "wall_s": round(wall, 2), "cores": ncpu, "machine_busy_cores": round(busy, 2),
            "bench_process_cores": round(bench, 2), "broker_cores": round(broker, 2),
            "postgres_backend_cores": round(pg, 2),
            # everything else on the machine (other sessions' jobs share this 2-core box; PG background workers)
            "other_cores": round(max(0.0, busy - bench - broker - pg), 2),
            "loadavg_1m_before_after": [round(self.load0, 2), round(os.getloadavg()[0], 2)],
            "cpu_s": {"bench": round(bench * wall, 2), "broker": round(broker * wall, 2), "postgres": round(pg * wall, 2)},
            # the bench process's threads, in cores (one process: together at most ~1 core of Python, the GIL)
            "bench_threads_cores": threads,
        }


# ----------------------------------------------------------------------------------------------------------------
# Producing
# ----------------------------------------------------------------------------------------------------------------
def produce_all(bootstrap: str, messages) -> tuple[dict[str, int], float]:
    """(topic, key, value bytes) → broker with librdkafka; returns (records per topic, seconds)."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 20,
                  "queue.buffering.max.messages": 200_000})
    errors: list = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    t0 = time.perf_counter()
    counts: dict[str, int] = {}
    n = 0
    for topic, key, value in messages:
        while True:
            try:
                p.produce(topic, key=key.encode(), value=value, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        counts[topic] = counts.get(topic, 0) + 1
        n += 1
        if n % 1000 == 0:
            p.poll(0)
    left = p.flush(120)
    if left or errors:
        raise RuntimeError(f"produce failed: {left} undelivered, errors {errors[:3]}")
    # Targets come from these counts, not from ListOffsets: Tansu answers ListOffsets(latest) with 1 for a
    # partition of hundreds of records (the high watermark in fetch responses is right). Topics are fresh and
    # the idempotent producer writes contiguous offsets from 0, so sum(next_offset) == records produced.
    return counts, time.perf_counter() - t0


# ----------------------------------------------------------------------------------------------------------------
# (a) the floor
# ----------------------------------------------------------------------------------------------------------------
FLOOR_SQL = """
INSERT INTO bench_source_state (source, id_number, doc, updated_at)
SELECT s, i, d::jsonb, now() FROM unnest(%s::text[], %s::text[], %s::text[]) AS t(s, i, d)
ON CONFLICT (source, id_number) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at
"""


def run_floor(bootstrap: str, pg_url: str, total: int, broker_pid: int | None) -> dict:
    import psycopg
    from kafka import KafkaConsumer, TopicPartition

    with psycopg.connect(pg_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_source_state")
        conn.execute("CREATE TABLE bench_source_state (source text NOT NULL, id_number text NOT NULL, doc jsonb NOT NULL,"
                     " updated_at timestamptz NOT NULL, PRIMARY KEY (source, id_number))")
        conn.commit()
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_poll_records=1000,
                          auto_offset_reset="earliest", fetch_max_wait_ms=100, client_id="bench-floor")
        polls = 0
        n = 0
        with CpuMeter(broker_pid) as cpu:
            t0 = time.perf_counter()
            tps = [TopicPartition(FLOOR_TOPIC, p) for p in sorted(c.partitions_for_topic(FLOOR_TOPIC))]
            c.assign(tps)
            c.seek_to_beginning(*tps)
            with conn.cursor() as cur:
                while n < total:
                    batch = c.poll(timeout_ms=200, max_records=1000)
                    if not batch:
                        continue
                    rows: dict[tuple[str, str], str] = {}  # one row per (source, id) per statement
                    for recs in batch.values():
                        for r in recs:
                            raw = r.value.decode("utf-8")
                            rows[(json.loads(raw)["source"], r.key.decode())] = raw
                            n += 1
                    cur.execute(FLOOR_SQL, ([k[0] for k in rows], [k[1] for k in rows], list(rows.values())))
                    conn.commit()
                    polls += 1
            elapsed = time.perf_counter() - t0
        c.close()
        stored = conn.execute("SELECT count(*) FROM bench_source_state").fetchone()[0]
    return {"records": n, "seconds": round(elapsed, 2), "msgs_per_s": round(n / elapsed), "polls": polls,
            "rows_in_table": stored, "cpu": cpu.result, "cpu_ms_per_msg": cpu_per_msg(cpu.result, n)}


def run_set_floor(bootstrap: str, pg_url: str, total: int, broker_pid: int | None) -> dict:
    """The set-based floor: kafka-python consumes every planned event (as the per-poll floor does: assign, no
    group), then ONE ``INSERT … SELECT unnest … ON CONFLICT DO UPDATE`` writes the source-state row of every
    (source, ID number) of the whole run, and one commit."""
    import psycopg
    from kafka import KafkaConsumer, TopicPartition

    with psycopg.connect(pg_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_source_state")
        conn.execute("CREATE TABLE bench_source_state (source text NOT NULL, id_number text NOT NULL, doc jsonb NOT NULL,"
                     " updated_at timestamptz NOT NULL, PRIMARY KEY (source, id_number))")
        conn.commit()
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_poll_records=1000,
                          auto_offset_reset="earliest", fetch_max_wait_ms=100, client_id="bench-set-floor")
        polls = n = 0
        with CpuMeter(broker_pid) as cpu:
            t0 = time.perf_counter()
            tps = [TopicPartition(FLOOR_TOPIC, p) for p in sorted(c.partitions_for_topic(FLOOR_TOPIC))]
            c.assign(tps)
            c.seek_to_beginning(*tps)
            rows: dict[tuple[str, str], str] = {}  # one row per (source, id) in the statement
            while n < total:
                batch = c.poll(timeout_ms=200, max_records=1000)
                for recs in batch.values():
                    for r in recs:
                        raw = r.value.decode("utf-8")
                        rows[(json.loads(raw)["source"], r.key.decode())] = raw
                        n += 1
                polls += bool(batch)
            t_consumed = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(FLOOR_SQL, ([k[0] for k in rows], [k[1] for k in rows], list(rows.values())))
            conn.commit()
            elapsed = time.perf_counter() - t0
        c.close()
        stored = conn.execute("SELECT count(*) FROM bench_source_state").fetchone()[0]
    return {"records": n, "seconds": round(elapsed, 2), "msgs_per_s": round(n / elapsed), "polls": polls,
            "consume_s": round(t_consumed - t0, 2), "upsert_s": round(elapsed - (t_consumed - t0), 2),
            "rows_in_table": stored, "cpu": cpu.result, "cpu_ms_per_msg": cpu_per_msg(cpu.result, n)}


# ----------------------------------------------------------------------------------------------------------------
# Connectors, relay
# ----------------------------------------------------------------------------------------------------------------
from hub.config import Settings as _Settings  # noqa: E402

BATCH_SIZE = _Settings().connector_batch_size  # as `hub up` runs them


def start_runners(db, bootstrap: str, stop_event: threading.Event, *, prefix: str = "", wrap=None) -> list:
    from connectors.runner import ConnectorRunner
    from connectors.spec import all_connectors

    out = []
    for name, spec in all_connectors().items():
        # as hub.bootstrap.start_connectors runs them with the embedded broker and default settings
        r = ConnectorRunner(spec, db, bootstrap, topic_prefix=prefix, group=False, batch_size=BATCH_SIZE,
                            stop_event=stop_event, session_timeout_ms=2000, heartbeat_interval_ms=300)
        target = wrap(r) if wrap else r.run

        def guarded(target=target, r=r):
            try:
                target()
            except BaseException as e:  # noqa: BLE001 - reported via r.failed
                r.failed = r.failed or e

        t = threading.Thread(target=guarded, name=f"connector-{name}", daemon=True)
        t.start()
        out.append((r, t))
    return out


def consumed_by_connector(db, topics: dict[str, str]) -> dict[str, int]:
    """connector → sum of stored next offsets on its topic."""
    from sqlalchemy import func, select

    from hub.adapters.orm import ConsumerOffsetRow

    with db.read_session() as s:
        rows = s.execute(select(ConsumerOffsetRow.connector, ConsumerOffsetRow.topic,
                                func.sum(ConsumerOffsetRow.next_offset))
                         .group_by(ConsumerOffsetRow.connector, ConsumerOffsetRow.topic)).all()
    return {c: int(n) for c, t, n in rows if topics.get(c) == t}


def wait_consumed(db, topics: dict[str, str], targets: dict[str, int], runners, t0: float, timeout: float) -> dict:
    """Poll consumer_offsets until every connector covered its topic; returns connector → seconds since t0."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(targets):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: consumed {consumed_by_connector(db, topics)} of {targets}")
        for r, t in runners:
            if r.failed is not None:
                raise RuntimeError(f"connector {r.spec.name} failed: {r.failed!r}")
        now = time.perf_counter()
        got = consumed_by_connector(db, topics)
        for c, n in targets.items():
            if c not in done and got.get(c, 0) >= n:
                done[c] = now - t0
        time.sleep(0.05)
    return done


def stop_all(stop_event: threading.Event, threads) -> None:
    stop_event.set()
    for t in threads:
        t.join(30)


class StageTimers:
    """Wall time per connector thread spent in the stages of the apply path (inclusive; a few calls per batch,
    so negligible overhead). Installed by replacing module attributes at run time; nothing is edited."""

    STAGES = (  # (label, module, attribute path)
        ("process (translate + apply)", "connectors.runner", "ConnectorRunner.process"),
        ("_apply (one transaction)", "connectors.runner", "ConnectorRunner._apply"),
        ("apply_events", "connectors.runner", "apply_events"),
        ("partner-view + sequence upserts (bulk.upsert)", "hub.service_layer.partner_events", "upsert"),
        ("verify_identities (police)", "hub.service_layer.partner_events", "verify_identities"),
        ("verify_identities (police)", "hub.service_layer.partner_events", "_verify_identities"),  # older name
        ("reconcile_persons", "hub.service_layer.partner_events", "reconcile_persons"),
        ("lock_persons (advisory locks)", "hub.service_layer.reconcile", "lock_persons"),
        ("load_views", "hub.service_layer.reconcile", "load_views"),
        ("consumer-offset / dead-letter upserts", "connectors.runner", "upsert"),
        ("UnitOfWork.commit", "hub.service_layer.unit_of_work", "UnitOfWork.commit"),
        ("outbox.write", "hub.adapters.outbox", "write"),
        ("operation_log.append (chain head lock)", "hub.adapters.operation_log", "append"),
        ("OutboxRelay.publish_once (relay thread)", "hub.adapters.outbox_relay", "OutboxRelay.publish_once"),
    )

    def __init__(self, engine=None, keep: tuple[str, ...] = ()):
        self.times: dict[str, dict[str, float]] = {}
        self.calls: dict[str, dict[str, int]] = {}
        self.durations: dict[str, list[float]] = {}  # per call, for the labels in ``keep``
        self.keep = keep
        self.engine = engine
        self.sql: dict[str, list] = {}  # statement shape → [seconds, calls, rows]
        self.applies: list[tuple[float, float, float, int]] = []
        self._saved: list = []
        self._listeners: list = []

    def _wrap(self, label, fn):
        times, calls = self.times, self.calls

        applies = self.applies if label == "_apply (one transaction)" else None

        def timed(*a, **kw):
            t = time.perf_counter()
            c = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                if applies is not None and len(a) > 1:  # (start, wall s, thread CPU s, records) per batch
                    applies.append((t, time.perf_counter() - t, time.thread_time() - c, len(a[1])))
                th = threading.current_thread().name
                d = times.setdefault(th, {})
                d[label] = d.get(label, 0.0) + time.perf_counter() - t
                c = calls.setdefault(th, {})
                c[label] = c.get(label, 0) + 1
                if label in keep:
                    durations.setdefault(label, []).append(time.perf_counter() - t)
        keep, durations = self.keep, self.durations
        return timed

    @staticmethod
    def _shape(statement: str) -> str:
        """A statement's shape: its verb and table, IN lists and VALUES lists folded."""
        import re

        st = " ".join(statement.split())
        m = re.match(r"(INSERT INTO \S+|UPDATE \S+|DELETE FROM \S+)", st)
        if m:
            head = m.group(1)
            if head.startswith("INSERT"):
                head += " ON CONFLICT" if " ON CONFLICT " in st else ""
                head += " (multi-row VALUES)" if st.count("), (") > 2 else ""
            return head
        if st.startswith("SELECT"):
            if "set_config(" in st:
                return "SELECT set_config(planner settings of a batch)"
            if "LEFT JOIN persons" in st and "unnest" in st:
                return "SELECT load_views (registry + four partner views, one statement)"
            if "UNION ALL" in st and "applied_events" in st and "subject_sequences" in st:
                return "SELECT FROM applied_events + subject_sequences (duplicate and sequence lookups)"
            frm = re.search(r" FROM (\S+)", st)
            if "pg_advisory_xact_lock" in st:
                if "unnest" in st:
                    return "SELECT pg_advisory_xact_lock(k) per person (unnest)"
                return "SELECT pg_advisory_xact_lock_shared(global)" if "_shared" in st else \
                    "SELECT pg_advisory_xact_lock(global)"
            tup = " WHERE (…) IN (tuples)" if re.search(r"WHERE \([^()]+, [^()]+\) IN", st) else ""
            lock = " FOR UPDATE" if "FOR UPDATE" in st else ""
            return f"SELECT FROM {frm.group(1) if frm else '?'}{tup}{lock}"
        return st[:40]

    def install(self) -> "StageTimers":
        import importlib

        for label, mod, path in self.STAGES:
            owner = importlib.import_module(mod)
            *parents, attr = path.split(".")
            for p in parents:
                owner = getattr(owner, p)
            if not hasattr(owner, attr):
                continue  # renamed by a later version of the code
            orig = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
            self._saved.append((owner, attr, orig))
            setattr(owner, attr, self._wrap(label, getattr(owner, attr)))

        if self.engine is not None:
            from sqlalchemy import event

            sql = self.sql

            def before(conn, cursor, statement, parameters, context, executemany):
                conn.info["_bench_t"] = time.perf_counter()

            def after(conn, cursor, statement, parameters, context, executemany):
                t0 = conn.info.pop("_bench_t", None)
                if t0 is None or not threading.current_thread().name.startswith("connector-"):
                    return
                k = self._shape(statement)
                e = sql.setdefault(k, [0.0, 0, 0])
                e[0] += time.perf_counter() - t0
                e[1] += 1
                e[2] += len(parameters) if executemany and parameters is not None else 1

            for name, fn in (("before_cursor_execute", before), ("after_cursor_execute", after)):
                event.listen(self.engine, name, fn)
                self._listeners.append((name, fn))
        return self

    def remove(self) -> None:
        for owner, attr, orig in reversed(self._saved):
            setattr(owner, attr, orig)
        self._saved = []
        if self.engine is not None:
            from sqlalchemy import event

            for name, fn in self._listeners:
                event.remove(self.engine, name, fn)
            self._listeners = []

    def report(self) -> dict:
        labels = list(dict.fromkeys(s[0] for s in self.STAGES))
        total = {l: sum(d.get(l, 0.0) for d in self.times.values()) for l in labels}
        calls = {l: sum(d.get(l, 0) for d in self.calls.values()) for l in labels}
        proc = total[labels[0]] or 1.0
        rows = [{"stage": l, "seconds": round(total[l], 2), "calls": calls[l],
                 "share_of_process_pct": round(100 * total[l] / proc, 1)} for l in labels if calls[l]]
        per_thread = {th.removeprefix("connector-"): round(d.get(labels[0], 0.0), 2) for th, d in sorted(self.times.items())}
        out = {"stages": rows, "process_s_per_connector": per_thread}
        if self.sql:
            # time inside cursor.execute (psycopg query conversion + round trip + server), per statement shape
            out["sql"] = [{"statement": k, "seconds": round(v[0], 2), "executions": v[1], "param_sets": v[2],
                           "share_of_process_pct": round(100 * v[0] / proc, 1)}
                          for k, v in sorted(self.sql.items(), key=lambda kv: kv[1][0], reverse=True)[:20]]
        if self.applies:
            # the batches by thirds of the phase (by start time): does a batch's cost per record grow with the phase?
            # wall and the connector thread's CPU (the CPU is less sensitive to the other jobs on the machine)
            a = sorted(self.applies)
            t0, t1 = a[0][0], a[-1][0] + 1e-9
            thirds = []
            for i in range(3):
                part = [x for x in a if t0 + i * (t1 - t0) / 3 <= x[0] < t0 + (i + 1) * (t1 - t0) / 3]
                n = sum(x[3] for x in part) or 1
                thirds.append({"batches": len(part), "records": sum(x[3] for x in part),
                               "wall_ms_per_record": round(1000 * sum(x[1] for x in part) / n, 3),
                               "thread_cpu_ms_per_record": round(1000 * sum(x[2] for x in part) / n, 3)})
            out["apply_by_third"] = thirds
        if self.durations:
            out["per_call_ms"] = {k: {"n": len(v), "p50": round(pct(v, 50) * 1000, 1),
                                      "p99": round(pct(v, 99) * 1000, 1), "max": round(max(v) * 1000, 1)}
                                  for k, v in self.durations.items()}
        return out


def _upsert_executemany(session, table, rows: list[dict], key: list[str], *, chunk: int = 2000) -> None:
    """What-if replacement of hub.adapters.bulk.upsert: the same INSERT … ON CONFLICT DO UPDATE, but one cached
    statement executed with the rows as parameters (psycopg executemany/pipeline) instead of a freshly compiled
    multi-row VALUES statement per call."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        from hub.adapters.bulk import upsert

        return upsert(session, table, rows, key)
    from sqlalchemy.dialects.postgresql import insert

    cols = [c for c in rows[0].keys() if c not in key]
    stmt = insert(table)
    stmt = (stmt.on_conflict_do_update(index_elements=key, set_={c: getattr(stmt.excluded, c) for c in cols})
            if cols else stmt.on_conflict_do_nothing(index_elements=key))
    session.execute(stmt, rows)


def _no_locks(uow, ids) -> None:
    """What-if: no per-person advisory locks (UNSAFE: re-opens the cross-connector write skew they prevent)."""
    return None


WHATIFS = {
    "executemany_upsert": [("hub.service_layer.partner_events", "upsert", _upsert_executemany),
                           ("connectors.runner", "upsert", _upsert_executemany)],
    "no_advisory_locks": [("hub.service_layer.reconcile", "lock_persons", _no_locks)],
}


class Patches:
    def __init__(self, names: list[str]):
        self.items = [x for n in names for x in WHATIFS[n]]
        self.saved: list = []

    def __enter__(self):
        import importlib

        for mod, attr, fn in self.items:
            m = importlib.import_module(mod)
            if not hasattr(m, attr):  # the code moved on (session 7's set-based batches write without bulk.upsert)
                log(f"what-if: {mod}.{attr} no longer exists; not patched")
                continue
            self.saved.append((m, attr, getattr(m, attr)))
            setattr(m, attr, fn)
        self.patched = [f"{m.__name__}.{attr}" for m, attr, _ in self.saved]
        return self

    def __exit__(self, *exc):
        for m, attr, orig in reversed(self.saved):
            setattr(m, attr, orig)


def run_connectors(db, bootstrap: str, produced: dict[str, int], broker_pid: int | None, timeout: float) -> dict:
    from connectors.spec import all_connectors

    specs = all_connectors()
    topics = {name: spec.topic for name, spec in specs.items()}
    targets = {name: produced.get(t, 0) for name, t in topics.items()}
    total = sum(targets.values())
    stop = threading.Event()
    timers = StageTimers(db.engine).install()
    try:
        with CpuMeter(broker_pid) as cpu:
            t0 = time.perf_counter()
            runners = start_runners(db, bootstrap, stop)
            done = wait_consumed(db, topics, targets, runners, t0, timeout)
            elapsed = time.perf_counter() - t0
        stop_all(stop, [t for _, t in runners])
    finally:
        timers.remove()
    per = {name: {"records": targets[name], "done_after_s": round(done[name], 2),
                  "msgs_per_s": round(targets[name] / done[name])} for name in targets}
    return {"records": total, "seconds": round(elapsed, 2), "msgs_per_s": round(total / elapsed),
            "per_connector": per, "cpu": cpu.result, "cpu_ms_per_msg": cpu_per_msg(cpu.result, total),
            "timers": timers.report()}


def _connector_child(url: str, bootstrap: str, name: str) -> None:
    """One connector in its own interpreter (as `hub connector run` deploys them), assign mode like `hub up`."""
    from connectors.runner import ConnectorRunner
    from connectors.spec import all_connectors
    from hub.adapters.database import connect

    db = connect(url)
    ConnectorRunner(all_connectors()[name], db, bootstrap, group=False, batch_size=BATCH_SIZE,
                    session_timeout_ms=2000, heartbeat_interval_ms=300).run()


def run_connector_processes(db, bootstrap: str, produced: dict[str, int], timeout: float) -> dict:
    """(b') the same as run_connectors, but each connector in its own process (the docker-compose topology)."""
    import multiprocessing

    from connectors.spec import all_connectors

    specs = all_connectors()
    topics = {name: spec.topic for name, spec in specs.items()}
    targets = {name: produced.get(t, 0) for name, t in topics.items()}
    total = sum(targets.values())
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_connector_child, args=(db.url.replace("+psycopg", ""), bootstrap, n), daemon=True) for n in topics]
    for p in procs:
        p.start()
    deadline = t0 + timeout
    while True:
        got = consumed_by_connector(db, topics)
        if all(got.get(n, 0) >= targets[n] for n in topics):
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"connector processes consumed {got} of {targets}")
        time.sleep(0.1)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.terminate()
        p.join(10)
    return {"records": total, "seconds": round(elapsed, 2), "msgs_per_s": round(total / elapsed),
            "note": "four processes, one per connector; includes interpreter start-up (~1 s)"}


def probe_lookups(db, n: int = 1000) -> dict:
    """The duplicate check of apply_events as it is issued — ``(source, event_id) IN ((…), …)`` with 1000 pairs —
    against the same lookup as a join with unnest(arrays), and as ``source = :s AND event_id = ANY(:ids)`` per
    source (a connector's batch has one source): client time, and the server's planning/execution time."""
    from sqlalchemy import select, text, tuple_

    from hub.adapters.orm import AppliedEventRow

    with db.session() as s:
        rows = s.execute(text("SELECT count(*) FROM applied_events")).scalar()
        # as a connector's batch of new events issues it: one source, ids not applied yet
        keys = [("/gov/finance", str(uuid.uuid4())) for _ in range(n)]
        q = (select(AppliedEventRow.source, AppliedEventRow.event_id, AppliedEventRow.payload_sha256)
             .where(tuple_(AppliedEventRow.source, AppliedEventRow.event_id).in_(keys)))
        unnest = text("SELECT a.source, a.event_id, a.payload_sha256 FROM applied_events a JOIN "
                      "unnest(CAST(:s AS text[]), CAST(:e AS text[])) AS k(s, e) ON a.source = k.s AND a.event_id = k.e")
        params = {"s": [k[0] for k in keys], "e": [k[1] for k in keys]}

        def timed(fn, times=3):
            out = []
            for _ in range(times):
                t = time.perf_counter()
                fn()
                out.append((time.perf_counter() - t) * 1000)
            return round(statistics.median(out), 1)

        any_q = text("SELECT source, event_id, payload_sha256 FROM applied_events "
                     "WHERE source = :src AND event_id = ANY(CAST(:ids AS text[]))")
        by_src: dict[str, list[str]] = {}
        for src, eid in keys:
            by_src.setdefault(src, []).append(eid)

        def any_lookup():
            for src, ids in by_src.items():
                s.execute(any_q, {"src": src, "ids": ids}).all()

        t_in = timed(lambda: s.execute(q).all())
        t_un = timed(lambda: s.execute(unnest, params).all())
        t_any = timed(any_lookup)
        big = max(by_src, key=lambda k: len(by_src[k]))
        plan_any = s.execute(text("EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + any_q.text),
                             {"src": big, "ids": by_src[big]}).scalar()[0]
        literal = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan_in = s.execute(text("EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + literal)).scalar()[0]
        plan_un = s.execute(text("EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + unnest.text), params).scalar()[0]
        s.rollback()
    return {"applied_events_rows": rows, "keys": len(keys),
            "tuple_in": {"client_ms": t_in, "planning_ms": round(plan_in["Planning Time"], 1),
                         "execution_ms": round(plan_in["Execution Time"], 1), "plan": plan_in["Plan"]["Node Type"]},
            "unnest_join": {"client_ms": t_un, "planning_ms": round(plan_un["Planning Time"], 1),
                            "execution_ms": round(plan_un["Execution Time"], 1), "plan": plan_un["Plan"]["Node Type"]},
            "source_eq_any": {"client_ms": t_any, "queries": len(by_src),
                              "largest_planning_ms": round(plan_any["Planning Time"], 1),
                              "largest_execution_ms": round(plan_any["Execution Time"], 1),
                              "plan": plan_any["Plan"]["Node Type"]}}


def outbox_backlog(db) -> int:
    from sqlalchemy import func, select

    from hub.adapters.orm import OutboxRow

    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))) or 0


def drain_outbox(db, bootstrap: str, broker_pid: int | None, timeout: float) -> dict:
    from hub.adapters.outbox_relay import OutboxRelay

    backlog = outbox_backlog(db)
    stop = threading.Event()
    relay = OutboxRelay(db, bootstrap, batch_size=2000, stop_event=stop)
    with CpuMeter(broker_pid) as cpu:
        t0 = time.perf_counter()
        th = threading.Thread(target=relay.run, name="outbox-relay", daemon=True)
        th.start()
        deadline = time.monotonic() + timeout
        while outbox_backlog(db):
            if time.monotonic() > deadline:
                raise RuntimeError("outbox did not drain")
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
    stop_all(stop, [th])
    return {"rows": backlog, "seconds": round(elapsed, 2), "rows_per_s": round(backlog / elapsed) if elapsed else None,
            "cpu": cpu.result}


# ----------------------------------------------------------------------------------------------------------------
# (c) latency
# ----------------------------------------------------------------------------------------------------------------
def pct(xs, q):
    """Nearest-rank percentile."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))] if xs else None


def ghost_events(persons: set[str], unit: str, n: int, seed: int, used: set[str] | None = None) -> list[dict]:
    """Payroll lines for ID numbers unknown to the registry, one subject each: every one opens GHOST_PAYROLL.
    ``used``: ID numbers of earlier latency runs (added to), so that each run's events open new mismatches."""
    from hub.domain.identifiers import make_id_number

    rng = random.Random(seed)
    used = set() if used is None else used
    out = []
    while len(out) < n:
        idn = make_id_number("110105", date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                             rng.randrange(100), rng.random() < 0.5)
        if idn in persons or idn in used:
            continue
        used.add(idn)
        out.append({"specversion": "1.0", "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "source": "/gov/finance", "type": "gov.finance.payroll.paid", "time": "2026-11-01T08:00:00Z",
                    "subject": idn, "sequence": 1, "datacontenttype": "application/json",
                    "data": {"id_number": idn, "name": "钱某", "unit_code": unit, "period": "2026-10",
                             "gross_amount": "7000.00"}})
    return out


# The latency phase's own clients (the partner's producer, the reader of the mismatch topic) are not the hub, but on
# this machine they share the embedded broker and its 2 cores with it. Until session 11 the partner's producer had
# linger.ms 0: one produce request per event while the broker keeps up — 674 requests/s at 1,000 events/s, 87 % of
# all the requests the broker got, ~0.4 ms of the broker's CPU each. It now lingers as librdkafka does by default
# (5 ms, inside the measured latency). The reader keeps fetch.wait.max.ms 10: the embedded broker does not answer a
# librdkafka fetch as soon as a record arrives (median 38 ms with 100), and its idle fetches cost the broker only
# 0.06–0.08 of a core. docs/bench-streaming.md, session 11.
PARTNER_LINGER_MS = 5
READER_FETCH_WAIT_MS = 10


def latency_worker(spec_path: str) -> None:
    """Child process: produce at a fixed rate, read the mismatch topic from its end, print latencies as JSON."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    spec = json.loads(Path(spec_path).read_text())
    bootstrap, rate, warmup = spec["bootstrap"], spec["rate"], spec["warmup"]
    events = spec["events"]
    in_topic, out_topic = spec["in_topic"], spec["out_topic"]

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-lat-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "fetch.wait.max.ms": spec["reader_fetch_wait_ms"], "fetch.min.bytes": 1})
    meta = c.list_topics(out_topic, timeout=10).topics[out_topic]
    # "From the end": Tansu's ListOffsets(latest) is wrong (see produce_all), so assign from the beginning and
    # skip what is there until the topic has been quiet for 1 s; only then start producing.
    c.assign([TopicPartition(out_topic, p, OFFSET_BEGINNING) for p in sorted(meta.partitions)])
    # The partner's producer is made before the skipping, so that it is connected and holds its producer id when
    # the first event is sent: a partner system's producer is long-running. Made after it (before session 12), the
    # idempotent producer sent nothing for its first ~1.0–1.6 s (it asks for its producer id only once a broker
    # connection is up, on a timer), and that backlog — 1,000 events at 1,000/s — was still draining in the first
    # two measured seconds (their p99 300–760 ms; docs/bench-streaming.md, session 12).
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": spec["partner_linger_ms"]})
    skipped, quiet_since, started = 0, time.perf_counter(), time.perf_counter()
    while time.perf_counter() - quiet_since < 1.0 or time.perf_counter() - started < 2.0:
        m = c.poll(0.05)
        p.poll(0)
        if m is not None and not m.error():
            skipped += 1
            quiet_since = time.perf_counter()
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    finished = threading.Event()
    send_lag: list[float] = []

    def produce():
        t0 = time.perf_counter() + 0.1
        for i, (eid, key, value) in enumerate(events):
            target = t0 + i / rate
            d = target - time.perf_counter()
            if d > 0:
                time.sleep(d)
            now = time.perf_counter()
            send_lag.append(now - target)
            sent[eid] = now
            p.produce(in_topic, key=key.encode(), value=value.encode())
            p.poll(0)
        p.flush(30)
        finished.set()

    th = threading.Thread(target=produce)
    th.start()
    other_msgs = 0
    deadline = None
    while True:
        m = c.poll(0.02)
        if m is not None and not m.error():
            now = time.perf_counter()
            v = json.loads(m.value())
            if v.get("type") == "gov.registry.mismatch.opened":
                for eid in v["data"].get("caused_by") or []:
                    if eid in sent and eid not in got:
                        got[eid] = now
            else:
                other_msgs += 1
        if finished.is_set():
            if deadline is None:
                deadline = time.perf_counter() + 30
            if len(got) >= len(events) or time.perf_counter() > deadline:
                break
    th.join()
    c.close()
    wall_offset = time.time() - time.perf_counter()
    order = [e[0] for e in events]
    lat = [(got[e] - sent[e]) * 1000 for e in order[warmup:] if e in got]
    warm = [(got[e] - sent[e]) * 1000 for e in order[:warmup] if e in got]
    missing = sum(1 for e in order if e not in got)

    send_span = max(sent.values()) - min(sent.values()) if sent else 0
    # latency over time, per second of the run, to show any build-up
    per_sec: dict[int, list[float]] = {}
    base = min(sent.values())
    for e in order[warmup:]:
        if e in got:
            per_sec.setdefault(int(sent[e] - base), []).append((got[e] - sent[e]) * 1000)
    out = {
        "events": len(events), "warmup_events": warmup, "measured": len(lat), "missing": missing,
        "achieved_rate_per_s": round((len(events) - 1) / send_span, 1) if send_span else None,
        "max_send_lag_ms": round(max(send_lag) * 1000, 1) if send_lag else None,
        "p50_ms": round(pct(lat, 50), 1) if lat else None, "p95_ms": round(pct(lat, 95), 1) if lat else None,
        "p99_ms": round(pct(lat, 99), 1) if lat else None, "max_ms": round(max(lat), 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "min_ms": round(min(lat), 1) if lat else None,
        "warmup_max_ms": round(max(warm), 1) if warm else None,
        "p99_per_second_ms": {s: round(pct(v, 99), 1) for s, v in sorted(per_sec.items())},
        "other_messages_seen": other_msgs, "skipped_before_start": skipped,
        # wall-clock (time.time) produce and read times of the measured events, for the breakdown
        "trace": [[e, round(sent[e] + wall_offset, 6), round(got[e] + wall_offset, 6)] for e in order[warmup:] if e in got],
    }
    print(json.dumps(out))


def latency_breakdown(db, trace: list) -> dict:
    """Split each measured latency with the database's own timestamps (all from this host's clock):
    produced → connector transaction start (applied_events.applied_at = UnitOfWork.now): broker, fetch, poll loop,
    translate;  → outbox.sent_at (relay marks the row after the broker acked it): apply + commit + relay pick-up +
    publish + ack;  → read by the test consumer (can be slightly negative: the ack precedes sent_at)."""
    from sqlalchemy import text

    ids = [t[0] for t in trace]
    with db.read_engine.connect() as c:
        applied = dict(c.execute(text("SELECT event_id, applied_at FROM applied_events WHERE source = '/gov/finance' "
                                      "AND event_id = ANY(:ids)"), {"ids": ids}).all())
        rows = c.execute(text(
            "SELECT m.caused_by, o.created_at, o.sent_at FROM mismatches m JOIN outbox o ON o.key = m.id "
            "AND o.topic = 'registry.mismatches.v1' WHERE m.kind = 'GHOST_PAYROLL'")).all()
    sent_at = {}
    for caused_by, _created, sent in rows:
        for eid in json.loads(caused_by):
            if sent is not None:
                sent_at[eid] = sent.timestamp()
    seg: dict[str, list[float]] = {"produce_to_txn_start": [], "txn_start_to_relay_marked_sent": [],
                                   "relay_marked_sent_to_read": []}
    for eid, t_send, t_read in trace:
        if eid in applied and eid in sent_at:
            a = applied[eid].timestamp()
            seg["produce_to_txn_start"].append((a - t_send) * 1000)
            seg["txn_start_to_relay_marked_sent"].append((sent_at[eid] - a) * 1000)
            seg["relay_marked_sent_to_read"].append((t_read - sent_at[eid]) * 1000)
    return {k: {"p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1), "p99_ms": round(pct(v, 99), 1),
                "max_ms": round(max(v), 1), "n": len(v)} for k, v in seg.items() if v}


class HeapAsHubUp:
    """The latency phase's process runs the connectors and the relay as `hub up` does, so its garbage collector
    should see what a `hub up` process's sees: ``start()`` freezes the heap as `hub up` does once started
    (``freeze_heap``: everything alive now leaves the collector's reach, thresholds as `hub up` sets them) and
    records every collection until ``stop()``, which puts the frozen objects and the thresholds back (later
    phases start from the same state) and returns the pauses: count, total and longest per generation, and each
    full (generation-2) collection's start (seconds into the phase) and length.

    Without it the bench process's own heap — the city's 20,000–200,000 ID numbers, the 21,000–61,000 events of
    the phase, the timers' lists — was walked by every full collection: 140–320 ms pauses every 7–13 s in a 60-s
    phase at 1,000/s, each a spike of the per-second p99 (docs/bench-streaming.md, session 12)."""

    def __init__(self, freeze=None):
        if freeze is None:
            from hub.api.app import freeze_heap as freeze
        self._freeze = freeze
        self._t0 = 0.0
        self._started: dict[int, float] = {}
        self.pauses: list[tuple[int, float, float]] = []  # (generation, start s into the phase, ms)

    def _callback(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        key = threading.get_ident()
        if phase == "start":
            self._started[key] = now
        elif key in self._started:
            t = self._started.pop(key)
            self.pauses.append((info["generation"], t - self._t0, (now - t) * 1000))

    def start(self) -> "HeapAsHubUp":
        import gc

        self._threshold = gc.get_threshold()
        self._freeze()
        self._t0 = time.perf_counter()
        gc.callbacks.append(self._callback)
        return self

    def stop(self) -> dict:
        import gc

        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        gc.set_threshold(*self._threshold)
        out: dict = {"frozen_at_start": frozen}
        for g in (0, 1, 2):
            ms = [p[2] for p in self.pauses if p[0] == g]
            out[f"gen{g}"] = {"collections": len(ms), "total_ms": round(sum(ms), 1),
                              "max_ms": round(max(ms), 1) if ms else 0.0}
        out["gen2_pauses"] = [[round(t, 2), round(ms, 1)] for g, t, ms in self.pauses if g == 2]
        return out


def run_latency(db, bootstrap: str, persons: set[str], unit: str, rate: float, seconds: float, tmp: Path,
                broker_pid: int | None, *, seed: int = 7, used: set[str] | None = None,
                freeze_heap: bool = True) -> dict:
    from connectors.finance.translate import TOPIC as FINANCE_TOPIC
    from hub.contract.topics import MISMATCHES_TOPIC
    from hub.adapters.outbox_relay import OutboxRelay

    warmup = int(rate)  # the first second is warm-up, reported separately
    n = int(rate * seconds) + warmup
    evs = ghost_events(persons, unit, n, seed=seed, used=used)
    spec = {"bootstrap": bootstrap, "rate": rate, "warmup": warmup, "in_topic": FINANCE_TOPIC,
            "partner_linger_ms": PARTNER_LINGER_MS, "reader_fetch_wait_ms": READER_FETCH_WAIT_MS,
            "out_topic": MISMATCHES_TOPIC,
            "events": [(e["id"], e["data"]["id_number"], json.dumps(e, ensure_ascii=False)) for e in evs]}
    spec_path = tmp / "latency.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False))

    stop = threading.Event()
    timers = StageTimers(db.engine, keep=("_apply (one transaction)", "lock_persons (advisory locks)",
                                          "UnitOfWork.commit", "OutboxRelay.publish_once (relay thread)")).install()
    runners = start_runners(db, bootstrap, stop)
    relay = OutboxRelay(db, bootstrap, batch_size=2000, stop_event=stop)
    relay_thread = threading.Thread(target=relay.run, name="outbox-relay", daemon=True)
    relay_thread.start()
    deadline = time.monotonic() + 60
    while not all(r.consumer is not None and r.consumer.assignment() for r, _ in runners):
        if time.monotonic() > deadline:
            raise RuntimeError("connectors did not start")
        time.sleep(0.1)
    time.sleep(1.0)
    # From here this process plays a `hub up` process that has finished starting: its start-up heap (and the
    # bench's own: the city's ID numbers, the events to send) is frozen as `hub up` freezes its own, and the
    # collector's pauses during the phase are recorded (HeapAsHubUp).
    heap = HeapAsHubUp(None if freeze_heap else (lambda: None)).start()
    samples: list[tuple[float, float, float, float]] = []  # (time, bench process, PostgreSQL, broker) CPU seconds
    sampling = threading.Event()

    def sample_cpu():
        while not sampling.wait(1.0):
            t = os.times()
            samples.append((time.perf_counter(), t.user + t.system, sum(_pg_backend_cpu().values()),
                            _proc_cpu(broker_pid) if broker_pid else 0.0))

    sampler = threading.Thread(target=sample_cpu, name="bench-cpu-sampler", daemon=True)
    with CpuMeter(broker_pid) as cpu:
        sampler.start()
        r = subprocess.run([sys.executable, __file__, "--latency-worker", str(spec_path)], capture_output=True,
                           text=True, timeout=seconds + 120)
        sampling.set()
        sampler.join()
    gc_during = heap.stop()
    stop_all(stop, [t for _, t in runners] + [relay_thread])
    timers.remove()
    if r.returncode != 0:
        raise RuntimeError(f"latency worker failed:\n{r.stdout}\n{r.stderr}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["gc"] = gc_during
    res["breakdown"] = latency_breakdown(db, res.pop("trace"))
    rep = timers.report()
    res["per_call_ms"] = rep.get("per_call_ms")
    res["sql"] = rep.get("sql", [])[:8]
    res["rate_target_per_s"] = rate
    res["seconds_target"] = seconds
    res["cpu"] = cpu.result
    if len(samples) >= 4:
        # CPU per produced event by thirds of the phase (each second's samples; backends that ended between two
        # samples drop out of the PostgreSQL sum, so that column is a lower bound)
        k = len(samples) // 3
        rows = []
        for a, b in ((samples[0], samples[k]), (samples[k], samples[2 * k]), (samples[2 * k], samples[-1])):
            ev = rate * (b[0] - a[0]) or 1.0
            rows.append({"seconds": round(b[0] - a[0], 1), "bench_ms_per_event": round(1000 * (b[1] - a[1]) / ev, 3),
                         "postgres_ms_per_event": round(1000 * (b[2] - a[2]) / ev, 3),
                         "broker_ms_per_event": round(1000 * (b[3] - a[3]) / ev, 3)})
        res["cpu_by_third"] = rows
    res["apply_by_third"] = rep.get("apply_by_third")
    return res


# ----------------------------------------------------------------------------------------------------------------
# (p) profile
# ----------------------------------------------------------------------------------------------------------------
def _short(path: str) -> str:
    for marker in ("/site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def run_experiment(db, bootstrap: str, city: Path, count: int, seed: int, prefix: str, kind: str, timeout: float,
                   broker_pid: int | None = None, whatifs: list[str] | None = None) -> dict:
    """Fresh events (another seed, other topics) through the four connectors once more: with stage timers only
    (``kind="timers"``, optionally with what-if replacements), or each connector thread under a profiler."""
    from connectors.spec import all_connectors
    from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
    from hub.adapters.kafka import ensure_topics
    from hub.demo.events import key_of, plan_events, topic_of

    ensure_topics(bootstrap, [prefix + t for t in INBOUND_TOPICS + OUTBOUND_TOPICS], 6)
    plan = plan_events(city, count, seed=seed)
    produced, _ = produce_all(bootstrap, ((prefix + topic_of(e), key_of(e), json.dumps(e, ensure_ascii=False).encode())
                                          for e in plan.events))
    specs = all_connectors()
    topics = {name: prefix + spec.topic for name, spec in specs.items()}
    targets = {name: produced.get(t, 0) for name, t in topics.items()}
    profiles: dict[str, object] = {}

    def wrap(r):
        def run():
            if kind == "cprofile":
                prof = cProfile.Profile()
                profiles[r.spec.name] = prof
                prof.enable()
                try:
                    r.run()
                finally:
                    prof.disable()
            elif kind == "pyinstrument":
                from pyinstrument import Profiler

                prof = Profiler(interval=0.001, async_mode="disabled")
                prof.start()
                try:
                    r.run()
                finally:
                    profiles[r.spec.name] = prof.stop()
            else:
                r.run()
        return run

    stop = threading.Event()
    with Patches(whatifs or []) as patches:
        timers = StageTimers(db.engine if kind == "timers" else None).install()
        try:
            with CpuMeter(broker_pid) as cpu:
                t0 = time.perf_counter()
                runners = start_runners(db, bootstrap, stop, prefix=prefix, wrap=wrap)
                wait_consumed(db, topics, targets, runners, t0, timeout)
                elapsed = time.perf_counter() - t0
            stop_all(stop, [t for _, t in runners])
        finally:
            timers.remove()
    total = sum(targets.values())
    out = {"kind": kind, "whatifs": whatifs or [], "patched": patches.patched, "records": total, "seconds": round(elapsed, 2),
           "msgs_per_s": round(total / elapsed), "cpu": cpu.result, "cpu_ms_per_msg": cpu_per_msg(cpu.result, total),
           "timers": timers.report()}
    if kind == "cprofile":
        st = None
        for p in profiles.values():
            s = pstats.Stats(p)
            if st is None:
                st = s
            else:
                st.add(s)
        out.update(_cprofile_tables(st))
        out["_pstats"] = st
    elif kind == "pyinstrument":
        from pyinstrument.renderers import ConsoleRenderer
        from pyinstrument.session import Session

        session = None
        for s in profiles.values():
            session = s if session is None else Session.combine(session, s)
        out.update(_pyinstrument_flat(session))
        out["tree"] = ConsoleRenderer(unicode=False, color=False, time="percent_of_total", short_mode=False,
                                      processor_options={"filter_threshold": 0.01}).render(session)
    return out


def _cprofile_tables(st: pstats.Stats) -> dict:
    """Shares are of the time the four threads spent inside ConnectorRunner.process (the apply path). Functions
    outside it (the Kafka poll) are listed with their share of the same denominator for scale."""
    stats = st.stats  # (file, line, func) → (cc, nc, tt, ct, callers)
    process_ct = sum(v[3] for k, v in stats.items() if k[2] == "process" and k[0].endswith("connectors/runner.py"))
    run_ct = sum(v[3] for k, v in stats.items() if k[2] == "run" and k[0].endswith("connectors/runner.py"))

    def name(k):
        f, line, fn = k
        return f"{fn} ({_short(f)}:{line})" if f != "~" else fn

    def pct(x):
        return round(100 * x / process_ct, 1) if process_ct else None

    by_ct = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)
    by_tt = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)
    cum = [{"function": name(k), "calls": v[1], "cum_s": round(v[3], 2), "pct_of_process": pct(v[3])}
           for k, v in by_ct if v[3] <= process_ct * 1.0001][:45]
    own = [{"function": name(k), "calls": v[1], "self_s": round(v[2], 2), "pct_of_process": pct(v[2])}
           for k, v in by_tt[:35]]
    return {"run_cum_s": round(run_ct, 2), "process_cum_s": round(process_ct, 2), "top_cumulative": cum,
            "top_self": own}


def _pyinstrument_flat(session, top: int = 35) -> dict:
    """Self time per function (samples under ConnectorRunner.process, all four threads), % of process()."""
    selfs: dict[str, float] = {}
    under_process = [0.0]

    def walk(frame, inside: bool):
        if frame.is_synthetic:  # the combined [root], [self] leaves
            for c in frame.children:
                walk(c, inside)
            return
        is_proc = frame.function.endswith("process") and (frame.file_path or "").endswith("connectors/runner.py")
        if is_proc and not inside:
            under_process[0] += frame.time
        inside = inside or is_proc
        if inside and frame.total_self_time > 0:
            ident = f"{frame.function} ({_short(frame.file_path or '')}:{frame.line_no})"
            selfs[ident] = selfs.get(ident, 0.0) + frame.total_self_time
        for c in frame.children:
            walk(c, inside)

    root = session.root_frame() if session is not None else None
    if root is not None:
        walk(root, False)
    tot = under_process[0] or 1.0
    rows = sorted(selfs.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return {"process_s": round(under_process[0], 2),
            "flat_self": [{"function": k, "self_s": round(v, 2), "pct_of_process": round(100 * v / tot, 1)}
                          for k, v in rows]}


# ----------------------------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------------------------
def main() -> None:
    global PARTNER_LINGER_MS, READER_FETCH_WAIT_MS
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--rates", default="200,1000", help="latency phases: events per second, comma-separated")
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--profile-events", type=int, default=20_000,
                    help="events per profiling / what-if run (0: skip them)")
    ap.add_argument("--no-whatif", action="store_true", help="skip the what-if runs")
    ap.add_argument("--processes", action="store_true", help="also run (b) with one process per connector")
    ap.add_argument("--floor-repeats", type=int, default=3, help="floor runs (the median is the reference)")
    ap.add_argument("--latency-only", action="store_true",
                    help="only the latency phases (c): no floors, no (b), no drain (for quick runs; no ratios)")
    ap.add_argument("--code-label", default=None, help="describe the code measured (default: git HEAD of the tree)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed per phase")
    ap.add_argument("--json-out", type=Path, help="also write the JSON result here")
    ap.add_argument("--partner-linger-ms", type=int, default=PARTNER_LINGER_MS,
                    help="linger.ms of the latency phase's partner producer (librdkafka's default: 5)")
    ap.add_argument("--reader-fetch-wait-ms", type=int, default=READER_FETCH_WAIT_MS,
                    help="fetch.wait.max.ms of the latency phase's reader of the mismatch topic")
    ap.add_argument("--no-heap-freeze", action="store_true",
                    help="latency phases: leave this process's heap unfrozen (before session 12; `hub up` freezes its "
                         "start-up heap, so by default the phase does too)")
    ap.add_argument("--latency-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    PARTNER_LINGER_MS, READER_FETCH_WAIT_MS = args.partner_linger_ms, args.reader_fetch_wait_ms
    if args.latency_worker:
        latency_worker(args.latency_worker)
        return

    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("kafka").setLevel(logging.ERROR)

    from sqlalchemy import text

    from common import scratch_postgres
    from hub.adapters.database import connect, migrate
    from hub.adapters.embedded_broker import EmbeddedBroker
    from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
    from hub.adapters.kafka import ensure_topics
    from hub.demo.city import generate_city
    from hub.demo.events import key_of, plan_events, topic_of
    from hub.service_layer.importer import import_registry

    label = args.code_label
    if label is None:
        try:
            head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--name-only", "HEAD"], capture_output=True,
                                   text=True).stdout.split()
            label = f"{head}" + (f" + uncommitted changes to {', '.join(dirty)}" if dirty else "")
        except OSError:
            label = "unknown"
    result: dict = {"code": label, "code_root": str(ROOT),
                    "latency_clients": {"partner_linger_ms": PARTNER_LINGER_MS,
                                        "reader_fetch_wait_ms": READER_FETCH_WAIT_MS,
                                        "heap_frozen_as_hub_up": not args.no_heap_freeze},
                    "persons": args.persons, "events_requested": args.events, "partitions": args.partitions,
                    "machine": {"nproc": os.cpu_count(), "platform": platform.platform(),
                                "python": platform.python_version(),
                                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}}
    with tempfile.TemporaryDirectory() as tmpd, scratch_postgres("hub_stream_bench") as url, \
            EmbeddedBroker(log_path=Path(tmpd) / "broker.log") as broker:
        tmp = Path(tmpd)
        bootstrap = broker.bootstrap_servers
        bpid = broker.proc.pid if broker.proc else None
        city = tmp / "city"
        t = time.perf_counter()
        generate_city(city, args.persons)
        result["setup"] = {"generate_city_s": round(time.perf_counter() - t, 1)}
        migrate(url)
        db = connect(url)
        t = time.perf_counter()
        import_registry(db, city, actor="bench")
        result["setup"]["import_s"] = round(time.perf_counter() - t, 1)
        with db.engine.begin() as c:  # the import's own events are not part of this benchmark
            n = c.execute(text("UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL")).rowcount
        result["setup"]["import_outbox_rows_marked_sent"] = n
        log(f"city of {args.persons} imported ({result['setup']})")

        plan = plan_events(city, args.events, seed=1)
        events = plan.events
        result["events"] = len(events)
        result["planted"] = {k: len(v) for k, v in sorted(plan.planted.items())}
        values = [json.dumps(e, ensure_ascii=False).encode() for e in events]
        ensure_topics(bootstrap, [FLOOR_TOPIC] + list(INBOUND_TOPICS + OUTBOUND_TOPICS), args.partitions)
        counts, s = produce_all(bootstrap, ((FLOOR_TOPIC, key_of(e), v) for e, v in zip(events, values)))
        n = sum(counts.values())
        result["produce_floor_topic"] = {"records": n, "seconds": round(s, 2), "msgs_per_s": round(n / s)}
        produced, s = produce_all(bootstrap, ((topic_of(e), key_of(e), v) for e, v in zip(events, values)))
        n = sum(produced.values())
        result["produce_contract_topics"] = {"records": n, "seconds": round(s, 2), "msgs_per_s": round(n / s),
                                             "per_topic": produced}
        log(f"{n} events produced twice")

        global PG_URL
        PG_URL = url  # only the scratch database's backends are counted
        if not args.latency_only:
            pg_url = url  # psycopg takes the plain postgresql:// URL
            runs = []
            for _ in range(max(1, args.floor_repeats)):
                runs.append(run_floor(bootstrap, pg_url, len(events), bpid))
                log(f"(a) floor: {runs[-1]['msgs_per_s']} msgs/s")
            # other jobs share the machine: the median of a few floor runs is the reference
            result["a_floor"] = dict(sorted(runs, key=lambda r: r["msgs_per_s"])[len(runs) // 2])
            result["a_floor"]["all_runs_msgs_per_s"] = [r["msgs_per_s"] for r in runs]
            runs = []
            for _ in range(max(1, args.floor_repeats)):
                runs.append(run_set_floor(bootstrap, pg_url, len(events), bpid))
                log(f"(a') set-based floor: {runs[-1]['msgs_per_s']} msgs/s")
            result["a_set_floor"] = dict(sorted(runs, key=lambda r: r["msgs_per_s"])[len(runs) // 2])
            result["a_set_floor"]["all_runs_msgs_per_s"] = [r["msgs_per_s"] for r in runs]

            result["b_connectors"] = run_connectors(db, bootstrap, produced, bpid, args.timeout)
            result["b_over_a"] = round(result["b_connectors"]["msgs_per_s"] / result["a_floor"]["msgs_per_s"], 3)
            result["b_over_set_floor"] = round(result["b_connectors"]["msgs_per_s"] / result["a_set_floor"]["msgs_per_s"], 3)
            log(f"(b) connectors: {result['b_connectors']['msgs_per_s']} msgs/s, ratio {result['b_over_a']} "
                f"(per-poll floor), {result['b_over_set_floor']} (set-based floor)")
            with db.read_engine.connect() as c:
                result["b_check"] = {
                    "applied_events": c.execute(text("SELECT count(*) FROM applied_events")).scalar(),
                    "dead_letters": c.execute(text("SELECT count(*) FROM dead_letters")).scalar(),
                    "open_mismatches_by_kind": dict(c.execute(text(
                        "SELECT kind, count(*) FROM mismatches WHERE status = 'OPEN' GROUP BY kind ORDER BY kind")).all()),
                    "operation_log_rows": c.execute(text("SELECT count(*) FROM operation_log")).scalar(),
                }

            if args.processes:
                # the same events again into a reset partner side, each connector in its own process
                with db.engine.begin() as c:
                    c.execute(text("TRUNCATE partner_identity, partner_employment, partner_payroll, partner_insurance, "
                                   "applied_events, subject_sequences, consumer_offsets, dead_letters"))
                    c.execute(text("DELETE FROM mismatches WHERE source IS DISTINCT FROM 'registry'"))
                    c.execute(text("UPDATE persons SET verified_name = NULL, identity_status = NULL, photo_sha256 = NULL"))
                result["b_processes"] = run_connector_processes(db, bootstrap, produced, args.timeout)
                result["b_processes_over_a"] = round(result["b_processes"]["msgs_per_s"] / result["a_floor"]["msgs_per_s"], 3)
                log(f"(b') connector processes: {result['b_processes']['msgs_per_s']} msgs/s, ratio {result['b_processes_over_a']}")

            result["b_probe_duplicate_lookup"] = probe_lookups(db)
            log(f"lookup probe: {result['b_probe_duplicate_lookup']}")
            result["b_outbox_drain"] = drain_outbox(db, bootstrap, bpid, args.timeout)
            log(f"outbox drain: {result['b_outbox_drain']}")
            # OutboxRelay.run() closes its leader-lock connection back into the pool without pg_advisory_unlock: the
            # session lock stays on a pooled connection and a new relay on the same engine stands by forever.
            # Closing the pool releases it (see docs/bench-streaming.md, findings).
            db.dispose()

        db.dispose()
        import csv

        with (city / "persons.csv").open(encoding="utf-8") as f:
            persons = {r["id_number"] for r in csv.DictReader(f)}
        with (city / "units.csv").open(encoding="utf-8") as f:
            unit = next(csv.DictReader(f))["code"]
        used: set[str] = set()
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
        for i, rate in enumerate(rates):
            key = "c_latency" if i == 0 else f"c_latency_{int(rate)}"
            result[key] = run_latency(db, bootstrap, persons, unit, rate, args.latency_seconds, tmp, bpid,
                                      seed=7 + i, used=used, freeze_heap=not args.no_heap_freeze)
            with db.read_engine.connect() as c:
                result[key]["check"] = {
                    "ghost_payroll_open": c.execute(text(
                        "SELECT count(*) FROM mismatches WHERE kind = 'GHOST_PAYROLL' AND status = 'OPEN'")).scalar(),
                    "outbox_unsent": c.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar(),
                    "dead_letters": c.execute(text("SELECT count(*) FROM dead_letters")).scalar()}
            db.dispose()
            log(f"(c) latency at {rate:g}/s: p50 {result[key]['p50_ms']} p99 {result[key]['p99_ms']} ms, "
                f"missing {result[key]['missing']}, full collections {result[key]['gc']['gen2']['collections']} "
                f"(longest {result[key]['gc']['gen2']['max_ms']} ms)")

        if args.profile_events and not args.latency_only:
            runs = [("e_baseline", "timers", [])]
            if not args.no_whatif:
                runs += [("e_whatif_executemany_upsert", "timers", ["executemany_upsert"]),
                         ("e_whatif_no_advisory_locks", "timers", ["no_advisory_locks"]),
                         ("e_whatif_both", "timers", ["executemany_upsert", "no_advisory_locks"])]
            runs += [("p_pyinstrument", "pyinstrument", []), ("p_cprofile", "cprofile", [])]
            for i, (key, kind, whatifs) in enumerate(runs):
                result[key] = run_experiment(db, bootstrap, city, args.profile_events, seed=100 + i, prefix=f"x{i}.",
                                             kind=kind, timeout=args.timeout, broker_pid=bpid, whatifs=whatifs)
                log(f"{key}: {result[key]['msgs_per_s']} msgs/s")
        db.dispose()

    result["targets"] = {"b_over_set_floor_min": round(1 / 3, 3), "p99_max_ms": 250,
                         **({} if args.latency_only else {"b_over_set_floor_met": result["b_over_set_floor"] >= 1 / 3,
                                                          "b_over_a_met": result["b_over_a"] >= 1 / 3}),
                         **{f"p99_met_{k}": (v["p99_ms"] or 1e9) <= 250 for k, v in result.items()
                            if k.startswith("c_latency")}}
    tree = result.get("p_pyinstrument", {}).pop("tree", None)
    st = result.get("p_cprofile", {}).pop("_pstats", None)
    if args.json_out:
        if tree:
            args.json_out.with_suffix(".tree.txt").write_text(tree)
        if st is not None:
            st.dump_stats(str(args.json_out.with_suffix(".pstats")))
    out = json.dumps(result, ensure_ascii=False, indent=1)
    if args.json_out:
        args.json_out.write_text(out)
    print(out)


if __name__ == "__main__":
    main()
