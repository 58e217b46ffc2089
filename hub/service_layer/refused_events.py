"""Outbox events the broker refused for good, set aside by the relay (hub/adapters/outbox_relay.py): list them, and
put them back for the relay after the cause was fixed (audited). A set-aside event is kept — never deleted — and
the later events of its topic and key wait behind it, so a retry publishes them in their order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from hub.adapters.database import Database
from hub.adapters.orm import OutboxRow
from hub.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RefusedEvent:
    """A refused outbox row as an operator sees it: no key and no data (they may hold an ID number)."""

    id: int
    topic: str
    type: str | None  # the CloudEvent's type
    event_id: str | None  # the CloudEvent's id (consumers know the event by it)
    size: int  # bytes of the event's JSON
    created_at: datetime
    refused_at: datetime
    reason: str
    waiting: int  # later events of the same topic and key held back behind it


def _envelope(value: str) -> dict:
    try:
        event = json.loads(value)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def list_refused(db: Database) -> list[RefusedEvent]:
    """The refused rows in id order (the order a retry publishes them in), with how many events wait behind each."""
    with db.read_session() as s:
        rows = s.execute(select(OutboxRow).where(OutboxRow.refused_at.is_not(None)).order_by(OutboxRow.id)).scalars().all()
        out = []
        for r in rows:
            waiting = 0
            if r.key is not None:
                waiting = s.scalar(select(func.count()).select_from(OutboxRow).where(
                    OutboxRow.topic == r.topic, OutboxRow.key == r.key, OutboxRow.id > r.id,
                    OutboxRow.sent_at.is_(None), OutboxRow.refused_at.is_(None))) or 0
            event = _envelope(r.value)
            out.append(RefusedEvent(r.id, r.topic, event.get("type"), event.get("id"), len(r.value.encode("utf-8")),
                                    r.created_at, r.refused_at, r.refused_reason or "", waiting))
        return out


def retry(db: Database, ids: list[int] | None, *, actor: str = "cli") -> list[int]:
    """Put refused rows back into the outbox (all of them when ``ids`` is None): the relay publishes them, and the
    events waiting behind them, in id order — or sets them aside again, with the new reason, if the broker still
    refuses. Bad input (an id that is not a refused row) changes nothing. Returns the ids put back."""
    with UnitOfWork(db, actor=actor) as uow:
        q = select(OutboxRow.id, OutboxRow.sent_at, OutboxRow.refused_at, OutboxRow.refused_reason)
        if ids is not None:
            q = q.where(OutboxRow.id.in_(ids))
        else:
            q = q.where(OutboxRow.refused_at.is_not(None))
        found = {r.id: r for r in uow.session.execute(q.order_by(OutboxRow.id))}
        if ids is not None:
            problems = []
            for i in dict.fromkeys(ids):
                r = found.get(i)
                if r is None:
                    problems.append(f"no outbox row {i}")
                elif r.refused_at is None:
                    problems.append(f"outbox row {i} was not refused ({'sent' if r.sent_at else 'waiting to be sent'})")
            if problems:
                raise ValueError("; ".join(problems) + "; nothing changed (see `hub outbox refused`)")
        back = sorted(found)
        if not back:
            return []
        uow.session.execute(update(OutboxRow).where(OutboxRow.id.in_(back), OutboxRow.refused_at.is_not(None))
                            .values(refused_at=None, refused_reason=None))
        uow.record("outbox.retry", "outbox", None, before={"refused": {str(i): found[i].refused_reason for i in back}},
                   after={"ids": back, "count": len(back)})
        uow.wrote_outbox()  # wake a relay of this process at commit
        uow.commit()
        return back
