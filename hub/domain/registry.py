"""Registry entities and the invariants every new hire or appointment must keep."""

from __future__ import annotations

from dataclasses import dataclass, field
import unicodedata
from datetime import date

from hub.domain.identifiers import parse_id_number, parse_region_code, parse_unit_code
from hub.domain.vocabulary import (
    Degree,
    DispatchedBody,
    Education,
    InstitutionClass,
    UnitGrade,
    Funding,
    Gender,
    LeaderRank,
    QuotaCategory,
    UnitKind,
    UnitLevel,
    UnitStatus,
)


def plain_text(text: str, what: str) -> str:
    """``text`` when it holds no control character (Unicode category Cc: NUL, tab, line breaks, DEL, C1 controls);
    else a ValueError naming ``what``. A name is printed on forms and lists, compared with the departments' names and
    exported as CSV: a line break or a NUL in it is a typing or encoding error, not a name."""
    if not text.isprintable() and any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError(f"{what} must not contain control characters (line breaks, tabs, NUL …): {text[:40]!r}")
    return text


class DomainError(ValueError):
    """A rule of the registry refused the operation; nothing was changed."""

    code = "DOMAIN_ERROR"


class QuotaExhausted(DomainError):
    code = "QUOTA_EXHAUSTED"


class LeaderQuotaExhausted(DomainError):
    code = "LEADER_QUOTA_EXHAUSTED"


class PersonAlreadyPosted(DomainError):
    code = "PERSON_ALREADY_POSTED"


class IdentityDisagrees(DomainError):
    code = "IDENTITY_DISAGREES"


class LeaderRankAboveGrade(DomainError):
    """A leader rank above the unit's grade (机构规格): no 正处 leader in a 正科级 unit."""

    code = "LEADER_RANK_ABOVE_GRADE"


class UnitNotFound(DomainError):
    code = "UNIT_NOT_FOUND"


class PersonNotFound(DomainError):
    code = "PERSON_NOT_FOUND"


class UnitAbolished(DomainError):
    code = "UNIT_ABOLISHED"


class PostingNotFound(DomainError):
    code = "POSTING_NOT_FOUND"


@dataclass(frozen=True)
class Unit:
    """A unit (机构) with its unified social credit code."""

    code: str
    name: str
    kind: UnitKind
    level: UnitLevel
    region_code: str
    funding: Funding
    parent_code: str | None = None
    status: UnitStatus = UnitStatus.ACTIVE
    established_on: date | None = None
    abolished_on: date | None = None
    grade: UnitGrade | None = None  # 机构规格
    civil_service_managed: bool = False  # 参照公务员法管理 (参公): public institutions only
    classification: InstitutionClass | None = None  # 事业单位分类: public institutions only
    dispatched: DispatchedBody | None = None  # 派出机构: organs only

    @classmethod
    def new(cls, *, code: str, name: str, kind: str, level: str, region_code: str, funding: str,
            parent_code: str | None = None, established_on: date | None = None, grade: str | None = None,
            civil_service_managed: bool = False, classification: str | None = None,
            dispatched: str | None = None) -> "Unit":
        """A validated unit; raises ValueError naming the bad field."""
        name = (name or "").strip()
        if not name:
            raise ValueError("unit name must not be empty")
        plain_text(name, "unit name")
        k = UnitKind.parse(kind, "unit kind")
        institution = k is UnitKind.PUBLIC_INSTITUTION
        if civil_service_managed and not institution:
            raise ValueError("only a public institution is managed like the civil service (参公); an organ is civil service")
        if classification and not institution:
            raise ValueError("a classification (公益一类 …) is a public institution's; this unit is an organ")
        if dispatched and institution:
            raise ValueError("a dispatched body (派出机构) is an organ, not a public institution")
        return cls(
            code=parse_unit_code(code),
            name=name,
            kind=k,
            level=UnitLevel.parse(level, "unit level"),
            region_code=parse_region_code(region_code),
            funding=Funding.parse(funding, "funding"),
            parent_code=parse_unit_code(parent_code) if parent_code else None,
            established_on=established_on,
            grade=UnitGrade.parse(grade, "unit grade") if grade else None,
            civil_service_managed=bool(civil_service_managed),
            classification=InstitutionClass.parse(classification, "classification") if classification else None,
            dispatched=DispatchedBody.parse(dispatched, "dispatched body") if dispatched else None,
        )


