"""职级结构 Rank structure by district, from the rank HR's employment events carry (partner_employment.rank, kept as
HR sends it). Issue 19 brings the rank into the registry; until then this is HR's word."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func

from hub.adapters.orm import PartnerEmploymentRow, PostingRow, UnitRow
from hub.reports.base import Column, Param, Report


def query(ctx):
    rank = func.trim(func.coalesce(PartnerEmploymentRow.rank, ""))
    q = (ctx.people_select(UnitRow.region_code, rank, func.count(), region=ctx.params["region"])
         .outerjoin(PartnerEmploymentRow, PartnerEmploymentRow.id_number == PostingRow.id_number)
         .group_by(UnitRow.region_code, rank))
    counts = Counter()
    for region, r, n in ctx.session.execute(q):
        counts[(region, r or "未报送 (none)")] += n
    return [[region, r, n] for (region, r), n in sorted(counts.items())]


REPORT = Report(
    name="rank-structure",
    title="职级结构统计 Rank structure",
    purpose="Persons in post by district and the rank (职级) HR last reported for them; none reported: 未报送.",
    params=(Param("region", "region", "Only this six-digit division code."),),
    columns=(Column("region", "区划"), Column("rank", "职级"), Column("count", "人数")),
    query=query,
)
