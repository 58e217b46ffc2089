"""Timeliness scorecards (时效记分卡): SQL gathers the facts per unit from the registry and the operation log, the
domain (``hub.domain.scorecard``) judges them. One card per unit, one per district office (the units of its region),
the calibration of each partner source, and the trend by month. docs/supervision.md, "Scorecards (记分卡)"."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.adapters.orm import (
    ComparisonRow,
    DocumentRow,
    LeaderQuotaVersionRow,
    MismatchRow,
    OperationLogRow,
    QuotaVersionRow,
    UnitRow,
    UnitVersionRow,
)
from hub.domain import scorecard as rules
from hub.domain.calendar import OFFICE_TIME, WorkingCalendar, office_date
from hub.domain.reconciliation import FINANCE, SOURCES
from hub.domain.registry import headcount_consistent, headcount_judged
from hub.service_layer.establishment import establishments

# Operation-log actions that record a change resting on a document (the office's own changes of the registry)
OFFICE_ACTIONS = ("unit.create", "unit.update", "unit.abolish", "quota.set", "leader_quota.set")
DEPARTURE_REASONS = ("RETIREMENT", "DEATH", "TRANSFER_OUT")  # 退休, 死亡, 调出
# Partner evidence that a person has left: police report a death or cancellation, HR a retirement or a departure
EVIDENCE_KINDS = ("DECEASED_ACTIVE", "HR_STATUS_CONFLICT")


@dataclass
class UnitCard:
    code: str
    name: str
    region_code: str
    score: rules.UnitScore
    rank_in_region: int = 0


@dataclass
class OfficeCard:
    region_code: str
    units: int
    office: rules.Rate
    undated_changes: int
    average_unit_score: float | None
    rank: int = 0


@dataclass
class SourceCalibration:
    source: str
    last_clean_period: str | None  # the latest period a comparison of the source SUCCEEDED for
    months_since: int | None


@dataclass
class TrendMonth:
    month: str
    region_code: str
    office: rules.Rate
    departures: rules.Rate
    evidence: rules.Rate

    @property
    def timeliness(self) -> float:
        return rules.timeliness_score(self.office, self.departures, self.evidence)


@dataclass
class Scorecards:
    year: int
    today: date
    units: list[UnitCard] = field(default_factory=list)
    offices: list[OfficeCard] = field(default_factory=list)
    sources: list[SourceCalibration] = field(default_factory=list)
    trend: list[TrendMonth] = field(default_factory=list)
    compared_period: str | None = None  # the finance period 三数一致 was judged for


def _utc(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=OFFICE_TIME).astimezone(timezone.utc)


def _log_time(at: str) -> datetime:
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _log_key(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _year_log(session: Session, year: int, actions, *, prefix: bool = False):
    """Operation-log entries of ``actions`` recorded in ``year`` (office dates)."""
    lo, hi = _log_key(_utc(date(year, 1, 1))), _log_key(_utc(date(year + 1, 1, 1)))
    q = select(OperationLogRow.at, OperationLogRow.action, OperationLogRow.entity_id, OperationLogRow.after).where(
        OperationLogRow.at >= lo, OperationLogRow.at < hi)
    q = q.where(OperationLogRow.action.in_(actions))
    return session.execute(q.order_by(OperationLogRow.seq)).all()


def office_changes(session: Session, year: int) -> dict[str, list[tuple[date | None, date, str]]]:
    """Per unit, the office's changes recorded in ``year``: (document's date or None when the number is not in the
    register, office date recorded, document number). A change is a unit, quota or leader-quota version naming a
    document, recorded by one of ``OFFICE_ACTIONS`` (its operation-log entry carries the same time): versions
    written by a bulk import are not the office's daily work and do not count."""
    logged = {at for at, *_ in _year_log(session, year, OFFICE_ACTIONS)}
    if not logged:
        return {}
    lo, hi = _utc(date(year, 1, 1)), _utc(date(year + 1, 1, 1))
    versions = []
    for model in (UnitVersionRow, QuotaVersionRow, LeaderQuotaVersionRow):
        versions += session.execute(select(model.unit_code, model.document_number, model.recorded_at).where(
            model.document_number.is_not(None), model.recorded_at >= lo, model.recorded_at < hi)).all()
    numbers = {n for _, n, _ in versions}
    issued = dict(session.execute(select(DocumentRow.number, DocumentRow.issued_on)
                                  .where(DocumentRow.number.in_(numbers))).all()) if numbers else {}
    out: dict[str, list] = defaultdict(list)
    for unit, number, at in versions:
        if _log_key(at) in logged:
            out[unit].append((issued.get(number), office_date(at), number))
    return out


