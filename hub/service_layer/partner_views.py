"""The partners' latest views — what a row of each is and how a batch's rows are merged and written.

A connector package maps each of its department's events to one ``PartnerRow`` (connectors/<department>/rows.py);
this module owns the views' own rules, whoever sends the rows:

* identity, employment: one row per person, the last one applied;
* payroll: one line per (person, paying unit, period), the last one applied; a row may ``keep`` columns of the line
  already there (a stop keeps the paid line's name and amount);
* insurance: one record per person, the newer period's (``hub.domain.reconciliation.supersedes``: the same rule as
  the monthly comparison), against the batch's earlier rows and the stored record alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from hub.adapters.orm import PartnerEmploymentRow, PartnerIdentityRow, PartnerInsuranceRow, PartnerPayrollRow
from hub.domain.reconciliation import supersedes

IDENTITY, EMPLOYMENT, PAYROLL, INSURANCE = "identity", "employment", "payroll", "insurance"


@dataclass(frozen=True, slots=True)
class PartnerRow:
    """One event's row of a partner view: its columns without ``event_id`` and ``updated_at`` (set when applied)."""

    view: str  # IDENTITY | EMPLOYMENT | PAYROLL | INSURANCE
    values: dict
    keep: tuple[str, ...] = ()  # columns whose value already in the view (this batch's or stored) stays


@dataclass(frozen=True)
class View:
    table: Table
    key: tuple[str, ...]
    latest_by: str | None = None  # one row per key: the one whose period supersedes (None: the last applied)


VIEWS: dict[str, View] = {
    IDENTITY: View(PartnerIdentityRow.__table__, ("id_number",)),
    EMPLOYMENT: View(PartnerEmploymentRow.__table__, ("id_number",)),
    PAYROLL: View(PartnerPayrollRow.__table__, ("id_number", "unit_code", "period")),
    INSURANCE: View(PartnerInsuranceRow.__table__, ("id_number",), latest_by="period"),
}


class BatchViews:
    """A batch's rows per view, merged by the views' rules as they are added in order."""

    def __init__(self):
        self.rows: dict[str, dict[tuple, PartnerRow]] = {name: {} for name in VIEWS}

    def add(self, row: PartnerRow, *, event_id: str, now) -> None:
        view = VIEWS[row.view]
        key = tuple(row.values[k] for k in view.key)
        prev = self.rows[row.view].get(key)
        if prev is not None and view.latest_by and not supersedes(row.values[view.latest_by], prev.values[view.latest_by]):
            return  # an older period's record arriving after a newer one in the same batch stays out
        values = {**row.values, "event_id": event_id, "updated_at": now}
        keep = row.keep
        if prev is not None and keep:
            values.update({c: prev.values[c] for c in keep})
            keep = tuple(c for c in keep if c in prev.keep)  # still unknown when the earlier row kept it too
        self.rows[row.view][key] = PartnerRow(row.view, values, keep)

    def of(self, view: str) -> list[PartnerRow]:
        return list(self.rows[view].values())

    def latest_keys(self) -> dict[str, list]:
        """Per view judged by ``latest_by``: the keys whose stored record the batch must be compared with."""
        return {name: sorted(self.rows[name]) for name, v in VIEWS.items() if v.latest_by and self.rows[name]}

    def writes(self, stored_latest: dict[str, dict[tuple, str]]) -> list[tuple[View, list[dict], tuple[str, ...]]]:
        """(view, rows, kept columns) to upsert: rows grouped by what they keep; a view judged by ``latest_by``
        only with the rows that supersede the stored record (``stored_latest``: view -> key -> stored value)."""
        out = []
        for name, view in VIEWS.items():
            groups: dict[tuple[str, ...], list[dict]] = {}
            stored = stored_latest.get(name, {})
            for key, row in self.rows[name].items():
                if view.latest_by and not supersedes(row.values[view.latest_by], stored.get(key)):
                    continue
                groups.setdefault(row.keep, []).append(row.values)
            out.extend((view, rows, keep) for keep, rows in groups.items())
        return out
