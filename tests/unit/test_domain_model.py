"""Issue 19: the registry as an establishment officer knows it — pure rules (hub/domain)."""

from __future__ import annotations

from hub.domain.vocabulary import MismatchClass, MismatchKind, kinds_of_class, mismatch_class


def test_every_kind_has_a_class_and_the_management_warnings_are_warnings():
    warnings = set(kinds_of_class("WARNING"))
    discrepancies = set(kinds_of_class(MismatchClass.DISCREPANCY))
    assert warnings | discrepancies == {k.value for k in MismatchKind} and not warnings & discrepancies
    for k in ("OVER_QUOTA", "LEADERSHIP_OVER_QUOTA", "RETIREMENT_DUE"):
        assert mismatch_class(k) is MismatchClass.WARNING
    for k in ("GHOST_PAYROLL", "NAME_MISMATCH", "HEADCOUNT_INCONSISTENT", "HR_UNIT_MISMATCH"):
        assert mismatch_class(MismatchKind(k)) is MismatchClass.DISCREPANCY


# --- item 4: rank (职级) --------------------------------------------------------------------------------------------

from hub.domain.ranks import Rank, RankLevel, leader_rank_conflict, parse_rank  # noqa: E402
from hub.domain.reconciliation import HrView, PartnerViews, RegistryView, person_findings  # noqa: E402

UNIT = "11330100000000001X"


def test_hr_ranks_are_read_by_code_and_by_their_chinese_names():
    assert parse_rank("四级主任科员") is Rank.LEVEL4_PRINCIPAL_CLERK
    assert parse_rank(" 一级 调研员 ") is Rank.LEVEL1_RESEARCHER
    assert parse_rank("LEVEL2_CLERK") is Rank.LEVEL2_CLERK and parse_rank("level2_clerk") is Rank.LEVEL2_CLERK
    assert parse_rank("专业技术岗位五级") is Rank.PROFESSIONAL_5 and parse_rank("高级技师") is Rank.WORKER_1
    assert parse_rank("正处级") is Rank.DIVISION_CHIEF and parse_rank("五级职员") is Rank.MANAGEMENT_5
    assert parse_rank("科长") is None and parse_rank("") is None and parse_rank(None) is None


def test_a_leader_rank_contradicts_hr_only_on_another_level():
    assert leader_rank_conflict("DIVISION_CHIEF", "四级主任科员") is RankLevel.DEPUTY_SECTION
    assert leader_rank_conflict("DIVISION_CHIEF", "一级调研员") is None  # 正处 leader, 一级调研员: both 县处级正职
    assert leader_rank_conflict("DEPUTY_SECTION_CHIEF", "管理岗位八级") is None
    assert leader_rank_conflict("SECTION_CHIEF", "专业技术岗位五级") is None  # not on the leadership ladder
    assert leader_rank_conflict(None, "四级主任科员") is None
    assert leader_rank_conflict("SECTION_CHIEF", "科长") is None  # HR text the registry cannot read decides nothing


def test_person_findings_open_leader_rank_conflict_for_an_employed_leader():
    reg = RegistryView("330106198506150011", "张伟", UNIT, "FULL", "DIVISION_CHIEF")
    found = person_findings(reg, PartnerViews(hr=HrView("张伟", UNIT, "EMPLOYED", "四级主任科员")))
    f = found[(MismatchKind.LEADER_RANK_CONFLICT, UNIT)]
    assert f.source == "hr" and f.details == {"expected": "DIVISION_CHIEF", "found": "四级主任科员",
                                               "hr_rank": "LEVEL4_PRINCIPAL_CLERK", "hr_level": "DEPUTY_SECTION"}
    assert mismatch_class(MismatchKind.LEADER_RANK_CONFLICT) is MismatchClass.DISCREPANCY
    assert not person_findings(reg, PartnerViews(hr=HrView("张伟", UNIT, "EMPLOYED", "二级调研员")))
    assert not person_findings(reg._replace(leader_rank=None), PartnerViews(hr=HrView("张伟", UNIT, "EMPLOYED", "四级主任科员")))


# --- item 6: education (学历) and degree (学位) apart, full-time and in-service -----------------------------------

import pytest  # noqa: E402

from hub.domain.registry import Person  # noqa: E402
from hub.domain.vocabulary import Degree, Education  # noqa: E402

IDN = "330106198506150011"


