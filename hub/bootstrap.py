"""The composition root: builds the hub's parts from Settings. Nothing else wires components together."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from hub.adapters.database import Database, connect, migrate
from hub.adapters.embedded_broker import EmbeddedBroker
from hub.config import Settings
from hub.domain.calendar import office_today

log = logging.getLogger("hub")


@dataclass
class Hub:
    settings: Settings
    db: Database
    broker: EmbeddedBroker | None = None
    bootstrap_servers: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    runners: list = field(default_factory=list)  # (ConnectorRunner, Thread)
    relay: object = None
    cleanups: list = field(default_factory=list)  # called last by close()

    def close(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        if self.broker:
            self.broker.stop()
        self.db.dispose()
        for cleanup in self.cleanups:
            cleanup()


def database(settings: Settings, *, run_migrations: bool = False) -> Database:
    url = settings.effective_database_url()
    if run_migrations:
        migrate(url)
    return connect(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms, audit_key=settings.audit_key_bytes())


def build(settings: Settings, *, start_broker: bool = True) -> Hub:
    """Migrate the database, start the embedded broker when no Kafka is configured, and return the parts."""
    db = database(settings, run_migrations=True)
    hub = Hub(settings=settings, db=db)
    if settings.kafka_bootstrap_servers:
        hub.bootstrap_servers = settings.kafka_bootstrap_servers
    elif start_broker:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        hub.broker = EmbeddedBroker(settings.broker_port, log_path=settings.data_dir / "broker.log").start()
        hub.bootstrap_servers = hub.broker.bootstrap_servers
    return hub


def start_daily_checks(hub: Hub, interval_s: float = 24 * 3600, *, in_subprocess: bool = False) -> None:
    """Re-check RETIREMENT_DUE for every active posting at start and then daily while the hub runs.

    ``in_subprocess`` (what `hub up` uses) runs each round in a child process: the check walks every active posting
    in Python, and in the API's process it held the GIL for many seconds after start-up (request stalls)."""
    from hub.service_layer.daily import run_daily_checks

    def round_in_child() -> None:
        import multiprocessing

        child = multiprocessing.get_context("spawn").Process(
            target=_daily_checks_child, args=(hub.settings.effective_database_url(), hub.settings.sqlite_busy_timeout_ms,
                                              hub.db.audit_key),
            name="hub-daily-checks", daemon=True)
        t0 = time.monotonic()
        child.start()
        while child.is_alive() and not hub.stop_event.is_set():
            child.join(0.5)
        if child.is_alive():  # the hub is stopping
            child.terminate()
            child.join(5)
        elif child.exitcode != 0:
            log.error("daily checks failed in their process (exit code %s)", child.exitcode)
        else:
            log.info("daily checks done in %.1f s (own process)", time.monotonic() - t0)

    def loop():
        while not hub.stop_event.is_set():
            try:
                if in_subprocess:
                    round_in_child()
                else:
                    run_daily_checks(hub.db, today=office_today())
            except Exception:  # noqa: BLE001 - keep the hub running; try again next round
                log.exception("daily checks failed")
            hub.stop_event.wait(interval_s)

    t = threading.Thread(target=loop, name="daily-checks", daemon=True)
    t.start()
    hub.threads.append(t)


def _daily_checks_child(url: str, busy_timeout_ms: int, audit_key: bytes | None = None) -> None:
    """One round of the daily checks in a process of its own (start_daily_checks(in_subprocess=True))."""
    from hub.service_layer.daily import run_daily_checks

    import os

    os.nice(10)  # background work: the API's processes come first on a small machine
    db = connect(url, busy_timeout_ms=busy_timeout_ms, pool_size=1, audit_key=audit_key)
    try:
        run_daily_checks(db, today=office_today())
    finally:
        db.dispose()


def ensure_topics(hub: Hub) -> None:
    from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
    from hub.adapters.kafka import ensure_topics as create

    s = hub.settings
    create(hub.bootstrap_servers, [s.topic(t) for t in INBOUND_TOPICS + OUTBOUND_TOPICS], s.topic_partitions)