def departures(session: Session, year: int) -> dict[str, list[tuple[date, date, date | None]]]:
    """Per unit, departures (``DEPARTURE_REASONS``) whose end was recorded in ``year`` (operation log ``posting.end``):
    (effective date, office date recorded, date of the first partner evidence still open then, or None)."""
    ends = []
    for at, _, _, after in _year_log(session, year, ("posting.end",)):
        d = json.loads(after or "{}")
        if d.get("end_reason") in DEPARTURE_REASONS:
            ends.append((d["unit_code"], d["id_number"], date.fromisoformat(d["end_date"]), _log_time(at)))
    if not ends:
        return {}
    people = sorted({e[1] for e in ends})
    evidence = defaultdict(list)
    for i in range(0, len(people), 5000):
        for subject, detected, resolved in session.execute(
                select(MismatchRow.subject, MismatchRow.detected_at, MismatchRow.resolved_at).where(
                    MismatchRow.kind.in_(EVIDENCE_KINDS), MismatchRow.subject.in_(people[i:i + 5000]))):
            evidence[subject].append((_aware(detected), _aware(resolved) if resolved else None))
    out: dict[str, list] = defaultdict(list)
    for unit, idn, end, at in ends:
        # the evidence in hand when the end was recorded: detected before it, not resolved before it
        seen = [d for d, r in evidence.get(idn, ()) if d <= at and (r is None or r >= at)]
        out[unit].append((end, office_date(at), office_date(min(seen)) if seen else None))
    return out


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def calibration(session: Session, today: date) -> list[SourceCalibration]:
    """Per partner source: the latest period a comparison SUCCEEDED for and the months since (三个一: monthly)."""
    last = dict(session.execute(select(ComparisonRow.source, func.max(ComparisonRow.period))
                                .where(ComparisonRow.status == "SUCCEEDED").group_by(ComparisonRow.source)).all())
    return [SourceCalibration(s, last.get(s), rules.months_between(last[s], today) if last.get(s) else None)
            for s in SOURCES]


def _last_finance_period(session: Session) -> str | None:
    return session.scalar(select(func.max(ComparisonRow.period)).where(ComparisonRow.source == FINANCE,
                                                                     ComparisonRow.status == "SUCCEEDED"))


