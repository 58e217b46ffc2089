"""The working-day calendar: weekends, public holidays, make-up working days, and turnaround."""

from datetime import date

import pytest

from hub.adapters.calendar_file import load_calendar
from hub.domain.calendar import WorkingCalendar


def test_weekends_holidays_and_make_up_days():
    cal = load_calendar()
    assert cal.is_working_day(date(2026, 3, 2))           # a Monday
    assert not cal.is_working_day(date(2026, 3, 7))       # a Saturday
    assert not cal.is_working_day(date(2026, 10, 1))      # 国庆节, a Thursday
    assert cal.is_working_day(date(2026, 10, 10))         # 调休上班, a Saturday
    assert cal.is_working_day(date(2026, 2, 14))          # 春节调休上班, a Saturday


def test_turnaround_counts_working_days_from_submission_to_decision():
    cal = load_calendar()
    assert cal.turnaround(date(2026, 3, 2), date(2026, 3, 2)) == 1     # 当日办结
    assert cal.turnaround(date(2026, 3, 6), date(2026, 3, 9)) == 2     # Friday → Monday
    # Friday 2-13, the make-up Saturday 2-14, nine days of 春节, Tuesday 2-24
    assert cal.turnaround(date(2026, 2, 13), date(2026, 2, 24)) == 3
    assert cal.turnaround(date(2026, 9, 30), date(2026, 10, 9)) == 3   # 9-30, 10-08, 10-09: 国庆 in between
    with pytest.raises(ValueError):
        cal.turnaround(date(2026, 3, 3), date(2026, 3, 2))


def test_the_office_can_write_its_own_calendar_and_bad_lines_are_named(tmp_path):
    own = tmp_path / "cal.txt"
    own.write_text("# 2027\n2027-02-08 休 春节\n2027-02-06 班 调休\n", encoding="utf-8")
    cal = load_calendar(own)
    assert not cal.is_working_day(date(2027, 2, 8)) and cal.is_working_day(date(2027, 2, 6))
    with pytest.raises(ValueError, match="line 2"):
        WorkingCalendar.parse("2027-02-08 休\n2027-02-30 休\n")
    with pytest.raises(ValueError, match="休"):
        WorkingCalendar.parse("2027-02-08 off\n")
    with pytest.raises(ValueError, match="twice"):
        WorkingCalendar.parse("2027-02-08 休\n2027-02-08 班\n")
    with pytest.raises(ValueError, match="cannot read"):
        load_calendar(tmp_path / "missing.txt")