# The schooling a full-time degree needs at least (全日制: the degree comes with the schooling; 在职: a degree may be
# awarded on equivalent qualifications, 同等学力, so no such rule).
_DEGREE_NEEDS = {Degree.DOCTOR: Education.DOCTORATE, Degree.MASTER: Education.MASTER, Degree.BACHELOR: Education.BACHELOR}
_EDUCATION_ORDER = [Education.OTHER, Education.SECONDARY, Education.COLLEGE, Education.BACHELOR, Education.MASTER,
                    Education.DOCTORATE]


def check_full_time_degree(education: Education | None, degree: Degree | None) -> None:
    """A full-time (全日制) degree needs full-time schooling of its level: 学士 a 本科, 硕士 a 硕士研究生, 博士 a 博士研究生."""
    if degree is None:
        return
    need = _DEGREE_NEEDS[degree]
    if education is None or _EDUCATION_ORDER.index(education) < _EDUCATION_ORDER.index(need):
        raise ValueError(f"a full-time {degree.value} degree needs full-time education {need.value} or above "
                         f"(got {education.value if education else 'none'}); an in-service degree goes in inServiceDegree")


@dataclass(frozen=True)
class Person:
    """A person, identified by citizen ID number; gender and birth date agree with it. Education (学历) and degree
    (学位) apart, each for full-time (全日制) and in-service (在职) education."""

    id_number: str
    name: str
    gender: Gender
    birth_date: date
    education: Education | None = None  # 全日制教育 学历
    degree: Degree | None = None  # 全日制教育 学位
    in_service_education: Education | None = None  # 在职教育 学历
    in_service_degree: Degree | None = None  # 在职教育 学位

    @classmethod
    def new(cls, *, id_number: str, name: str, gender: str | None = None, birth_date: date | None = None,
            education: str | None = None, degree: str | None = None, in_service_education: str | None = None,
            in_service_degree: str | None = None) -> "Person":
        """A validated person; gender and birth date default to the ID number's and must agree with it."""
        idn = parse_id_number(id_number)
        name = (name or "").strip()
        if not name:
            raise ValueError("person name must not be empty")
        plain_text(name, "person name")
        g = Gender.parse(gender, "gender") if gender else Gender(idn.gender)
        if g.value != idn.gender:
            raise IdentityDisagrees(f"gender {g.value} disagrees with ID number {idn.value} ({idn.gender})")
        b = birth_date or idn.birth_date
        if b != idn.birth_date:
            raise IdentityDisagrees(f"birth date {b.isoformat()} disagrees with ID number {idn.value} ({idn.birth_date.isoformat()})")
        edu = Education.parse(education, "education") if education else None
        deg = Degree.parse(degree, "degree") if degree else None
        check_full_time_degree(edu, deg)
        return cls(idn.value, name, g, b, edu, deg,
                   Education.parse(in_service_education, "in-service education") if in_service_education else None,
                   Degree.parse(in_service_degree, "in-service degree") if in_service_degree else None)


@dataclass(frozen=True)
class Posting:
    """A person holding a slot (在编) in a unit's quota category, optionally in a leader rank."""

    id_number: str
    unit_code: str
    category: QuotaCategory
    start_date: date
    leader_rank: LeaderRank | None = None
    end_date: date | None = None
    end_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.end_date is None