def compute(session: Session, *, year: int, today: date, calendar: WorkingCalendar, region: str | None = None,
            unit_code: str | None = None) -> Scorecards:
    """Every active unit's card (of ``region`` / only ``unit_code`` when given, abolished or not), the district offices' cards, the
    sources' calibration and the monthly trend for ``year``. Status indicators (open mismatches, over quota,
    三数一致) are today's."""
    from hub.service_layer.comparison.absences import headcount_facts  # the facts 三数一致 judges, gathered in one place

    q = select(UnitRow)
    if region:
        q = q.where(UnitRow.region_code == region)
    if unit_code:
        q = q.where(UnitRow.code == unit_code)
    # an abolished unit has no card, but the office's changes of it (its abolition too) still count for its district
    # office and the trend; asked for by its code (the evaluation's timeliness), it has its card
    every = list(session.execute(q.order_by(UnitRow.code)).scalars())
    units = [u for u in every if u.status == "ACTIVE" or unit_code]
    codes = {u.code for u in units}
    changes = office_changes(session, year)
    ends = departures(session, year)
    ages = defaultdict(list)
    for unit, detected in session.execute(select(MismatchRow.unit_code, MismatchRow.detected_at)
                                          .where(MismatchRow.status == "OPEN", MismatchRow.unit_code != "")):
        if unit in codes:
            ages[unit].append((today - office_date(detected)).days)
    est = establishments(session, list(codes), today=today)
    period = _last_finance_period(session)
    judged = [u for u in units if headcount_judged(u.funding)]
    facts = headcount_facts(session, judged, period, today) if period and judged else {}
    out = Scorecards(year=year, today=today, sources=calibration(session, today), compared_period=period)
    for u in units:
        e = est[u.code]
        f = rules.UnitFacts(
            office_changes=[(d, r) for d, r, _ in changes.get(u.code, ()) if d is not None],
            undated_changes=sum(d is None for d, _, _ in changes.get(u.code, ())),
            departures=[(end, r) for end, r, _ in ends.get(u.code, ())],
            evidence=[(ev, r) for _, r, ev in ends.get(u.code, ()) if ev is not None],
            mismatch_ages=ages.get(u.code, []),
            over_quota=bool(e.over_quota()), leader_over_quota=bool(e.leadership_over_quota()),
            consistent=headcount_consistent(*facts[u.code][:3]) if u.code in facts else None)
        out.units.append(UnitCard(u.code, u.name, u.region_code, rules.score_unit(calendar, f)))
    by_region = defaultdict(list)
    for c in out.units:
        by_region[c.region_code].append(c)
    gone: dict[str, list] = defaultdict(lambda: [rules.Rate(0, 0), 0])  # per region: abolished units' changes
    for u in every:
        if u.code not in codes:
            rows = changes.get(u.code, ())
            g = gone[u.region_code]
            g[0] += rules.rate(calendar, [(d, r) for d, r, _ in rows if d is not None], rules.OFFICE_TARGET_DAYS)
            g[1] += sum(d is None for d, _, _ in rows)
    for region_code, cards in sorted(by_region.items()):
        ranks = rules.rank({c.code: c.score.score for c in cards})
        for c in cards:
            c.rank_in_region = ranks[c.code]
        abolished, undated = gone.get(region_code, (rules.Rate(0, 0), 0))
        office = sum((c.score.office for c in cards), abolished)
        out.offices.append(OfficeCard(region_code, len(cards), office,
                                      undated + sum(c.score.undated_changes for c in cards),
                                      round(sum(c.score.score for c in cards) / len(cards), 1)))
    office_ranks = rules.rank({o.region_code: o.office.points(100) for o in out.offices})
    for o in out.offices:
        o.rank = office_ranks[o.region_code]
    out.units.sort(key=lambda c: (c.region_code, c.rank_in_region, c.code))
    out.offices.sort(key=lambda o: (o.rank, o.region_code))
    out.trend = _trend(calendar, every, changes, ends, year)
    return out


def _trend(calendar, units, changes, ends, year) -> list[TrendMonth]:
    """Per district and month (of the recording): the three rate indicators."""
    region_of = {u.code: u.region_code for u in units}
    cells: dict[tuple[str, str], list[list]] = defaultdict(lambda: [[], [], []])
    for unit, rows in changes.items():
        if unit in region_of:
            for d, r, _ in rows:
                if d is not None:
                    cells[(r.strftime("%Y-%m"), region_of[unit])][0].append((d, r))
    for unit, rows in ends.items():
        if unit in region_of:
            for end, r, ev in rows:
                cell = cells[(r.strftime("%Y-%m"), region_of[unit])]
                cell[1].append((end, r))
                if ev is not None:
                    cell[2].append((ev, r))
    return [TrendMonth(month, region,
                       rules.rate(calendar, c[0], rules.OFFICE_TARGET_DAYS),
                       rules.rate(calendar, c[1], rules.DEPARTURE_TARGET_DAYS),
                       rules.rate(calendar, c[2], rules.DEPARTURE_TARGET_DAYS))
            for (month, region), c in sorted(cells.items()) if month.startswith(str(year))]


def unit_timeliness(session: Session, *, unit_code: str, year: int, today: date, calendar: WorkingCalendar) -> float:
    """The unit's scorecard score for ``year`` (0–100; the annual evaluation's timeliness indicator)."""
    cards = compute(session, year=year, today=today, calendar=calendar, unit_code=unit_code).units
    return cards[0].score.score if cards else 0.0
