"""Supervision reads and steps of issue 17 part B (contract section 11, hub additions in docs/contract.md): timeliness
scorecards (``scorecards``), the annual evaluation (``evaluationIndicators``, ``evaluation``, ``evaluations``,
``defineEvaluationIndicator``, ``scoreEvaluation``, ``decideEvaluation``) and the over-quota absorption ledger
(``absorptionLedger``, ``setAbsorptionPlan``). Thin: the caller's scope here, the work in the service layer."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Union

import strawberry
from sqlalchemy import select

from hub.adapters.orm import EvaluationIndicatorRow, EvaluationResultRow, UnitRow
from hub.api.context import Forbidden
from hub.api.mutations import InvalidIdNumber, InvalidInput, NotAllowed, UnitNotFound
from hub.api.types import Ctx, QuotaCategory, Role
from hub.api.workflows import ApplicationNotFound, WrongState, _act, caller
from hub.domain import scorecard as rules
from hub.domain.calendar import office_date, office_today
from hub.domain.vocabulary import Role as R
from hub.service_layer import absorption, evaluation, scorecards

SCORECARD_READERS = frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.UNIT})
LEDGER_READERS = frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.UNIT})


@strawberry.enum(description="评估等次: 优秀 ≥ 90 % of the maximum, 良好 ≥ 75 %, 合格 ≥ 60 %, 不合格 below")
class EvaluationGrade(Enum):
    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    PASS = "PASS"
    FAIL = "FAIL"


@strawberry.type(description="Points one scorecard indicator earned of its weight (docs/supervision.md).")
class ScorePoints:
    indicator: str
    points: float
    weight: int


@strawberry.type(description="A unit's timeliness scorecard (时效记分卡) for a year; status indicators are today's.")
class UnitScorecard:
    unit_code: str
    unit_name: str
    region_code: str
    rank_in_region: int = strawberry.field(description="1 = best in its district (equal scores share a rank)")
    score: float = strawberry.field(description="0–100, the sum of `points`")
    office_changes: int = strawberry.field(description="the office's changes of the unit recorded in the year, with a registered document")
    office_prompt: int = strawberry.field(description="of them, recorded within one working day of the document's date")
    undated_changes: int = strawberry.field(description="changes naming a document not in the register (not measured)")
    departures: int = strawberry.field(description="retirements, deaths and transfers out recorded in the year")
    departures_prompt: int = strawberry.field(description="of them, recorded within five working days of the effective date")
    evidence: int = strawberry.field(description="departures a partner reported first (police: death; HR: retirement, leaving)")
    evidence_prompt: int = strawberry.field(description="of them, recorded within five working days of the partner's report")
    open_mismatches: int
    oldest_mismatch_days: int | None
    stale_mismatches: int = strawberry.field(description="open mismatches older than 30 days")
    over_quota: bool
    leader_over_quota: bool
    consistent: bool | None = strawberry.field(description="三数一致 in the last compared finance period; null: not judged or never compared")
    points: list[ScorePoints]

    @classmethod
    def of(cls, c: scorecards.UnitCard) -> "UnitScorecard":
        s = c.score
        return cls(unit_code=c.code, unit_name=c.name, region_code=c.region_code, rank_in_region=c.rank_in_region,
                   score=s.score, office_changes=s.office.total, office_prompt=s.office.prompt,
                   undated_changes=s.undated_changes, departures=s.departures.total, departures_prompt=s.departures.prompt,
                   evidence=s.evidence.total, evidence_prompt=s.evidence.prompt, open_mismatches=s.open_mismatches,
                   oldest_mismatch_days=s.oldest_mismatch_days, stale_mismatches=s.stale_mismatches,
                   over_quota=s.over_quota, leader_over_quota=s.leader_over_quota, consistent=s.consistent,
                   points=[ScorePoints(indicator=k, points=v, weight=rules.WEIGHTS[k]) for k, v in s.points.items()])


@strawberry.type(description="A district office's own timeliness: changes of its region's units recorded in time.")
class OfficeScorecard:
    region_code: str
    rank: int = strawberry.field(description="1 = the largest share of changes recorded in time")
    units: int
    office_changes: int
    office_prompt: int
    office_prompt_share: float | None = strawberry.field(description="percent; null when nothing was recorded")
    undated_changes: int
    average_unit_score: float | None


@strawberry.type(description="A partner source's calibration (基本信息一月内校准): its last clean comparison.")
class SourceCalibration:
    source: str
    last_clean_period: str | None = strawberry.field(description="the latest period whose comparison SUCCEEDED")
    months_since: int | None


@strawberry.type(description="One district's timeliness in one month of the year (the trend).")
class ScorecardMonth:
    month: str
    region_code: str
    office_changes: int
    office_prompt: int
    departures: int
    departures_prompt: int
    evidence: int
    evidence_prompt: int
    timeliness: float = strawberry.field(description="the three rates' points over their weights, 0–100")


@strawberry.type(description="Timeliness scorecards (时效记分卡) of a year: units, district offices, sources, trend.")
class Scorecards:
    year: int
    generated_on: date
    compared_period: str | None = strawberry.field(description="the finance period 三数一致 was judged for")
    units: list[UnitScorecard]
    offices: list[OfficeScorecard]
    sources: list[SourceCalibration]
    trend: list[ScorecardMonth]


@strawberry.type(description="A dynamic indicator (动态指标) the office set for a year.")
class EvaluationIndicator:
    id: strawberry.ID
    year: int
    code: str
    name: str
    max_score: int
    scored_by: Role = strawberry.field(description="who scores it besides the office: ADMIN, ORGANIZATION or FINANCE")

    @classmethod
    def from_row(cls, r: EvaluationIndicatorRow) -> "EvaluationIndicator":
        return cls(id=strawberry.ID(str(r.id)), year=r.year, code=r.code, name=r.name, max_score=r.max_score,
                   scored_by=R(r.scored_by))


@strawberry.type(description="One indicator of a unit's evaluation: FIXED (computed by the hub) or DYNAMIC (scored).")
class EvaluationLine:
    code: str
    name: str
    kind: str
    max_score: float
    score: float | None = strawberry.field(description="null: a dynamic indicator not scored yet")
    comment: str | None
    scored_by: str | None


@strawberry.type(description="A unit's annual evaluation (年度评估): decided, or a preview until the office decides it.")
class Evaluation:
    id: strawberry.ID | None = strawberry.field(description="the result's id (cited by a hiring-plan cut); null: preview")
    unit_code: str
    year: int
    decided: bool
    score: float
    max_score: float
    grade: EvaluationGrade
    grade_label: str = strawberry.field(description="优秀, 良好, 合格 or 不合格")
    comment: str | None
    decided_at: datetime | None
    indicators: list[EvaluationLine]

    @classmethod
    def from_row(cls, r: EvaluationResultRow) -> "Evaluation":
        lines = [EvaluationLine(**{k: i[k] for k in ("code", "name", "kind", "max_score", "score", "comment", "scored_by")})
                 for i in json.loads(r.details)]
        return cls(id=strawberry.ID(str(r.id)), unit_code=r.unit_code, year=r.year, decided=True, score=r.score / 10,
                   max_score=r.max_score / 10, grade=EvaluationGrade(r.grade), grade_label=rules.GRADE_ZH[r.grade],
                   comment=r.comment, decided_at=r.decided_at, indicators=lines)

    @classmethod
    def preview(cls, unit_code: str, year: int, indicators: list[evaluation.Indicator]) -> "Evaluation":
        total = round(sum(i.score or 0 for i in indicators), 1)
        maximum = float(sum(i.max_score for i in indicators))
        g = rules.grade(total, maximum)
        return cls(id=None, unit_code=unit_code, year=year, decided=False, score=total, max_score=maximum,
                   grade=EvaluationGrade(g), grade_label=rules.GRADE_ZH[g], comment=None, decided_at=None,
                   indicators=[EvaluationLine(code=i.code, name=i.name, kind=i.kind, max_score=i.max_score, score=i.score,
                                              comment=i.comment, scored_by=i.scored_by) for i in indicators])


@strawberry.type(description="A target of an absorption plan: by `targetDate` at most `remaining` slots above quota.")
class AbsorptionTarget:
    target_date: date
    remaining: int


@strawberry.type(description="A unit and category over quota today (超编消化台账) with its plan and progress.")
class AbsorptionEntry:
    unit_code: str
    unit_name: str
    region_code: str
    category: QuotaCategory
    approved: int
    used: int
    excess: int = strawberry.field(description="used − approved today (the one quota-use count)")
    policy_allowed: int = strawberry.field(description="of the excess, covered by a policy over-quota allowance in force")
    baseline: int | None = strawberry.field(description="the excess when the plan was entered; null: no plan")
    absorbed: int | None
    departures: int = strawberry.field(description="postings of the unit and category ended since the plan")
    planned_on: date | None
    targets: list[AbsorptionTarget]
    status: str = strawberry.field(description="NO_PLAN, ON_TRACK or BEHIND (a target date passed with more left)")
    note: str | None

    @classmethod
    def of(cls, x: absorption.LedgerEntry, today: date) -> "AbsorptionEntry":
        return cls(unit_code=x.unit_code, unit_name=x.unit_name, region_code=x.region_code,
                   category=QuotaCategory(x.category), approved=x.approved, used=x.used, excess=x.excess,
                   policy_allowed=x.policy_allowed, baseline=x.baseline, absorbed=x.absorbed, departures=x.departures,
                   planned_on=x.planned_on, targets=[AbsorptionTarget(target_date=t.target_date, remaining=t.remaining)
                                                     for t in x.targets], status=x.status(today), note=x.note)


@strawberry.input
class AbsorptionTargetInput:
    target_date: date
    remaining: int


@strawberry.type
class EvaluationIndicatorPayload:
    indicator: EvaluationIndicator


@strawberry.type
class EvaluationPayload:
    evaluation: Evaluation


@strawberry.type
class AbsorptionPlanPayload:
    entry: AbsorptionEntry


EvaluationIndicatorResult = Annotated[Union[EvaluationIndicatorPayload, NotAllowed, InvalidInput, WrongState],
                                      strawberry.union("EvaluationIndicatorResult")]
EvaluationResult = Annotated[Union[EvaluationPayload, NotAllowed, InvalidInput, InvalidIdNumber, UnitNotFound, WrongState,
                                   ApplicationNotFound], strawberry.union("EvaluationResult")]
AbsorptionPlanResult = Annotated[Union[AbsorptionPlanPayload, NotAllowed, InvalidInput, InvalidIdNumber, UnitNotFound],
                                 strawberry.union("AbsorptionPlanResult")]
_EVAL = (NotAllowed, InvalidIdNumber, UnitNotFound, WrongState, ApplicationNotFound)


def _year(year: int) -> int:
    if not 2000 <= year <= 2199:
        raise ValueError(f"year {year} is outside 2000..2199")
    return year


def _region(info: Ctx, region_code: str | None, readers: frozenset) -> str | None:
    """The region the caller reads: a district ADMIN its own (another is FORBIDDEN); others what they ask."""
    c = caller(info)
    if c.role not in readers:
        raise Forbidden(f"role {c.role.value} may not read this")
    region = region_code.strip() if region_code else None
    if region and not re.fullmatch(r"\d{6}", region):
        raise ValueError(f"regionCode {region[:20]!r} must be a six-digit division code")
    if c.role is R.ADMIN and c.region_code:
        if region and region != c.region_code:
            raise Forbidden(f"this ADMIN token reads only region {c.region_code}")
        return c.region_code
    return region


def _unit_region(info: Ctx, s, unit_code: str) -> str:
    """The unit's region, after checking the caller may read the unit's evaluation (FORBIDDEN otherwise)."""
    code = (unit_code or "").strip().upper()
    region = s.scalar(select(UnitRow.region_code).where(UnitRow.code == code))
    if region is None or not evaluation.visible(caller(info), code, region):
        raise Forbidden("no such unit in your scope")
    return region


@strawberry.type
class EvaluationQuery:
    @strawberry.field(description="Timeliness scorecards (时效记分卡) of a year (contract section 11): every unit's "
                                  "indicators, points and rank in its district, the district offices' own timeliness, "
                                  "the sources' calibration and the monthly trend. ADMIN (a district office: its region), "
                                  "AUDITOR, ORGANIZATION; a UNIT its own card (ranked in its district) only.")
    def scorecards(self, info: Ctx, year: int, region_code: str | None = None) -> Scorecards:
        region = _region(info, region_code, SCORECARD_READERS)
        _year(year)
        c = caller(info)
        today = office_today()
        with info.context.db.read_session() as s:
            if c.role is R.UNIT:
                region = s.scalar(select(UnitRow.region_code).where(UnitRow.code == c.unit_code))
            out = scorecards.compute(s, year=year, today=today, calendar=info.context.calendar, region=region)
        if c.role is R.UNIT:
            out.units, out.offices, out.trend = [u for u in out.units if u.code == c.unit_code], [], []
        return Scorecards(
            year=year, generated_on=today, compared_period=out.compared_period,
            units=[UnitScorecard.of(u) for u in out.units],
            offices=[OfficeScorecard(region_code=o.region_code, rank=o.rank, units=o.units, office_changes=o.office.total,
                                     office_prompt=o.office.prompt, office_prompt_share=o.office.share,
                                     undated_changes=o.undated_changes, average_unit_score=o.average_unit_score)
                     for o in out.offices],
            sources=[SourceCalibration(source=x.source, last_clean_period=x.last_clean_period, months_since=x.months_since)
                     for x in out.sources],
            trend=[ScorecardMonth(month=m.month, region_code=m.region_code, office_changes=m.office.total,
                                  office_prompt=m.office.prompt, departures=m.departures.total,
                                  departures_prompt=m.departures.prompt, evidence=m.evidence.total,
                                  evidence_prompt=m.evidence.prompt, timeliness=m.timeliness) for m in out.trend])

    @strawberry.field(description="The dynamic indicators (动态指标) the office set for a year (every evaluation reader).")
    def evaluation_indicators(self, info: Ctx, year: int) -> list[EvaluationIndicator]:
        if caller(info).role not in evaluation.READERS:
            raise Forbidden("this role may not read evaluations")
        _year(year)
        with info.context.db.read_session() as s:
            rows = s.execute(select(EvaluationIndicatorRow).where(EvaluationIndicatorRow.year == year)
                             .order_by(EvaluationIndicatorRow.code)).scalars().all()
        return [EvaluationIndicator.from_row(r) for r in rows]

    @strawberry.field(description="A unit's evaluation of a year: the decided result, or a preview (fixed indicators as "
                                  "computed today, dynamic scores entered so far). ADMIN (its region), AUDITOR, "
                                  "ORGANIZATION, FINANCE; a UNIT its own.")
    def evaluation(self, info: Ctx, unit_code: str, year: int) -> Evaluation:
        _year(year)
        with info.context.db.read_session() as s:
            _unit_region(info, s, unit_code)
            code = unit_code.strip().upper()
            row = s.execute(select(EvaluationResultRow).where(EvaluationResultRow.unit_code == code,
                                                              EvaluationResultRow.year == year)).scalar_one_or_none()
            if row is not None:
                return Evaluation.from_row(row)
            indicators = (evaluation.fixed_indicators(s, code, year=year, today=office_today(), calendar=info.context.calendar)
                          + evaluation.dynamic_indicators(s, code, year))
        return Evaluation.preview(code, year, indicators)

    @strawberry.field(description="The decided evaluations of a year, best first (the league table). ADMIN (its region), "
                                  "AUDITOR, ORGANIZATION, FINANCE; a UNIT its own.")
    def evaluations(self, info: Ctx, year: int, region_code: str | None = None) -> list[Evaluation]:
        region = _region(info, region_code, evaluation.READERS)
        _year(year)
        c = caller(info)
        q = select(EvaluationResultRow).where(EvaluationResultRow.year == year)
        if region:
            q = q.where(EvaluationResultRow.unit_code.in_(select(UnitRow.code).where(UnitRow.region_code == region)))
        if c.role is R.UNIT:
            q = q.where(EvaluationResultRow.unit_code == c.unit_code)
        with info.context.db.read_session() as s:
            rows = s.execute(q).scalars().all()
        rows = sorted(rows, key=lambda r: (-r.score / r.max_score if r.max_score else 0, r.unit_code))
        return [Evaluation.from_row(r) for r in rows]

    @strawberry.field(description="The over-quota absorption ledger (超编消化台账): every unit and category over quota today "
                                  "with its plan and progress. ADMIN (its region), AUDITOR, ORGANIZATION; a UNIT its own.")
    def absorption_ledger(self, info: Ctx, region_code: str | None = None) -> list[AbsorptionEntry]:
        region = _region(info, region_code, LEDGER_READERS)
        c = caller(info)
        today = office_today()
        with info.context.db.read_session() as s:
            entries = absorption.ledger(s, today=today, region=region,
                                        unit_code=c.unit_code if c.role is R.UNIT else None)
        return [AbsorptionEntry.of(x, today) for x in entries]


@strawberry.type
class EvaluationMutation:
    @strawberry.mutation(description="The city office (ADMIN without a region) sets a dynamic indicator (动态指标) of a "
                                     "year: code, name, maximum points (1–100), and who scores it besides the office.")
    def define_evaluation_indicator(self, info: Ctx, year: int, code: str, name: str, max_score: int,
                                    scored_by: Role = R.ADMIN) -> EvaluationIndicatorResult:
        return _act(info, _EVAL, lambda uow, c: EvaluationIndicatorPayload(indicator=EvaluationIndicator.from_row(
            evaluation.define_indicator(uow, c, year=year, code=code, name=name, max_score=max_score,
                                        scored_by=scored_by.value))))

    @strawberry.mutation(description="The joint evaluation group scores a unit on a dynamic indicator (again: replaces): "
                                     "ADMIN (its region) any, ORGANIZATION and FINANCE those assigned to them.")
    def score_evaluation(self, info: Ctx, indicator_id: strawberry.ID, unit_code: str, score: float,
                         comment: str | None = None) -> EvaluationResult:
        def work(uow, c):
            row = evaluation.enter_score(uow, c, indicator_id=indicator_id, unit_code=unit_code, score=score, comment=comment)
            ind = uow.session.get(EvaluationIndicatorRow, row.indicator_id)
            indicators = (evaluation.fixed_indicators(uow.session, row.unit_code, year=ind.year, today=office_date(uow.now),
                                                      calendar=info.context.calendar)
                          + evaluation.dynamic_indicators(uow.session, row.unit_code, ind.year))
            return EvaluationPayload(evaluation=Evaluation.preview(row.unit_code, ind.year, indicators))
        return _act(info, _EVAL, work)

    @strawberry.mutation(description="The office (ADMIN; a district office in its region) decides a unit's evaluation of a "
                                     "year once every dynamic indicator is scored; a hiring-plan cut may cite it.")
    def decide_evaluation(self, info: Ctx, unit_code: str, year: int, comment: str | None = None) -> EvaluationResult:
        return _act(info, _EVAL, lambda uow, c: EvaluationPayload(evaluation=Evaluation.from_row(evaluation.decide(
            uow, c, unit_code=unit_code, year=year, comment=comment, calendar=info.context.calendar))))

    @strawberry.mutation(description="The office (ADMIN; a district office in its region) enters or replaces the plan to "
                                     "absorb a unit's excess in a category (超编消化计划): target dates with the excess "
                                     "allowed to remain by each.")
    def set_absorption_plan(self, info: Ctx, unit_code: str, category: QuotaCategory, targets: list[AbsorptionTargetInput],
                            note: str | None = None) -> AbsorptionPlanResult:
        def work(uow, c):
            rows = absorption.set_plan(uow, c, unit_code=unit_code, category=category.value,
                                       targets=[(t.target_date, t.remaining) for t in targets], note=note)
            today = office_date(uow.now)
            entry = next(x for x in absorption.ledger(uow.session, today=today, unit_code=rows[0].unit_code)
                         if x.category == category.value)
            return AbsorptionPlanPayload(entry=AbsorptionEntry.of(entry, today))
        return _act(info, (NotAllowed, InvalidIdNumber, UnitNotFound), work)
