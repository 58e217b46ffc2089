"""Checks run on every registry change: quota (超编), leadership positions (超职数) and retirement age."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select

from hub.adapters.orm import PartnerEmploymentRow, PersonRow, PostingRow, RetirementDecisionRow, UnitRow
from hub.domain.registry import UnitEstablishment, category_fits
from hub.domain.retirement import (
    FlexibleRetirement,
    RetirementDue,
    RetirementRule,
    check_flexible,
    latest_birth_date_retiring_by,
    retirement_due,
    retirement_rule,
)
from hub.domain.vocabulary import MismatchKind
from hub.service_layer.establishment import establishments
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork

REGISTRY = "registry"


def load_establishments(uow: UnitOfWork, unit_codes: set[str] | None = None, today: date | None = None) -> dict[str, UnitEstablishment]:
    """Approved, used and reserved quota and leader positions per unit (all units when ``unit_codes`` is None)."""
    return establishments(uow.session, unit_codes, today=today or uow.today)


def recheck_unit_quotas(uow: UnitOfWork, book: MismatchBook, unit_codes: set[str] | None = None,
                        caused_by: list[str] | None = None, today: date | None = None) -> None:
    """Open or resolve OVER_QUOTA and LEADERSHIP_OVER_QUOTA for the given units (all when None). A unit over quota
    within a policy over-quota allowance in force on ``today`` (default: the transaction's date) is not OVER_QUOTA."""
    est = load_establishments(uow, unit_codes, today)
    for kind, finder in ((MismatchKind.OVER_QUOTA, UnitEstablishment.over_quota),
                         (MismatchKind.LEADERSHIP_OVER_QUOTA, UnitEstablishment.leadership_over_quota)):
        open_rows = {r.subject: r for r in book.open_rows(kind, subjects=None if unit_codes is None else unit_codes)}
        for code, e in est.items():
            over = finder(e)
            if over:
                book.open_or_update(kind, subject=code, unit_code=code, source=REGISTRY, details={"over": over},
                            caused_by=caused_by, existing=open_rows.get(code), lookup=False)
            elif code in open_rows:
                book.resolve(open_rows[code], caused_by=caused_by)
        if unit_codes is None:
            for code, row in open_rows.items():
                if code not in est:
                    book.resolve(row, caused_by=caused_by)


def recheck_retirement(uow: UnitOfWork, book: MismatchBook, today: date, id_numbers: set[str] | None = None,
                       caused_by: list[str] | None = None) -> None:
    """Open RETIREMENT_DUE for active postings whose holder's retirement date has come; resolve the rest. The date
    follows the person's post and rank (HR's 职级: a worker post, a 县处级 leader, a senior title) and an approved
    flexible retirement decision, which moves it (``hub.domain.retirement.retirement_due``)."""
    s = uow.session
    q = (select(PostingRow.id_number, PostingRow.unit_code, PostingRow.category, PostingRow.leader_rank, PersonRow.gender,
                PersonRow.birth_date, PartnerEmploymentRow.rank, RetirementDecisionRow.kind, RetirementDecisionRow.retire_on)
         .join(PersonRow, PersonRow.id_number == PostingRow.id_number)
         .outerjoin(PartnerEmploymentRow, PartnerEmploymentRow.id_number == PostingRow.id_number)
         .outerjoin(RetirementDecisionRow, RetirementDecisionRow.id_number == PostingRow.id_number)
         .where(PostingRow.active))
    if id_numbers is not None:
        q = q.where(PostingRow.id_number.in_(sorted(id_numbers)))
    # Only those old enough to be due, or with a flexible decision, need judging (an import's young need not be read).
    q = q.where(or_(PersonRow.birth_date <= latest_birth_date_retiring_by(today), RetirementDecisionRow.kind.is_not(None)))
    due: dict[tuple[str, str], dict] = {}
    judged: dict[tuple, RetirementDue] = {}  # the rule is a function of the facts; many postings share them
    for idn, unit, cat, leader, gender, birth, hr_rank, kind, retire_on in s.execute(q):
        facts = (birth, gender, cat, leader, hr_rank, kind, retire_on)
        r = judged.get(facts)
        if r is None:
            r = judged[facts] = retirement_due(birth, gender, category=cat, leader_rank=leader, hr_rank=hr_rank,
                                               decision=(kind, retire_on) if kind else None)
        if today >= r.retire_on:
            due[(idn, unit)] = {"retirement_date": r.retire_on.isoformat(), "birth_date": birth.isoformat(),
                                "gender": gender, "category": cat, "checked_on": today.isoformat(), "post": r.post,
                                "schedule": r.schedule, "statutory_date": r.statutory.isoformat(),
                                **({"decision": r.decision} if r.decision else {})}
    open_rows = {(r.subject, r.unit_code): r for r in book.open_rows(MismatchKind.RETIREMENT_DUE, subjects=id_numbers)}
    for (idn, unit), details in due.items():
        row = open_rows.get((idn, unit))
        if row is not None:
            # Keep the open one as it is: only the check date would change.
            continue
        book.open_or_update(MismatchKind.RETIREMENT_DUE, subject=idn, unit_code=unit, source=REGISTRY, details=details,
                    caused_by=caused_by, lookup=False)
    for key, row in open_rows.items():
        if key not in due:
            book.resolve(row, caused_by=caused_by)


def record_retirement_decision(uow: UnitOfWork, *, id_number: str, kind: str, retire_on: date,
                               document_number: str) -> RetirementDecisionRow:
    """Record an approved flexible retirement (弹性提前 / 弹性延迟退休) for a posted person, replacing any earlier one:
    the date it sets replaces the statutory one, and RETIREMENT_DUE opens or resolves accordingly. Refused (ValueError,
    nothing changed) when the law does not allow the date, the person has no active posting or no document is named."""
    from hub.contract.topics import UPDATES_TOPIC
    from hub.domain.identifiers import parse_id_number
    from hub.domain.registry import PersonNotFound

    s = uow.session
    idn = parse_id_number(id_number).value
    doc = (document_number or "").strip()
    if not doc:
        raise ValueError("a flexible retirement decision names its approval document (document_number)")
    if len(doc) > 100:
        raise ValueError("document_number is longer than 100 characters")
    person = s.get(PersonRow, idn)
    if person is None:
        raise PersonNotFound(f"person {idn} is not in the registry")
    posting = s.execute(select(PostingRow.category, PostingRow.leader_rank)
                        .where(PostingRow.id_number == idn, PostingRow.active)).first()
    if posting is None:
        raise ValueError(f"person {idn} holds no active posting: there is no retirement to decide")
    hr_rank = s.execute(select(PartnerEmploymentRow.rank).where(PartnerEmploymentRow.id_number == idn)).scalar()
    statutory = retirement_due(person.birth_date, person.gender, category=posting.category, leader_rank=posting.leader_rank,
                               hr_rank=hr_rank)
    rule = retirement_rule(person.gender, worker_post=statutory.post == "WORKER", county_division_leader=False,
                           senior_title=False)
    if statutory.schedule == "60" and person.gender == "F":
        rule = RetirementRule("F", False, True)
    check_flexible(rule, person.birth_date, kind, retire_on)
    row = s.get(RetirementDecisionRow, idn)
    before = None if row is None else {"kind": row.kind, "retire_on": row.retire_on, "document_number": row.document_number}
    if row is None:
        row = RetirementDecisionRow(id_number=idn)
        s.add(row)
    row.kind, row.retire_on, row.document_number, row.recorded_at = FlexibleRetirement(kind).value, retire_on, doc, uow.now
    s.flush()
    data = {"id_number": idn, "kind": row.kind, "retire_on": retire_on, "statutory_date": statutory.statutory,
            "document_number": doc}
    uow.record("retirement.decide", "person", idn, before=before, after=data)
    uow.publish(UPDATES_TOPIC, key=idn, type="gov.registry.retirement_decision.recorded", subject=idn, data=data)
    recheck_retirement(uow, MismatchBook(uow), uow.today, {idn})
    return row


def recheck_mixed_categories(uow: UnitOfWork, book: MismatchBook, unit_codes: set[str] | None = None,
                             caused_by: list[str] | None = None) -> None:
    """Open MIXED_CATEGORY (混编混岗, a WARNING) for every active posting whose category does not fit its unit's kind
    (an administrative slot in a public institution, a public-institution slot in an organ); resolve the rest. For
    the given units (all when None)."""
    def of_units(q):
        q = q.join(UnitRow, UnitRow.code == PostingRow.unit_code).where(PostingRow.active)
        return q if unit_codes is None else q.where(PostingRow.unit_code.in_(sorted(unit_codes)))

    # The domain judges each (unit kind, category) pair that occurs; only the postings of a pair that does not fit
    # are read (an import's hundred thousand postings are not read back one by one to find the few).
    pairs = uow.session.execute(of_units(select(UnitRow.kind, PostingRow.category).distinct())).all()
    misfits = [(kind, cat) for kind, cat in pairs if not category_fits(kind, cat)]
    found = {}
    if misfits:
        q = of_units(select(PostingRow.id_number, PostingRow.unit_code, PostingRow.category, UnitRow.kind))
        q = q.where(or_(*(and_(UnitRow.kind == kind, PostingRow.category == cat) for kind, cat in misfits)))
        found = {(idn, unit): {"expected": "a category of a " + ("public institution" if kind == "PUBLIC_INSTITUTION" else "organ"),
                               "found": cat, "unit_kind": kind}
                 for idn, unit, cat, kind in uow.session.execute(q)}
    open_rows = book.open_rows(MismatchKind.MIXED_CATEGORY)
    if unit_codes is not None:
        open_rows = [r for r in open_rows if r.unit_code in unit_codes]
    existing = {(r.subject, r.unit_code): r for r in open_rows}
    for key, details in found.items():
        if key not in existing:
            book.open_or_update(MismatchKind.MIXED_CATEGORY, subject=key[0], unit_code=key[1], source=REGISTRY, details=details,
                        caused_by=caused_by, lookup=False)
    for key, row in existing.items():
        if key not in found:
            book.resolve(row, caused_by=caused_by)
