"""Handlers that change the registry: units, quotas, leader quotas, persons and postings (the entities themselves and
their rules are ``hub.domain.registry``; this module is the service layer's use of them).

Each handler runs inside a caller's UnitOfWork, keeps a version of what it changed, writes the operation log
and publishes a `registry.updates.v1` event, then re-checks the rules the change may affect.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlalchemy import func, select

from hub.adapters import history
from hub.adapters.orm import (
    LeaderAppointmentRow,
    LeaderQuotaRow,
    LeaderQuotaVersionRow,
    PersonRow,
    PersonVersionRow,
    PostingRow,
    QuotaRow,
    QuotaVersionRow,
    UnitRow,
    UnitVersionRow,
)
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.identifiers import parse_id_number, parse_unit_code
from hub.domain.registry import (
    Person,
    PersonAlreadyPosted,
    PersonNotFound,
    PostingNotFound,
    Unit,
    UnitAbolished,
    UnitEstablishment,
    UnitNotFound,
    check_full_time_degree,
    check_leader_rank_fits,
)
from hub.domain.vocabulary import Degree, Education, LeaderRank, QuotaCategory, UnitStatus
from hub.service_layer import registry_checks
from hub.service_layer.establishment import locked_establishment
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.reconcile import lock_persons, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork


def unit_data(r: UnitRow) -> dict:
    return {"code": r.code, "name": r.name, "kind": r.kind, "level": r.level, "region_code": r.region_code,
            "parent_code": r.parent_code, "funding": r.funding, "status": r.status,
            "established_on": r.established_on, "abolished_on": r.abolished_on, "grade": r.grade,
            "civil_service_managed": bool(r.civil_service_managed), "classification": r.classification,
            "dispatched": r.dispatched}


UNIT_PARAMETERS = ("grade", "civil_service_managed", "classification", "dispatched")  # issue 19: 机构规格 and the rest


def quota_data(r) -> dict:
    d = {"unit_code": r.unit_code, "approved": r.approved, "document_number": r.document_number,
         "effective_date": r.effective_date}
    d["category" if isinstance(r, QuotaRow) else "rank"] = r.category if isinstance(r, QuotaRow) else r.rank
    return d


def person_data(r: PersonRow) -> dict:
    return {"id_number": r.id_number, "name": r.name, "gender": r.gender, "birth_date": r.birth_date,
            "education": r.education, "degree": r.degree, "in_service_education": r.in_service_education,
            "in_service_degree": r.in_service_degree, "verified_name": r.verified_name, "identity_status": r.identity_status,
            "photo_sha256": r.photo_sha256}


def posting_data(r: PostingRow) -> dict:
    return {"posting_id": r.id, "id_number": r.id_number, "unit_code": r.unit_code, "category": r.category,
            "leader_rank": r.leader_rank, "start_date": r.start_date, "end_date": r.end_date,
            "end_reason": r.end_reason, "active": r.active}


def _get_unit(uow: UnitOfWork, code: str, *, lock: bool = False) -> UnitRow:
    code = parse_unit_code(code)
    q = select(UnitRow).where(UnitRow.code == code)
    row = uow.session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if row is None:
        raise UnitNotFound(f"unit {code} is not in the registry")
    return row


def _get_person(uow: UnitOfWork, id_number: str) -> PersonRow:
    idn = parse_id_number(id_number).value
    row = uow.session.get(PersonRow, idn)
    if row is None:
        raise PersonNotFound(f"person {idn} is not in the registry")
    return row


def create_unit(uow: UnitOfWork, *, unit: Unit, document_number: str | None = None, effective: date) -> UnitRow:
    """Establish a unit (机构设立)."""
    if uow.session.get(UnitRow, unit.code) is not None:
        raise ValueError(f"unit {unit.code} already exists")
    if unit.parent_code:
        _get_unit(uow, unit.parent_code)
    row = UnitRow(code=unit.code, name=unit.name, kind=unit.kind.value, level=unit.level.value,
                  region_code=unit.region_code, parent_code=unit.parent_code, funding=unit.funding.value,
                  status=UnitStatus.ACTIVE.value, established_on=effective, **_parameters(unit))
    uow.session.add(row)
    uow.session.flush()
    _unit_version(uow, row, document_number, effective)
    uow.record("unit.create", "unit", row.code, after=unit_data(row))
    uow.publish(UPDATES_TOPIC, key=row.code, type="gov.registry.unit.created", subject=row.code, data=unit_data(row))
    return row


UNIT_VERSIONED = ("name", "kind", "level", "region_code", "parent_code", "funding", "status", *UNIT_PARAMETERS)


def _parameters(unit: Unit) -> dict:
    return {"grade": unit.grade.value if unit.grade else None, "civil_service_managed": unit.civil_service_managed,
            "classification": unit.classification.value if unit.classification else None,
            "dispatched": unit.dispatched.value if unit.dispatched else None}


def _unit_version(uow: UnitOfWork, row, document_number: str | None, effective: date) -> bool:
    """A unit version from ``row``'s values (the unit row, or the values in force on ``effective``); True when it is
    the current version (see history.new_version)."""
    return history.new_version(uow.session, UnitVersionRow, key={"unit_code": row.code}, valid_from=effective,
                               values={k: getattr(row, k) for k in UNIT_VERSIONED} | {"document_number": document_number},
                               recorded_at=uow.now)


def update_unit(uow: UnitOfWork, *, code: str, changes: dict, document_number: str | None = None, effective: date) -> UnitRow:
    """Rename or reclassify a unit (name, kind, level, region_code, parent_code, funding)."""
    row = _get_unit(uow, code, lock=True)
    before = unit_data(row)
    # The changes apply to the unit as it was on `effective` (a backdated change to the version then in force).
    base = history.version_as_of(uow.session, UnitVersionRow, key={"unit_code": row.code}, on=effective) or row
    probe = Unit.new(**{k: (changes.get(k, v.value if hasattr(v, "value") else v)) for k, v in {
        "code": row.code, "name": base.name, "kind": base.kind, "level": base.level, "region_code": base.region_code,
        "funding": base.funding, "parent_code": base.parent_code,
        **{p: getattr(base, p) for p in UNIT_PARAMETERS}}.items()})
    if probe.grade:  # a grade lowered below the unit's leaders or leader positions is refused (机构规格)
        for rank in sorted(set(uow.session.execute(select(PostingRow.leader_rank).where(
                PostingRow.unit_code == row.code, PostingRow.active, PostingRow.leader_rank.is_not(None))).scalars())
                | set(uow.session.execute(select(LeaderQuotaRow.rank).where(
                    LeaderQuotaRow.unit_code == row.code, LeaderQuotaRow.approved > 0)).scalars())):
            check_leader_rank_fits(row.code, probe.grade, rank)
    if probe.parent_code:
        if probe.parent_code == row.code:
            raise ValueError("a unit cannot be its own parent")
        _get_unit(uow, probe.parent_code)
    changed = {k: (lambda v: v.value if hasattr(v, "value") else v)(getattr(probe, k))
               for k in ("name", "kind", "level", "region_code", "parent_code", "funding", *UNIT_PARAMETERS)}
    version = SimpleNamespace(code=row.code, status=base.status, **changed)
    if _unit_version(uow, version, document_number, effective):  # the current version: the unit row follows it
        for k, v in changed.items():
            setattr(row, k, v)
    uow.record("unit.update", "unit", row.code, before=before, after=unit_data(row))
    uow.publish(UPDATES_TOPIC, key=row.code, type="gov.registry.unit.updated", subject=row.code, data=unit_data(row))
    registry_checks.recheck_mixed_categories(uow, MismatchBook(uow), {row.code})  # a new kind may not fit its postings
    return row


def abolish_unit(uow: UnitOfWork, *, code: str, document_number: str | None = None, effective: date) -> UnitRow:
    """Abolish a unit (机构撤销); refused while it still has active postings."""
    row = _get_unit(uow, code, lock=True)
    active = uow.session.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == row.code, PostingRow.active))
    if active:
        raise ValueError(f"unit {row.code} still has {active} active postings; end or transfer them first")
    later = history.next_version_start(uow.session, UnitVersionRow, key={"unit_code": row.code}, after=effective)
    if later is not None:
        raise ValueError(f"unit {row.code} has changes effective from {later.isoformat()}: it cannot be abolished "
                         f"before them")
    before = unit_data(row)
    row.status, row.abolished_on = UnitStatus.ABOLISHED.value, effective
    _unit_version(uow, row, document_number, effective)
    uow.record("unit.abolish", "unit", row.code, before=before, after=unit_data(row))
    uow.publish(UPDATES_TOPIC, key=row.code, type="gov.registry.unit.abolished", subject=row.code, data=unit_data(row))
    return row


def set_quota(uow: UnitOfWork, *, unit_code: str, category: str, approved: int, document_number: str | None,
              effective: date, book: MismatchBook | None = None) -> QuotaRow:
    """Approve a unit's quota in a category (核定编制); a cut below use opens OVER_QUOTA."""
    return _approve_slots(uow, QuotaRow, QuotaVersionRow, "category",
                          lambda: QuotaCategory.parse(category, "quota category").value, unit_code=unit_code,
                          approved=approved, document_number=document_number, effective=effective, book=book,
                          entity="quota", event_type="gov.registry.quota.changed")


