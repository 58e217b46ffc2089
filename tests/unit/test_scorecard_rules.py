"""Issue 17: the scorecard's and the evaluation's pure formulas (hub.domain.scorecard), on the shipped calendar."""

from __future__ import annotations

from datetime import date

from hub.adapters.calendar_file import load_calendar
from hub.domain import scorecard as rules

CAL = load_calendar(None)


def test_working_days_after_skip_weekends_and_holidays_and_count_make_up_days():
    assert rules.working_days_after(CAL, date(2026, 3, 2), date(2026, 3, 2)) == 0  # the same day
    assert rules.working_days_after(CAL, date(2026, 3, 6), date(2026, 3, 9)) == 1  # Friday → Monday
    assert rules.working_days_after(CAL, date(2026, 2, 13), date(2026, 2, 14)) == 1  # Saturday 班 counts
    assert rules.working_days_after(CAL, date(2026, 2, 13), date(2026, 2, 24)) == 2  # the festival does not
    assert rules.working_days_after(CAL, date(2026, 4, 30), date(2026, 5, 6)) == 1  # May Day
    assert rules.working_days_after(CAL, date(2026, 9, 1), date(2026, 3, 5)) == 0  # recorded before its date


def test_a_change_is_on_time_within_one_working_day_of_its_document():
    assert rules.is_prompt(CAL, date(2026, 3, 2), date(2026, 3, 3), rules.OFFICE_TARGET_DAYS)
    assert not rules.is_prompt(CAL, date(2026, 3, 2), date(2026, 3, 4), rules.OFFICE_TARGET_DAYS)


def test_unit_points_follow_the_weights_and_an_empty_indicator_earns_its_weight():
    assert sum(rules.WEIGHTS.values()) == 100
    perfect = rules.score_unit(CAL, rules.UnitFacts())
    assert perfect.score == 100.0 and perfect.office.share is None
    f = rules.UnitFacts(office_changes=[(date(2026, 3, 2), date(2026, 3, 3)), (date(2026, 3, 2), date(2026, 3, 5))],
                        mismatch_ages=[31, 30, 100, 200, 400, 500, 600], over_quota=True, consistent=False)
    s = rules.score_unit(CAL, f)
    assert s.points["office"] == 10.0 and s.stale_mismatches == 6 and s.points["mismatches"] == 0.0
    assert s.score == 10 + 20 + 15 + 0 + 0 + 10 + 0


def test_rank_shares_equal_scores_and_months_between():
    assert rules.rank({"a": 90.0, "b": 95.0, "c": 90.0, "d": 10.0}) == {"b": 1, "a": 2, "c": 2, "d": 4}
    assert rules.months_between("2026-06", date(2026, 7, 1)) == 1
    assert rules.months_between("2025-12", date(2026, 7, 31)) == 7


def test_evaluation_fixed_points_and_grades():
    p = rules.fixed_points(over_quota=False, leader_over_quota=True, mixed=5, timeliness=80.0, unresolved_findings=2)
    assert p == {"OVER_QUOTA": 15.0, "LEADER_OVER_QUOTA": 0.0, "MIXED_CATEGORY": 0.0, "TIMELINESS": 12.0,
                 "UNRESOLVED_FINDINGS": 5.0}
    assert sum(m for _, m in rules.FIXED_INDICATORS.values()) == 60
    assert [rules.grade(s, 100) for s in (90, 89.9, 75, 74.9, 60, 59.9, 0)] == \
        ["EXCELLENT", "GOOD", "GOOD", "PASS", "PASS", "FAIL", "FAIL"]
    assert rules.grade(99, 110) == "EXCELLENT" and rules.tenths(8.5) == 85 and rules.tenths(15.5) == 155


def test_the_office_s_today_is_one_function_of_the_clock():
    """The office's today (UTC+8) had three private copies (findings API, evaluation API, `hub finding`): one now."""
    from datetime import datetime, timezone

    from hub.domain.calendar import office_date, office_today

    before = office_date(datetime.now(timezone.utc))
    assert office_today() in (before, office_date(datetime.now(timezone.utc)))
    assert office_today(datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)).isoformat() == "2027-01-01"
