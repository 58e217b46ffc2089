"""The append-only, hash-chained operation log and its verification (`hub audit verify`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.orm import AuditChainHeadRow, OperationLogRow

GENESIS = "0" * 64


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
               entity_id: str | None, before: str | None, after: str | None) -> str:
    """SHA-256 over the previous hash and every field of the entry."""
    payload = dumps([prev_hash, seq, at, actor, action, entity, entity_id, before, after])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(session: Session, operations: list[Operation], *, now: datetime | None = None) -> None:
    """Append operations to the chain; the chain head row is locked until the transaction ends."""
    if not operations:
        return
    head = session.execute(
        select(AuditChainHeadRow).where(AuditChainHeadRow.id == 1).with_for_update()
    ).scalar_one()
    seq, prev = head.seq, head.hash
    at = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = []
    for op in operations:
        seq += 1
        before = None if op.before is None else dumps(op.before)
        after = None if op.after is None else dumps(op.after)
        h = entry_hash(prev, seq, at, op.actor, op.action, op.entity, op.entity_id, before, after)
        rows.append(dict(seq=seq, at=at, actor=op.actor, action=op.action, entity=op.entity,
                         entity_id=op.entity_id, before=before, after=after, prev_hash=prev, hash=h))
        prev = h
    session.execute(OperationLogRow.__table__.insert(), rows)
    session.execute(update(AuditChainHeadRow).where(AuditChainHeadRow.id == 1).values(seq=seq, hash=prev))


@dataclass
class VerifyReport:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, *, batch: int = 5000) -> VerifyReport:
    """Walk the chain from genesis: any edited, deleted or reordered entry is reported."""
    problems: list[str] = []
    prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(OperationLogRow).where(OperationLogRow.seq > last_seq).order_by(OperationLogRow.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for r in rows:
            if r.seq != expected_seq:
                problems.append(f"entry {expected_seq}..{r.seq - 1} missing (deleted)")
            if r.prev_hash != prev:
                problems.append(f"entry {r.seq}: prev_hash does not match entry before it")
            h = entry_hash(r.prev_hash, r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.before, r.after)
            if h != r.hash:
                problems.append(f"entry {r.seq}: content does not match its hash (edited)")
            prev, expected_seq, last_seq = r.hash, r.seq + 1, r.seq
            checked += 1
        session.expunge_all()
    head = session.execute(select(AuditChainHeadRow).where(AuditChainHeadRow.id == 1)).scalar_one()
    if head.seq != last_seq or head.hash != prev:
        problems.append(f"chain head says entry {head.seq}, log ends at entry {last_seq} (tail deleted or head edited)")
    return VerifyReport(checked, problems)
