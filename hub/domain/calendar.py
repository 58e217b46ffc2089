"""Working days (工作日): weekdays, minus public holidays (法定节假日), plus make-up working days on weekends (调休上班)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

OFFICE_TIME = timezone(timedelta(hours=8))  # China Standard Time: the office's working days are local dates


def office_time(t: datetime) -> datetime:
    """A stored time on the office's clock (SQLite gives it back without a zone: it is UTC)."""
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(OFFICE_TIME)


def office_date(t: datetime) -> date:
    """The office's local date of a stored time."""
    return office_time(t).date()


def office_day_start(d: date) -> datetime:
    """The instant (UTC) the office's day ``d`` begins: 00:00 UTC+8, i.e. 16:00 UTC the day before. Ranges of office
    days are ``[office_day_start(first), office_day_start(last + 1 day))``."""
    return datetime.combine(d, time.min, tzinfo=OFFICE_TIME).astimezone(timezone.utc)


def office_today(now: datetime | None = None) -> date:
    """The office's local date now (or at ``now``): the "today" of every deadline, scorecard, evaluation, report and
    daily check, whatever the host's zone (a container in UTC would otherwise start the office's day at 08:00)."""
    return office_date(now or datetime.now(timezone.utc))


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked in exchange (调休上班)

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def turnaround(self, submitted: date, decided: date) -> int:
        """Working days an application took: the working days from the day of submission to the day of the decision,
        both counted (decided the same working day: 1, 当日办结). A decision before submission is an error."""
        if decided < submitted:
            raise ValueError(f"decision {decided} is before submission {submitted}")
        n, d = 0, submitted
        while d <= decided:
            n += self.is_working_day(d)
            d += timedelta(days=1)
        return n

    @classmethod
    def parse(cls, text: str, source: str = "calendar") -> "WorkingCalendar":
        """Lines ``YYYY-MM-DD 休|班 [note]`` (also ``holiday`` / ``workday``); ``#`` starts a comment. A bad line is a
        ValueError naming it; a date listed twice is one too."""
        holidays: set[date] = set()
        workdays: set[date] = set()
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            try:
                d = date.fromisoformat(parts[0])
            except ValueError:
                raise ValueError(f"{source} line {n}: {parts[0]!r} is not a date (YYYY-MM-DD)") from None
            kind = parts[1] if len(parts) > 1 else ""
            if kind in ("休", "holiday"):
                target = holidays
            elif kind in ("班", "workday"):
                target = workdays
            else:
                raise ValueError(f"{source} line {n}: kind must be 休 (holiday) or 班 (make-up working day), not {kind!r}")
            if d in holidays or d in workdays:
                raise ValueError(f"{source} line {n}: {d} is listed twice")
            if target is workdays and d.weekday() < 5:  # a typo for the weekend day meant: it would change nothing
                raise ValueError(f"{source} line {n}: {d} is a weekday; a make-up working day (班) is a weekend day")
            target.add(d)
        return cls(frozenset(holidays), frozenset(workdays))
