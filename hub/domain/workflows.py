"""Workflow rules (contract section 9): who reviews an onboarding (联审), how an application moves between states,
who may act for which unit, and the approval forms' numbers and verification codes. Plain Python."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.domain.identifiers import parse_id_number, parse_unit_code
from hub.domain.registry import DomainError, plain_text
from hub.domain.vocabulary import ApplicationStatus, Education, FormKind, QuotaCategory, RecruitmentRoute, Role


class NotAllowed(DomainError):
    code = "NOT_ALLOWED"


class ReviewPending(DomainError):
    code = "REVIEW_PENDING"


class IdentityNotVerified(DomainError):
    code = "IDENTITY_NOT_VERIFIED"


class UnitFrozen(DomainError):
    code = "UNIT_FROZEN"


class UnitOverQuota(DomainError):
    """只出不进: a unit over quota in some category gets no hiring plan until it fits again."""

    code = "UNIT_OVER_QUOTA"


class ApplicationNotFound(DomainError):
    code = "APPLICATION_NOT_FOUND"


class WrongState(DomainError):
    """The application is not in a state that allows this step."""

    code = "WRONG_STATE"


_ORG = frozenset({Role.ORGANIZATION})
_HR = frozenset({Role.HR})
_BOTH = _ORG | _HR
_PARTY_CATEGORIES = frozenset({QuotaCategory.ADMINISTRATIVE, QuotaCategory.POLITICAL_LEGAL})


def required_reviews(route: RecruitmentRoute, category: QuotaCategory) -> tuple[Role, ...]:
    """The departments that must approve an onboarding before the office may (contract section 9 routing table)."""
    if route in (RecruitmentRoute.CIVIL_SERVICE_EXAM, RecruitmentRoute.SELECTED_GRADUATE, RecruitmentRoute.OPEN_SELECTION):
        roles = _ORG
    elif route in (RecruitmentRoute.OPEN_RECRUITMENT, RecruitmentRoute.TALENT_INTRODUCTION):
        roles = _HR
    elif route is RecruitmentRoute.TRANSFER_IN:
        roles = _ORG if category in _PARTY_CATEGORIES else _HR
    else:  # MILITARY_TRANSFER, POLICY_PLACEMENT
        roles = _BOTH
    return tuple(sorted(roles, key=lambda r: r.value))


MAX_RECORD_ID = 2**63 - 1  # ids are 64-bit: a larger number names no record (and must not reach the database)


def record_id(value: object) -> int | None:
    """An application's or plan's id from its GraphQL ``ID``, or None when it cannot name a record (not a whole
    number, or outside 1 … 2⁶³−1)."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if 1 <= n <= MAX_RECORD_ID else None


NAME_MAX, DOCUMENT_NUMBER_MAX, TITLE_MAX, ISSUER_MAX = 100, 100, 300, 200  # the registry's column sizes
# Comments and reasons travel in registry.updates.v1 events (a plan's reason in each of its events): bounded well below
# a Kafka message (1 MiB), so that no event can be refused by the producer and hold up the outbox behind it.
TEXT_MAX = 2000


def bounded(value: str | None, what: str, limit: int) -> str:
    """``value`` stripped; a ValueError naming ``what`` when it is longer than the registry keeps (``limit``)."""
    text = (value or "").strip()
    if len(text) > limit:
        raise ValueError(f"the {what} is {len(text)} characters long; at most {limit} are allowed")
    return text


WORKING_AGE = 16  # no posting starts before the person's 16th birthday
AHEAD_DAYS = 366  # a start, end or effective date at most a year ahead: the slot is taken or freed today


def ensure_not_far_ahead(d: date, what: str, today: date) -> None:
    """Refuse a date more than a year after ``today`` (ValueError naming it)."""
    if (d - today).days > AHEAD_DAYS:
        raise ValueError(f"the {what} {d} is more than a year ahead of today ({today})")


def ensure_plausible_start(start: date, birth: date, today: date) -> None:
    """A posting's start: not before the person's 16th birthday, not more than a year ahead."""
    try:
        of_age = birth.replace(year=birth.year + WORKING_AGE)
    except ValueError:  # born on 29 February
        of_age = date(birth.year + WORKING_AGE, 3, 1)
    if start < of_age:
        raise ValueError(f"the start date {start} is before the person's {WORKING_AGE}th birthday ({of_age})")
    ensure_not_far_ahead(start, "start date", today)


