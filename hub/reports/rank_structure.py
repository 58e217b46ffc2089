"""职级结构 Rank structure by district, from the rank HR's employment events carry (partner_employment.rank, kept as
HR sends it). Issue 19 brings the rank into the registry; until then this is HR's word."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from hub.adapters.orm import PartnerEmploymentRow
from hub.reports.base import Column, Param, Report


def query(ctx):
    people = ctx.active_people(region=ctx.params["region"])
    ranks: dict[str, str | None] = {}
    ids = sorted({r[0] for r in people})
    for i in range(0, len(ids), 5000):
        ranks.update(ctx.session.execute(select(PartnerEmploymentRow.id_number, PartnerEmploymentRow.rank)
                                         .where(PartnerEmploymentRow.id_number.in_(ids[i:i + 5000]))).all())
    counts = Counter((r[7], (ranks.get(r[0]) or "").strip() or "未报送 (none)") for r in people)
    return [[region, rank, n] for (region, rank), n in sorted(counts.items())]


REPORT = Report(
    name="rank-structure",
    title="职级结构统计 Rank structure",
    purpose="Persons in post by district and the rank (职级) HR last reported for them; none reported: 未报送.",
    params=(Param("region", "region", "Only this six-digit division code."),),
    columns=(Column("region", "区划"), Column("rank", "职级"), Column("count", "人数")),
    query=query,
)