def set_leader_quota(uow: UnitOfWork, *, unit_code: str, rank: str, approved: int, document_number: str | None,
                     effective: date, book: MismatchBook | None = None) -> LeaderQuotaRow:
    """Approve a unit's leadership positions of a rank (核定领导职数)."""
    def parse_rank() -> str:
        r = LeaderRank.parse(rank, "leader rank")
        if approved > 0:
            unit = _get_unit(uow, unit_code)
            check_leader_rank_fits(unit.code, unit.grade, r)  # no 正处 positions in a 正科级 unit
        return r.value

    return _approve_slots(uow, LeaderQuotaRow, LeaderQuotaVersionRow, "rank", parse_rank, unit_code=unit_code,
                          approved=approved, document_number=document_number, effective=effective, book=book,
                          entity="leader_quota", event_type="gov.registry.leader_quota.changed")


def _approve_slots(uow: UnitOfWork, row_cls, version_cls, slot: str, parse_slot, *, unit_code: str, approved: int,
                   document_number: str | None, effective: date, book: MismatchBook | None, entity: str,
                   event_type: str):
    """Set the approved number of one slot (a quota category or a leader rank) of a unit, with its version, log
    entry and event, then re-check the unit's use against its quotas."""
    unit = _get_unit(uow, unit_code)
    value = parse_slot()
    if approved < 0:
        raise ValueError("approved must be zero or more")
    column = getattr(row_cls, slot)
    row = uow.session.execute(select(row_cls).where(row_cls.unit_code == unit.code, column == value)
                              .with_for_update()).scalar_one_or_none()
    before = quota_data(row) if row else None
    if row is None:
        row = row_cls(unit_code=unit.code, approved=approved, document_number=document_number,
                      effective_date=effective, **{slot: value})
        uow.session.add(row)
        uow.session.flush()
    current = history.new_version(uow.session, version_cls, key={"unit_code": unit.code, slot: value},
                                  valid_from=effective, values={"approved": approved, "document_number": document_number},
                                  recorded_at=uow.now)
    after = {**quota_data(row), "approved": approved, "document_number": document_number, "effective_date": effective}
    if current:  # a backdated change that a later one supersedes leaves the current numbers as they are
        row.approved, row.document_number, row.effective_date = approved, document_number, effective
    uow.record(f"{entity}.set", entity, f"{unit.code}/{value}", before=before, after=after)
    uow.publish(UPDATES_TOPIC, key=unit.code, type=event_type, subject=unit.code, data=quota_data(row))
    registry_checks.recheck_unit_quotas(uow, book or MismatchBook(uow), {unit.code})
    return row


