"""`hub export roster`: the list the registry expects a department to pay or insure (who, by which unit)."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters import csv_safe
from hub.adapters.database import Database
from hub.adapters.orm import PersonRow, PostingRow, UnitRow
from hub.domain.reconciliation import FINANCE, INSURANCE
from hub.domain.registry import FISCAL_FUNDING
from hub.service_layer.comparison.sources import PERIOD


def export_roster(db: Database, *, period: str, for_: str, out) -> int:
    """Write the registry's roster for a partner: who should be paid (finance) or insured (insurance) by which unit."""
    if not PERIOD.match(period or ""):
        raise ValueError(f"period {period!r} must be YYYY-MM")
    if for_ not in (FINANCE, INSURANCE):
        raise ValueError("--for must be finance or insurance")
    w = csv_safe.writer(out)
    n = 0
    with db.read_session() as s:
        q = (select(PostingRow.id_number, PersonRow.name, PostingRow.unit_code, UnitRow.name, UnitRow.funding, PostingRow.category)
             .join(PersonRow, PersonRow.id_number == PostingRow.id_number).join(UnitRow, UnitRow.code == PostingRow.unit_code)
             .where(PostingRow.active).order_by(PostingRow.unit_code, PostingRow.id_number))
        if for_ == FINANCE:
            q = q.where(UnitRow.funding.in_(FISCAL_FUNDING))
            w.writerow(["id_number", "name", "unit_code", "unit_name", "funding", "category", "period"])
        else:
            w.writerow(["id_number", "name", "employer_code", "unit_name", "funding", "category", "period"])
        for row in s.execute(q.execution_options(yield_per=5000)):
            w.writerow([*row, period])
            n += 1
    return n