def start_connectors(hub: Hub, names: list[str] | None = None, *, group: bool = False) -> list:
    """Start connector threads (all four by default). ``group`` uses consumer groups (scale-out copies)."""
    from connectors.runner import ConnectorRunner
    from connectors.spec import all_connectors

    s = hub.settings
    embedded = hub.broker is not None
    runners = []
    for name, spec in all_connectors().items():
        if names and name not in names:
            continue
        r = ConnectorRunner(spec, hub.db, hub.bootstrap_servers, topic_prefix=s.topic_prefix, group=group,
                            batch_size=s.connector_batch_size, stop_event=hub.stop_event,
                            session_timeout_ms=2000 if embedded else s.kafka_session_timeout_ms,
                            heartbeat_interval_ms=300 if embedded else s.kafka_heartbeat_interval_ms,
                            stall_s=s.connector_stall_s, max_sequence_jump=s.connector_max_sequence_jump,
                            deadletter_max_bytes=s.deadletter_max_bytes)
        t = threading.Thread(target=_guard(r.run, f"connector {name}"), name=f"connector-{name}", daemon=True)
        t.start()
        hub.threads.append(t)
        runners.append((r, t))
    hub.runners.extend(runners)
    return runners


def start_outbox_relay(hub: Hub):
    from hub.adapters.outbox_relay import OutboxRelay

    relay = OutboxRelay(hub.db, hub.bootstrap_servers, topic_prefix=hub.settings.topic_prefix,
                        batch_size=hub.settings.outbox_batch_size, stop_event=hub.stop_event,
                        max_message_bytes=hub.settings.outbox_max_message_bytes)
    t = threading.Thread(target=_guard(relay.run, "outbox relay"), name="outbox-relay", daemon=True)
    t.start()
    hub.threads.append(t)
    hub.relay = relay
    return relay


def start_access_log_upkeep(hub: Hub) -> None:
    """PostgreSQL: merge the access log's GIN pending list in the background, not inside a request
    (hub.adapters.access_chain.keep_pending_reads_merged). One thread in `hub up`'s process, whatever the workers."""
    from hub.adapters.access_chain import keep_pending_reads_merged

    if not hub.db.is_postgres:
        return
    t = threading.Thread(target=_guard(lambda: keep_pending_reads_merged(hub.db, hub.stop_event), "access-log upkeep"),
                         name="access-log-upkeep", daemon=True)
    t.start()
    hub.threads.append(t)


def share_metrics_with_workers(hub: Hub, every_s: float = 1.0) -> str:
    """`hub up` with HUB_HTTP_WORKERS > 1, before connectors and relay start: count in a fresh per-run directory
    (prometheus_client multiprocess mode; the worker processes inherit it through the environment) so that whichever
    worker answers /metrics reports the connectors' and the relay's counters, and keep `hub_component_ready` there
    up to date every ``every_s`` seconds (a worker cannot run this process's readiness checks). Returns the directory;
    ``Hub.close`` removes it."""
    import shutil
    import tempfile

    from hub.adapters.metrics import METRICS

    path = tempfile.mkdtemp(prefix="hub-metrics-")  # fresh per run: no counts of an earlier run are merged in
    METRICS.use_multiprocess_dir(path)
    hub.cleanups.append(lambda: shutil.rmtree(path, ignore_errors=True))

    def publish_readiness() -> None:
        while not hub.stop_event.is_set():
            for component, state in readiness(hub).items():
                METRICS.set("hub_component_ready", 1 if state == "ok" else 0, component=component)
            hub.stop_event.wait(every_s)

    t = threading.Thread(target=_guard(publish_readiness, "readiness metrics"), name="readiness-metrics", daemon=True)
    t.start()
    hub.threads.append(t)
    return path


def _guard(fn, what: str):
    def run():
        try:
            fn()
        except Exception:  # noqa: BLE001 - logged; readiness turns red
            log.exception("%s stopped", what)
    return run


def readiness(hub: Hub, stuck_after_s: float = 60.0) -> dict:
    """Component checks for /readyz (and `hub_component_ready` in /metrics): broker, each connector (alive, not
    stuck, not retrying one batch longer than ``HUB_CONNECTOR_STALL_S``) and the outbox relay."""
    import time

    checks = {}
    if hub.broker is not None:
        checks["broker"] = "ok" if hub.broker.alive() else "down"
    for r, t in hub.runners:
        stalled = r.stalled_for()
        if not t.is_alive():
            checks[f"connector.{r.spec.name}"] = f"stopped: {r.failed!r}"
        elif stalled is not None:
            checks[f"connector.{r.spec.name}"] = f"retrying the same batch for {stalled:.0f}s ({r.retry_error})"
        elif time.time() - r.last_progress > stuck_after_s:
            checks[f"connector.{r.spec.name}"] = f"stuck for {time.time() - r.last_progress:.0f}s"
        else:
            checks[f"connector.{r.spec.name}"] = "ok"
    if hub.relay is not None:
        checks["outbox_relay"] = "ok" if hub.relay.healthy else "retrying (broker unavailable?)"
    return checks
