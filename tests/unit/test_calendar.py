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


def test_a_malformed_calendar_file_is_named_and_a_make_up_day_must_be_a_weekend_day(tmp_path):
    binary = tmp_path / "cal.bin"
    binary.write_bytes(b"\xff\xfe2027-02-08 \xd0\xdd\n")  # not UTF-8 (e.g. saved as GBK/UTF-16 by an editor)
    with pytest.raises(ValueError, match=r"cal\.bin.*UTF-8"):
        load_calendar(binary)
    # 班 on a weekday changes nothing: a typo for the weekend day meant
    with pytest.raises(ValueError, match=r"line 2: 2027-02-09 .*weekend"):
        WorkingCalendar.parse("2027-02-06 班\n2027-02-09 班 调休\n")
    # a holiday on a weekend is how the notices list them (e.g. 国庆 over a weekend)
    assert not WorkingCalendar.parse("2026-10-03 休\n").is_working_day(date(2026, 10, 3))


def test_the_office_s_day_starts_at_16_utc_the_day_before():
    """Every "today" and every day a stored (UTC) time falls on is the office's (UTC+8): one home,
    hub.domain.calendar, used by the unit of work, the workflows and the reports."""
    from datetime import datetime, timezone

    from hub.domain.calendar import office_date, office_day_start, office_today

    start = office_day_start(date(2026, 12, 7))
    assert start == datetime(2026, 12, 6, 16, tzinfo=timezone.utc)
    assert office_date(start) == date(2026, 12, 7)
    assert office_date(datetime(2026, 12, 6, 15, 59, 59, tzinfo=timezone.utc)) == date(2026, 12, 6)
    assert office_date(datetime(2026, 12, 6, 16, 30)) == date(2026, 12, 7)  # SQLite's naive times are UTC
    assert office_today(datetime(2026, 12, 31, 17, tzinfo=timezone.utc)) == date(2027, 1, 1)


def test_a_unit_of_work_s_today_is_the_office_s_date_not_utc_s(tmp_path):
    from datetime import datetime, timezone

    from hub.adapters.database import connect
    from hub.service_layer.unit_of_work import UnitOfWork

    db = connect(f"sqlite:///{tmp_path}/hub.sqlite3")
    assert UnitOfWork(db, actor="t", now=datetime(2026, 12, 6, 16, 30, tzinfo=timezone.utc)).today == date(2026, 12, 7)
    assert UnitOfWork(db, actor="t", now=datetime(2026, 12, 6, 15, 30, tzinfo=timezone.utc)).today == date(2026, 12, 6)