def test_education_and_degree_apart_full_time_and_in_service():
    p = Person.new(id_number=IDN, name="张伟", education="BACHELOR", degree="BACHELOR", in_service_education="MASTER",
                   in_service_degree="MASTER")
    assert (p.education, p.degree, p.in_service_education, p.in_service_degree) == (
        Education.BACHELOR, Degree.BACHELOR, Education.MASTER, Degree.MASTER)
    # a 本科 graduate without a degree; an in-service 硕士 degree on equivalent qualifications (同等学力)
    p = Person.new(id_number=IDN, name="张伟", education="BACHELOR", in_service_degree="MASTER")
    assert p.degree is None and p.in_service_degree is Degree.MASTER and p.in_service_education is None


@pytest.mark.parametrize("education,degree", [("BACHELOR", "MASTER"), ("COLLEGE", "BACHELOR"), (None, "BACHELOR"),
                                              ("MASTER", "DOCTOR")])
def test_a_full_time_degree_needs_the_schooling_of_its_level(education, degree):
    with pytest.raises(ValueError, match="full-time"):
        Person.new(id_number=IDN, name="张伟", education=education, degree=degree)


def test_an_unknown_degree_is_named():
    with pytest.raises(ValueError, match="unknown degree 'PHD'"):
        Person.new(id_number=IDN, name="张伟", education="DOCTORATE", degree="PHD")


# --- item 5: retirement under the 2025 rules, by post and rank, with flexible decisions ----------------------------

from datetime import date  # noqa: E402

from hub.domain.retirement import check_flexible, retirement_due, retirement_rule  # noqa: E402


def test_a_womans_age_follows_her_post_not_the_slots_category():
    born = date(1975, 3, 10)
    # cadre post (HR: 一级科员) in a WORKER slot: 55-based, 16 months' delay → 56y4m
    r = retirement_due(born, "F", category="WORKER", hr_rank="一级科员")
    assert (r.retire_on, r.post, r.schedule) == (date(2031, 7, 10), "CADRE", "55")
    # worker post (HR: 工勤技能岗位三级) in an ADMINISTRATIVE slot: 50-based, 2 months' delay → 50y2m
    r = retirement_due(born, "F", category="ADMINISTRATIVE", hr_rank="工勤技能岗位三级")
    assert (r.retire_on, r.post, r.schedule) == (date(2025, 5, 10), "WORKER", "50")
    # HR reports no rank the registry reads: the slot's category decides, as before
    assert retirement_due(born, "F", category="WORKER", hr_rank="科长").retire_on == date(2025, 5, 10)
    assert retirement_due(born, "F", category="ADMINISTRATIVE").retire_on == date(2031, 7, 10)


def test_women_county_division_leaders_and_senior_titles_follow_the_60_based_schedule():
    born = date(1968, 6, 1)  # 60-based: 41 months after 1965-01 → 11 months' delay → 60y11m
    assert retirement_due(born, "F", category="ADMINISTRATIVE").retire_on == date(2023, 6, 1)  # 55, before 1970
    leader = retirement_due(born, "F", category="ADMINISTRATIVE", leader_rank="DEPUTY_DIVISION_CHIEF")
    assert (leader.retire_on, leader.schedule) == (date(2029, 5, 1), "60")
    assert retirement_due(born, "F", category="ADMINISTRATIVE", hr_rank="三级调研员").retire_on == date(2029, 5, 1)
    senior = retirement_due(born, "F", category="PUBLIC_INSTITUTION", hr_rank="专业技术岗位六级")  # 副高级
    assert senior.retire_on == date(2029, 5, 1)
    assert retirement_due(born, "F", category="PUBLIC_INSTITUTION", hr_rank="专业技术岗位八级").retire_on == date(2023, 6, 1)
    assert retirement_due(born, "F", category="ADMINISTRATIVE", leader_rank="SECTION_CHIEF").retire_on == date(2023, 6, 1)
    # men are on the 60-based schedule anyway
    assert retirement_due(born, "M", category="ADMINISTRATIVE", leader_rank="DIVISION_CHIEF").retire_on == date(2029, 5, 1)


