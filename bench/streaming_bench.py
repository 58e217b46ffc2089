"""Benchmark: streaming connectors on PostgreSQL against an embedded (Tansu) Kafka-compatible broker.

Run: /work/venv/bin/python bench/streaming_bench.py [--persons 200000 --events 100000]
Quick: /work/venv/bin/python bench/streaming_bench.py --persons 20000 --events 20000

One run, one scratch PostgreSQL database (registry = demo city imported with import_registry), one broker:

(a) floor      kafka-python (assign(), no group, no auto-commit, max_poll_records=1000) consumes the planned events
               from one topic and per poll writes each event's source-state row with ONE batched
               INSERT … ON CONFLICT DO UPDATE (psycopg, unnest arrays), committing per poll.
(b) connectors the four ConnectorRunners (assign mode, group=False, batch 1000, each in a thread, as `hub up`
               runs them) consume the same events from the contract topics; timed from start until
               consumer_offsets covers every record. Then the OutboxRelay drains what they wrote (timed
               separately).
(c) latency    connectors and relay running; a separate process produces GHOST_PAYROLL-opening payroll events
               at --rate events/s for --latency-seconds and reads `registry.mismatches.v1` (assign() from the
               end); latency = produce() call → `gov.registry.mismatch.opened` whose caused_by holds the event
               id is readable.
(p) profile    fresh events (another seed) on other topics, the four connectors again, each thread under
               pyinstrument (statistical, wall clock) and then under cProfile (deterministic); top functions.

Targets (issue): (b) ≥ 1/3 of (a); p99 ≤ 250 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
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


def _postgres_cpu() -> float:
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if not f.read().startswith("postgres"):
                    continue
        except OSError:
            continue
        total += _proc_cpu(int(d))
    return total


def _machine() -> tuple[float, float]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) / _TICK, idle / _TICK


class CpuMeter:
    def __init__(self, broker_pid: int | None):
        self.broker_pid = broker_pid

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.m0 = _machine()
        t = os.times()
        self.self0 = t.user + t.system
        self.b0 = _proc_cpu(self.broker_pid) if self.broker_pid else 0.0
        self.pg0 = _postgres_cpu()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        m1 = _machine()
        t = os.times()
        total, idle = m1[0] - self.m0[0], m1[1] - self.m0[1]
        ncpu = os.cpu_count() or 1
        self.result = {
            "wall_s": round(wall, 2),
            "machine_busy_pct": round(100 * (total - idle) / total, 1) if total else None,
            # in cores (1.0 = one core fully busy)
            "bench_process_cores": round((t.user + t.system - self.self0) / wall, 2),
            "broker_cores": round((_proc_cpu(self.broker_pid) - self.b0) / wall, 2) if self.broker_pid else None,
            "postgres_cores": round((_postgres_cpu() - self.pg0) / wall, 2),
            "cores": ncpu,
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
            "rows_in_table": stored, "cpu": cpu.result}


# ----------------------------------------------------------------------------------------------------------------
# Connectors, relay
# ----------------------------------------------------------------------------------------------------------------
def start_runners(db, bootstrap: str, stop_event: threading.Event, *, prefix: str = "", wrap=None) -> list:
    from connectors.runner import ConnectorRunner
    from connectors.spec import all_connectors

    out = []
    for name, spec in all_connectors().items():
        # as hub.bootstrap.start_connectors runs them with the embedded broker and default settings
        r = ConnectorRunner(spec, db, bootstrap, topic_prefix=prefix, group=False, batch_size=1000,
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


def run_connectors(db, bootstrap: str, produced: dict[str, int], broker_pid: int | None, timeout: float) -> dict:
    from connectors.spec import all_connectors

    specs = all_connectors()
    topics = {name: spec.topic for name, spec in specs.items()}
    targets = {name: produced.get(t, 0) for name, t in topics.items()}
    total = sum(targets.values())
    stop = threading.Event()
    with CpuMeter(broker_pid) as cpu:
        t0 = time.perf_counter()
        runners = start_runners(db, bootstrap, stop)
        done = wait_consumed(db, topics, targets, runners, t0, timeout)
        elapsed = time.perf_counter() - t0
    stop_all(stop, [t for _, t in runners])
    per = {name: {"records": targets[name], "done_after_s": round(done[name], 2),
                  "msgs_per_s": round(targets[name] / done[name])} for name in targets}
    return {"records": total, "seconds": round(elapsed, 2), "msgs_per_s": round(total / elapsed),
            "per_connector": per, "cpu": cpu.result}


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
def ghost_events(persons: set[str], unit: str, n: int, seed: int) -> list[dict]:
    """Payroll lines for ID numbers unknown to the registry, one subject each: every one opens GHOST_PAYROLL."""
    from hub.domain.identifiers import make_id_number

    rng = random.Random(seed)
    used: set[str] = set()
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


def latency_worker(spec_path: str) -> None:
    """Child process: produce at a fixed rate, read the mismatch topic from its end, print latencies as JSON."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    spec = json.loads(Path(spec_path).read_text())
    bootstrap, rate, warmup = spec["bootstrap"], spec["rate"], spec["warmup"]
    events = spec["events"]
    in_topic, out_topic = spec["in_topic"], spec["out_topic"]

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-lat-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 10, "fetch.min.bytes": 1})
    meta = c.list_topics(out_topic, timeout=10).topics[out_topic]
    # "From the end": Tansu's ListOffsets(latest) is wrong (see produce_all), so assign from the beginning and
    # skip what is there until the topic has been quiet for 1 s; only then start producing.
    c.assign([TopicPartition(out_topic, p, OFFSET_BEGINNING) for p in sorted(meta.partitions)])
    skipped, quiet_since = 0, time.perf_counter()
    while time.perf_counter() - quiet_since < 1.0:
        m = c.poll(0.05)
        if m is not None and not m.error():
            skipped += 1
            quiet_since = time.perf_counter()

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 0})
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
    order = [e[0] for e in events]
    lat = [(got[e] - sent[e]) * 1000 for e in order[warmup:] if e in got]
    warm = [(got[e] - sent[e]) * 1000 for e in order[:warmup] if e in got]
    missing = sum(1 for e in order if e not in got)

    def pct(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))] if xs else None

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
    }
    print(json.dumps(out))


