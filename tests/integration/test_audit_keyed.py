"""Issue 12, item 10: tamper evidence an insider cannot forge. The operation log and the access log are chained with
HMAC-SHA256 under a key kept outside the database; someone who can write the database but lacks the key can edit
rows and recompute a plain SHA-256 chain, as they could before, and `hub audit verify` (with the key) catches it."""

from __future__ import annotations

import os
import stat
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from hub.adapters import access_chain, operation_log
from hub.adapters.database import connect
from hub.adapters.orm import (
    AccessChainHeadRow,
    AccessLogBatchRow,
    AccessLogRow,
    AccessSealRow,
    AuditChainHeadRow,
    OperationLogRow,
)
from hub.api.app import create_app
from hub.cli import app
from hub.config import load_settings
from hub.service_layer.tokens import create_token
from tests.integration.registry_helpers import hire, make_person, make_unit

KEY = b"k" * 16 + os.urandom(16).hex().encode()
OTHER = b"o" * 40


def insider_rewrites_operation_log(db, *, seq: int, actor: str, key: bytes | None = None) -> None:
    """What someone with write access to the database does: edit an entry, then recompute the chain from it to the
    head with the published algorithm (plain SHA-256 unless they hold a key) and move the head."""
    with db.session() as s, s.begin():
        s.execute(update(OperationLogRow).where(OperationLogRow.seq == seq).values(actor=actor))
        rows = s.execute(select(OperationLogRow).order_by(OperationLogRow.seq)).scalars().all()
        prev = operation_log.GENESIS
        for r in rows:
            h = operation_log.entry_hash(prev, r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.before,
                                         r.after, key=key)
            r.prev_hash, r.hash, prev = prev, h, h
        s.execute(update(AuditChainHeadRow).where(AuditChainHeadRow.id == 1).values(hash=prev))


def insider_rewrites_access_log(db, *, purpose: str, key: bytes | None = None) -> None:
    """Change the purpose of every logged read, delete the last read (from its stored batch, migration 0019), and
    recompute every seal (plain SHA-256 unless a key is held) and the head (its hash, and the reads it counts: verify
    checks the count against the last read's number)."""
    with db.session() as s, s.begin():
        s.execute(update(AccessLogBatchRow).values(purpose=purpose))
        victim = s.execute(select(AccessLogBatchRow).order_by(AccessLogBatchRow.id.desc()).limit(1)).scalar_one()
        if len(victim.id_numbers) > 1:
            victim.id_numbers = victim.id_numbers[:-1]
        else:
            s.delete(victim)
        s.flush()
        prev = operation_log.GENESIS
        for link in s.execute(select(AccessSealRow).order_by(AccessSealRow.seq)).scalars().all():
            rows = [(r.token_id, r.actor, r.role, r.id_number, r.operation, r.field, r.purpose, r.outcome) for r in s.execute(
                select(AccessLogRow).where(AccessLogRow.seal_seq == link.seq)).scalars()]
            link.rows, link.prev_hash = len(rows), prev
            link.hash = prev = access_chain.seal_hash(prev, link.seq, link.at, rows, key)
        reads = max(b.id + len(b.id_numbers) - 1 for b in s.execute(select(AccessLogBatchRow)).scalars())
        s.execute(update(AccessChainHeadRow).where(AccessChainHeadRow.id == 1).values(hash=prev, reads=reads))


@pytest.fixture
def keyed(db_url):
    database = connect(db_url, audit_key=KEY)
    yield database
    database.dispose()


def _history(db) -> None:
    unit = make_unit(db)
    hire(db, make_person(db), unit)


def _verify(db, key):
    with db.read_session() as s:
        return operation_log.verify(s, key=key)


def _verify_access(db, key):
    with db.read_session() as s:
        return access_chain.verify(s, key=key)


def _reads(db) -> list[str]:
    """Person lookups through GraphQL (POLICE, with a purpose): rows in the access log, one seal per request."""
    unit = make_unit(db)
    people = [make_person(db, name=n) for n in ("张三", "李四")]
    for p in people:
        hire(db, p, unit)
    token = create_token(db, role="POLICE", name="police")[1]
    admin = create_token(db, role="ADMIN", name="office")[1]
    client = TestClient(create_app(db))
    for p in people:
        r = client.post("/graphql", json={"query": "query($i: String!) { person(idNumber: $i) { name } }",
                                          "variables": {"i": p}},
                        headers={"Authorization": f"Bearer {token}", "X-Purpose": quote("协查函 17号")}).json()
        assert r["data"]["person"]["name"]
    r = client.post("/graphql", json={"query": "{ persons(first: 10) { edges { node { name } } } }"},
                    headers={"Authorization": f"Bearer {admin}"}).json()
    assert len(r["data"]["persons"]["edges"]) >= 2
    return people


