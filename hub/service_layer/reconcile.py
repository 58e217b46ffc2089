"""Reconcile persons: compare the registry with the partners' latest views and open/resolve mismatches.

One entry point for both directions: a partner event re-checks the registry, a registry change re-checks the
partners' latest data. Loads are batched: a fixed number of queries for any number of persons.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import hashlib

from sqlalchemy import select, text

from hub.adapters.bulk import any_of, array_param

from hub.adapters.orm import (
    MismatchRow,
    NonEstablishmentRow,
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
from hub.service_layer.mismatches import PG_OPEN_OF_SUBJECTS, MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork

CHUNK = 2000


def _chunks(ids: list[str]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


FULL_SCAN_THRESHOLD = 20000


def load_views(uow: UnitOfWork, ids: list[str]) -> tuple[dict[str, RegistryView], dict[str, PartnerViews]]:
    """Registry and partner views of these persons: IN-list queries in chunks, or full scans for many persons."""
    s = uow.session
    reg: dict[str, RegistryView] = {i: RegistryView(i) for i in ids}
    police: dict[str, PoliceView] = {}
    hr: dict[str, HrView] = {}
    pay: dict[str, list[PayLine]] = defaultdict(list)
    ins: dict[str, list[ContributionLine]] = defaultdict(list)
    non_est: dict[str, set[str]] = defaultdict(set)
    wanted = set(ids)
    full = len(ids) > FULL_SCAN_THRESHOLD
    if uow.is_postgres and not full:
        return _pg_load_views(s, ids)
    parts = [None] if full else list(_chunks(ids))

    def only(q, col, part):
        return q if part is None else q.where(any_of(s, col, part))

    for part in parts:
        q = (select(PersonRow.id_number, PersonRow.name, PostingRow.unit_code, UnitRow.funding, PostingRow.leader_rank)
             .outerjoin(PostingRow, (PostingRow.id_number == PersonRow.id_number) & PostingRow.active)
             .outerjoin(UnitRow, UnitRow.code == PostingRow.unit_code))
        for idn, name, unit, funding, leader in s.execute(only(q, PersonRow.id_number, part)):
            if idn in wanted:
                reg[idn] = RegistryView(idn, name, unit, funding, leader)
        q = select(NonEstablishmentRow.id_number, NonEstablishmentRow.unit_code).where(NonEstablishmentRow.active)
        for idn, unit in s.execute(only(q, NonEstablishmentRow.id_number, part)):
            if idn in wanted:
                non_est[idn].add(unit)
        q = select(PartnerIdentityRow.id_number, PartnerIdentityRow.name, PartnerIdentityRow.status)
        for r in s.execute(only(q, PartnerIdentityRow.id_number, part)):
            if r[0] in wanted:
                police[r[0]] = PoliceView(r[1], r[2])
        q = select(PartnerEmploymentRow.id_number, PartnerEmploymentRow.name, PartnerEmploymentRow.unit_code,
                   PartnerEmploymentRow.status, PartnerEmploymentRow.rank)
        for r in s.execute(only(q, PartnerEmploymentRow.id_number, part)):
            if r[0] in wanted:
                hr[r[0]] = HrView(r[1], r[2], r[3], r[4])
        q = select(PartnerPayrollRow.id_number, PartnerPayrollRow.unit_code, PartnerPayrollRow.period,
                   PartnerPayrollRow.name, PartnerPayrollRow.paid, PartnerPayrollRow.gross_amount)
        for r in s.execute(only(q, PartnerPayrollRow.id_number, part)):
            if r[0] in wanted:
                pay[r[0]].append(PayLine(r[1], r[2], r[3], bool(r[4]), r[5]))
        q = select(PartnerInsuranceRow.id_number, PartnerInsuranceRow.employer_code, PartnerInsuranceRow.period,
                   PartnerInsuranceRow.name, PartnerInsuranceRow.status)
        for r in s.execute(only(q, PartnerInsuranceRow.id_number, part)):
            if r[0] in wanted:
                ins[r[0]].append(ContributionLine(r[1], r[2], r[3], r[4]))
    for i, units in non_est.items():
        reg[i] = reg[i]._replace(non_establishment=tuple(sorted(units)))
    empty = PartnerViews()
    views = {}
    for i in ids:
        p, h, pl, il = police.get(i), hr.get(i), pay.get(i), ins.get(i)
        if p is None and h is None and not pl and not il:
            views[i] = empty
        else:
            views[i] = PartnerViews(p, h, tuple(sorted(pl, key=lambda l: (l.period, l.unit_code))) if pl else (),
                                    tuple(il) if il else ())
    return reg, views


def person_view_joins(key: str) -> str:
    """The LEFT JOINs that set one person's registry entry and partner views beside ``key`` (an ID number column):
    ``pe`` persons, ``po`` the active posting, ``u`` its unit, ``pol`` police, ``hr`` HR, ``ins`` insurance.
    Shared by the per-person loads here and the signature classes of ``comparison.recheck_selection``."""
    return (f"LEFT JOIN persons pe ON pe.id_number = {key}\n"
            f"LEFT JOIN postings po ON po.id_number = {key} AND po.active\n"
            "LEFT JOIN units u ON u.code = po.unit_code\n"
            f"LEFT JOIN partner_identity pol ON pol.id_number = {key}\n"
            f"LEFT JOIN partner_employment hr ON hr.id_number = {key}\n"
            f"LEFT JOIN partner_insurance ins ON ins.id_number = {key}\n")


_PG_VIEWS = text("""
SELECT k.id, pe.id_number IS NOT NULL, pe.name, po.unit_code, u.funding, po.leader_rank,
       pol.id_number IS NOT NULL, pol.name, pol.status,
       hr.id_number IS NOT NULL, hr.name, hr.unit_code, hr.status, hr.rank,
       ins.id_number IS NOT NULL, ins.employer_code, ins.period, ins.name, ins.status,
       (SELECT json_agg(json_build_array(pp.unit_code, pp.period, pp.name, pp.paid, pp.gross_amount))
          FROM partner_payroll pp WHERE pp.id_number = k.id),
       (SELECT array_agg(DISTINCT ne.unit_code ORDER BY ne.unit_code) FROM non_establishment_staff ne
          WHERE ne.id_number = k.id AND ne.active)
