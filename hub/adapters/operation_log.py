"""The append-only, hash-chained operation log and its verification (`hub audit verify`).

Each entry's hash covers the previous entry's hash and every field of the entry. With an audit key (HUB_AUDIT_KEY_FILE
or HUB_AUDIT_KEY, kept outside the database) the hash is an HMAC-SHA256 under that key: someone who can write the
database but does not have the key cannot recompute the chain after editing, inserting or deleting entries. Without
a key it is a plain SHA-256 chain, which only shows accidental damage. The chain head records which key signs the
chain (``key_id``, a fingerprint); a process whose key differs refuses to append. ``rekey`` signs an existing chain
with a new key after checking it under the old scheme (introducing a key, rotating it)."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.orm import AuditChainHeadRow, OperationLogRow

GENESIS = "0" * 64


class AuditKeyError(RuntimeError):
    """The chain is signed with another key than this process has (or none): nothing is appended."""


def mac(key: bytes | None, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` under ``key``; plain SHA-256 without a key (an unkeyed chain)."""
    data = payload.encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def key_id(key: bytes | None) -> str | None:
    """A fingerprint naming a key (not enough to recompute anything with)."""
    return None if key is None else hmac.new(key, b"hub audit key id", hashlib.sha256).hexdigest()[:16]


def describe(kid: str | None) -> str:
    return f"key {kid}" if kid else "no key (plain SHA-256)"


def check_key(head, key: bytes | None, what: str) -> None:
    """Refuse to extend a chain signed with another key than ``key``; sign an empty unkeyed chain with it. A chain
    with entries written without a key is signed by `hub audit rekey`, never implicitly."""
    kid = key_id(key)
    if head.key_id == kid:
        return
    if head.key_id is None and head.seq == 0:
        head.key_id = kid  # nothing written yet: the chain starts keyed
        return
    if head.key_id is None:
        raise AuditKeyError(f"the {what} has {head.seq} links written without a key; run `hub audit rekey "
                            f"--from-unkeyed` once to sign them with the configured key")
    raise AuditKeyError(f"the {what} is signed with {describe(head.key_id)} but this process has {describe(kid)}: "
                        f"set HUB_AUDIT_KEY_FILE (or HUB_AUDIT_KEY) to that key")


@dataclass(frozen=True)
class Operation:
    """One operation to log: who did what to which entity, with the state before and after."""

    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: object = None
    after: object = None


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, entity: str,
               entity_id: str | None, before: str | None, after: str | None, *, key: bytes | None = None) -> str:
    """The MAC (SHA-256 without a key) over the previous hash and every field of the entry."""
    return mac(key, dumps([prev_hash, seq, at, actor, action, entity, entity_id, before, after]))


def append(session: Session, operations: list[Operation], *, now: datetime | None = None,
           key: bytes | None = None) -> None:
    """Append operations to the chain; the chain head row is locked until the transaction ends."""
    if not operations:
        return
    head = session.execute(
        select(AuditChainHeadRow).where(AuditChainHeadRow.id == 1).with_for_update()
    ).scalar_one()
    check_key(head, key, "operation log")
    seq, prev = head.seq, head.hash
    at = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = []
    for op in operations:
        seq += 1
        before = None if op.before is None else dumps(op.before)
        after = None if op.after is None else dumps(op.after)
        h = entry_hash(prev, seq, at, op.actor, op.action, op.entity, op.entity_id, before, after, key=key)
        rows.append(dict(seq=seq, at=at, actor=op.actor, action=op.action, entity=op.entity,
                         entity_id=op.entity_id, before=before, after=after, prev_hash=prev, hash=h))
        prev = h
    if session.get_bind().dialect.name == "postgresql":
        # The entries and the new head in one statement (one round trip less per transaction: a connector's
        # batch appends one entry; the head row is locked by the SELECT above either way).
        from hub.adapters.bulk import unnest_insert_sql

        sql, params = unnest_insert_sql(session.get_bind().dialect, OperationLogRow.__table__, rows, None, False)
        session.execute(text(f"WITH entries AS ({sql} RETURNING 1) UPDATE audit_chain_head "
                             "SET seq = :head_seq, hash = :head_hash, key_id = :head_key_id WHERE id = 1"),
                        {**params, "head_seq": seq, "head_hash": prev, "head_key_id": head.key_id})
        return
    session.execute(OperationLogRow.__table__.insert(), rows)
    session.execute(update(AuditChainHeadRow).where(AuditChainHeadRow.id == 1)
                    .values(seq=seq, hash=prev, key_id=head.key_id))


