"""The registry's controlled vocabularies (contract section 1)."""

from __future__ import annotations

from enum import Enum
from typing import Self


class _Vocab(str, Enum):
    @classmethod
    def parse(cls, value: str, what: str | None = None) -> Self:
        """The member named ``value``; a clear ValueError listing allowed values otherwise."""
        try:
            return cls(value.strip())
        except (ValueError, AttributeError):
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown {what or cls.__name__} {value!r} (allowed: {allowed})") from None


class UnitKind(_Vocab):
    PARTY_ORGAN = "PARTY_ORGAN"  # 党委机关
    PEOPLES_CONGRESS = "PEOPLES_CONGRESS"  # 人大机关
    GOVERNMENT_ORGAN = "GOVERNMENT_ORGAN"  # 政府机关
    CPPCC = "CPPCC"  # 政协机关
    SUPERVISORY_ORGAN = "SUPERVISORY_ORGAN"  # 监察机关
    COURT = "COURT"  # 审判机关
    PROCURATORATE = "PROCURATORATE"  # 检察机关
    DEMOCRATIC_PARTY = "DEMOCRATIC_PARTY"  # 民主党派机关
    MASS_ORGANIZATION = "MASS_ORGANIZATION"  # 群团机关
    PUBLIC_INSTITUTION = "PUBLIC_INSTITUTION"  # 事业单位


class UnitLevel(_Vocab):
    CITY = "CITY"  # 市本级
    DISTRICT = "DISTRICT"  # 区县(市)
    TOWNSHIP = "TOWNSHIP"  # 乡镇(街道)


class UnitGrade(_Vocab):
    """机构规格."""

    BUREAU = "BUREAU"  # 正厅(局)级
    DEPUTY_BUREAU = "DEPUTY_BUREAU"  # 副厅(局)级
    DIVISION = "DIVISION"  # 正处级
    DEPUTY_DIVISION = "DEPUTY_DIVISION"  # 副处级
    SECTION = "SECTION"  # 正科级
    DEPUTY_SECTION = "DEPUTY_SECTION"  # 副科级


class InstitutionClass(_Vocab):
    """事业单位分类 (public institutions only)."""

    PUBLIC_WELFARE_1 = "PUBLIC_WELFARE_1"  # 公益一类
    PUBLIC_WELFARE_2 = "PUBLIC_WELFARE_2"  # 公益二类
    ADMINISTRATIVE_FUNCTIONS = "ADMINISTRATIVE_FUNCTIONS"  # 承担行政职能
    BUSINESS = "BUSINESS"  # 经营类


class DispatchedBody(_Vocab):
    """派出机构 (organs only)."""

    SUBDISTRICT_OFFICE = "SUBDISTRICT_OFFICE"  # 街道办事处
    DEVELOPMENT_ZONE = "DEVELOPMENT_ZONE"  # 开发区管委会


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
    """学历: the level of schooling completed (apart from the degree, 学位)."""

    DOCTORATE = "DOCTORATE"  # 博士研究生
    MASTER = "MASTER"  # 硕士研究生
    BACHELOR = "BACHELOR"  # 大学本科
    COLLEGE = "COLLEGE"  # 大学专科
    SECONDARY = "SECONDARY"  # 中专、高中
    OTHER = "OTHER"  # 其他


class Degree(_Vocab):
    """学位: the degree awarded (a 本科 graduate may hold no 学士 degree; an in-service 硕士 degree needs no 研究生学历)."""

    DOCTOR = "DOCTOR"  # 博士
    MASTER = "MASTER"  # 硕士
    BACHELOR = "BACHELOR"  # 学士


class NonEstablishmentKind(_Vocab):
    """编外人员: staff employed outside the establishment, paid by a unit."""

    CONTRACT = "CONTRACT"  # 编外合同制聘用
    LABOUR_DISPATCH = "LABOUR_DISPATCH"  # 劳务派遣
    SECONDMENT = "SECONDMENT"  # 借调
    TEMPORARY_POST = "TEMPORARY_POST"  # 挂职
    RETIREE_PENSION = "RETIREE_PENSION"  # 退休人员, 退休费由财政发放 (a pension paid through the unit's finance line)


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
    LEADER_RANK_CONFLICT = "LEADER_RANK_CONFLICT"  # a posting's leader rank on another level than HR's rank (职级)
    MIXED_CATEGORY = "MIXED_CATEGORY"  # 混编混岗: a posting's category does not fit its unit's kind
    UNAPPROVED_DEPARTMENT = "UNAPPROVED_DEPARTMENT"  # 擅自设立内设机构: a department the unit's approval does not name


