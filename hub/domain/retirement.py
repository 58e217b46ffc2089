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
from enum import Enum
from datetime import date, timedelta


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


# --- The office's rules on top of the schedule (issue 19) ----------------------------------------------------------
#
# * A woman's schedule follows her post (岗位): a worker skill post (工勤技能岗位) the worker one, any other post the
#   cadre one — not the category of the slot she holds.
# * Women who are 县处级 leaders or hold senior professional titles (副高级 and above) had 60 as their original age
#   (中组部、人事部 rules): they follow the 60-based schedule, like men.
# * An approved flexible retirement (弹性退休) is a recorded decision: 弹性提前 at most three years before the statutory
#   date and never before the original age (50, 55 or 60); 弹性延迟 at most three years after it. The date it sets
#   replaces the statutory one.


class FlexibleRetirement(str, Enum):
    EARLY = "EARLY"  # 弹性提前退休
    DELAY = "DELAY"  # 弹性延迟退休


FLEXIBLE_MONTHS = 36


@dataclass(frozen=True)
class RetirementRule:
    """Which schedule applies to a person: her post (worker or cadre) and whether the 60-based one does."""

    gender: str
    worker_post: bool = False
    sixty_based: bool = False

    def _key(self) -> tuple[str, bool]:
        if self.gender == "F" and self.sixty_based:
            return "M", False  # the 60-based schedule
        return self.gender, self.worker_post

    def statutory_date(self, birth_date: date) -> date:
        return statutory_retirement_date(birth_date, *self._key())

    def original_age_date(self, birth_date: date) -> date:
        """The date of the original statutory age (60, 55 or 50), the earliest any flexible decision may set."""
        return _add_months(birth_date, _schedule(*self._key()).base_age_months)

    @property
    def schedule(self) -> str:
        """Which schedule applies, by its original age: "60", "55" or "50"."""
        return str(_schedule(*self._key()).base_age_months // 12)


def retirement_rule(gender: str, *, worker_post: bool, county_division_leader: bool = False,
                    senior_title: bool = False) -> RetirementRule:
    """The rule for a person: women 县处级 leaders and senior titles on the 60-based schedule (a worker post never is)."""
    _schedule(gender, worker_post)  # a clear error for an unknown gender
    sixty = gender == "F" and not worker_post and (county_division_leader or senior_title)
    return RetirementRule(gender, worker_post, sixty)


def check_flexible(rule: RetirementRule, birth_date: date, kind: FlexibleRetirement | str, retire_on: date) -> date:
    """The date a flexible retirement decision sets, or ValueError saying why the law does not allow it."""
    try:
        kind = FlexibleRetirement(kind)
    except ValueError:
        raise ValueError(f"unknown flexible retirement {kind!r} (allowed: EARLY, DELAY)") from None
    statutory = rule.statutory_date(birth_date)
    if kind is FlexibleRetirement.EARLY:
        earliest = max(rule.original_age_date(birth_date), _add_months(statutory, -FLEXIBLE_MONTHS))
        if not earliest <= retire_on < statutory:
            raise ValueError(f"an early retirement (弹性提前) falls between {earliest.isoformat()} and the statutory "
                             f"date {statutory.isoformat()}, not on {retire_on.isoformat()}")
    else:
        latest = _add_months(statutory, FLEXIBLE_MONTHS)
        if not statutory < retire_on <= latest:
            raise ValueError(f"a delayed retirement (弹性延迟) falls after the statutory date {statutory.isoformat()} "
                             f"and by {latest.isoformat()}, not on {retire_on.isoformat()}")
    return retire_on


@dataclass(frozen=True)
class RetirementDue:
    """When a person retires and why: the statutory date, or the flexible decision's."""

    retire_on: date
    statutory: date
    post: str  # WORKER or CADRE
    schedule: str  # "60", "55" or "50"
    decision: str | None = None  # EARLY or DELAY


def retirement_due(birth_date: date, gender: str, *, category: str | None, leader_rank: str | None = None,
                   hr_rank: str | None = None, decision: tuple[str, date] | None = None) -> RetirementDue:
    """A posted person's retirement date. The post is HR's rank when HR reports one the registry reads (a 工勤技能
    grade: a worker post; any other: a cadre post); without it, the slot's category (WORKER: a worker post)."""
    from hub.domain.ranks import SENIOR_PROFESSIONAL, is_county_division, is_worker_post, parse_rank

    rank = parse_rank(hr_rank)
    worker = is_worker_post(rank) if rank is not None else category == "WORKER"
    rule = retirement_rule(gender, worker_post=worker, county_division_leader=is_county_division(rank, leader_rank),
                           senior_title=rank in SENIOR_PROFESSIONAL)
    statutory = rule.statutory_date(birth_date)
    kind, on = decision if decision else (None, statutory)
    return RetirementDue(on, statutory, "WORKER" if worker else "CADRE", rule.schedule, kind)


# The lowest original age of every schedule (a woman worker's 50): no statutory date comes earlier, and a flexible
# early retirement never goes below the original age either.
_EARLIEST_AGE_MONTHS = min(s.base_age_months for s in _SCHEDULES.values())


def latest_birth_date_retiring_by(today: date) -> date:
    """The latest birth date whose holder can have reached a statutory retirement date by ``today``, whatever the
    gender, post or rank: anyone born later is not yet due without a flexible decision. A bound for bulk checks,
    which then need not judge the young (``retirement_due(...).retire_on > today`` for every later birth date)."""
    born = _add_months(today, -_EARLIEST_AGE_MONTHS)
    while _add_months(born, _EARLIEST_AGE_MONTHS) > today:  # a day clamped to the month's end
        born -= timedelta(days=1)
    while _add_months(born + timedelta(days=1), _EARLIEST_AGE_MONTHS) <= today:
        born += timedelta(days=1)
    return born
