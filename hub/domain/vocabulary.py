"""The registry's controlled vocabularies (contract section 1)."""

from __future__ import annotations

from enum import Enum


class _Vocab(str, Enum):
    @classmethod
    def parse(cls, value: str, what: str | None = None):
        """The member named ``value``; a clear ValueError listing allowed values otherwise."""
        try:
            return cls(value.strip())
        except (ValueError, AttributeError):
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown {what or cls.__name__} {value!r} (allowed: {allowed})") from None


class UnitKind(_Vocab):
    PARTY_ORGAN = "PARTY_ORGAN"  # 党委机关
    GOVERNMENT_ORGAN = "GOVERNMENT_ORGAN"  # 政府机关
    MASS_ORGANIZATION = "MASS_ORGANIZATION"  # 群团机关
    PUBLIC_INSTITUTION = "PUBLIC_INSTITUTION"  # 事业单位


class UnitLevel(_Vocab):
    CITY = "CITY"  # 市本级
    DISTRICT = "DISTRICT"  # 区县(市)
    TOWNSHIP = "TOWNSHIP"  # 乡镇(街道)


class Funding(_Vocab):
    FULL = "FULL"  # 全额拨款
    PARTIAL = "PARTIAL"  # 差额拨款
    SELF = "SELF"  # 自收自支


class UnitStatus(_Vocab):
    ACTIVE = "ACTIVE"
    ABOLISHED = "ABOLISHED"


class QuotaCategory(_Vocab):
    ADMINISTRATIVE = "ADMINISTRATIVE"  # 行政编制
    POLITICAL_LEGAL = "POLITICAL_LEGAL"  # 政法专项编制
    PUBLIC_INSTITUTION = "PUBLIC_INSTITUTION"  # 事业编制
    WORKER = "WORKER"  # 工勤编制


class LeaderRank(_Vocab):
    DIVISION_CHIEF = "DIVISION_CHIEF"  # 正处
    DEPUTY_DIVISION_CHIEF = "DEPUTY_DIVISION_CHIEF"  # 副处
    SECTION_CHIEF = "SECTION_CHIEF"  # 正科
    DEPUTY_SECTION_CHIEF = "DEPUTY_SECTION_CHIEF"  # 副科


class Education(_Vocab):
    DOCTORATE = "DOCTORATE"
    MASTER = "MASTER"
    BACHELOR = "BACHELOR"
    COLLEGE = "COLLEGE"
    SECONDARY = "SECONDARY"
    OTHER = "OTHER"


class Gender(_Vocab):
    M = "M"
    F = "F"


class MismatchKind(_Vocab):
    IDENTITY_UNKNOWN = "IDENTITY_UNKNOWN"
    NAME_MISMATCH = "NAME_MISMATCH"
    DECEASED_ACTIVE = "DECEASED_ACTIVE"
    GHOST_PAYROLL = "GHOST_PAYROLL"
    PAYROLL_UNIT_MISMATCH = "PAYROLL_UNIT_MISMATCH"
    DOUBLE_PAYROLL = "DOUBLE_PAYROLL"
    UNPAID_POSTING = "UNPAID_POSTING"
    INSURANCE_EMPLOYER_MISMATCH = "INSURANCE_EMPLOYER_MISMATCH"
    INSURANCE_MISSING = "INSURANCE_MISSING"
    HR_STATUS_CONFLICT = "HR_STATUS_CONFLICT"
    HR_UNIT_MISMATCH = "HR_UNIT_MISMATCH"
    RETIREMENT_DUE = "RETIREMENT_DUE"
    OVER_QUOTA = "OVER_QUOTA"
    LEADERSHIP_OVER_QUOTA = "LEADERSHIP_OVER_QUOTA"
    HEADCOUNT_INCONSISTENT = "HEADCOUNT_INCONSISTENT"


UNIT_LEVEL_KINDS = frozenset(
    {MismatchKind.OVER_QUOTA, MismatchKind.LEADERSHIP_OVER_QUOTA, MismatchKind.HEADCOUNT_INCONSISTENT}
)

# Kinds whose existence (and time of detection) is computed from a person's birth date, i.e. from digits 7–14 of the
# ID number: a reader who sees ID numbers masked must not see them (docs/access.md, "Masking for MONITOR").
BIRTH_DATE_KINDS = frozenset({MismatchKind.RETIREMENT_DUE})


class MismatchStatus(_Vocab):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class Role(_Vocab):
    ADMIN = "ADMIN"
    AUDITOR = "AUDITOR"
    POLICE = "POLICE"
    HR = "HR"
    FINANCE = "FINANCE"
    INSURANCE = "INSURANCE"
    MONITOR = "MONITOR"
    ORGANIZATION = "ORGANIZATION"
    UNIT = "UNIT"