def test_flexible_retirement_moves_the_date_within_the_law():
    man = retirement_rule("M", worker_post=False)
    born = date(1964, 5, 20)  # statutory 2024-05-20 (before 1965: 60)
    assert check_flexible(man, born, "DELAY", date(2027, 5, 20)) == date(2027, 5, 20)  # three years at most
    with pytest.raises(ValueError, match="弹性延迟"):
        check_flexible(man, born, "DELAY", date(2027, 5, 21))
    with pytest.raises(ValueError, match="弹性延迟"):
        check_flexible(man, born, "DELAY", date(2024, 5, 20))
    born = date(1970, 1, 15)  # statutory 2031-05-15 (61y4m); never before 60: 2030-01-15
    assert check_flexible(man, born, "EARLY", date(2030, 1, 15)) == date(2030, 1, 15)
    with pytest.raises(ValueError, match="弹性提前"):
        check_flexible(man, born, "EARLY", date(2030, 1, 14))
    with pytest.raises(ValueError, match="unknown flexible retirement"):
        check_flexible(man, born, "LATER", date(2031, 6, 1))
    d = retirement_due(date(1964, 5, 20), "M", category="ADMINISTRATIVE", decision=("DELAY", date(2027, 5, 20)))
    assert (d.retire_on, d.statutory, d.decision) == (date(2027, 5, 20), date(2024, 5, 20), "DELAY")


# --- item 3: non-establishment staff (编外) and retirees are not ghosts -------------------------------------------

from hub.domain.reconciliation import PayLine  # noqa: E402

OTHER = "11330100000000002X"


def _ghosts(reg, *units):
    found = person_findings(reg, PartnerViews(pay=tuple(PayLine(u, "2026-10", None, True) for u in units)))
    return sorted(u for (k, u) in found if k is MismatchKind.GHOST_PAYROLL)


def test_pay_for_registered_non_establishment_staff_and_retirees_is_recognised_and_pay_from_no_register_is_a_ghost():
    contract = RegistryView("330106198506150011", non_establishment=(UNIT,))
    assert _ghosts(contract, UNIT) == []  # 编外, paid by the unit that employs them: not in the registry, not a ghost
    assert _ghosts(contract, OTHER) == [OTHER]  # paid by another unit: a ghost there
    retiree = RegistryView("330106195506150011", "张伟", non_establishment=(UNIT,))
    assert _ghosts(retiree, UNIT) == []  # a registered retiree's pension through finance from the unit
    assert _ghosts(RegistryView("330106195506150011", "张伟"), UNIT) == [UNIT]  # retired, pay goes on, none registered
    assert _ghosts(RegistryView("330106198506150011"), UNIT) == [UNIT]  # in no register at all: a ghost
    assert _ghosts(RegistryView("330106198506150011", "张伟"), UNIT) == [UNIT]  # registered, never posted


# --- item 8: 混编混岗 -------------------------------------------------------------------------------------------------

from hub.domain.registry import category_fits  # noqa: E402


def test_a_category_fits_its_units_kind():
    assert category_fits("GOVERNMENT_ORGAN", "ADMINISTRATIVE") and category_fits("COURT", "POLITICAL_LEGAL")
    assert category_fits("PARTY_ORGAN", "WORKER") and category_fits("PUBLIC_INSTITUTION", "WORKER")
    assert category_fits("PUBLIC_INSTITUTION", "PUBLIC_INSTITUTION")
    assert not category_fits("PUBLIC_INSTITUTION", "ADMINISTRATIVE")  # an administrative slot in a public institution
    assert not category_fits("GOVERNMENT_ORGAN", "PUBLIC_INSTITUTION")  # a public-institution slot in an organ
    assert mismatch_class("MIXED_CATEGORY") is MismatchClass.WARNING


# --- item 1: unit grade (机构规格), 参公, classification, dispatched bodies ------------------------------------------

from hub.domain.registry import Unit, leader_rank_fits_grade  # noqa: E402
from hub.domain.vocabulary import DispatchedBody, InstitutionClass, UnitGrade  # noqa: E402


def _unit(**kw):
    base = dict(code="11330100000000001L", name="杭州市测试中心", kind="PUBLIC_INSTITUTION", level="CITY", region_code="330100", funding="FULL")
    return Unit.new(**(base | kw))


