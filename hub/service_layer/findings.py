"""Findings (整改事项, contract section 11): record a finding of an audit or inspection, move it through its states to
closing (销号), and raise each overdue finding's event once.

Every step runs in the caller's UnitOfWork: the finding's row, its timeline step (``finding_steps``), the operation-log
entry and the ``registry.supervision.v1`` event (key: the finding id) commit together or not at all. A refusal raises
a domain error before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps, loads
from hub.contract.topics import SUPERVISION_TOPIC
from hub.contract.types import FINDING_OVERDUE, FINDING_TYPES
from hub.adapters.orm import DocumentRow, FindingRow, FindingStepRow, MismatchRow, PersonRow, PostingRow, UnitRow
from hub.domain import supervision as sv
from hub.domain.calendar import office_date
from hub.domain.identifiers import parse_region_code, parse_unit_code
from hub.domain.registry import UnitNotFound
from hub.domain.supervision import (
    EvidenceKind,
    FindingCategory,
    FindingNotFound,
    FindingSource,
    FindingStatus,
    RecommendationKind,
    StepAction,
)
from hub.domain.vocabulary import Role
from hub.domain.workflows import TEXT_MAX, Caller, bounded, row_id
from hub.service_layer.unit_of_work import UnitOfWork

SYSTEM_ROLE = "SYSTEM"  # the role written on the hub's own steps (hub-raised findings, overdue)

# An ID number typed into a free text (title, description, comment) is withheld from events: persons are linked as
# evidence, which events only count (docs/supervision.md, "Events").
# \d: also the full-width digits (１２３) a Chinese input method types.
_ID_IN_TEXT = re.compile(r"(?<![\dA-Za-zＡ-Ｚａ-ｚ])\d{17}[\dXxＸｘ](?![\dA-Za-zＡ-Ｚａ-ｚ])")
WITHHELD = "[身份证号已隐去]"


def _public_text(text: str | None) -> str | None:
    return _ID_IN_TEXT.sub(WITHHELD, text) if text else text


def today_of(uow: UnitOfWork) -> date:
    """The office's local date now (deadlines are local dates)."""
    return office_date(uow.now)


def finding_data(row: FindingRow, step: FindingStepRow | None, today: date) -> dict:
    """The ``data`` of a ``gov.registry.finding.*`` event: the finding after the change and the step that made it.
    No ID numbers: PERSON evidence is counted (``person_count``), free texts have ID numbers withheld."""
    evidence = loads(row.evidence)
    data = {
        "finding_id": row.id, "unit_code": row.unit_code, "source": row.source, "category": row.category,
        "category_label": FindingCategory(row.category).label, "status": row.status,
        "status_label": FindingStatus(row.status).label, "title": _public_text(row.title),
        "description": _public_text(row.description), "reference": _public_text(row.reference),
        "recommendation": _public_text(row.recommendation), "recommendation_kind": row.recommendation_kind,
        "responsible_party": _public_text(row.responsible_party), "deadline": row.deadline,
        "overdue": sv.is_overdue(FindingStatus(row.status), row.deadline, today),
        "evidence": sv.public_evidence(evidence),
        "person_count": sum(1 for e in evidence if e["kind"] == EvidenceKind.PERSON.value),
        "recorded_at": row.recorded_at, "verified_at": row.verified_at, "closed_at": row.closed_at, "step": None,
    }
    if step is not None:
        step_evidence = loads(step.evidence)
        data["step"] = {"action": step.action, "actor": step.actor, "role": step.role,
                        "comment": _public_text(step.comment), "at": step.at,
                        "deadline_before": step.deadline_before, "deadline_after": step.deadline_after,
                        "evidence": sv.public_evidence(step_evidence),
                        "person_count": sum(1 for e in step_evidence if e["kind"] == EvidenceKind.PERSON.value)}
    return data


def audit_data(row: FindingRow) -> dict:
    """The finding as the operation log keeps it (everything, ID numbers included: the log is the office's)."""
    return {"finding_id": row.id, "unit_code": row.unit_code, "source": row.source, "category": row.category,
            "status": row.status, "title": row.title, "description": row.description, "reference": row.reference,
            "recommendation": row.recommendation, "recommendation_kind": row.recommendation_kind,
            "responsible_party": row.responsible_party, "deadline": row.deadline, "evidence": loads(row.evidence),
            "condition_key": row.condition_key}


