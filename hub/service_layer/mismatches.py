"""The mismatch book: open, update and resolve mismatches, one open per (kind, subject, unit).

Every open, change and resolution publishes a `registry.mismatches.v1` event through the outbox:
`gov.registry.mismatch.opened` when opened, `gov.registry.mismatch.updated` (same `mismatch_id`) when raising an
open mismatch changes its details (a grown ``caused_by`` alone is recorded, not published),
`gov.registry.mismatch.resolved` when resolved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select, text

from hub.adapters.jsonutil import dumps, loads
from hub.adapters.orm import MismatchRow
from hub.contract import types
from hub.contract.cloudevents import cloud_event_template, event_ids, json_string
from hub.contract.topics import MISMATCHES_TOPIC
from hub.domain.vocabulary import MismatchKind, MismatchStatus, mismatch_class
from hub.service_layer.unit_of_work import UnitOfWork


@dataclass
class MismatchTally:
    """How many mismatches an operation opened, updated and resolved, by kind."""

    opened: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, kind: str) -> None:
        d = getattr(self, what)
        d[kind] = d.get(kind, 0) + 1


def mismatch_data(row: MismatchRow) -> dict:
    """The `data` of a mismatch event (contract section 4)."""
    return {
        "mismatch_id": row.id,
        "kind": row.kind,
        "class": mismatch_class(row.kind).value,
        "status": row.status,
        "subject": row.subject,
        "unit_code": row.unit_code or None,
        "source": row.source,
        "detected_at": row.detected_at,
        "resolved_at": row.resolved_at,
        "details": loads(row.details),
        "caused_by": loads(row.caused_by),
    }


def opened_event_json(row, template: str, detected_at_json: str, event_id: str) -> str:
    """The outbox value of a just-opened mismatch's `gov.registry.mismatch.opened` event, made as text: exactly
    ``dumps(cloud_event(type=MISMATCH_OPENED, subject=row.subject, data=mismatch_data(row), now=...))`` (tests/unit/
    test_cloud_event_forms.py) without decoding the row's details and causes only to encode them again.

    ``row.details`` and ``row.caused_by`` must be canonical JSON (``dumps``) — true of a row this book just opened —
    and ``row.subject`` not None; ``template`` is ``cloud_event_template(type=MISMATCH_OPENED, now=now)`` and
    ``detected_at_json`` is ``dumps(row.detected_at)``. The data's keys in canonical (sorted) order."""
    data = "".join((
        '{"caused_by":', row.caused_by, ',"class":', json_string(mismatch_class(row.kind).value),
        ',"details":', row.details, ',"detected_at":', detected_at_json, ',"kind":', json_string(row.kind),
        ',"mismatch_id":', json_string(row.id), ',"resolved_at":null',
        ',"source":', "null" if row.source is None else json_string(row.source),
        ',"status":', json_string(row.status), ',"subject":', json_string(row.subject),
        ',"unit_code":', json_string(row.unit_code) if row.unit_code else "null", "}"))
    return template % (data, event_id, json_string(row.subject))


# The open mismatches of these kinds of these subjects (PostgreSQL), one index probe per subject: the subquery
# (fenced by OFFSET 0, so no condition is pushed into it) can only be read by ``subject = s.subject``, i.e. by
# ix_mismatches_subject, once per subject of the array (a few rows per person, open or resolved); the open ones of
# these kinds are kept after. Asked for all three conditions at once, the planner took the (status, kind) index —
# its statistics lag behind a table that grows by a mismatch per event — and read EVERY open mismatch of these
# kinds per batch (25k index entries, 23 ms after 20k ghost payrolls, growing with each one opened); asked by
# subject alone it read the whole table (5 ms at 25k rows), expecting many rows per subject.
PG_OPEN_OF_SUBJECTS = text(
    "SELECT m.id, m.kind, m.subject, m.unit_code, m.source, m.status, m.details, m.caused_by, m.detected_at,"
    " m.updated_at, m.resolved_at FROM unnest(CAST(:subjects AS text[])) AS s(subject)"
    " CROSS JOIN LATERAL (SELECT * FROM mismatches WHERE subject = s.subject OFFSET 0) AS m"
    " WHERE m.status = 'OPEN' AND m.kind = ANY(CAST(:kinds AS varchar(40)[]))"
).columns(*MismatchRow.__table__.c)


class PlainMismatch:
    """A mismatches row outside the ORM (same attributes as MismatchRow)."""

    __slots__ = ("id", "kind", "subject", "unit_code", "source", "status", "details", "caused_by", "detected_at",
                 "updated_at", "resolved_at")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw[k])

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