def _schooling(person: Person, base) -> dict:
    """Degree and in-service education of a registration: the given ones, else those ``base`` (the version
    corrected) has."""
    return {k: (getattr(person, k).value if getattr(person, k) else getattr(base, k, None))
            for k in ("degree", "in_service_education", "in_service_degree")}


def register_person(uow: UnitOfWork, *, person: Person, effective: date) -> PersonRow:
    """Register a person (or correct an existing person's name and education)."""
    lock_persons(uow, [person.id_number])  # reconciliation locks before row locks, as everywhere (no deadlocks)
    row = uow.session.get(PersonRow, person.id_number)
    before = person_data(row) if row else None
    if row is None:
        row = PersonRow(id_number=person.id_number, name=person.name, gender=person.gender.value,
                        birth_date=person.birth_date, education=person.education.value if person.education else None,
                        **_schooling(person, None))
        uow.session.add(row)
        uow.session.flush()
        type_ = "gov.registry.person.created"
        base = row
    else:
        type_ = "gov.registry.person.updated"
        # a correction applies to the person as recorded on `effective` (backdated: the version then in force)
        base = history.version_as_of(uow.session, PersonVersionRow, key={"id_number": row.id_number}, on=effective) or row
    name, education = person.name, person.education.value if person.education else base.education
    schooling = _schooling(person, base)
    if person.degree is None and schooling["degree"]:  # a kept degree must still fit the (corrected) education
        check_full_time_degree(Education(education) if education else None, Degree(schooling["degree"]))
    if history.new_version(uow.session, PersonVersionRow, key={"id_number": row.id_number}, valid_from=effective,
                           values={"name": name, "gender": row.gender, "birth_date": row.birth_date,
                                   "education": education, **schooling}, recorded_at=uow.now):
        row.name, row.education = name, education  # the current version: the person row follows it
        for k, x in schooling.items():
            setattr(row, k, x)
    uow.record("person.register" if before is None else "person.correct", "person", row.id_number,
               before=before, after=person_data(row))
    uow.publish(UPDATES_TOPIC, key=row.id_number, type=type_, subject=row.id_number, data=person_data(row))
    reconcile_persons(uow, MismatchBook(uow), {row.id_number}, locked=True)
    return row