def _check_evidence(session: Session, evidence: list[sv.Evidence], unit_code: str, *, unit_caller: bool = False,
                    linked: frozenset[str] = frozenset()) -> None:
    """Evidence must exist: a person in the registry, a mismatch of this unit (or about a person, with no unit), a
    document of the register. The refusal names the first link that does not. A UNIT token links only persons
    actively posted in its unit, or already linked to the finding: anyone else is answered as a number nobody holds
    (docs/access.md, "No membership oracle")."""
    for e in evidence:
        if e.kind is EvidenceKind.PERSON and unit_caller:
            ok = e.ref in linked or session.execute(select(PostingRow.id).where(
                PostingRow.id_number == e.ref, PostingRow.unit_code == unit_code, PostingRow.active.is_(True))).first() is not None
            what = "no person of this unit with this ID number"
        elif e.kind is EvidenceKind.PERSON:
            ok = session.get(PersonRow, e.ref) is not None
            what = "no person with this ID number in the registry"
        elif e.kind is EvidenceKind.MISMATCH:
            m = session.get(MismatchRow, e.ref)
            ok = m is not None and m.unit_code in (unit_code, None, "")
            what = "no mismatch of this unit with this id"
        else:
            ok = session.execute(select(DocumentRow.id).where(DocumentRow.number == e.ref)).first() is not None
            what = "not in the document register (record it first: recordDocument)"
        if not ok:
            ref = e.ref if e.kind is not EvidenceKind.PERSON else e.ref[:6] + "…"
            raise ValueError(f"evidence {e.kind.value} {ref}: {what}")


def _linked_persons(session: Session, row: FindingRow) -> frozenset[str]:
    """The ID numbers already linked to the finding (when recorded or by a step)."""
    items = loads(row.evidence) + [e for s in steps_of(session, [row.id])[row.id] for e in loads(s.evidence)]
    return frozenset(e["ref"] for e in items if e["kind"] == EvidenceKind.PERSON.value)


def _step(uow: UnitOfWork, row: FindingRow, action: StepAction, *, actor: str, role: str, before: FindingStatus | None,
          comment: str | None = None, evidence: list[sv.Evidence] = (), deadline_before: date | None = None,
          deadline_after: date | None = None) -> FindingStepRow:
    step = FindingStepRow(finding_id=row.id, action=action.value, status_before=before.value if before else None,
                          status_after=row.status, deadline_before=deadline_before, deadline_after=deadline_after,
                          actor=actor, role=role, comment=comment or None,
                          evidence=dumps([e.as_dict() for e in evidence]), at=uow.now)
    uow.session.add(step)
    return step


def _publish(uow: UnitOfWork, row: FindingRow, step: FindingStepRow, kind: str, before: dict | None) -> None:
    uow.session.flush()
    uow.record(f"finding.{step.action.lower()}", "finding", str(row.id), before=before,
               after={**audit_data(row), "step": {"action": step.action, "comment": step.comment,
                                                  "evidence": loads(step.evidence)}})
    uow.publish(SUPERVISION_TOPIC, key=str(row.id), type=FINDING_TYPES[kind], subject=row.unit_code,
                data=finding_data(row, step, today_of(uow)))


def _unit(uow: UnitOfWork, unit_code: str) -> UnitRow:
    code = parse_unit_code(unit_code)
    unit = uow.session.get(UnitRow, code)
    if unit is None:
        raise UnitNotFound(f"unit {code} is not in the registry")
    return unit


@dataclass(frozen=True)
class NewFinding:
    """What an auditor or the office records (validated by ``record_finding``)."""

    unit_code: str
    source: str
    category: str
    title: str
    description: str
    recommendation: str
    responsible_party: str
    deadline: date
    recommendation_kind: str | None = None
    reference: str | None = None
    evidence: tuple = ()  # (kind, ref) pairs


def record_finding(uow: UnitOfWork, caller: Caller, new: NewFinding) -> FindingRow:
    """An audit (审计) or inspection (巡察) finding about a unit: ADMIN (a district office: its region) or AUDITOR."""
    source = FindingSource.parse(new.source, "finding source")
    sv.ensure_may_record(caller.role, source)
    unit = _unit(uow, new.unit_code)
    sv.ensure_may_see(caller.role, caller_unit=caller.unit_code, caller_region=caller.region_code,
                      unit_code=unit.code, unit_region=unit.region_code)
    return open_finding(uow, unit, source=source, category=FindingCategory.parse(new.category, "finding category"),
                 title=new.title, description=new.description, recommendation=new.recommendation,
                 recommendation_kind=new.recommendation_kind, responsible_party=new.responsible_party,
                 deadline=new.deadline, reference=new.reference, evidence=sv.evidence_list(new.evidence),
                 actor=caller.actor, role=caller.role.value)