def test_unit_parameters_belong_to_their_kind():
    u = _unit(grade="DIVISION", civil_service_managed=True, classification="ADMINISTRATIVE_FUNCTIONS")
    assert (u.grade, u.civil_service_managed, u.classification) == (UnitGrade.DIVISION, True, InstitutionClass.ADMINISTRATIVE_FUNCTIONS)
    street = _unit(kind="GOVERNMENT_ORGAN", name="上城区湖滨街道办事处", grade="DEPUTY_DIVISION", dispatched="SUBDISTRICT_OFFICE")
    assert street.dispatched is DispatchedBody.SUBDISTRICT_OFFICE
    for bad, why in ((dict(kind="GOVERNMENT_ORGAN", civil_service_managed=True), "参公"),
                     (dict(kind="PARTY_ORGAN", classification="PUBLIC_WELFARE_1"), "classification"),
                     (dict(dispatched="DEVELOPMENT_ZONE"), "dispatched"),
                     (dict(grade="COUNTY"), "unknown unit grade"),
                     (dict(classification="PUBLIC_WELFARE_3"), "unknown classification")):
        with pytest.raises(ValueError, match=why):
            _unit(**bad)


def test_leader_ranks_fit_the_units_grade():
    assert leader_rank_fits_grade("DIVISION", "DIVISION_CHIEF") and leader_rank_fits_grade("DIVISION", "DEPUTY_SECTION_CHIEF")
    assert leader_rank_fits_grade("DEPUTY_BUREAU", "DIVISION_CHIEF") and leader_rank_fits_grade(None, "DIVISION_CHIEF")
    assert not leader_rank_fits_grade("SECTION", "DIVISION_CHIEF")  # no 正处 leader in a 正科级 unit
    assert not leader_rank_fits_grade("SECTION", "DEPUTY_DIVISION_CHIEF")
    assert not leader_rank_fits_grade("DEPUTY_DIVISION", "DIVISION_CHIEF")
    assert leader_rank_fits_grade("SECTION", "SECTION_CHIEF")


# --- item 2: internal departments (内设机构) and the leader split -------------------------------------------------

from hub.domain.registry import LeaderQuotaExhausted, LeaderRankAboveGrade, check_department, leader_split  # noqa: E402
from hub.domain.vocabulary import LeaderRank  # noqa: E402


def test_departments_hold_section_positions_and_the_team_keeps_the_rest():
    approved = {LeaderRank.DIVISION_CHIEF: 1, LeaderRank.DEPUTY_DIVISION_CHIEF: 3, LeaderRank.SECTION_CHIEF: 5,
                LeaderRank.DEPUTY_SECTION_CHIEF: 6}
    split = leader_split(approved, [(1, 2), (1, 1)])
    assert split[LeaderRank.SECTION_CHIEF] == {"approved": 5, "departments": 2, "team": 3}
    assert split[LeaderRank.DEPUTY_SECTION_CHIEF] == {"approved": 6, "departments": 3, "team": 3}
    assert split[LeaderRank.DIVISION_CHIEF] == {"approved": 1, "departments": 0, "team": 1}
    check_department("U", "DIVISION", approved, [(1, 2), (1, 1)], 3, 3)  # exactly the rest
    with pytest.raises(LeaderQuotaExhausted, match="SECTION_CHIEF"):
        check_department("U", "DIVISION", approved, [(1, 2), (1, 1)], 4, 0)
    with pytest.raises(LeaderRankAboveGrade):  # 股室 of a 正科级 unit hold no leader positions
        check_department("U", "SECTION", approved, [], 1, 0)
    check_department("U", "SECTION", approved, [], 0, 0)
    assert mismatch_class("UNAPPROVED_DEPARTMENT") is MismatchClass.WARNING


@pytest.mark.parametrize("name", ["张\n三", "张三\x00", "\x7f张三", "张\x85三", "张\r三", "张\t三"])
def test_a_name_with_a_control_character_is_refused(name):
    from hub.domain.registry import Person
    from hub.domain.workflows import OnboardingApplication

    with pytest.raises(ValueError, match="control characters"):
        Person.new(id_number=IDN, name=name)
    with pytest.raises(ValueError, match="control characters"):
        _unit(name=name)
    with pytest.raises(ValueError, match="control characters"):
        OnboardingApplication.new(unit_code="11330100000000001L", id_number=IDN, name=name,
                                  category="ADMINISTRATIVE", route="SELECTED_GRADUATE", start_date=date(2026, 3, 1))


def test_a_name_with_spaces_and_rare_characters_is_kept():
    from hub.domain.registry import Person

    for name in ["赵\u3000六", "阿卜杜·热合曼", "Anne-Marie O'Neil", "𠀀𠀁"]:
        assert Person.new(id_number=IDN, name=f"  {name} ").name == name
