"""Supervision findings (整改事项, contract section 11): what an audit (审计), an inspection (巡察) or the hub itself found
wrong in a unit's use of its establishment, tracked from recording to closing (销号). Plain Python: the categories the
establishment rules name, the states and who may move a finding between them, evidence links and the overdue rule.

English names ↔ Chinese labels (docs/supervision.md, "Findings (整改事项)"):

=================================  ===============================
``UNAUTHORIZED_INSTITUTION``        擅自设立机构或提高规格
``OVER_QUOTA_HIRING``               超编进人
``OVER_LEADER_POSITIONS``           超职数配备
``MIXED_USE``                       混编混岗
``UNAUTHORIZED_QUOTA_INCREASE``     擅自增加编制
``FALSE_HEADCOUNT``                 虚报人员占编
``IRREGULAR_DEPARTMENTS``           不按规定设置内设机构
``INSTITUTION_BEYOND_MANDATE``      事业单位超出宗旨职责履职
``GHOST_PAYROLL``                   吃空饷
=================================  ===============================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from collections.abc import Iterable
from typing import Any, Self

from hub.domain.identifiers import parse_id_number
from hub.domain.registry import DomainError
from hub.domain.vocabulary import Role
from hub.domain.workflows import NotAllowed, WrongState


class _Labelled(str, Enum):
    """A vocabulary whose members carry the Chinese label office staff read."""

    label: str

    def __new__(cls, value: str, label: str) -> "_Labelled":
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def parse(cls, value: object, what: str) -> Self:
        """The member named ``value`` (its English name, in any case, or its Chinese label); a ValueError listing both
        otherwise."""
        text = (value or "").strip() if isinstance(value, str) else value
        for m in cls:
            if text in (m.value, m.label) or (isinstance(text, str) and text.upper() == m.value):
                return m
        allowed = ", ".join(f"{m.value} ({m.label})" for m in cls)
        raise ValueError(f"unknown {what} {str(value)[:60]!r} (allowed: {allowed})")


class FindingCategory(_Labelled):
    """The violations the establishment rules name (机构编制违规违纪行为)."""

    UNAUTHORIZED_INSTITUTION = ("UNAUTHORIZED_INSTITUTION", "擅自设立机构或提高规格")
    OVER_QUOTA_HIRING = ("OVER_QUOTA_HIRING", "超编进人")
    OVER_LEADER_POSITIONS = ("OVER_LEADER_POSITIONS", "超职数配备")
    MIXED_USE = ("MIXED_USE", "混编混岗")
    UNAUTHORIZED_QUOTA_INCREASE = ("UNAUTHORIZED_QUOTA_INCREASE", "擅自增加编制")
    FALSE_HEADCOUNT = ("FALSE_HEADCOUNT", "虚报人员占编")
    IRREGULAR_DEPARTMENTS = ("IRREGULAR_DEPARTMENTS", "不按规定设置内设机构")
    INSTITUTION_BEYOND_MANDATE = ("INSTITUTION_BEYOND_MANDATE", "事业单位超出宗旨职责履职")
    GHOST_PAYROLL = ("GHOST_PAYROLL", "吃空饷")


class FindingSource(_Labelled):
    AUDIT = ("AUDIT", "审计")
    INSPECTION = ("INSPECTION", "巡察")
    HUB = ("HUB", "系统发现")  # raised by the hub's own checks; never recorded by hand


class FindingStatus(_Labelled):
    OPEN = ("OPEN", "待整改")
    RECTIFYING = ("RECTIFYING", "整改中")
    VERIFIED = ("VERIFIED", "已验收")
    CLOSED = ("CLOSED", "已销号")


class RecommendationKind(_Labelled):
    """The kind of the recommended rectification (整改建议), next to its free text."""

    RETURN_FUNCTIONS = ("RETURN_FUNCTIONS", "退还职能")
    RESTRUCTURE = ("RESTRUCTURE", "机构改革/重组")
    ABSORB_EXCESS = ("ABSORB_EXCESS", "消化超编人员")
    CORRECT_POSTINGS = ("CORRECT_POSTINGS", "调整编制使用")
    REDUCE_POSITIONS = ("REDUCE_POSITIONS", "核减职数/免去超配职务")
    ADJUST_DEPARTMENTS = ("ADJUST_DEPARTMENTS", "规范内设机构")
    RECOVER_FUNDS = ("RECOVER_FUNDS", "清退追缴")
    OTHER = ("OTHER", "其他")


class StepAction(_Labelled):
    """What a step on a finding's timeline did."""

    RECORDED = ("RECORDED", "登记")
    PROGRESS = ("PROGRESS", "报告整改进展")
    VERIFIED = ("VERIFIED", "验收")
    REOPENED = ("REOPENED", "验收未通过，退回整改")
    CLOSED = ("CLOSED", "销号")
    DEADLINE_CHANGED = ("DEADLINE_CHANGED", "调整整改期限")
    OVERDUE = ("OVERDUE", "逾期")


class EvidenceKind(_Labelled):
    PERSON = ("PERSON", "人员(身份证号)")
    MISMATCH = ("MISMATCH", "比对疑点")
    DOCUMENT = ("DOCUMENT", "文件(文号)")


class FindingNotFound(DomainError):
    code = "FINDING_NOT_FOUND"


# The workflows' refusals: the API answers them with the same union members (NotAllowed, WrongState).
FindingNotAllowed, FindingWrongState = NotAllowed, WrongState


