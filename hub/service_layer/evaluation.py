"""The annual evaluation (年度评估) of every unit: fixed indicators the hub computes (over quota, leader over quota,
混编混岗, timeliness from the scorecard, unresolved supervision findings), dynamic indicators the office sets for the
year's priorities, scored by the joint evaluation group (联合评估组: the office for every indicator, ORGANIZATION and
FINANCE for those assigned to them), and a result per unit and year (score, grade, comment) that a hiring-plan cut
(减少核定用编计划) may cite. Every step is in the operation log. docs/supervision.md, "Annual evaluation (年度评估)"."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.orm import (
    EvaluationIndicatorRow,
    EvaluationResultRow,
    EvaluationScoreRow,
    FindingRow,
    MismatchRow,
    UnitRow,
)
from hub.domain import scorecard as rules
from hub.domain.calendar import WorkingCalendar, office_date
from hub.domain.identifiers import parse_unit_code
from hub.domain.registry import UnitNotFound
from hub.domain.supervision import FindingStatus
from hub.domain.vocabulary import Role
from hub.domain.workflows import TEXT_MAX, ApplicationNotFound, Caller, NotAllowed, WrongState, bounded, record_id
from hub.service_layer import scorecards
from hub.service_layer.establishment import establishments
from hub.service_layer.unit_of_work import UnitOfWork

CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
SCORERS = (Role.ADMIN, Role.ORGANIZATION, Role.FINANCE)  # the joint evaluation group
READERS = frozenset({Role.ADMIN, Role.AUDITOR, Role.ORGANIZATION, Role.FINANCE, Role.UNIT})
FIXED_MAX = sum(m for _, m in rules.FIXED_INDICATORS.values())
NAME_MAX = 200


class EvaluationNotFound(ApplicationNotFound):
    """No evaluation result / indicator with this id (or for this unit and year)."""


def _year(year: int, today_year: int) -> int:
    if not 2000 <= year <= today_year + 1:
        raise ValueError(f"an evaluation year is between 2000 and next year ({today_year + 1}), not {year}")
    return year


def _office(caller: Caller, what: str) -> None:
    if caller.role is not Role.ADMIN:
        raise NotAllowed(f"role {caller.role.value} may not {what}")


def _unit(uow: UnitOfWork, caller: Caller, unit_code: str) -> UnitRow:
    code = parse_unit_code(unit_code)
    unit = uow.session.get(UnitRow, code)
    if unit is None:
        raise UnitNotFound(f"unit {code} is not in the registry")
    if caller.role is Role.ADMIN and caller.region_code and caller.region_code != unit.region_code:
        raise NotAllowed(f"this ADMIN token acts only in region {caller.region_code}; unit {code} is in {unit.region_code}")
    return unit


def indicator_data(r: EvaluationIndicatorRow) -> dict:
    return {"indicator_id": r.id, "year": r.year, "code": r.code, "name": r.name, "max_score": r.max_score,
            "scored_by": r.scored_by}


def _decided(session: Session, year: int, unit_code: str | None = None) -> bool:
    q = select(func.count()).select_from(EvaluationResultRow).where(EvaluationResultRow.year == year)
    if unit_code:
        q = q.where(EvaluationResultRow.unit_code == unit_code)
    return bool(session.scalar(q))


EVALUATION_YEAR_LOCK = 0x4556414C  # "EVAL": with the year, PostgreSQL's two-key advisory lock of a year's evaluation


def _lock_year(uow: UnitOfWork, year: int, *, exclusive: bool) -> None:
    """Defining an indicator takes the year's lock exclusively, deciding a result takes it shared: a result is never
    decided without an indicator defined at the same moment, and no indicator is added to a year with a result
    (PostgreSQL; SQLite writers are serialised). Each side checks the other's rows after taking the lock, so it sees
    what the other committed."""
    if uow.is_postgres:
        uow.session.execute(text(f"SELECT pg_advisory_xact_lock{'' if exclusive else '_shared'}(:c, :y)"),
                            {"c": EVALUATION_YEAR_LOCK, "y": year})


def define_indicator(uow: UnitOfWork, caller: Caller, *, year: int, code: str, name: str, max_score: int,
                     scored_by: str) -> EvaluationIndicatorRow:
    """The city office (ADMIN without a region) sets a dynamic indicator (动态指标) for a year."""
    _office(caller, "define evaluation indicators")
    if caller.region_code:
        raise NotAllowed("the evaluation's indicators are set by the city office (an ADMIN token without a region)")
    year = _year(year, office_date(uow.now).year)
    code = (code or "").strip().upper()
    if not CODE.match(code):
        raise ValueError(f"an indicator code is 2–40 capital letters, digits or _, starting with a letter, not {code[:40]!r}")
    if code in rules.FIXED_INDICATORS:
        raise ValueError(f"{code} is a fixed indicator the hub computes")
    name = bounded(name, "indicator name", NAME_MAX)
    if not name:
        raise ValueError("an indicator needs a name")
    if not 1 <= max_score <= 100:
        raise ValueError(f"an indicator's maximum is 1 to 100 points, not {max_score}")
    role = Role.parse(scored_by, "scored by")
    if role not in SCORERS:
        raise ValueError(f"an indicator is scored by ADMIN, ORGANIZATION or FINANCE, not {role.value}")
    _lock_year(uow, year, exclusive=True)
    if uow.session.execute(select(EvaluationIndicatorRow.id).where(EvaluationIndicatorRow.year == year,
                                                                   EvaluationIndicatorRow.code == code)).first():
        raise ValueError(f"indicator {code} of {year} already exists")
    if _decided(uow.session, year):
        raise WrongState(f"evaluations of {year} are already decided: their indicators are fixed")
    row = EvaluationIndicatorRow(year=year, code=code, name=name, max_score=max_score, scored_by=role.value,
                                 created_by=caller.actor, created_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    uow.record("evaluation.indicator", "evaluation_indicator", str(row.id), after=indicator_data(row))
    return row


def enter_score(uow: UnitOfWork, caller: Caller, *, indicator_id, unit_code: str, score: float,
                comment: str | None) -> EvaluationScoreRow:
    """A member of the joint evaluation group scores a unit on a dynamic indicator: the office (ADMIN; a district
    office in its region) any, ORGANIZATION and FINANCE only those assigned to them. Entering again replaces it."""
    if caller.role not in SCORERS:
        raise NotAllowed(f"role {caller.role.value} may not enter evaluation scores")
    iid = record_id(indicator_id)
    ind = uow.session.get(EvaluationIndicatorRow, iid) if iid else None
    if ind is None:
        raise EvaluationNotFound(f"no evaluation indicator {str(indicator_id)[:40]!r}")
    if caller.role is not Role.ADMIN and ind.scored_by != caller.role.value:
        raise NotAllowed(f"indicator {ind.code} is scored by {ind.scored_by}, not {caller.role.value}")
    unit = _unit(uow, caller, unit_code)
    if not (score == score) or not 0 <= score <= ind.max_score:  # NaN too
        raise ValueError(f"a score on {ind.code} is between 0 and {ind.max_score}, not {score}")
    comment = bounded(comment, "comment", TEXT_MAX) or None
    # the unit's row lock, as ``decide`` takes it: a score cannot slip in while the result is being decided
    uow.session.execute(select(UnitRow.code).where(UnitRow.code == unit.code).with_for_update()).all()
    if _decided(uow.session, ind.year, unit.code):
        raise WrongState(f"the {ind.year} evaluation of unit {unit.code} is decided: its scores are final")
    row = uow.session.execute(select(EvaluationScoreRow).where(EvaluationScoreRow.indicator_id == ind.id,
                                                               EvaluationScoreRow.unit_code == unit.code)
                              .with_for_update()).scalar_one_or_none()
    before = _score_data(row, ind) if row else None
    if row is None:
        row = EvaluationScoreRow(indicator_id=ind.id, unit_code=unit.code)
        uow.session.add(row)
    row.score, row.comment = rules.tenths(score), comment
    row.entered_by, row.entered_role, row.entered_at = caller.actor, caller.role.value, uow.now
    uow.session.flush()
    uow.record("evaluation.score", "evaluation_score", f"{ind.id}/{unit.code}", before=before, after=_score_data(row, ind))
    return row


def _score_data(r: EvaluationScoreRow, ind: EvaluationIndicatorRow) -> dict:
    return {"indicator_id": ind.id, "code": ind.code, "year": ind.year, "unit_code": r.unit_code,
            "score": r.score / 10, "comment": r.comment, "entered_by": r.entered_by}


def unresolved_findings(session: Session, unit_code: str) -> int:
    """Supervision findings (审计, 巡察, the hub's own) of the unit not closed yet (销号)."""
    return session.scalar(select(func.count()).select_from(FindingRow).where(
        FindingRow.unit_code == unit_code, FindingRow.status != FindingStatus.CLOSED.value))


@dataclass
class Indicator:
    code: str
    name: str
    kind: str  # FIXED or DYNAMIC
    max_score: float
    score: float | None
    comment: str | None = None
    scored_by: str | None = None


def fixed_indicators(session: Session, unit_code: str, *, year: int, today, calendar: WorkingCalendar) -> list[Indicator]:
    """The fixed indicators as the hub computes them today."""
    e = establishments(session, [unit_code], today=today)[unit_code]
    mixed = session.scalar(select(func.count()).select_from(MismatchRow).where(
        MismatchRow.kind == "MIXED_CATEGORY", MismatchRow.status == "OPEN", MismatchRow.unit_code == unit_code))
    timeliness = scorecards.unit_timeliness(session, unit_code=unit_code, year=year, today=today, calendar=calendar)
    findings = unresolved_findings(session, unit_code)
    points = rules.fixed_points(over_quota=bool(e.over_quota()), leader_over_quota=bool(e.leadership_over_quota()),
                                mixed=mixed, timeliness=timeliness, unresolved_findings=findings)
    notes = {"OVER_QUOTA": ", ".join(f"{c} {v['used']}/{v['approved']}" for c, v in e.over_quota().items()) or None,
             "LEADER_OVER_QUOTA": ", ".join(f"{r} {v['used']}/{v['approved']}"
                                            for r, v in e.leadership_over_quota().items()) or None,
             "MIXED_CATEGORY": f"{mixed} open" if mixed else None,
             "TIMELINESS": f"scorecard {timeliness}",
             "UNRESOLVED_FINDINGS": None if findings is None else f"{findings} not closed"}
    return [Indicator(code, name, "FIXED", float(mx), points[code], notes[code])
            for code, (name, mx) in rules.FIXED_INDICATORS.items()]


def dynamic_indicators(session: Session, unit_code: str, year: int) -> list[Indicator]:
    rows = session.execute(select(EvaluationIndicatorRow, EvaluationScoreRow)
                           .outerjoin(EvaluationScoreRow, (EvaluationScoreRow.indicator_id == EvaluationIndicatorRow.id)
                                      & (EvaluationScoreRow.unit_code == unit_code))
                           .where(EvaluationIndicatorRow.year == year).order_by(EvaluationIndicatorRow.code)).all()
    return [Indicator(i.code, i.name, "DYNAMIC", float(i.max_score), s.score / 10 if s else None,
                      s.comment if s else None, i.scored_by) for i, s in rows]


def decide(uow: UnitOfWork, caller: Caller, *, unit_code: str, year: int, comment: str | None,
           calendar: WorkingCalendar) -> EvaluationResultRow:
    """The office (ADMIN; a district office in its region) decides the unit's result for the year once every dynamic
    indicator is scored: the fixed indicators are computed now and kept with the result."""
    _office(caller, "decide evaluations")
    unit = _unit(uow, caller, unit_code)
    year = _year(year, office_date(uow.now).year)
    comment = bounded(comment, "comment", TEXT_MAX) or None
    uow.session.execute(select(UnitRow.code).where(UnitRow.code == unit.code).with_for_update()).all()
    _lock_year(uow, year, exclusive=False)
    if _decided(uow.session, year, unit.code):
        raise WrongState(f"the {year} evaluation of unit {unit.code} is already decided")
    dynamic = dynamic_indicators(uow.session, unit.code, year)
    missing = [i.code for i in dynamic if i.score is None]
    if missing:
        raise WrongState(f"unit {unit.code} has no score yet on {', '.join(missing)} ({year})")
    indicators = fixed_indicators(uow.session, unit.code, year=year, today=office_date(uow.now), calendar=calendar) + dynamic
    total = round(sum(i.score for i in indicators), 1)
    maximum = float(sum(i.max_score for i in indicators))
    row = EvaluationResultRow(year=year, unit_code=unit.code, score=rules.tenths(total), max_score=rules.tenths(maximum),
                              grade=rules.grade(total, maximum), comment=comment, decided_by=caller.actor,
                              decided_at=uow.now, details=dumps([i.__dict__ for i in indicators]))
    uow.session.add(row)
    uow.session.flush()
    uow.record("evaluation.decide", "evaluation_result", str(row.id), after=result_data(row))
    return row


def result_data(r: EvaluationResultRow) -> dict:
    return {"evaluation_id": r.id, "year": r.year, "unit_code": r.unit_code, "score": r.score / 10,
            "max_score": r.max_score / 10, "grade": r.grade, "comment": r.comment,
            "indicators": json.loads(r.details)}


def visible(caller: Caller, unit_code: str, region: str) -> bool:
    """Who reads a unit's evaluation: the office (a district office its region), AUDITOR, ORGANIZATION, FINANCE; a
    UNIT its own."""
    if caller.role is Role.ADMIN:
        return not caller.region_code or caller.region_code == region
    if caller.role is Role.UNIT:
        return caller.unit_code == unit_code
    return caller.role in READERS


def cited(session: Session, evaluation_id, unit_code: str, plan_year: int) -> EvaluationResultRow:
    """The evaluation result a hiring-plan cut of ``unit_code`` for ``plan_year`` cites: it must exist, be that
    unit's, and be of the plan's year or the year before (the evaluation that informs the unit's next plan)."""
    eid = record_id(evaluation_id)
    row = session.get(EvaluationResultRow, eid) if eid else None
    if row is None:
        raise EvaluationNotFound(f"no evaluation result {str(evaluation_id)[:40]!r}")
    if row.unit_code != unit_code:
        raise ValueError(f"evaluation {row.id} is of unit {row.unit_code}, not of the plan's unit {unit_code}")
    if row.year not in (plan_year - 1, plan_year):
        raise ValueError(f"evaluation {row.id} is of {row.year}; a {plan_year} hiring plan cites the evaluation of "
                         f"{plan_year - 1} or {plan_year}")
    return row
