"""Versions of registry entities (valid from / valid to) and reads of the registry as of a date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from hub.adapters.orm import (
    LeaderQuotaVersionRow,
    PersonVersionRow,
    PostingRow,
    QuotaVersionRow,
    UnitVersionRow,
)
from hub.adapters.text_limits import check_values

KEYS = {
    UnitVersionRow: ("unit_code",),
    QuotaVersionRow: ("unit_code", "category"),
    LeaderQuotaVersionRow: ("unit_code", "rank"),
    PersonVersionRow: ("id_number",),
}


def _key_filter(model, key: dict):
    return and_(*(getattr(model, k) == key[k] for k in KEYS[model]))


def new_version(session: Session, model, *, key: dict, valid_from: date, values: dict, recorded_at: datetime) -> bool:
    """Record that from ``valid_from`` on the entity has ``values``, until its next version if one starts later.

    The version in force on ``valid_from`` is closed then; a change dated before versions already recorded
    (backdated) is inserted between them: it holds until the next one starts and the later versions stay as they
    are, so no version ends before it begins and reads as of any date see the change dated last on or before it.
    Returns True when the new version is the current one (no version starts after ``valid_from``): only then do
    the entity's current values change."""
    check_values(model.__table__, {**key, **values})
    later = next_version_start(session, model, key=key, after=valid_from)
    session.execute(
        update(model)
        .where(_key_filter(model, key), _as_of(model, valid_from))
        .values(valid_to=valid_from)
    )
    session.execute(model.__table__.insert(), [{**key, **values, "valid_from": valid_from, "valid_to": later,
                                                 "recorded_at": recorded_at}])
    return later is None


def next_version_start(session: Session, model, *, key: dict, after: date) -> date | None:
    """When the entity's first version starting after ``after`` starts (None: none does)."""
    return session.scalar(select(func.min(model.valid_from)).where(_key_filter(model, key), model.valid_from > after))


def _as_of(model, on: date):
    return and_(model.valid_from <= on, or_(model.valid_to.is_(None), model.valid_to > on))


def as_of_filter(model, on: date):
    """The condition a version row of ``model`` meets when it is in force on ``on`` (for reads in bulk)."""
    return _as_of(model, on)


def version_as_of(session: Session, model, *, key: dict, on: date):
    """The version of the entity in force on ``on`` (the latest recorded if several start that day)."""
    return session.execute(
        select(model).where(_key_filter(model, key), _as_of(model, on))
        .order_by(model.valid_from.desc(), model.id.desc()).limit(1)
    ).scalar_one_or_none()


def versions_as_of(session: Session, model, *, filters, on: date) -> list:
    """All versions in force on ``on`` matching ``filters`` (one per entity key)."""
    rows = session.execute(
        select(model).where(*filters, _as_of(model, on)).order_by(model.valid_from, model.id)
    ).scalars().all()
    latest = {}
    for r in rows:
        latest[tuple(getattr(r, k) for k in KEYS[model])] = r
    return list(latest.values())


def history(session: Session, model, *, key: dict) -> list:
    """Every version of the entity, oldest first (the 沿革)."""
    return list(session.execute(
        select(model).where(_key_filter(model, key)).order_by(model.valid_from, model.id)
    ).scalars())


def postings_on(session: Session, *, on: date, unit_code: str | None = None, id_number: str | None = None) -> list[PostingRow]:
    """Who held a slot on date ``on``: postings started on or before it and not ended by it."""
    q = select(PostingRow).where(PostingRow.start_date <= on,
                                 or_(PostingRow.end_date.is_(None), PostingRow.end_date > on))
    if unit_code:
        q = q.where(PostingRow.unit_code == unit_code)
    if id_number:
        q = q.where(PostingRow.id_number == id_number)
    return list(session.execute(q.order_by(PostingRow.id)).scalars())