@dataclass
class UnitEstablishment:
    """A unit's approved quota and leader positions, how many are used and how many are reserved by approved hiring
    plans (用编计划): the hire invariants live here. ``available = approved − used − reserved``."""

    unit_code: str
    approved: dict[QuotaCategory, int] = field(default_factory=dict)
    used: dict[QuotaCategory, int] = field(default_factory=dict)
    leaders_approved: dict[LeaderRank, int] = field(default_factory=dict)
    leaders_used: dict[LeaderRank, int] = field(default_factory=dict)
    reserved: dict[QuotaCategory, int] = field(default_factory=dict)
    # 政策性超编: slots the office allowed above quota for policy placements, while their deadline has not passed
    policy_allowance: dict[QuotaCategory, int] = field(default_factory=dict)

    def available(self, category: QuotaCategory) -> int:
        return self.approved.get(category, 0) - self.used.get(category, 0) - self.reserved.get(category, 0)

    def leaders_available(self, rank: LeaderRank) -> int:
        return self.leaders_approved.get(rank, 0) - self.leaders_used.get(rank, 0)

    def categories(self) -> list[QuotaCategory]:
        return sorted(set(self.approved) | set(self.used) | set(self.reserved), key=lambda c: c.value)

    def ranks(self) -> list[LeaderRank]:
        return sorted(set(self.leaders_approved) | set(self.leaders_used), key=lambda r: r.value)

    def over_quota_now(self) -> bool:
        """Any category where used exceeds approved (只出不进: such a unit gets no hiring plan)."""
        return any(self.excess(c) > 0 for c in self.used)

    def excess(self, category: QuotaCategory) -> int:
        """Slots of the category used beyond the approved quota, policy placements included (超编人数; ≤ 0: none) —
        what the absorption ledger (超编消化台账) tracks until it is absorbed."""
        return self.used.get(category, 0) - self.approved.get(category, 0)

    def check_free(self, category: QuotaCategory, *, from_reservation: bool = False, policy: bool = False) -> None:
        """Refuse unless a slot of the category is free and unreserved (or, ``from_reservation``, reserved for this
        hire by its hiring plan — as long as the reservations still fit under the quota, which a cut may have made
        smaller; or, ``policy``, a policy placement within the office's over-quota allowance)."""
        if from_reservation and self.reserved.get(category, 0) > 0 and self.available(category) >= 0:
            return
        if policy and self.available(category) + self.policy_allowance.get(category, 0) >= 1:
            return
        if self.available(category) < 1:
            raise QuotaExhausted(
                f"unit {self.unit_code} has no free {category.value} slot "
                f"(approved {self.approved.get(category, 0)}, used {self.used.get(category, 0)}, "
                f"reserved {self.reserved.get(category, 0)})"
            )

    def check_leader_free(self, rank: LeaderRank, *, pending: int = 0) -> None:
        """Refuse unless a position of the rank is free after ``pending`` appointments already checked (核准)."""
        used = self.leaders_used.get(rank, 0) + pending
        if used + 1 > self.leaders_approved.get(rank, 0):
            raise LeaderQuotaExhausted(
                f"unit {self.unit_code} has no free {rank.value} position "
                f"(approved {self.leaders_approved.get(rank, 0)}, used {self.leaders_used.get(rank, 0)}, "
                f"pending appointments {pending})")

    def admit(self, category: QuotaCategory, leader_rank: LeaderRank | None = None, *, from_reservation: bool = False,
              policy: bool = False) -> None:
        """Take one slot for a new hire or appointment, or refuse: used + reserved + 1 ≤ approved (a hire under an
        approved hiring plan takes one of the plan's reserved slots; a policy placement may use the office's
        over-quota allowance), leaders ≤ positions."""
        self.check_free(category, from_reservation=from_reservation, policy=policy)
        if leader_rank is not None and self.leaders_used.get(leader_rank, 0) + 1 > self.leaders_approved.get(leader_rank, 0):
            raise LeaderQuotaExhausted(
                f"unit {self.unit_code} has no free {leader_rank.value} position "
                f"(approved {self.leaders_approved.get(leader_rank, 0)}, used {self.leaders_used.get(leader_rank, 0)})"
            )
        if from_reservation and self.reserved.get(category, 0) > 0:
            self.reserved[category] -= 1
        self.used[category] = self.used.get(category, 0) + 1
        if leader_rank is not None:
            self.leaders_used[leader_rank] = self.leaders_used.get(leader_rank, 0) + 1

    def over_quota(self) -> dict[str, dict[str, int]]:
        """Categories where used exceeds approved plus any policy allowance in force (legacy data may; an overdue
        policy placement does again): category → {approved, used}."""
        return {
            c.value: {"approved": self.approved.get(c, 0), "used": n}
            for c, n in sorted(self.used.items(), key=lambda kv: kv[0].value)
            if n > self.approved.get(c, 0) + self.policy_allowance.get(c, 0)
        }

    def policy_over_quota(self) -> dict[str, dict[str, int]]:
        """Categories over quota within the office's policy allowance (政策性超编): category → {approved, used, allowed}."""
        return {
            c.value: {"approved": self.approved.get(c, 0), "used": n, "allowed": self.policy_allowance.get(c, 0)}
            for c, n in sorted(self.used.items(), key=lambda kv: kv[0].value)
            if self.approved.get(c, 0) < n <= self.approved.get(c, 0) + self.policy_allowance.get(c, 0)
        }

    def leadership_over_quota(self) -> dict[str, dict[str, int]]:
        """Ranks where leaders exceed approved positions: rank → {approved, used}."""
        return {
            r.value: {"approved": self.leaders_approved.get(r, 0), "used": n}
            for r, n in sorted(self.leaders_used.items(), key=lambda kv: kv[0].value)
            if n > self.leaders_approved.get(r, 0)
        }