@dataclass(frozen=True)
class Caller:
    """Who acts: role, and the unit (UNIT tokens) or region (district ADMIN tokens) the token is bound to."""

    name: str
    role: Role
    unit_code: str | None = None
    region_code: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"


def ensure_may_act_for_unit(caller: Caller, unit_code: str, unit_region: str, *, unit_may: bool) -> None:
    """ADMIN acts city-wide, or only in its region when bound to one; UNIT (when ``unit_may``) only for its own unit;
    every other role is refused."""
    if caller.role is Role.ADMIN:
        if caller.region_code and caller.region_code != unit_region:
            raise NotAllowed(f"this ADMIN token acts only in region {caller.region_code}; unit {unit_code} is in {unit_region}")
        return
    if caller.role is Role.UNIT and unit_may:
        if caller.unit_code != unit_code:
            raise NotAllowed(f"a UNIT token acts only for its own unit {caller.unit_code}, not {unit_code}")
        return
    raise NotAllowed(f"role {caller.role.value} may not do this")


def ensure_role(caller: Caller, roles: frozenset[Role], what: str) -> None:
    """Refuse (NotAllowed) a caller whose role never may ``what``, before anything is looked up: a step that names a
    person must not answer a role that may not take it differently for a posted, an unposted and an unknown number
    (for MONITOR that would confirm a guess of the masked digits)."""
    if caller.role not in roles:
        raise NotAllowed(f"role {caller.role.value} may not {what}")


def review(status: ApplicationStatus, required: tuple[Role, ...], role: Role, approve: bool) -> ApplicationStatus:
    """A reviewing department's decision: approve (status unchanged) or return to the unit (RETURNED)."""
    if role not in required:
        raise NotAllowed(f"{role.value} is not a required reviewer of this application "
                         f"(required: {', '.join(r.value for r in required)})")
    if status is not ApplicationStatus.IN_REVIEW:
        raise WrongState(f"the application is {status.value}; only an application in review can be reviewed")
    return ApplicationStatus.IN_REVIEW if approve else ApplicationStatus.RETURNED


def ensure_approvable(status: ApplicationStatus, required: tuple[Role, ...], approved_by: set[Role]) -> None:
    """The office approves only an application in review whose every required review (this round) approved."""
    if status is not ApplicationStatus.IN_REVIEW:
        raise WrongState(f"the application is {status.value}; only an application in review can be approved")
    missing = [r.value for r in required if r not in approved_by]
    if missing:
        raise ReviewPending(f"waiting for the review of {', '.join(missing)}")


def ensure_resubmittable(status: ApplicationStatus) -> None:
    if status is not ApplicationStatus.RETURNED:
        raise WrongState(f"the application is {status.value}; only a returned application can be resubmitted")


def ensure_open(status: ApplicationStatus) -> None:
    """Rejection (by the office) and withdrawal (by the unit) end an application still in review or returned."""
    if status not in (ApplicationStatus.IN_REVIEW, ApplicationStatus.RETURNED):
        raise WrongState(f"the application is {status.value}; it is closed")


MAX_ROW_ID = 2**63 - 1  # the largest id both databases store (BIGINT)


