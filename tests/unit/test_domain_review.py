"""Review of issue 19's domain model (rev19): defects found by an establishment officer's reading."""

from __future__ import annotations

from datetime import date

import pytest

from hub.domain.ranks import Rank, is_county_division, parse_rank
from hub.domain.registry import LeaderQuotaExhausted, check_department, leader_split
from hub.domain.retirement import retirement_due, statutory_retirement_date
from hub.domain.vocabulary import LeaderRank


# --- 1. HR rank strings in full-width characters or with Arabic digits decide nothing today -------------------------

def test_full_width_rank_codes_and_digits_are_read():
    assert parse_rank("ＤＩＶＩＳＩＯＮ＿ＣＨＩＥＦ") is Rank.DIVISION_CHIEF
    assert parse_rank("管理岗位5级") is Rank.MANAGEMENT_5
    assert parse_rank("管理岗位５级") is Rank.MANAGEMENT_5  # full-width digit
    assert parse_rank("专业技术岗位10级") is Rank.PROFESSIONAL_10
    assert parse_rank("工勤技能岗位2级") is Rank.WORKER_2


def test_a_woman_on_management_post_5_written_with_an_arabic_digit_follows_the_60_schedule():
    # 组通字〔2015〕14号: 职员等级五级、六级 women retire at 60 (now the 60-based schedule)
    r = retirement_due(date(1972, 3, 15), "F", category="PUBLIC_INSTITUTION", hr_rank="管理岗位5级")
    assert r.schedule == "60"


# --- 2. 管理岗位一级/二级 (省部级 职员) are above 县处级 yet are not counted as such ---------------------------------

def test_management_posts_1_and_2_count_as_county_division_or_above():
    assert is_county_division(Rank.MANAGEMENT_1) and is_county_division(Rank.MANAGEMENT_2)
    r = retirement_due(date(1972, 3, 15), "F", category="PUBLIC_INSTITUTION", hr_rank="二级职员")
    assert r.schedule == "60"


# --- 3. Internal departments' leaders are fixed at 正科/副科 whatever the unit's grade -------------------------------

def test_a_bureau_grade_unit_may_give_its_divisions_division_rank_positions():
    approved = {LeaderRank.DIVISION_CHIEF: 5, LeaderRank.DEPUTY_DIVISION_CHIEF: 10}
    check_department("U1", "BUREAU", approved, [], 1, 2)  # one 处室 with 1 正处, 2 副处: within the quota
    split = leader_split(approved, [(1, 2)], "BUREAU")
    assert split[LeaderRank.DIVISION_CHIEF] == {"approved": 5, "departments": 1, "team": 4}
    assert split[LeaderRank.DEPUTY_DIVISION_CHIEF] == {"approved": 10, "departments": 2, "team": 8}
    assert LeaderRank.SECTION_CHIEF not in split
    with pytest.raises(LeaderQuotaExhausted):  # six 正处 department heads do not fit five positions
        check_department("U1", "BUREAU", approved, [(5, 0)], 1, 0)
    # a 县处级 unit's 科室 are still led by 正科/副科
    assert set(leader_split({LeaderRank.SECTION_CHIEF: 3}, [(1, 1)], "DIVISION")) == {LeaderRank.SECTION_CHIEF,
                                                                                      LeaderRank.DEPUTY_SECTION_CHIEF}


# --- schedule boundaries that held (kept as regression checks) ---------------------------------------------------

@pytest.mark.parametrize("birth, gender, worker, expected", [
    (date(1964, 12, 31), "M", False, date(2024, 12, 31)),  # before the schedule: 60
    (date(1965, 1, 1), "M", False, date(2025, 2, 1)),  # first cohort: 60y1m
    (date(1965, 5, 1), "M", False, date(2025, 7, 1)),  # second cohort: 60y2m
    (date(1976, 9, 1), "M", False, date(2039, 9, 1)),  # cap 63
    (date(1968, 2, 29), "M", False, date(2028, 12, 29)),  # 29 Feb, 60y10m
    (date(1965, 1, 31), "M", False, date(2025, 2, 28)),  # month end clamped
    (date(1970, 1, 1), "F", False, date(2025, 2, 1)),  # women cadre first cohort: 55y1m
    (date(1981, 9, 1), "F", False, date(2039, 9, 1)),  # women cadre cap 58
    (date(1975, 3, 1), "F", True, date(2025, 5, 1)),  # women worker second cohort: 50y2m
    (date(1984, 11, 30), "F", True, date(2039, 11, 30)),  # women worker cap 55
])
def test_schedule_boundaries(birth, gender, worker, expected):
    assert statutory_retirement_date(birth, gender, worker) == expected


# --- 4. 职务与职级并行: a leader whose 职级 is above the post is no contradiction ---------------------------------------

def test_a_section_chief_promoted_to_level4_researcher_is_not_a_conflict():
    from hub.domain.ranks import leader_rank_conflict

    assert leader_rank_conflict("SECTION_CHIEF", "四级主任科员") is not None  # below the post: still a conflict
    assert leader_rank_conflict("SECTION_CHIEF", "四级调研员") is None


# --- 5. 混编混岗: 政法专项编制 belongs to 政法机关 only -----------------------------------------------------------------

def test_political_legal_slots_in_a_cppcc_organ_are_mixed_use():
    from hub.domain.registry import category_fits

    assert category_fits("COURT", "POLITICAL_LEGAL") and category_fits("GOVERNMENT_ORGAN", "POLITICAL_LEGAL")
    for kind in ("CPPCC", "PEOPLES_CONGRESS", "DEMOCRATIC_PARTY", "MASS_ORGANIZATION"):
        assert not category_fits(kind, "POLITICAL_LEGAL"), kind
