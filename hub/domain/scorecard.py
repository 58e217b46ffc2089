"""Timeliness scorecards (时效记分卡) and the annual evaluation's grading (年度评估): pure formulas over facts the service
layer gathers. docs/supervision.md states every formula; the tests check them against a small city.

The office's data discipline (三个一): an approved change is in the system within one working day of its document
(调整数据"一天内"更新), basic information is calibrated against the partners every month, and quota, headcount and
fiscally paid headcount agree (一一对应). Working days come from the calendar (``hub.domain.calendar``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from hub.domain.calendar import WorkingCalendar

OFFICE_TARGET_DAYS = 1  # a change is recorded at the latest on the first working day after its document's date
DEPARTURE_TARGET_DAYS = 5  # a departure is recorded within five working days of its effective date / the evidence
MISMATCH_STALE_DAYS = 30  # an open mismatch older than this costs points
MISMATCH_PENALTY = 3.0  # points per stale open mismatch

# Weights of the unit score (sum 100). An indicator with nothing to measure (no change, no departure) earns its
# full weight: nothing was late.
WEIGHTS = {
    "office": 20,  # the office's changes of the unit recorded promptly (share)
    "departures": 20,  # departures recorded promptly after their effective date (share)
    "evidence": 15,  # departures recorded promptly after the partners' evidence (share)
    "mismatches": 15,  # minus MISMATCH_PENALTY per open mismatch older than MISMATCH_STALE_DAYS
    "over_quota": 10,  # not over quota (beyond any policy allowance in force)
    "leader_over_quota": 10,  # no leader rank over its positions
    "headcount": 10,  # 三数一致 for the last compared finance period (a unit not judged earns it)
}
TIMELINESS = ("office", "departures", "evidence")  # the rate indicators, shown by month (the trend)


def working_days_after(calendar: WorkingCalendar, start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``: 0 when recorded on ``start`` (or before it, a change
    recorded ahead of its date), 1 on the next working day. A weekend or holiday in between does not count."""
    n, d = 0, start + timedelta(days=1)
    while d <= end:
        n += calendar.is_working_day(d)
        d += timedelta(days=1)
    return n


def is_prompt(calendar: WorkingCalendar, start: date, recorded: date, target: int) -> bool:
    return working_days_after(calendar, start, recorded) <= target


@dataclass(frozen=True)
class Rate:
    """How many of ``total`` were on time; ``share`` in percent (None: nothing to measure)."""

    prompt: int
    total: int

    @property
    def share(self) -> float | None:
        return round(100.0 * self.prompt / self.total, 1) if self.total else None

    def points(self, weight: float) -> float:
        return weight if not self.total else weight * self.prompt / self.total

    def __add__(self, other: "Rate") -> "Rate":
        return Rate(self.prompt + other.prompt, self.total + other.total)


def rate(calendar: WorkingCalendar, pairs: Iterable[tuple[date, date]], target: int) -> Rate:
    """``pairs``: (from date, recorded date); on time when recorded within ``target`` working days after."""
    pairs = list(pairs)
    return Rate(sum(is_prompt(calendar, a, b, target) for a, b in pairs), len(pairs))


@dataclass
class UnitFacts:
    """What the scorecard judges for one unit in one year (gathered by hub.service_layer.scorecards)."""

    office_changes: list[tuple[date, date]] = field(default_factory=list)  # (document's date, recorded on)
    undated_changes: int = 0  # changes naming a document not in the register (no date to measure from)
    departures: list[tuple[date, date]] = field(default_factory=list)  # (effective date, recorded on)
    evidence: list[tuple[date, date]] = field(default_factory=list)  # (partner evidence detected on, recorded on)
    mismatch_ages: list[int] = field(default_factory=list)  # days each open mismatch has been open
    over_quota: bool = False
    leader_over_quota: bool = False
    consistent: bool | None = None  # 三数一致 in the last compared period; None: not judged or never compared


@dataclass
class UnitScore:
    office: Rate
    departures: Rate
    evidence: Rate
    open_mismatches: int
    oldest_mismatch_days: int | None
    stale_mismatches: int
    over_quota: bool
    leader_over_quota: bool
    consistent: bool | None
    undated_changes: int
    points: dict[str, float]

    @property
    def score(self) -> float:
        return round(sum(self.points.values()), 1)