def lock_establishment(uow: UnitOfWork, unit_code: str, category: QuotaCategory, rank: LeaderRank | None) -> UnitEstablishment:
    """The unit's quota and leader positions for one hire, with their rows locked (PostgreSQL) until commit."""
    return locked_establishment(uow.session, unit_code, category, rank, today=uow.today)


def start_posting(uow: UnitOfWork, *, id_number: str, unit_code: str, category: str, leader_rank: str | None = None,
                  start_date: date, book: MismatchBook | None = None, reason: str = "hire",
                  from_reservation: bool = False, form_number: str | None = None, policy: bool = False) -> PostingRow:
    """Post a person into a free, unreserved slot (进编): refused when the quota or leader positions are used up.
    ``from_reservation``: the hire takes a slot its hiring plan reserved. ``form_number``: the approval form the
    posting starts from, carried by the ``posting.started`` event. ``policy``: a policy placement, which may use the
    office's policy over-quota allowance (政策性超编)."""
    person = _get_person(uow, id_number)
    lock_persons(uow, [person.id_number])  # reconciliation locks before row locks, as everywhere (no deadlocks)
    unit = _get_unit(uow, unit_code)
    if unit.status != UnitStatus.ACTIVE.value:
        raise UnitAbolished(f"unit {unit.code} is abolished")
    cat = QuotaCategory.parse(category, "quota category")
    rank = LeaderRank.parse(leader_rank, "leader rank") if leader_rank else None
    if rank is not None:
        check_leader_rank_fits(unit.code, unit.grade, rank)  # leader ranks fit the unit's grade (机构规格)
    est = lock_establishment(uow, unit.code, cat, rank)
    current = uow.session.execute(select(PostingRow).where(PostingRow.id_number == person.id_number, PostingRow.active)).scalar_one_or_none()
    if current is not None:
        raise PersonAlreadyPosted(f"person {person.id_number} already holds an active posting in unit {current.unit_code}")
    est.admit(cat, rank, from_reservation=from_reservation, policy=policy)
    row = PostingRow(id_number=person.id_number, unit_code=unit.code, category=cat.value,
                     leader_rank=rank.value if rank else None, start_date=start_date, active=True)
    uow.session.add(row)
    uow.session.flush()
    data = posting_data(row) | {"form_number": form_number}
    uow.record(f"posting.start.{reason}", "posting", str(row.id), after=data)
    uow.publish(UPDATES_TOPIC, key=str(row.id), type="gov.registry.posting.started", subject=person.id_number, data=data)
    b = book or MismatchBook(uow)
    registry_checks.recheck_retirement(uow, b, max(start_date, uow.today), {person.id_number})
    registry_checks.recheck_mixed_categories(uow, b, {unit.code})
    reconcile_persons(uow, b, {person.id_number}, locked=True)
    return row