# Who records findings and judges their rectification: the office (city-wide, or a district office in its region) and
# the auditor. A UNIT token reports progress on its own unit's findings. Every other role reads none and changes none.
SUPERVISORS = frozenset({Role.ADMIN, Role.AUDITOR})
READERS = SUPERVISORS | {Role.UNIT}
HUB_DEADLINE_DAYS = 90  # a finding the hub raises is due this many days after it is raised (the office may change it)
TITLE_MAX, PARTY_MAX, REFERENCE_MAX, EVIDENCE_MAX = 300, 200, 100, 50

# The steps each status allows, and the roles that may take them (UNIT: only on its own unit's findings).
_TRANSITIONS: dict[StepAction, tuple[frozenset[FindingStatus], FindingStatus | None, frozenset[Role]]] = {
    # action: (from, to (None: unchanged), roles)
    StepAction.PROGRESS: (frozenset({FindingStatus.OPEN, FindingStatus.RECTIFYING}), FindingStatus.RECTIFYING,
                          READERS),
    StepAction.VERIFIED: (frozenset({FindingStatus.OPEN, FindingStatus.RECTIFYING}), FindingStatus.VERIFIED, SUPERVISORS),
    StepAction.REOPENED: (frozenset({FindingStatus.VERIFIED}), FindingStatus.RECTIFYING, SUPERVISORS),
    StepAction.CLOSED: (frozenset({FindingStatus.VERIFIED}), FindingStatus.CLOSED, SUPERVISORS),
    StepAction.DEADLINE_CHANGED: (frozenset({FindingStatus.OPEN, FindingStatus.RECTIFYING, FindingStatus.VERIFIED}),
                                  None, SUPERVISORS),
}
UPDATE_ACTIONS = tuple(_TRANSITIONS)  # what updateFinding may do; RECORDED and OVERDUE are the hub's own steps
LIVE = frozenset({FindingStatus.OPEN, FindingStatus.RECTIFYING})  # not yet rectified: these can be overdue


def next_status(status: FindingStatus, action: StepAction, role: Role) -> FindingStatus:
    """The status after ``action`` by ``role`` on a finding in ``status``; FindingNotAllowed for a role that may not
    take the step, FindingWrongState for a step the status does not allow."""
    if action not in _TRANSITIONS:
        raise FindingNotAllowed(f"{action.value} is a step only the hub takes")
    allowed_from, to, roles = _TRANSITIONS[action]
    if role not in roles:
        raise FindingNotAllowed(f"role {role.value} may not {action.label} ({action.value})")
    if status not in allowed_from:
        raise FindingWrongState(f"the finding is {status.value} ({status.label}); {action.value} ({action.label}) needs "
                                + " or ".join(f"{s.value}" for s in sorted(allowed_from, key=list(FindingStatus).index)))
    return to or status


def ensure_may_record(role: Role, source: FindingSource) -> None:
    """The office and the auditor record audit and inspection findings; HUB findings are the hub's alone."""
    if role not in SUPERVISORS:
        raise FindingNotAllowed(f"role {role.value} may not record findings")
    if source is FindingSource.HUB:
        raise FindingNotAllowed("findings of source HUB (系统发现) are raised by the hub's own checks only")


def ensure_may_see(role: Role, *, caller_unit: str | None, caller_region: str | None, unit_code: str,
                   unit_region: str) -> None:
    """ADMIN city-wide (a district office: its region only), AUDITOR city-wide, UNIT its own unit; nobody else. The
    refusal names no more than the caller may know."""
    if role is Role.AUDITOR:
        return
    if role is Role.ADMIN and (not caller_region or caller_region == unit_region):
        return
    if role is Role.UNIT and caller_unit == unit_code:
        return
    raise FindingNotAllowed("this token may not see or change findings of that unit")


def is_overdue(status: FindingStatus, deadline: date, today: date) -> bool:
    """Past its deadline (the office's local date) and not yet rectified (OPEN or RECTIFYING)."""
    return status in LIVE and deadline < today


def age_days(opened: date, closed: date | None, today: date) -> int:
    """Days from recording to closing (or to today while not closed)."""
    return ((closed or today) - opened).days


def hub_deadline(today: date) -> date:
    return today + timedelta(days=HUB_DEADLINE_DAYS)


@dataclass(frozen=True)
class Evidence:
    """A link a finding or one of its steps gives as evidence: a person (ID number), a mismatch (id) or a document of
    the register (文号)."""

    kind: EvidenceKind
    ref: str

    @classmethod
    def parse(cls, kind: str, ref: object) -> "Evidence":
        k = EvidenceKind.parse(kind, "evidence kind")
        text = str(ref if ref is not None else "").strip()
        if not text:
            raise ValueError(f"evidence of kind {k.value} needs a reference")
        if k is EvidenceKind.PERSON:
            text = parse_id_number(text).value
        elif k is EvidenceKind.MISMATCH:
            try:
                text = str(uuid.UUID(text))
            except ValueError:
                raise ValueError(f"mismatch evidence {text[:40]!r} is not a mismatch id") from None
        elif len(text) > 100:
            raise ValueError(f"document number of {len(text)} characters; at most 100 are allowed")
        return cls(k, text)

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "ref": self.ref}


def evidence_list(items: Iterable[tuple[str, object]] | None) -> list[Evidence]:
    """Validated, de-duplicated evidence in the order given (at most EVIDENCE_MAX links)."""
    out: list[Evidence] = []
    for kind, ref in items or ():
        e = Evidence.parse(kind, ref)
        if e not in out:
            out.append(e)
    if len(out) > EVIDENCE_MAX:
        raise ValueError(f"{len(out)} evidence links; at most {EVIDENCE_MAX} per finding or step")
    return out


def public_evidence(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence as events carry it: mismatch ids and document numbers; persons only counted (an event on
    registry.supervision.v1 carries no ID number — docs/supervision.md, "Events")."""
    return [e for e in items if e["kind"] != EvidenceKind.PERSON.value]