def score_unit(calendar: WorkingCalendar, f: UnitFacts) -> UnitScore:
    """The unit's indicators and points (``WEIGHTS``)."""
    office = rate(calendar, f.office_changes, OFFICE_TARGET_DAYS)
    departures = rate(calendar, f.departures, DEPARTURE_TARGET_DAYS)
    evidence = rate(calendar, f.evidence, DEPARTURE_TARGET_DAYS)
    stale = sum(a > MISMATCH_STALE_DAYS for a in f.mismatch_ages)
    points = {
        "office": office.points(WEIGHTS["office"]),
        "departures": departures.points(WEIGHTS["departures"]),
        "evidence": evidence.points(WEIGHTS["evidence"]),
        "mismatches": max(WEIGHTS["mismatches"] - MISMATCH_PENALTY * stale, 0.0),
        "over_quota": 0.0 if f.over_quota else WEIGHTS["over_quota"],
        "leader_over_quota": 0.0 if f.leader_over_quota else WEIGHTS["leader_over_quota"],
        "headcount": 0.0 if f.consistent is False else WEIGHTS["headcount"],
    }
    return UnitScore(office=office, departures=departures, evidence=evidence, open_mismatches=len(f.mismatch_ages),
                     oldest_mismatch_days=max(f.mismatch_ages) if f.mismatch_ages else None, stale_mismatches=stale,
                     over_quota=f.over_quota, leader_over_quota=f.leader_over_quota, consistent=f.consistent,
                     undated_changes=f.undated_changes, points={k: round(v, 1) for k, v in points.items()})


def timeliness_score(office: Rate, departures: Rate, evidence: Rate) -> float:
    """The three rate indicators alone, scaled to 100 (the monthly trend): their weighted points over their weights."""
    w = sum(WEIGHTS[k] for k in TIMELINESS)
    got = office.points(WEIGHTS["office"]) + departures.points(WEIGHTS["departures"]) + evidence.points(WEIGHTS["evidence"])
    return round(100.0 * got / w, 1)


def rank(scores: dict[str, float]) -> dict[str, int]:
    """Competition ranking (1, 2, 2, 4): higher score first; equal scores share a rank."""
    ordered = sorted(scores.values(), reverse=True)
    return {k: ordered.index(v) + 1 for k, v in scores.items()}


def months_between(period: str, today: date) -> int:
    """Whole months from a period ``YYYY-MM`` to today's month (this month: 0)."""
    y, m = int(period[:4]), int(period[5:7])
    return (today.year * 12 + today.month) - (y * 12 + m)


# --- Annual evaluation (年度评估) ---------------------------------------------------------------------------------

# The fixed indicators (固定指标) the hub computes, with their maximum points; the office adds dynamic ones per year.
FIXED_INDICATORS = {
    "OVER_QUOTA": ("超编进人", 15),  # full points when no category is over quota (beyond a policy allowance in force)
    "LEADER_OVER_QUOTA": ("超职数配备", 10),  # full points when no leader rank is over its positions
    "MIXED_CATEGORY": ("混编混岗", 10),  # minus 2.5 per open MIXED_CATEGORY mismatch of the unit
    "TIMELINESS": ("数据更新时效", 15),  # the scorecard's score × 15 / 100
    "UNRESOLVED_FINDINGS": ("问题整改", 10),  # minus 2.5 per supervision finding of the unit not closed (销号)
}
PER_CASE_PENALTY = 2.5
GRADES = ((90.0, "EXCELLENT", "优秀"), (75.0, "GOOD", "良好"), (60.0, "PASS", "合格"), (0.0, "FAIL", "不合格"))
GRADE_ZH = {g: zh for _, g, zh in GRADES}


def fixed_points(*, over_quota: bool, leader_over_quota: bool, mixed: int, timeliness: float,
                 unresolved_findings: int | None) -> dict[str, float]:
    """Points of each fixed indicator (``FIXED_INDICATORS``). ``unresolved_findings`` None: findings are not tracked
    (full points)."""
    return {
        "OVER_QUOTA": 0.0 if over_quota else 15.0,
        "LEADER_OVER_QUOTA": 0.0 if leader_over_quota else 10.0,
        "MIXED_CATEGORY": max(10.0 - PER_CASE_PENALTY * mixed, 0.0),
        "TIMELINESS": round(15.0 * timeliness / 100.0, 1),
        "UNRESOLVED_FINDINGS": max(10.0 - PER_CASE_PENALTY * (unresolved_findings or 0), 0.0),
    }


def grade(score: float, max_score: float) -> str:
    """优秀 from 90 % of the maximum, 良好 from 75 %, 合格 from 60 %, else 不合格."""
    pct = 100.0 * score / max_score if max_score else 0.0
    return next(g for floor, g, _ in GRADES if pct >= floor)


def tenths(points: float) -> int:
    """Points as stored (tenths of a point, exact on every database)."""
    return int(round(points * 10))