def test_a_plain_chain_rewritten_by_an_insider_passes_verify_which_is_why_it_is_keyed(db):
    _history(db)
    insider_rewrites_operation_log(db, seq=2, actor="intruder")
    assert _verify(db, None).ok  # the weakness of an unkeyed chain: nothing shows


def test_an_insider_without_the_key_cannot_rewrite_the_keyed_operation_log(keyed):
    _history(keyed)
    good = _verify(keyed, KEY)
    assert good.ok and good.keyed and good.checked >= 4
    insider_rewrites_operation_log(keyed, seq=2, actor="intruder")  # the plain chain, recomputed
    report = _verify(keyed, KEY)
    assert not report.ok and any("entry 1" in p and "without the audit key" in p for p in report.problems), report.problems
    insider_rewrites_operation_log(keyed, seq=2, actor="intruder", key=OTHER)  # a guessed key does no better
    assert not _verify(keyed, KEY).ok
    insider_rewrites_operation_log(keyed, seq=2, actor="intruder", key=KEY)  # only the key holder can
    assert _verify(keyed, KEY).ok


def test_an_insider_without_the_key_cannot_rewrite_the_access_log(keyed):
    _reads(keyed)
    with keyed.read_session() as s:
        assert s.scalar(select(AccessLogRow.seal_seq).where(AccessLogRow.seal_seq.is_(None))) is None
        assert len(s.execute(select(AccessSealRow)).all()) == 3  # one seal per request
    good = _verify_access(keyed, KEY)
    assert good.ok and good.checked == 4, good.problems  # 2 lookups + the 2 persons listed
    insider_rewrites_access_log(keyed, purpose="例行检查")
    report = _verify_access(keyed, KEY)
    assert not report.ok and any("do not match its hash" in p for p in report.problems), report.problems
    insider_rewrites_access_log(keyed, purpose="例行检查", key=KEY)
    assert _verify_access(keyed, KEY).ok


def test_the_access_chain_catches_deleted_seals_added_rows_and_edited_times(keyed):
    _reads(keyed)
    with keyed.engine.begin() as c:
        c.execute(text("DELETE FROM access_log_seals WHERE seq = 2"))
    problems = _verify_access(keyed, KEY).problems
    assert any("missing" in p for p in problems) and any("does not exist" in p for p in problems), problems
    with keyed.engine.begin() as c:  # a read nobody made, added without a seal
        _insert_unsealed(c, 1000, "ghost")
    assert any("without a seal" in p for p in _verify_access(keyed, KEY).problems)


def _insert_unsealed(c, number: int, actor: str) -> None:
    """A read stored without a seal (as before migration 0009, or slipped in by someone with database access)."""
    numbers = "ARRAY['110101199003074514']" if c.dialect.name == "postgresql" else "'[\"110101199003074514\"]'"
    c.execute(text("INSERT INTO access_log_batches (id, at, token_id, actor, role, field, id_numbers) "
                   f"VALUES ({number + 1}, CURRENT_TIMESTAMP, 1, '{actor}', 'ADMIN', 'Query.person', {numbers})"))


def test_unsealed_rows_from_before_the_migration_are_reported_not_failed(keyed):
    with keyed.engine.begin() as c:
        _insert_unsealed(c, 0, "old")
        c.execute(text("UPDATE access_chain_head SET reads = 1"))  # as migrated: the old read keeps number 1
    _reads(keyed)
    report = _verify_access(keyed, KEY)
    assert report.ok and any("1 access-log row(s) from before sealing" in n for n in report.notes)


def test_a_process_without_the_key_or_with_another_cannot_append_and_changes_nothing(keyed, db_url):
    _history(keyed)
    with keyed.read_session() as s:
        n = s.scalar(select(AuditChainHeadRow.seq))
    for key in (None, OTHER):
        other = connect(db_url, audit_key=key)
        with pytest.raises(operation_log.AuditKeyError, match="signed with key"):
            make_unit(other)
        other.dispose()
    with keyed.read_session() as s:
        assert s.scalar(select(AuditChainHeadRow.seq)) == n
    assert _verify(keyed, KEY).ok
    assert not _verify(keyed, None).ok  # and verifying needs the key too


def test_a_chain_written_without_a_key_is_signed_once_by_rekey_and_rotated(db, db_url):
    _history(db)
    _reads(db)
    keyed = connect(db_url, audit_key=KEY)
    with pytest.raises(operation_log.AuditKeyError, match="rekey"):
        make_unit(keyed)  # a key appears: nothing is appended until the old entries are signed
    with keyed.session() as s, s.begin():
        assert operation_log.rekey(s, new_key=KEY, from_unkeyed=True) >= 4
        assert access_chain.rekey(s, new_key=KEY, from_unkeyed=True) == 3
    assert _verify(keyed, KEY).ok and _verify_access(keyed, KEY).ok
    make_unit(keyed)
    assert _verify(keyed, KEY).ok
    with keyed.session() as s, s.begin():  # rotation: checked under the old key, signed with the new one
        operation_log.rekey(s, new_key=OTHER, old_key=KEY)
        access_chain.rekey(s, new_key=OTHER, old_key=KEY)
    assert _verify(keyed, OTHER).ok and _verify_access(keyed, OTHER).ok and not _verify(keyed, KEY).ok
    keyed.dispose()