def open_finding(uow: UnitOfWork, unit: UnitRow, *, source: FindingSource, category: FindingCategory, title: str,
          description: str, recommendation: str, recommendation_kind: str | None, responsible_party: str,
          deadline: date, reference: str | None, evidence: list[sv.Evidence], actor: str, role: str,
          condition_key: str | None = None) -> FindingRow:
    title = bounded(title, "title", sv.TITLE_MAX)
    description, recommendation = bounded(description, "description", TEXT_MAX), bounded(recommendation, "recommendation", TEXT_MAX)
    party, reference = bounded(responsible_party, "responsible party", sv.PARTY_MAX), bounded(reference, "reference", sv.REFERENCE_MAX)
    for name, value in (("title", title), ("description", description), ("recommendation (整改建议)", recommendation),
                        ("responsible party (责任主体)", party)):
        if not value:
            raise ValueError(f"a finding needs its {name}")
    kind = RecommendationKind.parse(recommendation_kind, "recommendation kind") if recommendation_kind else None
    today = today_of(uow)
    if deadline < today:
        raise ValueError(f"the deadline to rectify (整改期限) {deadline} is before today ({today})")
    _check_evidence(uow.session, evidence, unit.code)
    row = FindingRow(unit_code=unit.code, source=source.value, category=category.value, status=FindingStatus.OPEN.value,
                     title=title, description=description, reference=reference or None, recommendation=recommendation,
                     recommendation_kind=kind.value if kind else None, responsible_party=party, deadline=deadline,
                     evidence=dumps([e.as_dict() for e in evidence]), condition_key=condition_key, recorded_by=actor,
                     recorded_at=uow.now, updated_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    step = _step(uow, row, StepAction.RECORDED, actor=actor, role=role, before=None, comment=None, evidence=evidence,
                 deadline_after=deadline)
    _publish(uow, row, step, "opened", None)
    return row


def finding_for(session: Session, caller: Caller, finding_id, *, lock: bool = False) -> FindingRow:
    """The finding, if the caller may see it: FindingNotFound for no such id — and for one of a unit the caller may
    not see (a UNIT token does not learn which ids other units' findings have)."""
    fid = row_id(finding_id)
    if fid is None:
        raise FindingNotFound(f"no finding {str(finding_id)[:40]!r}")
    q = select(FindingRow).where(FindingRow.id == fid)
    row = session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if row is None:
        raise FindingNotFound(f"no finding {fid}")
    region = session.scalar(select(UnitRow.region_code).where(UnitRow.code == row.unit_code))
    try:
        sv.ensure_may_see(caller.role, caller_unit=caller.unit_code, caller_region=caller.region_code,
                          unit_code=row.unit_code, unit_region=region)
    except sv.FindingNotAllowed:
        if caller.role in sv.READERS:
            raise FindingNotFound(f"no finding {fid}") from None
        raise
    return row


def update_finding(uow: UnitOfWork, caller: Caller, finding_id, *, action: str, comment: str | None,
                   evidence=(), deadline: date | None = None) -> FindingRow:
    """One step on a finding: PROGRESS (UNIT of the unit, ADMIN, AUDITOR; a comment saying what was done, with
    evidence), VERIFIED, REOPENED, CLOSED (销号), DEADLINE_CHANGED (a new deadline and its reason) — ADMIN, AUDITOR."""
    act = StepAction.parse(action, "finding action")
    if act not in sv.UPDATE_ACTIONS:
        raise sv.FindingNotAllowed(f"{act.value} ({act.label}) is a step only the hub takes")
    if caller.role not in sv.READERS:
        raise sv.FindingNotAllowed(f"role {caller.role.value} may not change findings")
    links = sv.evidence_list(evidence)
    comment = bounded(comment, "comment", TEXT_MAX)
    row = finding_for(uow.session, caller, finding_id, lock=True)
    status = FindingStatus(row.status)
    after = sv.next_status(status, act, caller.role)
    if act in (StepAction.PROGRESS, StepAction.REOPENED, StepAction.DEADLINE_CHANGED) and not comment:
        raise ValueError({StepAction.PROGRESS: "a progress report says what was done (comment)",
                          StepAction.REOPENED: "returning a finding to rectification says why (comment)",
                          StepAction.DEADLINE_CHANGED: "a deadline change states its reason (comment)"}[act])
    if act is StepAction.DEADLINE_CHANGED:
        if deadline is None:
            raise ValueError("DEADLINE_CHANGED needs the new deadline")
        if deadline < today_of(uow):
            raise ValueError(f"the new deadline {deadline} is before today ({today_of(uow)})")
        if deadline == row.deadline:
            raise ValueError(f"the deadline is already {deadline}")
    elif deadline is not None:
        raise ValueError("a deadline is changed only by DEADLINE_CHANGED")
    unit_caller = caller.role is Role.UNIT
    _check_evidence(uow.session, links, row.unit_code, unit_caller=unit_caller,
                    linked=_linked_persons(uow.session, row) if unit_caller and links else frozenset())
    before, old_deadline = audit_data(row), row.deadline
    row.status, row.updated_at = after.value, uow.now
    if act is StepAction.VERIFIED:
        row.verified_at = uow.now
    elif act is StepAction.REOPENED:
        row.verified_at = None
    elif act is StepAction.CLOSED:
        row.closed_at = uow.now
    elif act is StepAction.DEADLINE_CHANGED:
        row.deadline = deadline
        row.overdue_at = None  # a later deadline may pass again: its overdue event is raised again then
    step = _step(uow, row, act, actor=caller.actor, role=caller.role.value, before=status, comment=comment,
                 evidence=links, deadline_before=old_deadline if act is StepAction.DEADLINE_CHANGED else None,
                 deadline_after=deadline)
    _publish(uow, row, step, "closed" if act is StepAction.CLOSED else "updated", before)
    return row


def raise_overdue(uow: UnitOfWork, today: date) -> list[FindingRow]:
    """Raise ``gov.registry.finding.overdue`` once for every finding past its deadline and not yet rectified (OPEN,
    RECTIFYING) whose event was not raised since its deadline last changed. Rows are locked and re-read, so two sweeps
    at once raise each event once."""
    q = (select(FindingRow).where(FindingRow.status.in_([s.value for s in sv.LIVE]), FindingRow.deadline < today,
                                  FindingRow.overdue_at.is_(None))
         .order_by(FindingRow.id).with_for_update(skip_locked=True))
    raised = []
    for row in uow.session.execute(q).scalars():
        row.overdue_at = uow.now
        step = _step(uow, row, StepAction.OVERDUE, actor=uow.actor, role=SYSTEM_ROLE, before=FindingStatus(row.status),
                     comment=f"整改期限 {row.deadline} 已过 (deadline passed)")
        uow.session.flush()
        uow.record("finding.overdue", "finding", str(row.id), after={"finding_id": row.id, "deadline": row.deadline,
                                                                    "status": row.status, "today": today})
        uow.publish(SUPERVISION_TOPIC, key=str(row.id), type=FINDING_OVERDUE, subject=row.unit_code,
                    data=finding_data(row, step, today))
        raised.append(row)
    return raised


def steps_of(session: Session, finding_ids: list[int]) -> dict[int, list[FindingStepRow]]:
    """The timelines of the findings, oldest step first."""
    out: dict[int, list[FindingStepRow]] = {i: [] for i in finding_ids}
    if finding_ids:
        for s in session.execute(select(FindingStepRow).where(FindingStepRow.finding_id.in_(finding_ids))
                                 .order_by(FindingStepRow.finding_id, FindingStepRow.id)).scalars():
            out[s.finding_id].append(s)
    return out


@dataclass(frozen=True)
class FindingQuery:
    """A filter on findings (every field optional)."""

    unit_code: str | None = None
    region_code: str | None = None
    category: str | None = None
    status: str | None = None
    source: str | None = None
    overdue: bool | None = None


def select_findings(caller: Caller, f: FindingQuery, today: date):
    """The SELECT of the findings the caller may see that match ``f`` (UNIT: its unit; district ADMIN: its region)."""
    q = select(FindingRow)
    if caller.role is Role.UNIT:
        q = q.where(FindingRow.unit_code == caller.unit_code)
    elif caller.role not in sv.SUPERVISORS:
        raise sv.FindingNotAllowed(f"role {caller.role.value} may not read findings")
    region = caller.region_code if caller.role is Role.ADMIN and caller.region_code else None
    for r in (region, parse_region_code(f.region_code) if f.region_code else None):
        if r:
            q = q.where(FindingRow.unit_code.in_(select(UnitRow.code).where(UnitRow.region_code == r)))
    if f.unit_code:
        q = q.where(FindingRow.unit_code == parse_unit_code(f.unit_code))
    if f.category:
        q = q.where(FindingRow.category == FindingCategory.parse(f.category, "finding category").value)
    if f.status:
        q = q.where(FindingRow.status == FindingStatus.parse(f.status, "finding status").value)
    if f.source:
        q = q.where(FindingRow.source == FindingSource.parse(f.source, "finding source").value)
    if f.overdue is not None:
        late = FindingRow.status.in_([s.value for s in sv.LIVE]) & (FindingRow.deadline < today)
        q = q.where(late if f.overdue else ~late)
    return q

