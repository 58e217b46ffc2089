"""人员增减 Staff changes in a month: hires by route, departures by reason, transfers in and out, per unit (with
its district)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import and_, select

from hub.adapters.orm import OnboardingRow, PostingRow
from hub.reports.base import Column, Param, Report

TRANSFER_OUT = "TRANSFER_OUT"


def _month(period: str) -> tuple[date, date]:
    y, m = map(int, period.split("-"))
    return date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)


def query(ctx):
    start, end = _month(ctx.params["period"])
    units = {u.code: u for u in ctx.unit_rows(active_only=False, region=ctx.params["region"])}
    started = ctx.session.execute(
        select(PostingRow.id, PostingRow.id_number, PostingRow.unit_code, PostingRow.start_date, OnboardingRow.route)
        .outerjoin(OnboardingRow, OnboardingRow.posting_id == PostingRow.id)
        .where(PostingRow.start_date >= start, PostingRow.start_date < end)).all()
    ended = ctx.session.execute(
        select(PostingRow.id, PostingRow.id_number, PostingRow.unit_code, PostingRow.end_date, PostingRow.end_reason)
        .where(PostingRow.end_date.is_not(None), and_(PostingRow.end_date >= start, PostingRow.end_date < end))).all()
    # a transfer (调动) ends one posting TRANSFER_OUT and starts the next the same day
    moved = {(idn, on) for _, idn, _, on, reason in ended if reason == TRANSFER_OUT}
    arrived = {(idn, on) for _, idn, _, on, _ in started}
    counts: Counter = Counter()
    for _, idn, unit, on, route in started:
        if (idn, on) in moved:
            counts[(unit, "transfer_in", "TRANSFER")] += 1
        else:
            counts[(unit, "hire", route or "DIRECT")] += 1
    for _, idn, unit, on, reason in ended:
        if reason == TRANSFER_OUT and (idn, on) in arrived:
            counts[(unit, "transfer_out", "TRANSFER")] += 1
        else:
            counts[(unit, "departure", reason or "OTHER")] += 1
    order = {"hire": 0, "transfer_in": 1, "transfer_out": 2, "departure": 3}
    rows = [[units[u].region_code, u, units[u].name, change, detail, n]
            for (u, change, detail), n in counts.items() if u in units]
    rows.sort(key=lambda r: (r[0], r[1], order[r[3]], r[4]))
    return rows


REPORT = Report(
    name="staff-changes",
    title="人员增减情况 Staff changes",
    purpose="For a month: hires by recruitment route (DIRECT: entered without an onboarding application), departures "
            "by reason, transfers in and out, per unit and district.",
    params=(Param("period", "period", "The month, YYYY-MM.", required=True),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("region", "区划"), Column("unit", "单位代码"), Column("unit_name", "单位名称"),
             Column("change", "增减类型"), Column("detail", "方式/原因"), Column("count", "人数")),
    query=query,
)
