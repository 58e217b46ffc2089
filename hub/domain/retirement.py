"""Statutory retirement age on China's gradual schedule from 2025-01-01.

Rule: 全国人大常委会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13), in force
from 2025-01-01, with its annex 《关于渐进式延迟法定退休年龄的办法》:

* Men: original age 60. From births in 1965-01, one month of delay per four
  months of birth cohort, up to 36 months (63 years).
* Women cadres (non-worker posts): original age 55. From births in 1970-01,
  one month of delay per four months, up to 36 months (58 years).
* Women workers (工勤 posts): original age 50. From births in 1975-01, one
  month of delay per two months, up to 60 months (55 years).

For a birth month at ``months_since`` months after the cohort start (negative
before it), the delay is ``min(cap, months_since // step + 1)`` when
``months_since >= 0`` and zero otherwise.

Plain Python: no framework imports here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class _Schedule:
    base_age_months: int  # original statutory age, in months
    start_year: int  # first birth cohort (year, month) that is delayed
    start_month: int
    step_months: int  # months of birth cohort per one month of delay
    cap_months: int  # maximum delay, in months


# Keyed by (gender, worker). For men ``worker`` does not matter.
_SCHEDULES: dict[tuple[str, bool], _Schedule] = {
    ("M", False): _Schedule(60 * 12, 1965, 1, 4, 36),
    ("M", True): _Schedule(60 * 12, 1965, 1, 4, 36),
    ("F", False): _Schedule(55 * 12, 1970, 1, 4, 36),
    ("F", True): _Schedule(50 * 12, 1975, 1, 2, 60),
}


def _schedule(gender: str, worker: bool) -> _Schedule:
    if gender not in ("M", "F"):
        raise ValueError(f"gender must be 'M' or 'F', got {gender!r}")
    return _SCHEDULES[(gender, bool(worker))]


def statutory_retirement_age_months(birth_date: date, gender: str, worker: bool) -> int:
    """Statutory retirement age in months (e.g. 720 = 60 years) on China's 2025 gradual schedule."""
    s = _schedule(gender, worker)
    months_since = (birth_date.year - s.start_year) * 12 + (birth_date.month - s.start_month)
    if months_since < 0:
        return s.base_age_months
    return s.base_age_months + min(s.cap_months, months_since // s.step_months + 1)


def _add_months(d: date, months: int) -> date:
    total = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(total, 12)
    month = month0 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def statutory_retirement_date(birth_date: date, gender: str, worker: bool) -> date:
    """The date the person reaches statutory retirement age: birth_date + age months (day clamped to the month's last day, e.g. born 31st)."""
    return _add_months(birth_date, statutory_retirement_age_months(birth_date, gender, worker))


def is_past_retirement(birth_date: date, gender: str, worker: bool, today: date) -> bool:
    """True when today >= statutory_retirement_date."""
    return today >= statutory_retirement_date(birth_date, gender, worker)