def end_posting(uow: UnitOfWork, *, id_number: str, end_date: date, reason: str, book: MismatchBook | None = None,
                form_number: str | None = None, row: PostingRow | None = None) -> PostingRow:
    """End a person's active posting (出编: retirement, transfer, resignation, death…). ``form_number``: the form
    (减员通知单) it ends by, carried by the ``posting.ended`` event; ``row``: the active posting, already locked."""
    person = _get_person(uow, id_number)
    lock_persons(uow, [person.id_number])  # reconciliation locks before row locks, as everywhere (no deadlocks)
    if row is None:
        row = active_posting(uow, person.id_number)
    if row is None:
        raise PostingNotFound(f"person {person.id_number} holds no active posting")
    if end_date < row.start_date:
        raise ValueError(f"end date {end_date} is before the posting's start {row.start_date}")
    before = posting_data(row)
    row.end_date, row.end_reason, row.active = end_date, reason, False
    uow.session.flush()
    data = posting_data(row) | {"form_number": form_number}
    uow.record("posting.end", "posting", str(row.id), before=before, after=data)
    uow.publish(UPDATES_TOPIC, key=str(row.id), type="gov.registry.posting.ended", subject=person.id_number, data=data)
    _cancel_open_appointments(uow, row)
    b = book or MismatchBook(uow)
    registry_checks.recheck_unit_quotas(uow, b, {row.unit_code})
    registry_checks.recheck_retirement(uow, b, uow.today, {person.id_number})
    registry_checks.recheck_mixed_categories(uow, b, {row.unit_code})
    reconcile_persons(uow, b, {person.id_number}, locked=True)
    return row


def _cancel_open_appointments(uow: UnitOfWork, posting: PostingRow) -> None:
    """A posting that ends takes its open leader appointments (核准 or 任免 not yet confirmed) with it: they would
    otherwise hold a position of the unit for good, or be confirmed later on the person's posting elsewhere. The
    appointment row goes; the operation log keeps it (``before``) and ``leader_appointment.cancelled`` announces it."""
    for a in uow.session.execute(select(LeaderAppointmentRow).where(
            LeaderAppointmentRow.posting_id == posting.id,
            LeaderAppointmentRow.stage.in_(("CHECKED", "DECIDED"))).with_for_update()).scalars().all():
        data = {"appointment_id": a.id, "id_number": a.id_number, "posting_id": a.posting_id, "unit_code": a.unit_code,
                "rank": a.rank, "effective_date": a.effective_date, "document_number": a.document_number,
                "stage": a.stage, "form_number": a.form_number}
        uow.session.delete(a)
        uow.session.flush()
        uow.record("leader_appointment.cancelled", "leader_appointment", str(a.id), before=data,
                   after=data | {"stage": "CANCELLED", "reason": "the posting ended"})
        uow.publish(UPDATES_TOPIC, key=f"leader-appointment-{a.id}", type="gov.registry.leader_appointment.cancelled",
                    subject=a.id_number, data=data | {"stage": "CANCELLED", "reason": "the posting ended"})


def active_posting(uow: UnitOfWork, id_number: str) -> PostingRow | None:
    """The person's active posting, locked until commit, or None."""
    return uow.session.execute(select(PostingRow).where(PostingRow.id_number == id_number, PostingRow.active)
                               .with_for_update()).scalar_one_or_none()