class MismatchClass(_Vocab):
    WARNING = "WARNING"  # 管理预警: about the registry itself (quota, leader positions, retirement, its own rules)
    DISCREPANCY = "DISCREPANCY"  # 比对疑点: the registry and a partner department disagree


# Every kind's class. A kind missing here is a bug: tests/unit/test_mismatch_classes.py checks every kind has one.
WARNING_KINDS = frozenset({MismatchKind.OVER_QUOTA, MismatchKind.LEADERSHIP_OVER_QUOTA, MismatchKind.RETIREMENT_DUE,
                           MismatchKind.MIXED_CATEGORY, MismatchKind.UNAPPROVED_DEPARTMENT})


def mismatch_class(kind: "MismatchKind | str") -> MismatchClass:
    """WARNING for the management warnings (管理预警), DISCREPANCY for the partner comparisons' findings (比对疑点)."""
    return MismatchClass.WARNING if MismatchKind(kind) in WARNING_KINDS else MismatchClass.DISCREPANCY


def kinds_of_class(cls: "MismatchClass | str") -> list[str]:
    """The kind names of one class, sorted."""
    c = MismatchClass(cls)
    return sorted(k.value for k in MismatchKind if mismatch_class(k) is c)


UNIT_LEVEL_KINDS = frozenset(
    {MismatchKind.OVER_QUOTA, MismatchKind.LEADERSHIP_OVER_QUOTA, MismatchKind.HEADCOUNT_INCONSISTENT,
     MismatchKind.UNAPPROVED_DEPARTMENT}
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


# --- Workflows (contract section 9) ---------------------------------------------------------------------------


class RecruitmentRoute(_Vocab):
    CIVIL_SERVICE_EXAM = "CIVIL_SERVICE_EXAM"  # 公务员考试录用
    SELECTED_GRADUATE = "SELECTED_GRADUATE"  # 选调生
    OPEN_SELECTION = "OPEN_SELECTION"  # 公开遴选、选调
    TRANSFER_IN = "TRANSFER_IN"  # 调任、调入
    OPEN_RECRUITMENT = "OPEN_RECRUITMENT"  # 事业单位公开招聘
    TALENT_INTRODUCTION = "TALENT_INTRODUCTION"  # 人才引进
    MILITARY_TRANSFER = "MILITARY_TRANSFER"  # 军队转业安置
    POLICY_PLACEMENT = "POLICY_PLACEMENT"  # 其他政策性安置


class DepartureReason(_Vocab):
    RETIREMENT = "RETIREMENT"  # 退休
    TRANSFER_OUT = "TRANSFER_OUT"  # 调出
    RESIGNATION = "RESIGNATION"  # 辞职
    DISMISSAL = "DISMISSAL"  # 辞退
    EXPULSION = "EXPULSION"  # 开除
    CONTRACT_TERMINATION = "CONTRACT_TERMINATION"  # 解聘
    DEATH = "DEATH"  # 死亡
    EMIGRATION = "EMIGRATION"  # 出国(境)定居
    CRIMINAL_SENTENCE = "CRIMINAL_SENTENCE"  # 判刑
    OTHER = "OTHER"  # 其他


class ApplicationStatus(_Vocab):
    IN_REVIEW = "IN_REVIEW"
    RETURNED = "RETURNED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class FormKind(_Vocab):
    ONBOARDING = "ONBOARDING"  # 进编审批表
    DEPARTURE = "DEPARTURE"  # 减员通知单
    TRANSFER = "TRANSFER"  # 调动审批表
    LEADER_APPOINTMENT = "LEADER_APPOINTMENT"  # 领导职数使用审批表
    HIRING_PLAN = "HIRING_PLAN"  # 用编计划核准表


class DocumentKind(_Vocab):
    COMMITTEE_MINUTES = "COMMITTEE_MINUTES"  # 编委会议纪要
    REPLY = "REPLY"  # 批复
    NOTICE = "NOTICE"  # 通知
    DECISION = "DECISION"  # 决定
    APPOINTMENT = "APPOINTMENT"  # 任免文件
    OTHER = "OTHER"  # 其他
