"""The general path: the snapshot's validated records (``snapshot_rows``) made the source's view in Python.

SQLite always takes it; PostgreSQL takes it for files the stager declines (and ``run_compare(..., staged=False)``,
the reference the tests compare the staged paths with).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select

from hub.adapters.bulk import any_of, bulk_insert
from hub.adapters.orm import PartnerEmploymentRow, PartnerIdentityRow, PartnerInsuranceRow, PartnerPayrollRow
from hub.domain.reconciliation import FINANCE
from hub.service_layer.comparison.sources import SNAPSHOTS
from hub.service_layer.partner_events import verify_identities
from hub.service_layer.unit_of_work import UnitOfWork

_ROWS = {"partner_identity": PartnerIdentityRow, "partner_employment": PartnerEmploymentRow,
         "partner_insurance": PartnerInsuranceRow}


def replace_partner_view(uow: UnitOfWork, source: str, period: str, records: list, run_id: str) -> set[str]:
    """Make the snapshot the source's view for the period; returns every person whose view changed.

    Only the rows that changed, came or went are rewritten (and their persons re-checked), as the staged paths
    do: a snapshot repeating the view leaves its rows, and the findings of their persons, as they were."""
    if source == FINANCE:
        return _replace_payroll(uow, period, records, run_id)
    snapshot = SNAPSHOTS[source]
    row_type = _ROWS[snapshot.view]
    scope = None
    if snapshot.keeps_newer:  # one (latest) record per person: a newer period's record stays
        newer = set(uow.session.execute(select(row_type.id_number).where(row_type.period > period)).scalars())
        records = [r for r in records if r.id_number not in newer]
        scope = row_type.period <= period
    changed = _rewrite_changed(uow, row_type, snapshot.values, records, run_id, scope=scope)
    if snapshot.view == "partner_identity":  # police also sets the registry's verified identity
        verify_identities(uow, {r.id_number: {"name": r.name, "status": r.status, "photo_sha256": r.photo_sha256}
                                for r in records})
    return changed


def _replace_payroll(uow: UnitOfWork, period: str, records: list, run_id: str) -> set[str]:
    """Finance: only persons whose lines for the period changed are rewritten and re-checked."""
    s, now = uow.session, uow.now
    old: dict[str, set] = defaultdict(set)
    for idn, unit, name, gross, paid in s.execute(select(
            PartnerPayrollRow.id_number, PartnerPayrollRow.unit_code, PartnerPayrollRow.name,
            PartnerPayrollRow.gross_amount, PartnerPayrollRow.paid).where(PartnerPayrollRow.period == period)):
        old[idn].add((unit, name, gross, bool(paid)))
    new: dict[str, set] = defaultdict(set)
    for r in records:
        new[r.id_number].add((r.unit_code, r.name, r.gross_amount, True))
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    ordered = sorted(changed)
    for part in (ordered[i:i + 900] for i in range(0, len(ordered), 900)):
        s.execute(delete(PartnerPayrollRow).where(PartnerPayrollRow.period == period, any_of(s, PartnerPayrollRow.id_number, part)))
    bulk_insert(s, PartnerPayrollRow.__table__, ["id_number", "unit_code", "period", "name", "gross_amount", "paid", "event_id", "updated_at"],
                ((r.id_number, r.unit_code, period, r.name, r.gross_amount, True, run_id, now) for r in records if r.id_number in changed))
    return changed


def _rewrite_changed(uow: UnitOfWork, row_type, values: tuple[str, ...], records: list, run_id: str, *,
                     scope=None) -> set[str]:
    """Rewrite the rows (one per person) of a partner view — those within ``scope`` — that differ from the records
    (``values``: the columns a record sets besides id_number); returns the persons whose row changed, came or went."""
    s = uow.session
    q = select(row_type.id_number, *(getattr(row_type, c) for c in values))
    if scope is not None:
        q = q.where(scope)
    old = {idn: tuple(rest) for idn, *rest in s.execute(q)}
    new = {r.id_number: tuple(getattr(r, c) for c in values) for r in records}
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    ordered = sorted(changed)
    for part in (ordered[i:i + 900] for i in range(0, len(ordered), 900)):
        d = delete(row_type).where(any_of(s, row_type.id_number, part))
        s.execute(d if scope is None else d.where(scope))
    bulk_insert(s, row_type.__table__, ["id_number", *values, "event_id", "updated_at"],
                ((i, *new[i], run_id, uow.now) for i in ordered if i in new))
    return changed