def row_id(value: object) -> int | None:
    """The id of an application, a plan or another row as the API receives it (a GraphQL ID), or None when it cannot
    be one: not a number, not positive, or beyond what the database stores. None is answered as "no such …", so a
    crafted id is never a database error."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if 0 < n <= MAX_ROW_ID else None


def identity_disagreement(application_name: str, police_name: str | None, police_status: str | None) -> str | None:
    """Why police's latest record disagrees with an application (deceased/cancelled, or another name), or None.
    No police record yet is no disagreement (the monthly comparison raises IDENTITY_UNKNOWN for it)."""
    if police_status is None:
        return None
    if police_status != "ALIVE":
        return f"police record the person as {police_status}"
    if police_name is not None and police_name.strip() != application_name.strip():
        # not police's name: the applicant's unit checks the name it has; it does not learn what police record
        return f"police record another name than {application_name.strip()!r} for this ID number"
    return None


@dataclass(frozen=True)
class OnboardingApplication:
    """What a unit asks for in an onboarding (用编进编): a named person into a slot of a category, by a route."""

    unit_code: str
    id_number: str
    name: str
    category: QuotaCategory
    route: RecruitmentRoute
    start_date: date
    education: Education | None = None
    hiring_plan_id: int | None = None

    @classmethod
    def new(cls, *, unit_code: str, id_number: str, name: str, category: str, route: str, start_date: date,
            education: str | None = None, hiring_plan_id: str | int | None = None) -> "OnboardingApplication":
        """A validated application; raises ValueError (InvalidIdentifier for codes) naming the bad field."""
        name = bounded(name, "person's name", NAME_MAX)
        if not name:
            raise ValueError("the person's name must not be empty")
        plain_text(name, "the person's name")
        plan = None
        if hiring_plan_id not in (None, ""):
            plan = record_id(hiring_plan_id)
            if plan is None:
                raise ValueError(f"hiring plan id {str(hiring_plan_id)[:40]!r} names no hiring plan")
        return cls(unit_code=parse_unit_code(unit_code), id_number=parse_id_number(id_number).value, name=name,
                   category=QuotaCategory.parse(category, "quota category"), route=RecruitmentRoute.parse(route, "route"),
                   start_date=start_date, education=Education.parse(education, "education") if education else None,
                   hiring_plan_id=plan)

    @property
    def required_reviews(self) -> tuple[Role, ...]:
        return required_reviews(self.route, self.category)


POLICY_ROUTES = frozenset({RecruitmentRoute.MILITARY_TRANSFER, RecruitmentRoute.POLICY_PLACEMENT})


def policy_placement(route: RecruitmentRoute) -> bool:
    """Military transfers and policy placements (staff following a function moved by reform) may use the office's
    policy over-quota allowance (政策性超编); every other route needs a free slot."""
    return route in POLICY_ROUTES


def plan_reserves_for(plan_status: ApplicationStatus, plan_year: int, approved: int | None, filled: int, today: date) -> bool:
    """Whether an approved hiring plan still holds a reserved slot today (it expires at the end of its year)."""
    return plan_status is ApplicationStatus.APPROVED and plan_year >= today.year and (approved or 0) - filled > 0


# --- Leader appointments (职数使用: 核准 → 任免 → 配备) -----------------------------------------------------------

CHECKED, DECIDED, CONFIRMED = "CHECKED", "DECIDED", "CONFIRMED"


def next_appointment_step(stage: str | None, role: Role) -> str:
    """Which step ``appointLeader`` is for this caller, given the person's open appointment (None: no open one): the
    office checks the leader quota (核准) → ORGANIZATION records the decision (任免) → the office confirms (配备)."""
    if role is Role.ADMIN:
        if stage is None:
            return CHECKED
        if stage == CHECKED:
            raise ReviewPending("waiting for ORGANIZATION to record the appointment decision (任免)")
        return CONFIRMED
    if role is Role.ORGANIZATION:
        if stage is None:
            raise ReviewPending("the office checks the leader quota first (核准)")
        if stage == DECIDED:
            raise WrongState("the decision is recorded; the office confirms it (配备)")
        return DECIDED
    raise NotAllowed(f"role {role.value} may not appoint leaders")


# --- Approval forms ----------------------------------------------------------------------------------------------

FORM_PREFIX = {FormKind.ONBOARDING: "JB", FormKind.DEPARTURE: "JY", FormKind.TRANSFER: "DD",
               FormKind.LEADER_APPOINTMENT: "ZS", FormKind.HIRING_PLAN: "YB"}
FORM_TITLE = {FormKind.ONBOARDING: "进编审批表", FormKind.DEPARTURE: "减员通知单", FormKind.TRANSFER: "调动审批表",
              FormKind.LEADER_APPOINTMENT: "领导职数使用审批表", FormKind.HIRING_PLAN: "用编计划核准表"}


def form_number(kind: FormKind, year: int, serial: int) -> str:
    """``JB2026-000017``: kind prefix, year, serial."""
    return f"{FORM_PREFIX[kind]}{year}-{serial:06d}"


def canonical_facts(facts: dict[str, Any]) -> str:
    """The facts of a form as canonical JSON (sorted keys, dates as ISO strings): what the code is computed over."""
    def plain(v: object) -> object:
        return v.isoformat() if isinstance(v, date) else v
    return json.dumps({k: plain(v) for k, v in facts.items()}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def form_code(key: bytes, number: str, kind: FormKind, facts_json: str) -> str:
    """The verification code: HMAC-SHA256 with the hub's key over number, kind and facts; 16 hex characters,
    upper-case. A changed number, kind or fact gives another code."""
    msg = "\n".join((number, kind.value, facts_json)).encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:16].upper()


def form_is_genuine(key: bytes, number: str, kind: FormKind, facts_json: str, code: str) -> bool:
    return hmac.compare_digest(form_code(key, number, kind, facts_json), (code or "").strip().upper())