@dataclass
class VerifyReport:
    checked: int
    problems: list[str]
    keyed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries(session: Session, batch: int):
    last_seq = 0
    while True:
        rows = session.execute(
            select(OperationLogRow).where(OperationLogRow.seq > last_seq).order_by(OperationLogRow.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        for r in rows:
            yield r
            last_seq = r.seq
        session.expunge_all()


def _hash_of(r: OperationLogRow, key: bytes | None) -> str:
    return entry_hash(r.prev_hash, r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.before, r.after, key=key)


def verify(session: Session, *, key: bytes | None = None, batch: int = 5000) -> VerifyReport:
    """Walk the chain from genesis: any edited, inserted, deleted or reordered entry is reported. With ``key`` every
    entry must carry its HMAC under that key (an entry rehashed without the key fails); without, the plain SHA-256
    chain is checked (a keyed chain cannot be checked without its key)."""
    problems: list[str] = []
    head = session.execute(select(AuditChainHeadRow).where(AuditChainHeadRow.id == 1)).scalar_one()
    head_seq, head_hash, head_key = head.seq, head.hash, head.key_id
    if key is None and head_key is not None:
        return VerifyReport(0, [f"the operation log is signed with {describe(head_key)}: verify needs that key "
                                "(HUB_AUDIT_KEY_FILE or HUB_AUDIT_KEY)"], keyed=True)
    if key is not None and head_key != key_id(key) and not (head_key is None and head_seq == 0):
        problems.append(f"the operation log's head names {describe(head_key)}, the configured key is "
                        f"{describe(key_id(key))} (wrong key, or the head was edited)")
    prev, expected_seq, checked, last_seq = GENESIS, 1, 0, 0
    for r in _entries(session, batch):
        if r.seq != expected_seq:
            problems.append(f"entry {expected_seq}..{r.seq - 1} missing (deleted)")
        if r.prev_hash != prev:
            problems.append(f"entry {r.seq}: prev_hash does not match entry before it")
        if _hash_of(r, key) != r.hash:
            problems.append(f"entry {r.seq}: content does not match its hash (edited"
                            + (", or rehashed by someone without the audit key)" if key else ")"))
        prev, expected_seq, last_seq = r.hash, r.seq + 1, r.seq
        checked += 1
    if head_seq != last_seq or head_hash != prev:
        problems.append(f"chain head says entry {head_seq}, log ends at entry {last_seq} (tail deleted or head edited)")
    report = VerifyReport(checked, problems, keyed=key is not None)
    report.notes.append(f"head: entry {head_seq}, hash {head_hash} (record it elsewhere to detect a later truncation)")
    return report


def rekey(session: Session, *, new_key: bytes, old_key: bytes | None = None, from_unkeyed: bool = False,
          batch: int = 5000) -> int:
    """Sign the whole chain with ``new_key`` after checking it under the old scheme (``old_key``, or plain SHA-256
    with ``from_unkeyed``); raises ValueError listing the problems and changes nothing if that check fails. Holds
    the head lock: nothing is appended meanwhile. Returns the number of entries signed."""
    head = session.execute(
        select(AuditChainHeadRow).where(AuditChainHeadRow.id == 1).with_for_update()
    ).scalar_one()
    expected = None if from_unkeyed else key_id(old_key)
    if old_key is None and not from_unkeyed:
        raise ValueError("name the key the log is signed with now (--old-key-file), or --from-unkeyed")
    if head.key_id != expected:
        raise ValueError(f"the operation log is signed with {describe(head.key_id)}, not {describe(expected)}")
    report = verify(session, key=old_key, batch=batch)
    if not report.ok:
        raise ValueError("the operation log does not verify under its current scheme; not re-signing it:\n"
                         + "\n".join(report.problems))
    prev, count, pending = GENESIS, 0, []
    for r in _entries(session, batch):
        h = entry_hash(prev, r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.before, r.after, key=new_key)
        pending.append({"s": r.seq, "p": prev, "h": h})
        prev, count = h, count + 1
        if len(pending) >= batch:
            _rewrite(session, pending)
            pending = []
    _rewrite(session, pending)
    session.execute(update(AuditChainHeadRow).where(AuditChainHeadRow.id == 1)
                    .values(hash=prev, key_id=key_id(new_key)))
    return count


def _rewrite(session: Session, pending: list[dict]) -> None:
    from sqlalchemy import bindparam

    if pending:
        t = OperationLogRow.__table__
        session.execute(t.update().where(t.c.seq == bindparam("s")).values(prev_hash=bindparam("p"), hash=bindparam("h")),
                        pending)


def create_key_file(path: Path) -> bytes:
    """Write a new random audit key to ``path``, readable by its owner only (0600); refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32).hex()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    os.chmod(path, 0o600)  # whatever the umask
    return key.encode("utf-8")