FROM unnest(CAST(:ids AS varchar(18)[])) AS k(id)
""" + person_view_joins("k.id"))



def _pg_load_views(s, ids: list[str]) -> tuple[dict[str, RegistryView], dict[str, PartnerViews]]:
    """load_views in one statement per chunk (PostgreSQL): the registry view and the four partner views of each
    person, joined to the ID numbers (one round trip instead of five; payroll lines as a JSON array)."""
    reg: dict[str, RegistryView] = {}
    views: dict[str, PartnerViews] = {}
    empty = PartnerViews()
    for part in _chunks(ids):
        for (idn, registered, name, unit, funding, leader, has_p, p_name, p_status, has_h, h_name, h_unit, h_status,
             h_rank, has_i, i_employer, i_period, i_name, i_status, pay, non_est) in s.execute(
                _PG_VIEWS, {"ids": array_param(part)}):
            reg[idn] = RegistryView(idn, name, unit, funding, leader) if registered else RegistryView(idn)
            if non_est:
                reg[idn] = reg[idn]._replace(non_establishment=tuple(non_est))
            if not (has_p or has_h or has_i or pay):
                views[idn] = empty
                continue
            pl = tuple(sorted((PayLine(l[0], l[1], l[2], bool(l[3]), l[4]) for l in pay),
                              key=lambda l: (l.period, l.unit_code))) if pay else ()
            views[idn] = PartnerViews(PoliceView(p_name, p_status) if has_p else None,
                                      HrView(h_name, h_unit, h_status, h_rank) if has_h else None, pl,
                                      (ContributionLine(i_employer, i_period, i_name, i_status),) if has_i else ())
    for i in ids:  # an ID number twice in ``ids`` comes back twice; one missing would be a bug
        if i not in reg:
            reg[i], views[i] = RegistryView(i), empty
    return reg, views


def person_lock_key(id_number: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks, stable across processes."""
    return int.from_bytes(hashlib.blake2b(id_number.encode(), digest_size=8).digest(), "big", signed=True)


GLOBAL_LOCK_KEY = 0x6875625F72656331  # "hub_rec1": shared by per-person work, exclusive for bulk work
BULK_LOCK_THRESHOLD = 1000  # per-person locks per transaction at most (PostgreSQL lock table: 64 × max_connections by default)


_PG_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k) "
    "WHERE pg_advisory_xact_lock_shared(:g) IS NOT NULL ORDER BY k) AS s")


