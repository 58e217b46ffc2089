"""The composition root: builds the hub's parts from Settings. Nothing else wires components together."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hub.adapters.database import Database, connect, migrate
from hub.adapters.embedded_broker import EmbeddedBroker
from hub.config import Settings

log = logging.getLogger("hub")


@dataclass
class Hub:
    settings: Settings
    db: Database
    broker: EmbeddedBroker | None = None
    bootstrap_servers: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def close(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        if self.broker:
            self.broker.stop()
        self.db.dispose()


def database(settings: Settings, *, run_migrations: bool = False) -> Database:
    url = settings.effective_database_url()
    if run_migrations:
        migrate(url)
    return connect(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


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


def start_daily_checks(hub: Hub, interval_s: float = 24 * 3600) -> None:
    """Re-check RETIREMENT_DUE for every active posting at start and then daily while the hub runs."""
    from hub.service_layer.daily import run_daily_checks

    def loop():
        while not hub.stop_event.is_set():
            try:
                run_daily_checks(hub.db, today=datetime.now(timezone.utc).date())
            except Exception:  # noqa: BLE001 - keep the hub running; try again next round
                log.exception("daily checks failed")
            hub.stop_event.wait(interval_s)

    t = threading.Thread(target=loop, name="daily-checks", daemon=True)
    t.start()
    hub.threads.append(t)
