"""Checks run on every registry change: quota (超编), leadership positions (超职数) and retirement age."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.adapters.orm import PersonRow, PostingRow
from hub.domain.registry import UnitEstablishment
from hub.domain.retirement import statutory_retirement_date
from hub.domain.vocabulary import MismatchKind, QuotaCategory
from hub.service_layer.establishment import establishments
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork

REGISTRY = "registry"


def load_establishments(uow: UnitOfWork, unit_codes: set[str] | None = None, today: date | None = None) -> dict[str, UnitEstablishment]:
    """Approved, used and reserved quota and leader positions per unit (all units when ``unit_codes`` is None)."""
    return establishments(uow.session, unit_codes, today=today or uow.now.date())


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
                book.raise_(kind, subject=code, unit_code=code, source=REGISTRY, details={"over": over},
                            caused_by=caused_by, existing=open_rows.get(code), lookup=False)
            elif code in open_rows:
                book.resolve(open_rows[code], caused_by=caused_by)
        if unit_codes is None:
            for code, row in open_rows.items():
                if code not in est:
                    book.resolve(row, caused_by=caused_by)


def recheck_retirement(uow: UnitOfWork, book: MismatchBook, today: date, id_numbers: set[str] | None = None,
                       caused_by: list[str] | None = None) -> None:
    """Open RETIREMENT_DUE for active postings whose holder is past statutory retirement age; resolve the rest."""
    s = uow.session
    q = (select(PostingRow.id_number, PostingRow.unit_code, PostingRow.category, PersonRow.gender, PersonRow.birth_date)
         .join(PersonRow, PersonRow.id_number == PostingRow.id_number).where(PostingRow.active))
    if id_numbers is not None:
        q = q.where(PostingRow.id_number.in_(sorted(id_numbers)))
    due: dict[tuple[str, str], dict] = {}
    for idn, unit, cat, gender, birth in s.execute(q):
        retire_on = statutory_retirement_date(birth, gender, cat == QuotaCategory.WORKER.value)
        if today >= retire_on:
            due[(idn, unit)] = {"retirement_date": retire_on.isoformat(), "birth_date": birth.isoformat(),
                                "gender": gender, "category": cat, "checked_on": today.isoformat()}
    open_rows = {(r.subject, r.unit_code): r for r in book.open_rows(MismatchKind.RETIREMENT_DUE, subjects=id_numbers)}
    for (idn, unit), details in due.items():
        row = open_rows.get((idn, unit))
        if row is not None:
            # Keep the open one as it is: only the check date would change.
            continue
        book.raise_(MismatchKind.RETIREMENT_DUE, subject=idn, unit_code=unit, source=REGISTRY, details=details,
                    caused_by=caused_by, lookup=False)
    for key, row in open_rows.items():
        if key not in due:
            book.resolve(row, caused_by=caused_by)