# The funding forms paid from the public purse (全额/差额拨款): the units 三数一致 judges.
FISCAL_FUNDING = ("FULL", "PARTIAL")


def headcount_judged(funding: str) -> bool:
    """Whether 三数一致 judges a unit: every fiscally funded unit, whatever its status (an abolished unit finance still
    pays is exactly an inconsistency to see). The comparison, ``headcountConsistency`` and the report select by it."""
    return funding in FISCAL_FUNDING


def headcount_consistent(approved: int, actual: int, paid: int) -> bool:
    """三数一致: the fiscally paid headcount equals the actual one (active postings), and neither exceeds the
    approved quota. The one rule the comparison, ``headcountConsistency`` and the report apply."""
    return paid == actual and actual <= approved and paid <= approved
# 混编混岗: the categories a unit's slots may be of, by its kind. Organs (机关) hold administrative and political-legal
# slots (政法专项编制) and worker slots (机关工勤); public institutions (事业单位) hold public-institution and worker slots.
ORGAN_CATEGORIES = frozenset({QuotaCategory.ADMINISTRATIVE, QuotaCategory.POLITICAL_LEGAL, QuotaCategory.WORKER})
INSTITUTION_CATEGORIES = frozenset({QuotaCategory.PUBLIC_INSTITUTION, QuotaCategory.WORKER})
# 政法专项编制 belongs to the 政法机关 only: courts, procuratorates and the government's public security, state security
# and judicial administration organs (a GOVERNMENT_ORGAN); a 人大, 政协, 民主党派, 群团, party or supervisory organ
# holding one is 混编混岗.
POLITICAL_LEGAL_ORGANS = frozenset({UnitKind.COURT, UnitKind.PROCURATORATE, UnitKind.GOVERNMENT_ORGAN})


def category_fits(unit_kind: UnitKind | str, category: QuotaCategory | str) -> bool:
    """Whether a slot of ``category`` belongs in a unit of ``unit_kind`` (an administrative slot in a public
    institution, or a public-institution slot in an organ, does not: 混编混岗)."""
    kind, category = UnitKind(unit_kind), QuotaCategory(category)
    if category is QuotaCategory.POLITICAL_LEGAL:
        return kind in POLITICAL_LEGAL_ORGANS
    allowed = INSTITUTION_CATEGORIES if kind is UnitKind.PUBLIC_INSTITUTION else ORGAN_CATEGORIES
    return category in allowed


# 机构规格 and 领导职务 on one ladder: a unit's leaders are at most of its grade (a 正处级 unit has 正处 and lower
# leaders — its team and its internal departments' — a 正科级 unit 正科 and 副科 only).
_GRADE_ORDER = [UnitGrade.BUREAU, UnitGrade.DEPUTY_BUREAU, UnitGrade.DIVISION, UnitGrade.DEPUTY_DIVISION,
                UnitGrade.SECTION, UnitGrade.DEPUTY_SECTION]
