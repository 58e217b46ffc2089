"""Outbox events the broker refused for good, set aside by the relay (hub/adapters/outbox_relay.py): list them, and
put them back for the relay after the cause was fixed (audited). A set-aside event is kept — never deleted — and
the later events of its topic and key wait behind it, so a retry publishes them in their order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from hub.adapters.bulk import any_of
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
    """The refused rows in id order (the order a retry publishes them in), with how many events wait behind each.

    The waiting counts come from one grouped query (the unsent rows joined to the refused ones through their partial
    index), not one count per refused row: those scanned every later unsent row each (1000 refused rows behind 100k
    unsent ones: 24-31 s). The rows are read in slices — refused rows are the large ones."""
    later = aliased(OutboxRow)
    with db.read_session() as s:
        waiting = dict(s.execute(
            select(OutboxRow.id, func.count(later.id))
            .join(later, and_(later.topic == OutboxRow.topic, later.key == OutboxRow.key, later.id > OutboxRow.id))
            .where(OutboxRow.refused_at.is_not(None), later.sent_at.is_(None), later.refused_at.is_(None))
            .group_by(OutboxRow.id)).all())
        out = []
        rows = s.execute(select(OutboxRow).where(OutboxRow.refused_at.is_not(None)).order_by(OutboxRow.id)
                         .execution_options(yield_per=100)).scalars()
        for r in rows:
            event = _envelope(r.value)
            out.append(RefusedEvent(r.id, r.topic, event.get("type"), event.get("id"), len(r.value.encode("utf-8")),
                                    r.created_at, r.refused_at, r.refused_reason or "", waiting.get(r.id, 0)))
            s.expunge(r)  # its value (large) is not kept
        return out


_ID_MAX = 2**63 - 1  # outbox ids are BIGINT: a larger number is no row (and would not reach the database)
_SHOWN = 10  # problems named in an error; the rest counted


def retry(db: Database, ids: list[int] | None, *, actor: str = "cli") -> list[int]:
    """Put refused rows back into the outbox (all of them when ``ids`` is None): the relay publishes them, and the
    events waiting behind them, in id order — or sets them aside again, with the new reason, if the broker still
    refuses. Bad input (an id that is not a refused row) changes nothing. Returns the ids put back.

    Any number of rows (a limit set too low refuses every event: tens of thousands): the ids go to PostgreSQL as one
    array parameter (an IN list of more than 65535 fails), and the operation log names each reason once."""
    with UnitOfWork(db, actor=actor) as uow:
        q = select(OutboxRow.id, OutboxRow.sent_at, OutboxRow.refused_at, OutboxRow.refused_reason)
        if ids is not None:
            wanted = [i for i in dict.fromkeys(ids) if 0 < i <= _ID_MAX]
            q = q.where(any_of(uow.session, OutboxRow.id, wanted)) if wanted else None
        else:
            q = q.where(OutboxRow.refused_at.is_not(None))
        found = {r.id: r for r in uow.session.execute(q.order_by(OutboxRow.id))} if q is not None else {}
        if ids is not None:
            problems = []
            for i in dict.fromkeys(ids):
                r = found.get(i)
                if r is None:
                    problems.append(f"no outbox row {i}")
                elif r.refused_at is None:
                    problems.append(f"outbox row {i} was not refused ({'sent' if r.sent_at else 'waiting to be sent'})")
            if problems:
                more = f" and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
                raise ValueError("; ".join(problems[:_SHOWN]) + more + "; nothing changed (see `hub outbox refused`)")
        back = sorted(found)
        if not back:
            return []
        for i in range(0, len(back), 10_000):
            uow.session.execute(update(OutboxRow).where(any_of(uow.session, OutboxRow.id, back[i:i + 10_000]),
                                                        OutboxRow.refused_at.is_not(None))
                                .values(refused_at=None, refused_reason=None))
        reasons: dict[str, list[int]] = {}
        for i in back:
            reasons.setdefault(found[i].refused_reason or "", []).append(i)
        uow.record("outbox.retry", "outbox", None, before={"refused": reasons}, after={"ids": back, "count": len(back)})
        uow.wrote_outbox()  # wake a relay of this process at commit
        uow.commit()
        return back