def run_latency(db, bootstrap: str, persons: set[str], unit: str, rate: float, seconds: float, tmp: Path,
                broker_pid: int | None) -> dict:
    from connectors.finance.translate import TOPIC as FINANCE_TOPIC
    from hub.adapters.outbox import MISMATCHES_TOPIC
    from hub.adapters.outbox_relay import OutboxRelay

    warmup = int(rate)  # the first second is warm-up, reported separately
    n = int(rate * seconds) + warmup
    evs = ghost_events(persons, unit, n, seed=7)
    spec = {"bootstrap": bootstrap, "rate": rate, "warmup": warmup, "in_topic": FINANCE_TOPIC,
            "out_topic": MISMATCHES_TOPIC,
            "events": [(e["id"], e["data"]["id_number"], json.dumps(e, ensure_ascii=False)) for e in evs]}
    spec_path = tmp / "latency.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False))

    stop = threading.Event()
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
    with CpuMeter(broker_pid) as cpu:
        r = subprocess.run([sys.executable, __file__, "--latency-worker", str(spec_path)], capture_output=True,
                           text=True, timeout=seconds + 120)
    stop_all(stop, [t for _, t in runners] + [relay_thread])
    if r.returncode != 0:
        raise RuntimeError(f"latency worker failed:\n{r.stdout}\n{r.stderr}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["rate_target_per_s"] = rate
    res["seconds_target"] = seconds
    res["cpu"] = cpu.result
    return res


# ----------------------------------------------------------------------------------------------------------------
# (p) profile
# ----------------------------------------------------------------------------------------------------------------
def _short(path: str) -> str:
    for marker in ("/site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def run_profiled(db, bootstrap: str, city: Path, count: int, seed: int, prefix: str, kind: str, timeout: float) -> dict:
    """Consume fresh events (another seed) with the four connectors, each thread under a profiler."""
    from connectors.spec import all_connectors
    from hub.adapters.kafka import INBOUND_TOPICS, OUTBOUND_TOPICS, ensure_topics
    from hub.demo_events import key_of, plan_events, topic_of

    ensure_topics(bootstrap, [prefix + t for t in INBOUND_TOPICS + OUTBOUND_TOPICS], 6)
    plan = plan_events(city, count, seed=seed)
    produced, _ = produce_all(bootstrap, ((prefix + topic_of(e), key_of(e), json.dumps(e, ensure_ascii=False).encode())
                                          for e in plan.events))
    specs = all_connectors()
    topics = {name: prefix + spec.topic for name, spec in specs.items()}
    targets = {name: produced.get(t, 0) for name, t in topics.items()}
    profiles: dict[str, object] = {}
    proc_time: dict[str, float] = {}

    def wrap(r):
        def run():
            # time inside process() (the apply path), excluding idle polls
            orig = r.process

            def timed(records):
                t = time.perf_counter()
                try:
                    return orig(records)
                finally:
                    proc_time[r.spec.name] = proc_time.get(r.spec.name, 0.0) + time.perf_counter() - t
            r.process = timed
            if kind == "cprofile":
                prof = cProfile.Profile()
                profiles[r.spec.name] = prof
                prof.enable()
                try:
                    r.run()
                finally:
                    prof.disable()
            else:
                from pyinstrument import Profiler

                prof = Profiler(interval=0.001, async_mode="disabled")
                prof.start()
                try:
                    r.run()
                finally:
                    profiles[r.spec.name] = prof.stop()
        return run

    stop = threading.Event()
    t0 = time.perf_counter()
    runners = start_runners(db, bootstrap, stop, prefix=prefix, wrap=wrap)
    wait_consumed(db, topics, targets, runners, t0, timeout)
    elapsed = time.perf_counter() - t0
    stop_all(stop, [t for _, t in runners])
    total = sum(targets.values())
    out = {"profiler": kind, "records": total, "seconds": round(elapsed, 2), "msgs_per_s": round(total / elapsed),
           "process_s_per_connector": {k: round(v, 2) for k, v in sorted(proc_time.items())}}
    if kind == "cprofile":
        st = None
        for p in profiles.values():
            s = pstats.Stats(p)
            if st is None:
                st = s
            else:
                st.add(s)
        out.update(_cprofile_tables(st))
    else:
        from pyinstrument.renderers import ConsoleRenderer
        from pyinstrument.session import Session

        session = None
        for s in profiles.values():
            session = s if session is None else Session.combine(session, s)
        out["flat_self"] = _pyinstrument_flat(session)
        out["tree"] = ConsoleRenderer(unicode=False, color=False, time="percent_of_total", short_mode=False,
                                      processor_options={"filter_threshold": 0.02}).render(session)
    return out


def _cprofile_tables(st: pstats.Stats) -> dict:
    stats = st.stats  # (file, line, func) → (cc, nc, tt, ct, callers)
    # The apply path: everything under ConnectorRunner.process, summed over the four threads.
    process_ct = sum(v[3] for k, v in stats.items() if k[2] == "process" and k[0].endswith("connectors/runner.py"))
    total_tt = sum(v[2] for v in stats.values())

    def name(k):
        f, line, fn = k
        return f"{fn} ({_short(f)}:{line})" if f != "~" else fn

    by_ct = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)
    by_tt = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)
    cum = [{"function": name(k), "calls": v[1], "cum_s": round(v[3], 2),
            "share_of_process_pct": round(100 * v[3] / process_ct, 1) if process_ct else None}
           for k, v in by_ct if process_ct and v[3] <= process_ct * 1.0001][:45]
    own = [{"function": name(k), "calls": v[1], "self_s": round(v[2], 2),
            "share_of_process_pct": round(100 * v[2] / process_ct, 1) if process_ct else None}
           for k, v in by_tt[:30]]
    return {"process_cum_s": round(process_ct, 2), "total_self_s": round(total_tt, 2), "top_cumulative": cum,
            "top_self": own}