def lock_persons(uow: UnitOfWork, ids: list[str]) -> None:
    """Serialize reconciliation per person across concurrent transactions (connectors, workflows, imports).

    Without it two connectors could each miss the other's uncommitted view of the same person (write skew).
    PostgreSQL: a shared global advisory lock plus per-person transaction locks taken in key order (no
    deadlocks); bulk work (more than BULK_LOCK_THRESHOLD persons: imports, monthly comparisons) takes the
    global lock exclusively instead. SQLite has a single writer and needs nothing.
    """
    if not uow.is_postgres or not ids:
        return
    if len(ids) > BULK_LOCK_THRESHOLD:
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_LOCK_KEY})
        return
    keys = sorted({person_lock_key(i) for i in ids})
    # One round trip: the shared global lock is taken below the Sort, i.e. before any per-person lock (a Sort
    # reads all its input before it returns a row); taking it again per key only counts up a held lock.
    uow.session.execute(_PG_LOCKS, {"g": GLOBAL_LOCK_KEY, "keys": array_param(keys)})


def reconcile_persons(uow: UnitOfWork, book: MismatchBook, id_numbers: Iterable[str],
                      caused_by: dict[str, list[str]] | None = None, *, plain: bool = False, locked: bool = False,
                      only: frozenset | None = None) -> None:
    """Open, update or resolve every person-level streaming mismatch for these persons.

    ``plain=True`` (the connectors' batches, whose transaction loads no mismatch through the ORM): open rows are
    read as plain rows and every change is written with one statement, instead of ORM objects and a flush.
    ``locked=True``: the caller already holds ``lock_persons`` for these persons (or more).
    ``only``: judge just these kinds (``hub recheck --kind``); the others are left as they are.
    """
    ids = sorted(set(id_numbers))
    if not ids:
        return
    if not locked:
        lock_persons(uow, ids)
    reg, views = load_views(uow, ids)
    kinds = sorted(k.value for k in PERSON_STREAMING_KINDS if only is None or k in only)
    if only is not None:
        plain = False  # the ORM path below filters the findings by kind
    if plain and len(ids) <= FULL_SCAN_THRESHOLD:
        _reconcile_plain(book, ids, kinds, reg, views, caused_by or {})
        return
    open_rows: dict[str, dict[tuple[str, str], MismatchRow]] = defaultdict(dict)
    wanted = set(ids)
    for part in ([None] if len(ids) > FULL_SCAN_THRESHOLD else _chunks(ids)):
        q = select(MismatchRow).where(MismatchRow.kind.in_(kinds), MismatchRow.status == "OPEN")
        if part is not None and uow.is_postgres:  # by person first (MismatchBook.load_open_plain says why)
            q = select(MismatchRow).from_statement(PG_OPEN_OF_SUBJECTS).params(
                subjects=array_param(part), kinds=array_param(kinds))
        elif part is not None:
            q = q.where(any_of(uow.session, MismatchRow.subject, part))
        for row in uow.session.execute(q).scalars():
            if row.subject in wanted:
                open_rows[row.subject][(row.kind, row.unit_code)] = row
    caused_by = caused_by or {}
    for idn in ids:
        found = person_findings(reg[idn], views[idn])
        if only is not None:
            found = {key: f for key, f in found.items() if key[0] in only}
        existing = open_rows.get(idn, {})
        for (kind, unit), f in found.items():
            book.open_or_update(kind, subject=idn, unit_code=unit, source=f.source, details=f.details,
                        caused_by=caused_by.get(idn), existing=existing.get((kind.value, unit)), lookup=False)
        still = {(k.value, u) for k, u in found}
        for (kind, unit), row in existing.items():
            if (kind, unit) not in still:
                book.resolve(row, caused_by=caused_by.get(idn))


def _reconcile_plain(book: MismatchBook, ids: list[str], kinds: list[str], reg, views, caused_by) -> None:
    open_rows: dict[str, dict[tuple[str, str], object]] = defaultdict(dict)
    for part in _chunks(ids):
        for row in book.load_open_plain(kinds, part):
            open_rows[row.subject][(row.kind, row.unit_code)] = row
    for idn in ids:
        found = person_findings(reg[idn], views[idn])
        existing = open_rows.get(idn, {})
        for (kind, unit), f in found.items():
            book.open_or_update_plain(kind, subject=idn, unit_code=unit, source=f.source, details=f.details,
                             caused_by=caused_by.get(idn), existing=existing.get((kind.value, unit)))
        still = {(k.value, u) for k, u in found}
        for (kind, unit), row in existing.items():
            if (kind, unit) not in still:
                book.resolve_plain(row, caused_by=caused_by.get(idn))
    book.write_plain()


def partner_known_ids(uow: UnitOfWork, ids: set[str]) -> set[str]:
    """Those of ``ids`` that any partner reports on (the rest have nothing to reconcile)."""
    if not ids:
        return set()
    known: set[str] = set()
    for model in (PartnerIdentityRow, PartnerEmploymentRow, PartnerPayrollRow, PartnerInsuranceRow):
        known.update(uow.session.execute(select(model.id_number).distinct()).scalars())
    return known & ids