class MismatchBook:
    """Open and resolve mismatches inside a unit of work."""

    def __init__(self, uow: UnitOfWork, tally: MismatchTally | None = None):
        self.uow = uow
        self.tally = tally or MismatchTally()

    def open_rows(self, kind: MismatchKind, *, subjects=None, unit_code: str | None = None) -> list[MismatchRow]:
        q = select(MismatchRow).where(MismatchRow.kind == kind.value, MismatchRow.status == "OPEN")
        if subjects is not None:
            q = q.where(MismatchRow.subject.in_(list(subjects)))
        if unit_code is not None:
            q = q.where(MismatchRow.unit_code == unit_code)
        return list(self.uow.session.execute(q).scalars())

    def _find_open(self, kind: MismatchKind, subject: str, unit_code: str) -> MismatchRow | None:
        return self.uow.session.execute(
            select(MismatchRow).where(
                MismatchRow.kind == kind.value, MismatchRow.subject == subject,
                MismatchRow.unit_code == unit_code, MismatchRow.status == "OPEN",
            )
        ).scalar_one_or_none()

    def open_or_update(self, kind: MismatchKind, *, subject: str, unit_code: str | None, source: str | None,
               details: dict, caused_by: list[str] | None = None, existing: MismatchRow | None = None,
               lookup: bool = True) -> MismatchRow:
        """Open the mismatch, or update the open one for (kind, subject, unit).

        ``existing`` is the open row when the caller loaded it; ``lookup=False`` says the caller knows none is open.
        """
        unit = unit_code or ""
        row = existing if existing is not None or not lookup else self._find_open(kind, subject, unit)
        details_json = dumps(details)
        if row is not None:
            self._refresh(row, kind, source, details_json, caused_by)
            return row
        row = MismatchRow(
            id=str(uuid.uuid4()), kind=kind.value, subject=subject, unit_code=unit, source=source,
            status=MismatchStatus.OPEN.value, details=details_json, caused_by=dumps(sorted(set(caused_by or []))),
            detected_at=self.uow.now, updated_at=self.uow.now, resolved_at=None,
        )
        self.uow.session.add(row)
        self.tally.add("opened", kind.value)
        self._announce(row, types.MISMATCH_OPENED)
        return row

    def resolve(self, row: MismatchRow, *, caused_by: list[str] | None = None, resolution: dict | None = None) -> None:
        """Resolve an open mismatch (never deleted)."""
        if row.status != "OPEN":
            return
        self._close(row, caused_by)
        if resolution:
            d = loads(row.details) or {}
            d["resolution"] = resolution
            row.details = dumps(d)
        self.tally.add("resolved", row.kind)
        self._announce(row, types.MISMATCH_RESOLVED)

    # --- plain rows (no ORM): for callers that own the transaction's mismatches of these persons ---------------
    def load_open_plain(self, kinds: list[str], subjects: list[str]) -> list["PlainMismatch"]:
        """The open mismatches of these kinds for these subjects, as plain rows (no identity map, no flush)."""
        from hub.adapters.bulk import any_of, array_param

        t = MismatchRow.__table__
        s = self.uow.session
        if self.uow.is_postgres:
            # one index probe per subject (PG_OPEN_OF_SUBJECTS says why)
            return [PlainMismatch(**r._mapping) for r in s.execute(PG_OPEN_OF_SUBJECTS, {
                "subjects": array_param(list(subjects)), "kinds": array_param(list(kinds))})]
        q = select(t).where(t.c.kind.in_(kinds), t.c.status == "OPEN", any_of(s, t.c.subject, subjects))
        return [PlainMismatch(**r._mapping) for r in s.execute(q)]

    def open_or_update_plain(self, kind: MismatchKind, *, subject: str, unit_code: str | None, source: str | None,
                    details: dict, caused_by: list[str] | None = None,
                    existing: "PlainMismatch | None" = None) -> "PlainMismatch":
        """``open_or_update`` on plain rows: ``existing`` is the open row (None: none is open). Changes are written by
        ``write_plain`` — one statement for every new and changed row."""
        details_json = dumps(details)
        row = existing
        if row is not None:
            if self._refresh(row, kind, source, details_json, caused_by):
                self._pending[row.id] = row
            return row
        now = self.uow.now
        row = PlainMismatch(id=str(uuid.uuid4()), kind=kind.value, subject=subject, unit_code=unit_code or "",
                            source=source, status=MismatchStatus.OPEN.value, details=details_json,
                            caused_by=dumps(sorted(set(caused_by or []))), detected_at=now, updated_at=now,
                            resolved_at=None)
        self._pending[row.id] = row
        self._opened_ids.add(row.id)
        self.tally.add("opened", kind.value)
        self._announce_opened(row)
        return row

    def resolve_plain(self, row: "PlainMismatch", *, caused_by: list[str] | None = None) -> None:
        """``resolve`` on a plain row (written by ``write_plain``)."""
        if row.status != "OPEN":
            return
        self._close(row, caused_by)
        self._pending[row.id] = row
        self.tally.add("resolved", row.kind)
        self._announce(row, types.MISMATCH_RESOLVED)

    def _refresh(self, row, kind: MismatchKind, source: str | None, details_json: str, caused_by: list[str] | None) -> bool:
        """Bring an open row (ORM or plain) up to date; False when nothing changed. Announced as
        ``gov.registry.mismatch.updated`` only when its details or source changed: a grown ``caused_by`` alone (the
        same problem seen again) is recorded, not published — a consumer counts one problem once."""
        causes = set(loads(row.caused_by))
        grown = bool(caused_by) and not set(caused_by) <= causes
        changed = row.details != details_json or row.source != source
        if not (changed or grown):
            return False
        row.caused_by = dumps(sorted(causes | set(caused_by or [])))
        if not changed:
            return True
        row.details = details_json
        row.source = source
        row.updated_at = self.uow.now
        self.tally.add("updated", kind.value)
        self._announce(row, types.MISMATCH_UPDATED)
        return True

    def _close(self, row, caused_by: list[str] | None) -> None:
        """Mark an open row (ORM or plain) resolved now, adding what caused it."""
        row.status = MismatchStatus.RESOLVED.value
        row.resolved_at = self.uow.now
        row.updated_at = self.uow.now
        if caused_by:
            row.caused_by = dumps(sorted(set(loads(row.caused_by)) | set(caused_by)))

    def write_plain(self) -> None:
        """Write the new and changed plain rows in one statement: a plain INSERT when every row was opened by this
        book (a fresh id cannot conflict: the speculative insertion of ON CONFLICT, a probe and a confirmation per
        row, would buy nothing — the connectors' common case, e.g. a batch of ghost payrolls), else one INSERT … ON
        CONFLICT (id) DO UPDATE for all of them (in the order they were touched, as before)."""
        pending = getattr(self, "_pending_rows", None)
        if not pending:
            return
        from hub.adapters.bulk import insert_rows, upsert

        rows = [r.as_row() for r in pending.values()]
        if self._opened_ids.issuperset(pending):
            insert_rows(self.uow.session, MismatchRow.__table__, rows)
        else:
            upsert(self.uow.session, MismatchRow.__table__, rows, ["id"])
        pending.clear()
        self._opened_ids.clear()

    @property
    def _pending(self) -> dict:
        d = getattr(self, "_pending_rows", None)
        if d is None:
            d = self._pending_rows = {}
        return d

    @property
    def _opened_ids(self) -> set:
        """Ids of the plain rows this book opened (new rows: not in the table before ``write_plain``)."""
        d = getattr(self, "_opened_id_set", None)
        if d is None:
            d = self._opened_id_set = set()
        return d

    def _announce_opened(self, row: "PlainMismatch") -> None:
        """``_announce(row, MISMATCH_OPENED)`` for a plain row opened just now (details and causes canonical JSON,
        opened at ``uow.now``): the event's JSON made from a template (``opened_event_json``). The connectors' hot
        path: one event per mismatch opened (details from ``person_findings``, whose keys are all text — a
        non-text key would sort differently once decoded, and the dict path would give other bytes)."""
        if row.subject is None or row.detected_at != self.uow.now:
            self._announce(row, types.MISMATCH_OPENED)
            return
        fast = getattr(self, "_opened_fast", None)
        if fast is None:
            fast = self._opened_fast = (cloud_event_template(type=types.MISMATCH_OPENED, now=self.uow.now),
                                        dumps(self.uow.now), event_ids(block=64))
        template, detected_at_json, ids = fast
        self.uow.publish_json(MISMATCHES_TOPIC, key=row.id,
                              value=opened_event_json(row, template, detected_at_json, next(ids)))

    def _announce(self, row: MismatchRow, type_: str) -> None:
        self.uow.publish(MISMATCHES_TOPIC, key=row.id, type=type_, subject=row.subject, data=mismatch_data(row))
