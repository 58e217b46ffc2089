"""Reconcile persons: compare the registry with the partners' latest views and open/resolve mismatches.

One entry point for both directions: a partner event re-checks the registry, a registry change re-checks the
partners' latest data. Loads are batched: a fixed number of queries for any number of persons.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import hashlib

from sqlalchemy import select, text

from hub.adapters.orm import (
    MismatchRow,
    PartnerEmploymentRow,
    PartnerIdentityRow,
    PartnerInsuranceRow,
    PartnerPayrollRow,
    PersonRow,
    PostingRow,
    UnitRow,
)
from hub.domain.reconciliation import (
    PERSON_STREAMING_KINDS,
    ContributionLine,
    HrView,
    PartnerViews,
    PayLine,
    PoliceView,
    RegistryView,
    person_findings,
)
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork

CHUNK = 2000


def _chunks(ids: list[str]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def load_views(uow: UnitOfWork, ids: list[str]) -> tuple[dict[str, RegistryView], dict[str, PartnerViews]]:
    s = uow.session
    reg: dict[str, RegistryView] = {i: RegistryView(i) for i in ids}
    police: dict[str, PoliceView] = {}
    hr: dict[str, HrView] = {}
    pay: dict[str, list[PayLine]] = defaultdict(list)
    ins: dict[str, list[ContributionLine]] = defaultdict(list)
    for part in _chunks(ids):
        q = (select(PersonRow.id_number, PersonRow.name, PostingRow.unit_code, UnitRow.funding)
             .outerjoin(PostingRow, (PostingRow.id_number == PersonRow.id_number) & PostingRow.active)
             .outerjoin(UnitRow, UnitRow.code == PostingRow.unit_code)
             .where(PersonRow.id_number.in_(part)))
        for idn, name, unit, funding in s.execute(q):
            reg[idn] = RegistryView(idn, name, unit, funding)
        for r in s.execute(select(PartnerIdentityRow.id_number, PartnerIdentityRow.name, PartnerIdentityRow.status)
                           .where(PartnerIdentityRow.id_number.in_(part))):
            police[r[0]] = PoliceView(r[1], r[2])
        for r in s.execute(select(PartnerEmploymentRow.id_number, PartnerEmploymentRow.name, PartnerEmploymentRow.unit_code,
                                  PartnerEmploymentRow.status).where(PartnerEmploymentRow.id_number.in_(part))):
            hr[r[0]] = HrView(r[1], r[2], r[3])
        for r in s.execute(select(PartnerPayrollRow.id_number, PartnerPayrollRow.unit_code, PartnerPayrollRow.period,
                                  PartnerPayrollRow.name, PartnerPayrollRow.paid, PartnerPayrollRow.gross_amount)
                           .where(PartnerPayrollRow.id_number.in_(part))):
            pay[r[0]].append(PayLine(r[1], r[2], r[3], bool(r[4]), r[5]))
        for r in s.execute(select(PartnerInsuranceRow.id_number, PartnerInsuranceRow.employer_code, PartnerInsuranceRow.period,
                                  PartnerInsuranceRow.name, PartnerInsuranceRow.status)
                           .where(PartnerInsuranceRow.id_number.in_(part))):
            ins[r[0]].append(ContributionLine(r[1], r[2], r[3], r[4]))
    views = {i: PartnerViews(police.get(i), hr.get(i), tuple(sorted(pay.get(i, ()), key=lambda l: (l.period, l.unit_code))),
                             tuple(ins.get(i, ()))) for i in ids}
    return reg, views


def person_lock_key(id_number: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks, stable across processes."""
    return int.from_bytes(hashlib.blake2b(id_number.encode(), digest_size=8).digest(), "big", signed=True)


def lock_persons(uow: UnitOfWork, ids: list[str]) -> None:
    """Serialize reconciliation per person across concurrent transactions (connectors, workflows, imports).

    Without it two connectors could each miss the other's uncommitted view of the same person (write skew).
    PostgreSQL: transaction-scoped advisory locks taken in key order (no deadlocks); SQLite has one writer.
    """
    if not uow.is_postgres or not ids:
        return
    keys = sorted({person_lock_key(i) for i in ids})
    for i in range(0, len(keys), 5000):
        uow.session.execute(text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k) ORDER BY k) AS s"),
            {"keys": keys[i:i + 5000]})


def reconcile_persons(uow: UnitOfWork, book: MismatchBook, id_numbers: Iterable[str],
                      caused_by: dict[str, list[str]] | None = None) -> None:
    """Open, update or resolve every person-level streaming mismatch for these persons."""
    ids = sorted(set(id_numbers))
    if not ids:
        return
    lock_persons(uow, ids)
    reg, views = load_views(uow, ids)
    kinds = [k.value for k in PERSON_STREAMING_KINDS]
    open_rows: dict[str, dict[tuple[str, str], MismatchRow]] = defaultdict(dict)
    for part in _chunks(ids):
        for row in uow.session.execute(select(MismatchRow).where(
                MismatchRow.subject.in_(part), MismatchRow.kind.in_(kinds), MismatchRow.status == "OPEN")).scalars():
            open_rows[row.subject][(row.kind, row.unit_code)] = row
    caused_by = caused_by or {}
    for idn in ids:
        found = person_findings(reg[idn], views[idn])
        existing = open_rows.get(idn, {})
        for (kind, unit), f in found.items():
            book.raise_(kind, subject=idn, unit_code=unit, source=f.source, details=f.details,
                        caused_by=caused_by.get(idn), existing=existing.get((kind.value, unit)), lookup=False)
        still = {(k.value, u) for k, u in found}
        for (kind, unit), row in existing.items():
            if (kind, unit) not in still:
                book.resolve(row, caused_by=caused_by.get(idn))


def partner_known_ids(uow: UnitOfWork, ids: set[str]) -> set[str]:
    """Those of ``ids`` that any partner reports on (the rest have nothing to reconcile)."""
    if not ids:
        return set()
    known: set[str] = set()
    for model in (PartnerIdentityRow, PartnerEmploymentRow, PartnerPayrollRow, PartnerInsuranceRow):
        known.update(uow.session.execute(select(model.id_number).distinct()).scalars())
    return known & ids