_RANK_GRADE = {LeaderRank.DIVISION_CHIEF: UnitGrade.DIVISION, LeaderRank.DEPUTY_DIVISION_CHIEF: UnitGrade.DEPUTY_DIVISION,
               LeaderRank.SECTION_CHIEF: UnitGrade.SECTION, LeaderRank.DEPUTY_SECTION_CHIEF: UnitGrade.DEPUTY_SECTION}


def leader_rank_fits_grade(grade: UnitGrade | str | None, rank: LeaderRank | str) -> bool:
    """Whether a leader rank fits a unit of ``grade`` (a unit without a recorded grade: any)."""
    if not grade:
        return True
    return _GRADE_ORDER.index(_RANK_GRADE[LeaderRank(rank)]) >= _GRADE_ORDER.index(UnitGrade(grade))


def check_leader_rank_fits(unit_code: str, grade: UnitGrade | str | None, rank: LeaderRank | str) -> None:
    if not leader_rank_fits_grade(grade, rank):
        raise LeaderRankAboveGrade(f"a {LeaderRank(rank).value} leader does not fit unit {unit_code} of grade "
                                   f"{UnitGrade(grade).value} (机构规格)")


# 内设机构: internal departments and their leader positions (正职, 副职), drawn from the unit's leader quota as the
# 三定 approval splits it between the leadership team (班子) and the departments. In a 厅局级 unit the departments are
# 处室, led by 正处 and 副处; in a 县处级 unit (or one without a recorded grade) 科室, led by 正科 and 副科; in a 正科级 or
# 副科级 unit departments (股室) hold no leader positions.
DEPARTMENT_RANKS = (LeaderRank.SECTION_CHIEF, LeaderRank.DEPUTY_SECTION_CHIEF)
BUREAU_DEPARTMENT_RANKS = (LeaderRank.DIVISION_CHIEF, LeaderRank.DEPUTY_DIVISION_CHIEF)


def department_ranks(grade: UnitGrade | str | None) -> tuple[LeaderRank, LeaderRank]:
    """The ranks of a department's 正职 and 副职 in a unit of ``grade``."""
    if grade and UnitGrade(grade) in (UnitGrade.BUREAU, UnitGrade.DEPUTY_BUREAU):
        return BUREAU_DEPARTMENT_RANKS
    return DEPARTMENT_RANKS


def department_positions_allowed(grade: UnitGrade | str | None) -> bool:
    return not grade or UnitGrade(grade) not in (UnitGrade.SECTION, UnitGrade.DEPUTY_SECTION)


def leader_split(leaders_approved: dict[LeaderRank, int], departments: list[tuple[int, int]],
                 grade: UnitGrade | str | None = None) -> dict[LeaderRank, dict[str, int]]:
    """Per rank: the unit's approved positions, those its internal departments hold (正职 and 副职 at the ranks of
    ``department_ranks(grade)``) and what remains for the leadership team (班子)."""
    chief_rank, deputy_rank = department_ranks(grade)
    held = {chief_rank: sum(c for c, _ in departments), deputy_rank: sum(d for _, d in departments)}
    out: dict[LeaderRank, dict[str, int]] = {}
    for rank in sorted(set(leaders_approved) | {r for r, n in held.items() if n}, key=lambda r: list(LeaderRank).index(r)):
        approved = leaders_approved.get(rank, 0)
        out[rank] = {"approved": approved, "departments": held.get(rank, 0), "team": approved - held.get(rank, 0)}
    return out


def check_department(unit_code: str, grade: UnitGrade | str | None, leaders_approved: dict[LeaderRank, int], departments: list[tuple[int, int]], chief: int,
                     deputy: int) -> None:
    """Refuse a department's leader positions the unit's leader quota cannot hold beside its other departments'."""
    if chief < 0 or deputy < 0:
        raise ValueError("a department's leader positions are not negative")
    if (chief or deputy) and not department_positions_allowed(grade):
        raise LeaderRankAboveGrade(f"departments of unit {unit_code} (grade {UnitGrade(grade).value}) hold no leader positions")
    for rank, n in leader_split(leaders_approved, departments + [(chief, deputy)], grade).items():
        if n["team"] < 0:
            raise LeaderQuotaExhausted(
                f"unit {unit_code} has {n['approved']} {rank.value} positions; its departments would hold {n['departments']}")
