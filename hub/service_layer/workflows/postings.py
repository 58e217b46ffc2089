"""Departure (出编) and transfer (调动): the office ends a posting with a reason and a 减员通知单, or moves a person
to another unit in one step (one posting ends, the other starts, both quota checks, one 调动审批表)."""

from __future__ import annotations

from datetime import date

from hub.adapters.orm import PersonRow, PostingRow, UnitRow
from hub.domain.identifiers import parse_id_number
from hub.domain.registry import PersonNotFound, PostingNotFound
from hub.domain.vocabulary import DepartureReason, FormKind, QuotaCategory, Role
from hub.domain.workflows import TEXT_MAX, Caller, bounded, ensure_may_act_for_unit, ensure_not_far_ahead, ensure_role
from hub.service_layer import registry_changes
from hub.service_layer.establishment import locked_establishment
from hub.service_layer.reconcile import lock_persons
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.common import ensure_not_frozen, unit_for
from hub.service_layer.workflows.forms import issue_form

REASON_ZH = {"RETIREMENT": "退休", "TRANSFER_OUT": "调出", "RESIGNATION": "辞职", "DISMISSAL": "辞退", "EXPULSION": "开除",
             "CONTRACT_TERMINATION": "解聘", "DEATH": "死亡", "EMIGRATION": "出国(境)定居", "CRIMINAL_SENTENCE": "判刑",
             "OTHER": "其他"}


OFFICE = frozenset({Role.ADMIN})  # who ends postings and transfers persons (a district office: in its region)


def _posted(uow: UnitOfWork, caller: Caller, id_number: str, what: str) -> tuple[PersonRow, PostingRow, UnitRow]:
    ensure_role(caller, OFFICE, what)  # before the lookup: other roles learn nothing of the person
    idn = parse_id_number(id_number).value
    person = uow.session.get(PersonRow, idn)
    if person is None:
        raise PersonNotFound(f"person {idn} is not in the registry")
    lock_persons(uow, [idn])  # the reconciliation lock before any row lock
    posting = registry_changes.active_posting(uow, idn)
    if posting is None:
        raise PostingNotFound(f"person {idn} holds no active posting")
    unit = uow.session.get(UnitRow, posting.unit_code)
    ensure_may_act_for_unit(caller, unit.code, unit.region_code, unit_may=False)
    return person, posting, unit


def end_posting(uow: UnitOfWork, caller: Caller, key: bytes, *, id_number: str, end_date: date,
                reason: DepartureReason, comment: str | None = None) -> tuple[PostingRow, str]:
    """出编: end the active posting, free the slot, issue the 减员通知单; returns the posting and the form number.
    Pay that continues afterwards is GHOST_PAYROLL through the usual reconciliation."""
    person, posting, unit = _posted(uow, caller, id_number, "end postings")
    ensure_not_far_ahead(end_date, "end date", uow.today)
    if end_date < posting.start_date:
        raise ValueError(f"end date {end_date} is before the posting's start {posting.start_date}")
    form = issue_form(uow, key, kind=FormKind.DEPARTURE, unit_code=unit.code, id_number=person.id_number, facts={
        "title": "减员通知单", "posting_id": posting.id, "unit_code": unit.code, "unit_name": unit.name,
        "id_number": person.id_number, "name": person.name, "category": posting.category, "end_date": end_date,
        "reason": reason.value, "reason_zh": REASON_ZH[reason.value], "comment": bounded(comment, "comment", TEXT_MAX) or None})
    row = registry_changes.end_posting(uow, id_number=person.id_number, end_date=end_date, reason=reason.value,
                               form_number=form.number, row=posting)
    return row, form.number


def transfer_person(uow: UnitOfWork, caller: Caller, key: bytes, *, id_number: str, to_unit_code: str,
                    category: str, effective_date: date, comment: str | None = None) -> tuple[PostingRow, str]:
    """调动: in one transaction end the person's posting and start one in the receiving unit (its quota checked under
    its lock; the giving unit's quota re-checked as it frees a slot); one form for both."""
    person, posting, from_unit = _posted(uow, caller, id_number, "transfer persons")
    to_unit = unit_for(uow, caller, to_unit_code, unit_may=False)
    cat = QuotaCategory.parse(category, "quota category")
    if to_unit.code == from_unit.code and cat.value == posting.category:
        raise ValueError(f"person {person.id_number} already holds a {cat.value} slot in unit {to_unit.code}")
    ensure_not_far_ahead(effective_date, "effective date", uow.today)
    if effective_date < posting.start_date:
        raise ValueError(f"effective date {effective_date} is before the current posting's start {posting.start_date}")
    ensure_not_frozen(uow, to_unit.code)
    est = locked_establishment(uow.session, to_unit.code, cat, None, today=uow.today)
    if to_unit.code == from_unit.code:
        est.used[QuotaCategory(posting.category)] = est.used.get(QuotaCategory(posting.category), 0) - 1
    est.check_free(cat)
    form = issue_form(uow, key, kind=FormKind.TRANSFER, unit_code=to_unit.code, id_number=person.id_number, facts={
        "title": "调动审批表", "id_number": person.id_number, "name": person.name, "from_unit_code": from_unit.code,
        "from_unit_name": from_unit.name, "from_category": posting.category, "to_unit_code": to_unit.code,
        "to_unit_name": to_unit.name, "to_category": cat.value, "effective_date": effective_date,
        "comment": bounded(comment, "comment", TEXT_MAX) or None})
    registry_changes.end_posting(uow, id_number=person.id_number, end_date=effective_date, reason="TRANSFER_OUT",
                         form_number=form.number, row=posting)
    row = registry_changes.start_posting(uow, id_number=person.id_number, unit_code=to_unit.code, category=cat.value,
                                 start_date=effective_date, reason="transfer", form_number=form.number)
    return row, form.number
