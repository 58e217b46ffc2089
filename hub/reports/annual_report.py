"""年报 The annual statistical report: the establishment table as of 31 December of a year, read from history (as-of
reads, hub.adapters.history), so it comes out the same whenever it is run. Its XLSX is one workbook with the staff
table (``annual-staff``) as a second sheet."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, or_, select

from hub.adapters import history
from hub.adapters.orm import LeaderQuotaVersionRow, PostingRow, QuotaVersionRow, UnitVersionRow
from hub.domain.vocabulary import QuotaCategory
from hub.reports.base import Column, Param, Report

CATEGORIES = tuple(c.value for c in QuotaCategory)
YEAR = Param("year", "int", "The year; the tables are as of 31 December.", required=True, min=2000, max=2100)


def posting_on(on: date):
    """The conditions of a posting running on ``on`` (as ``history.postings_on``)."""
    return (PostingRow.start_date <= on, or_(PostingRow.end_date.is_(None), PostingRow.end_date > on))


def units_on(ctx, on: date) -> dict:
    """The units in force and not abolished on ``on``, as they were then, in the caller's scope."""
    out = {}
    for v in history.versions_as_of(ctx.session, UnitVersionRow, filters=[], on=on):
        if v.status != "ACTIVE":
            continue
        if any(r and v.region_code != r for r in (ctx.region, ctx.params.get("region"))):
            continue
        out[v.unit_code] = v
    return out


def query(ctx):
    on = date(ctx.params["year"], 12, 31)
    units = units_on(ctx, on)
    approved: dict[str, Counter] = {code: Counter() for code in units}
    for v in history.versions_as_of(ctx.session, QuotaVersionRow, filters=[], on=on):
        if v.unit_code in approved:
            approved[v.unit_code][v.category] = v.approved
    leader_positions = Counter()
    for v in history.versions_as_of(ctx.session, LeaderQuotaVersionRow, filters=[], on=on):
        leader_positions[v.unit_code] += v.approved
    headcount, leaders = Counter(), Counter()
    for code, n, led in ctx.session.execute(
            select(PostingRow.unit_code, func.count(), func.count(PostingRow.leader_rank))
            .where(*posting_on(on)).group_by(PostingRow.unit_code)):
        headcount[code], leaders[code] = n, led
    rows = []
    for code in sorted(units):
        u, a = units[code], approved[code]
        total = sum(a.values())
        rows.append([code, u.name, u.kind, u.level, u.region_code, u.funding, *(a.get(c, 0) for c in CATEGORIES),
                     total, headcount[code], total - headcount[code], leader_positions[code], leaders[code]])
    return rows


REPORT = Report(
    name="annual-report",
    title="机构编制年报 Annual statistical report",
    purpose="Every unit as of 31 December of the year (from history): kind, level, district, funding, approved quota "
            "per category, headcount, vacancies, leader positions and leaders in post; XLSX adds the staff table.",
    params=(YEAR, Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("kind", "机构类型"), Column("level", "层级"),
             Column("region", "区划"), Column("funding", "经费形式"), Column("administrative", "行政编制"),
             Column("political_legal", "政法专项编制"), Column("public_institution", "事业编制"), Column("worker", "工勤编制"),
             Column("approved", "编制合计"), Column("headcount", "实有人数"), Column("vacant", "空编数"),
             Column("leader_positions", "领导职数"), Column("leaders", "实配领导")),
    query=query,
    workbook=("annual-staff",),
)
