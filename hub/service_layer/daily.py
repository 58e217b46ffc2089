"""Checks that depend on the calendar, run at least daily while the hub runs."""

from __future__ import annotations

from datetime import date

from hub.adapters.database import Database
from hub.service_layer import registry_checks
from hub.service_layer.findings import raise_overdue
from hub.service_layer.raised_findings import raise_hub_findings
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.unit_of_work import UnitOfWork


def run_daily_checks(db: Database, *, today: date) -> MismatchTally:
    """Open RETIREMENT_DUE for holders past statutory retirement age on ``today``; resolve stale ones. Re-check the
    quota of units with policy over-quota decisions (政策性超编): an excess not absorbed by its deadline is OVER_QUOTA.
    Then the supervision checks (``run_supervision_checks``)."""
    from sqlalchemy import select

    from hub.adapters.orm import PolicyOverQuotaRow

    with UnitOfWork(db, actor="system:daily-checks") as uow:
        book = MismatchBook(uow)
        registry_checks.recheck_retirement(uow, book, today)
        policy_units = set(uow.session.execute(select(PolicyOverQuotaRow.unit_code).distinct()).scalars())
        if policy_units:
            registry_checks.recheck_unit_quotas(uow, book, policy_units, today=today)
        if book.tally.opened or book.tally.resolved:
            uow.record("checks.daily", "registry", None, after={"opened": book.tally.opened, "resolved": book.tally.resolved,
                                                                 "today": today.isoformat()})
        uow.commit()
    run_supervision_checks(db, today=today)
    return book.tally


def run_supervision_checks(db: Database, *, today: date) -> tuple[list[int], list[int]]:
    """Open the findings the hub raises itself (混编混岗, policy over-quota past its deadline) and raise
    ``gov.registry.finding.overdue`` once per finding past its deadline; returns (opened ids, overdue ids)."""
    with UnitOfWork(db, actor="system:daily-checks") as uow:
        opened = raise_hub_findings(uow, today).opened
        overdue = [r.id for r in raise_overdue(uow, today)]
        uow.commit()
    return opened, overdue
