"""The kinds that speak of an absence, which only a complete snapshot shows — and 三数一致's facts.

IDENTITY_UNKNOWN (police), UNPAID_POSTING and HEADCOUNT_INCONSISTENT (finance), INSURANCE_MISSING (insurance).
The general path finds them from the validated records (``find_absences``), the staged paths with anti-joins
against the staged snapshot (``staged_finance``, ``staged_person_views``); both book what they found here, and the
domain (``hub.domain.registry.headcount_consistent``) judges the three numbers SQL or Python gathered.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select, text

from hub.adapters.orm import MismatchRow, NonEstablishmentRow, PersonRow, PostingRow, QuotaRow, UnitRow
from hub.domain.reconciliation import FINANCE, INSURANCE, POLICE
from hub.domain.registry import headcount_consistent, headcount_judged
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.establishment import establishments
from hub.service_layer.mismatches import MismatchBook, PlainMismatch
from hub.service_layer.unit_of_work import UnitOfWork

Found = dict[K, dict[tuple[str, str], dict]]  # kind -> (subject, unit) -> details, complete for each kind

# A pay line ``n`` (a snapshot's or the finance view's) paid outside the establishment: ``non_establishment_pairs``
# in SQL, for the staged comparison and the headcount query.
OUTSIDE = """(NOT EXISTS (SELECT 1 FROM postings a WHERE a.id_number = n.id_number AND a.active)
              AND EXISTS (SELECT 1 FROM non_establishment_staff ne WHERE ne.id_number = n.id_number
                                                                     AND ne.unit_code = n.unit_code AND ne.active))"""


def non_establishment_pairs(s) -> set[tuple[str, str]]:
    """(person, unit) whose pay from the unit is outside the establishment (三数一致 counts it apart): an active 编外
    entry of the unit (staff, or a retiree's pension) for a person without an active posting (``person_findings``
    does not call that pay a ghost). ``OUTSIDE`` says the same in SQL."""
    posted = select(PostingRow.id_number).where(PostingRow.active)
    return set(s.execute(select(NonEstablishmentRow.id_number, NonEstablishmentRow.unit_code)
                         .where(NonEstablishmentRow.active, NonEstablishmentRow.id_number.not_in(posted))).all())


def headcount_facts(s, units, period: str, today) -> dict[str, tuple[int, int, int, int]]:
    """The facts 三数一致 judges, per unit of ``units`` (rows): approved, actual, paid in ``period`` (finance's view) and
    paid outside the establishment — for ``headcountConsistency`` and the report; the domain judges them."""
    codes = [u.code for u in units]
    est = establishments(s, codes, today=today, leaders=False)
    paid, other = {}, {}
    for code, p, o in s.execute(text(
            f"SELECT n.unit_code, count(DISTINCT n.id_number) FILTER (WHERE NOT {OUTSIDE}),"
            f" count(DISTINCT n.id_number) FILTER (WHERE {OUTSIDE})"
            " FROM partner_payroll n WHERE n.period = :p AND n.paid GROUP BY n.unit_code"), {"p": period}):
        paid[code], other[code] = p, o
    return {c: (sum(est[c].approved.values()), sum(est[c].used.values()), paid.get(c, 0), other.get(c, 0)) for c in codes}


def find_absences(uow: UnitOfWork, source: str, period: str, records: list) -> Found:
    """The absence kinds of ``source`` from the snapshot's validated records (the general path)."""
    s = uow.session
    by_kind: Found = {}
    if source == POLICE:
        known = {r.id_number for r in records}
        by_kind[K.IDENTITY_UNKNOWN] = {
            (idn, unit or ""): {"expected": "known to police", "found": "absent from the police snapshot", "period": period}
            for idn, unit in s.execute(select(PersonRow.id_number, PostingRow.unit_code).outerjoin(
                PostingRow, (PostingRow.id_number == PersonRow.id_number) & PostingRow.active))
            if idn not in known}
    elif source == FINANCE:
        paid_by_person = defaultdict(set)
        paid_by_unit = defaultdict(set)
        for r in records:
            paid_by_person[r.id_number].add(r.unit_code)
            paid_by_unit[r.unit_code].add(r.id_number)
        unpaid = {}
        actual: dict[str, int] = defaultdict(int)
        funding: dict[str, str] = {}
        for idn, unit, fund in s.execute(select(PostingRow.id_number, PostingRow.unit_code, UnitRow.funding)
                                         .join(UnitRow, UnitRow.code == PostingRow.unit_code).where(PostingRow.active)):
            actual[unit] += 1
            if fund == "FULL" and idn not in paid_by_person:
                unpaid[(idn, unit)] = {"expected": "a payroll line", "found": "no pay in the finance snapshot", "period": period}
        by_kind[K.UNPAID_POSTING] = unpaid
        approved = dict(s.execute(select(QuotaRow.unit_code, func.sum(QuotaRow.approved)).group_by(QuotaRow.unit_code)).all())
        for code, fund in s.execute(select(UnitRow.code, UnitRow.funding)):
            funding[code] = fund
        recognised = non_establishment_pairs(s)
        inconsistent = {}
        for code, fund in funding.items():
            if not headcount_judged(fund):
                continue
            paid_here = paid_by_unit.get(code, ())
            other = sum(1 for i in paid_here if (i, code) in recognised)
            a, n, p = int(approved.get(code) or 0), actual.get(code, 0), len(paid_here) - other
            if not headcount_consistent(a, n, p):
                inconsistent[(code, code)] = {"period": period, "approved": a, "actual": n, "paid": p,
                                              **({"paid_non_establishment": other} if other else {})}
        by_kind[K.HEADCOUNT_INCONSISTENT] = inconsistent
    elif source == INSURANCE:
        active = {r.id_number for r in records if r.status == "ACTIVE"}
        by_kind[K.INSURANCE_MISSING] = {
            (idn, unit): {"expected": "an ACTIVE contribution", "found": "none in the insurance snapshot", "period": period}
            for idn, unit in s.execute(select(PostingRow.id_number, PostingRow.unit_code).where(PostingRow.active))
            if idn not in active}
    return by_kind


def book_absences(book: MismatchBook, source: str, run_id: str, found: Found) -> None:
    """Open what a snapshot shows absent — ``found``, complete for each of its kinds — and resolve that kind's other
    open mismatches (ORM rows: the general path)."""
    for kind, want in found.items():
        open_rows = {(r.subject, r.unit_code): r for r in book.open_rows(kind)}
        for (subject, unit), details in want.items():
            book.open_or_update(kind, subject=subject, unit_code=unit, source=source, details=details,
                                caused_by=[run_id], existing=open_rows.get((subject, unit)), lookup=False)
        for key, row in open_rows.items():
            if key not in want:
                book.resolve(row, caused_by=[run_id])


def book_absences_plain(uow: UnitOfWork, book: MismatchBook, source: str, run_id: str, found: Found) -> None:
    """``book_absences`` with plain rows and one upsert (the staged paths: thousands on a first comparison)."""
    t = MismatchRow.__table__
    for kind, want in found.items():
        open_rows = {(r.subject, r.unit_code): r for r in (PlainMismatch(**m._mapping) for m in uow.session.execute(
            select(t).where(t.c.kind == kind.value, t.c.status == "OPEN")))}
        for (subject, unit), details in want.items():
            book.open_or_update_plain(kind, subject=subject, unit_code=unit, source=source, details=details,
                                      caused_by=[run_id], existing=open_rows.get((subject, unit)))
        for key, row in open_rows.items():
            if key not in want:
                book.resolve_plain(row, caused_by=[run_id])
    book.write_plain()