def test_rekey_refuses_a_chain_that_does_not_verify_and_changes_nothing(keyed):
    _history(keyed)
    with keyed.engine.begin() as c:
        c.execute(text("UPDATE operation_log SET actor = 'intruder' WHERE seq = 2"))
    with keyed.session() as s, s.begin(), pytest.raises(ValueError, match="does not verify"):
        operation_log.rekey(s, new_key=OTHER, old_key=KEY)
    with keyed.read_session() as s:
        assert s.scalar(select(AuditChainHeadRow.key_id)) == operation_log.key_id(KEY)


def test_hub_audit_verify_checks_both_logs_with_the_key_file(keyed, db_url, tmp_path, monkeypatch):
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    monkeypatch.setenv("HUB_AUDIT_KEY_FILE", str(key_file))
    _history(keyed)
    _reads(keyed)
    runner = CliRunner()
    ok = runner.invoke(app, ["--database-url", db_url, "audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "operation log intact" in ok.output and "access log intact: 5 entries" in ok.output and "HMAC" in ok.output
    insider_rewrites_operation_log(keyed, seq=1, actor="intruder")
    insider_rewrites_access_log(keyed, purpose="例行检查")
    bad = runner.invoke(app, ["--database-url", db_url, "audit", "verify"])
    assert bad.exit_code == 1 and "operation log: entry 1" in bad.output and "access log: access seal" in bad.output
    monkeypatch.setenv("HUB_AUDIT_KEY_FILE", str(tmp_path / "missing.key"))
    missing = runner.invoke(app, ["--database-url", db_url, "audit", "verify"])
    assert missing.exit_code == 1 and "the audit key (HUB_AUDIT_KEY_FILE)" in missing.output \
        and "missing.key: no such file or directory" in missing.output, missing.output


def test_hub_audit_rekey_command(db, db_url, tmp_path, monkeypatch):
    _history(db)
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    monkeypatch.setenv("HUB_AUDIT_KEY_FILE", str(key_file))
    runner = CliRunner()
    assert runner.invoke(app, ["--database-url", db_url, "audit", "rekey"]).exit_code == 1  # say which old scheme
    r = runner.invoke(app, ["--database-url", db_url, "audit", "rekey", "--from-unkeyed"])
    assert r.exit_code == 0 and f"key {operation_log.key_id(KEY)}" in r.output, r.output
    assert runner.invoke(app, ["--database-url", db_url, "audit", "verify"]).exit_code == 0
    again = runner.invoke(app, ["--database-url", db_url, "audit", "rekey", "--from-unkeyed"])
    assert again.exit_code == 1 and "signed with key" in again.output


def test_hub_up_on_embedded_defaults_creates_an_owner_only_key_and_signs_what_is_there(tmp_path, monkeypatch):
    from hub.bootstrap import database
    from hub.cli import _ensure_audit_key, _sign_with_new_key

    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUB_AUDIT_KEY", raising=False)
    monkeypatch.delenv("HUB_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    before = database(settings, run_migrations=True)  # an embedded hub from before keying, with history
    _history(before)
    before.dispose()
    assert _ensure_audit_key(settings) is True
    path = tmp_path / "data" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) == 64
    db = database(settings)
    assert db.audit_key == path.read_text().strip().encode()
    _sign_with_new_key(db)
    _history(db)
    assert _verify(db, db.audit_key).ok
    db.dispose()
    assert _ensure_audit_key(load_settings()) is False  # there now: kept, never replaced
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data2"))
    assert _ensure_audit_key(load_settings()) is False and not (tmp_path / "data2" / "audit.key").exists()


def test_concurrent_batches_of_reads_keep_one_unbroken_access_chain(keyed):
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from hub.api.access import write_reads
    from hub.domain.vocabulary import Role
    from tests.factories import id_number

    people = [id_number() for _ in range(40)]
    principal = SimpleNamespace(token_id=1, actor="police", role=Role.POLICE)

    def batch(i):
        write_reads(keyed, principal=principal,
                    reads=[(p, f"Op{i}", "Query.person", "协查", None) for p in people[i % 8::8]])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(batch, range(32)))
    report = _verify_access(keyed, KEY)
    assert report.ok and report.checked == 32 * 5, report.problems
    with keyed.read_session() as s:
        assert s.scalar(select(AccessChainHeadRow.seq)) == 32
