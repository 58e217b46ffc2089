"""`hub connector run NAME` as its own service (consumer group) applies its department's events; SIGTERM stops it."""

import os
import signal
import subprocess
import time
import uuid

from sqlalchemy import select

from hub.adapters.database import connect, migrate
from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
from hub.adapters.kafka import ensure_topics
from hub.adapters.orm import ConsumerOffsetRow, PartnerPayrollRow
from tests import events as ev
from tests.e2e.hub_process import hub_executable
from tests.factories import id_number, unit_code
from tests.kafka_tools import PartnerProducer


def test_connector_runs_as_its_own_service(tmp_path, kafka_bootstrap):
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    migrate(url)
    prefix = f"svc{uuid.uuid4().hex[:6]}."
    ensure_topics(kafka_bootstrap, [prefix + t for t in INBOUND_TOPICS + OUTBOUND_TOPICS], 2)
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "HUB_TOPIC_PREFIX": prefix,
           "HUB_KAFKA_SESSION_TIMEOUT_MS": "2000", "HUB_KAFKA_HEARTBEAT_INTERVAL_MS": "300", "HUB_LOG_FORMAT": "json"}
    log = open(tmp_path / "connector.log", "wb")
    proc = subprocess.Popen([hub_executable(), "connector", "run", "finance"], env=env, stdout=log, stderr=subprocess.STDOUT)
    idn, unit = id_number(), unit_code()
    try:
        partner = PartnerProducer(kafka_bootstrap, prefix)
        partner.send_event(ev.paid(idn, "外包", unit))
        partner.flush()
        db = connect(url)
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline and row is None:
            assert proc.poll() is None, (tmp_path / "connector.log").read_text()
            with db.read_session() as s:
                row = s.get(PartnerPayrollRow, (idn, unit, "2026-10"))
            time.sleep(0.2)
        assert row is not None and row.paid, (tmp_path / "connector.log").read_text()
        with db.read_session() as s:
            offsets = s.execute(select(ConsumerOffsetRow.connector, ConsumerOffsetRow.topic)).all()
        db.dispose()
        assert {(c, t) for c, t in offsets} == {("finance", prefix + "finance.payroll.v1")}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    assert proc.returncode == 0, (tmp_path / "connector.log").read_text()


def test_a_standalone_connector_needs_a_broker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HUB_KAFKA_BOOTSTRAP_SERVERS"}
    env["HUB_DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    r = subprocess.run([hub_executable(), "connector", "run", "police"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "HUB_KAFKA_BOOTSTRAP_SERVERS" in r.stdout + r.stderr
    r = subprocess.run([hub_executable(), "connector", "run", "tax"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "unknown connector" in r.stdout + r.stderr