def _pyinstrument_flat(session, top: int = 30) -> list[dict]:
    """Self time per function over the combined session, in % of all samples in process()."""
    root = session.root_frame()
    selfs: dict[str, float] = {}
    under_process = [0.0]

    def walk(frame, inside: bool):
        ident = f"{frame.function} ({_short(frame.file_path or '')}:{frame.line_no})"
        is_proc = frame.function == "process" and (frame.file_path or "").endswith("connectors/runner.py")
        inside = inside or is_proc
        if is_proc:
            under_process[0] += frame.time
        if inside:
            child_time = sum(c.time for c in frame.children)
            own = frame.time - child_time
            if own > 0:
                selfs[ident] = selfs.get(ident, 0.0) + own
        for c in frame.children:
            walk(c, inside)

    if root is not None:
        walk(root, False)
    tot = under_process[0] or 1.0
    rows = sorted(selfs.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [{"function": k, "self_s": round(v, 2), "share_of_process_pct": round(100 * v / tot, 1)} for k, v in rows]


# ----------------------------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--rate", type=float, default=200.0, help="latency phase: events per second")
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--profile-events", type=int, default=20_000, help="events per profiled run (0: no profile)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed per phase")
    ap.add_argument("--json-out", type=Path, help="also write the JSON result here")
    ap.add_argument("--latency-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
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
    from hub.adapters.kafka import INBOUND_TOPICS, OUTBOUND_TOPICS, ensure_topics
    from hub.demo_city import generate_city
    from hub.demo_events import key_of, plan_events, topic_of
    from hub.service_layer.importer import import_registry

    result: dict = {"persons": args.persons, "events_requested": args.events, "partitions": args.partitions,
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

        pg_url = url  # psycopg takes the plain postgresql:// URL
        result["a_floor"] = run_floor(bootstrap, pg_url, len(events), bpid)
        log(f"(a) floor: {result['a_floor']['msgs_per_s']} msgs/s")

        result["b_connectors"] = run_connectors(db, bootstrap, produced, bpid, args.timeout)
        result["b_over_a"] = round(result["b_connectors"]["msgs_per_s"] / result["a_floor"]["msgs_per_s"], 3)
        log(f"(b) connectors: {result['b_connectors']['msgs_per_s']} msgs/s, ratio {result['b_over_a']}")
        with db.read_engine.connect() as c:
            result["b_check"] = {
                "applied_events": c.execute(text("SELECT count(*) FROM applied_events")).scalar(),
                "dead_letters": c.execute(text("SELECT count(*) FROM dead_letters")).scalar(),
                "open_mismatches_by_kind": dict(c.execute(text(
                    "SELECT kind, count(*) FROM mismatches WHERE status = 'OPEN' GROUP BY kind ORDER BY kind")).all()),
                "operation_log_rows": c.execute(text("SELECT count(*) FROM operation_log")).scalar(),
            }

        result["b_outbox_drain"] = drain_outbox(db, bootstrap, bpid, args.timeout)
        log(f"outbox drain: {result['b_outbox_drain']}")

        import csv

        with (city / "persons.csv").open(encoding="utf-8") as f:
            persons = {r["id_number"] for r in csv.DictReader(f)}
        with (city / "units.csv").open(encoding="utf-8") as f:
            unit = next(csv.DictReader(f))["code"]
        result["c_latency"] = run_latency(db, bootstrap, persons, unit, args.rate, args.latency_seconds, tmp, bpid)
        log(f"(c) latency: {result['c_latency']}")

        if args.profile_events:
            for i, kind in enumerate(("pyinstrument", "cprofile")):
                result[f"p_{kind}"] = run_profiled(db, bootstrap, city, args.profile_events, seed=100 + i,
                                                   prefix=f"prof{i}.", kind=kind, timeout=args.timeout)
                log(f"profile {kind}: {result[f'p_{kind}']['msgs_per_s']} msgs/s under the profiler")
        db.dispose()

    result["targets"] = {"b_over_a_min": round(1 / 3, 3), "p99_max_ms": 250,
                         "b_over_a_met": result["b_over_a"] >= 1 / 3,
                         "p99_met": (result["c_latency"]["p99_ms"] or 1e9) <= 250}
    tree = result.get("p_pyinstrument", {}).pop("tree", None)
    if tree and args.json_out:
        args.json_out.with_suffix(".tree.txt").write_text(tree)
    out = json.dumps(result, ensure_ascii=False, indent=1)
    if args.json_out:
        args.json_out.write_text(out)
    print(out)


if __name__ == "__main__":
    main()
