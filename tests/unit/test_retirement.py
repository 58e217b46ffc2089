"""Statutory retirement age on the 2025 gradual schedule (hub.domain.retirement).

Expected values below were worked out by hand from the rule:
delay = min(cap, months_since(cohort start) // step + 1), zero before the start;
retirement date = birth date + age months, day clamped to the month's end.
"""

from datetime import date

import pytest

from hub.domain.retirement import (
    is_past_retirement,
    statutory_retirement_age_months,
    statutory_retirement_date,
)


def ym(years: int, months: int = 0) -> int:
    return years * 12 + months


# (birth date, gender, worker, expected age in months, expected retirement date)
CASES = [
    # --- Men: base 60y, from 1965-01, +1 month per 4 months, cap +36 (63y) ---
    pytest.param(date(1950, 3, 3), "M", False, ym(60), date(2010, 3, 3), id="M-1950-long-before"),
    pytest.param(date(1964, 12, 15), "M", False, ym(60), date(2024, 12, 15), id="M-1964-12-last-undelayed"),
    pytest.param(date(1965, 1, 10), "M", False, ym(60, 1), date(2025, 2, 10), id="M-1965-01-first-delayed"),
    pytest.param(date(1965, 4, 30), "M", False, ym(60, 1), date(2025, 5, 30), id="M-1965-04-end-of-first-band"),
    pytest.param(date(1965, 5, 1), "M", False, ym(60, 2), date(2025, 7, 1), id="M-1965-05-second-band"),
    pytest.param(date(1965, 8, 31), "M", False, ym(60, 2), date(2025, 10, 31), id="M-1965-08-end-of-second-band"),
    pytest.param(date(1965, 9, 1), "M", False, ym(60, 3), date(2025, 12, 1), id="M-1965-09-third-band"),
    pytest.param(date(1976, 8, 15), "M", False, ym(62, 11), date(2039, 7, 15), id="M-1976-08-one-below-cap"),
    pytest.param(date(1976, 9, 15), "M", False, ym(63), date(2039, 9, 15), id="M-1976-09-reaches-cap"),
    pytest.param(date(1976, 12, 1), "M", False, ym(63), date(2039, 12, 1), id="M-1976-12-capped"),
    pytest.param(date(1990, 6, 15), "M", False, ym(63), date(2053, 6, 15), id="M-1990-capped"),
    # worker flag does not matter for men
    pytest.param(date(1965, 5, 1), "M", True, ym(60, 2), date(2025, 7, 1), id="M-worker-same-as-cadre"),
    pytest.param(date(1990, 6, 15), "M", True, ym(63), date(2053, 6, 15), id="M-worker-capped"),
    # --- Women cadres: base 55y, from 1970-01, +1 month per 4 months, cap +36 (58y) ---
    pytest.param(date(1969, 12, 20), "F", False, ym(55), date(2024, 12, 20), id="Fc-1969-12-last-undelayed"),
    pytest.param(date(1970, 1, 1), "F", False, ym(55, 1), date(2025, 2, 1), id="Fc-1970-01-first-delayed"),
    pytest.param(date(1970, 4, 30), "F", False, ym(55, 1), date(2025, 5, 30), id="Fc-1970-04-end-of-first-band"),
    pytest.param(date(1970, 5, 31), "F", False, ym(55, 2), date(2025, 7, 31), id="Fc-1970-05-second-band"),
    pytest.param(date(1972, 6, 1), "F", False, ym(55, 8), date(2028, 2, 1), id="Fc-1972-06-mid-schedule"),
    pytest.param(date(1981, 8, 10), "F", False, ym(57, 11), date(2039, 7, 10), id="Fc-1981-08-one-below-cap"),
    pytest.param(date(1981, 9, 10), "F", False, ym(58), date(2039, 9, 10), id="Fc-1981-09-reaches-cap"),
    pytest.param(date(1995, 1, 1), "F", False, ym(58), date(2053, 1, 1), id="Fc-1995-capped"),
    # --- Women workers: base 50y, from 1975-01, +1 month per 2 months, cap +60 (55y) ---
    pytest.param(date(1969, 12, 20), "F", True, ym(50), date(2019, 12, 20), id="Fw-1969-12-base"),
    pytest.param(date(1972, 6, 1), "F", True, ym(50), date(2022, 6, 1), id="Fw-1972-06-before-worker-start"),
    pytest.param(date(1974, 12, 30), "F", True, ym(50), date(2024, 12, 30), id="Fw-1974-12-last-undelayed"),
    pytest.param(date(1975, 1, 15), "F", True, ym(50, 1), date(2025, 2, 15), id="Fw-1975-01-first-delayed"),
    pytest.param(date(1975, 2, 15), "F", True, ym(50, 1), date(2025, 3, 15), id="Fw-1975-02-end-of-first-band"),
    pytest.param(date(1975, 3, 15), "F", True, ym(50, 2), date(2025, 5, 15), id="Fw-1975-03-second-band"),
    pytest.param(date(1975, 4, 15), "F", True, ym(50, 2), date(2025, 6, 15), id="Fw-1975-04-end-of-second-band"),
    pytest.param(date(1984, 10, 15), "F", True, ym(54, 11), date(2039, 9, 15), id="Fw-1984-10-one-below-cap"),
    pytest.param(date(1984, 11, 15), "F", True, ym(55), date(2039, 11, 15), id="Fw-1984-11-reaches-cap"),
    pytest.param(date(1984, 12, 15), "F", True, ym(55), date(2039, 12, 15), id="Fw-1984-12-capped"),
    pytest.param(date(1985, 1, 15), "F", True, ym(55), date(2040, 1, 15), id="Fw-1985-01-capped"),
    # --- Day clamping ---
    pytest.param(date(1965, 3, 31), "M", False, ym(60, 1), date(2025, 4, 30), id="clamp-31st-into-April"),
    pytest.param(date(1965, 11, 30), "M", False, ym(60, 3), date(2026, 2, 28), id="clamp-30th-into-February"),
    pytest.param(date(1970, 7, 31), "F", False, ym(55, 2), date(2025, 9, 30), id="clamp-31st-into-September"),
    pytest.param(date(1975, 1, 31), "F", True, ym(50, 1), date(2025, 2, 28), id="clamp-31st-into-February"),
    pytest.param(date(1964, 2, 29), "M", False, ym(60), date(2024, 2, 29), id="leap-day-into-leap-year"),
    pytest.param(date(1968, 2, 29), "F", False, ym(55), date(2023, 2, 28), id="leap-day-into-common-year"),
    pytest.param(date(1980, 2, 29), "M", False, ym(63), date(2043, 2, 28), id="leap-day-capped-into-common-year"),
    pytest.param(date(1988, 2, 29), "F", True, ym(55), date(2043, 2, 28), id="leap-day-worker-capped"),
    pytest.param(date(1976, 2, 29), "M", False, ym(62, 10), date(2038, 12, 29), id="leap-day-delay-lands-in-December"),
]


@pytest.mark.parametrize("birth, gender, worker, age_months, _retire", CASES)
def test_age_months(birth, gender, worker, age_months, _retire):
    assert statutory_retirement_age_months(birth, gender, worker) == age_months


@pytest.mark.parametrize("birth, gender, worker, _age_months, retire", CASES)
def test_retirement_date(birth, gender, worker, _age_months, retire):
    assert statutory_retirement_date(birth, gender, worker) == retire


@pytest.mark.parametrize(
    "birth, gender, worker, today, expected",
    [
        # men born 1965-01-10 retire 2025-02-10
        pytest.param(date(1965, 1, 10), "M", False, date(2025, 2, 9), False, id="M-day-before"),
        pytest.param(date(1965, 1, 10), "M", False, date(2025, 2, 10), True, id="M-on-the-day"),
        pytest.param(date(1965, 1, 10), "M", False, date(2025, 2, 11), True, id="M-day-after"),
        # under the old 60y rule this person would already be retired on 2025-01-10
        pytest.param(date(1965, 1, 10), "M", False, date(2025, 1, 10), False, id="M-delayed-past-old-age"),
        # men born 1964-12-15 retire 2024-12-15 (undelayed)
        pytest.param(date(1964, 12, 15), "M", False, date(2024, 12, 14), False, id="M-undelayed-day-before"),
        pytest.param(date(1964, 12, 15), "M", False, date(2024, 12, 15), True, id="M-undelayed-on-the-day"),
        # women workers born 1975-01-31 retire on the clamped date 2025-02-28
        pytest.param(date(1975, 1, 31), "F", True, date(2025, 2, 27), False, id="Fw-clamped-day-before"),
        pytest.param(date(1975, 1, 31), "F", True, date(2025, 2, 28), True, id="Fw-clamped-on-the-day"),
        # same birth date as a cadre: 55y4m (1975-01 is 60 months into the 1970-01 cohort), retires 2030-05-31
        pytest.param(date(1975, 1, 31), "F", False, date(2025, 2, 28), False, id="Fc-same-birth-not-retired"),
        # women cadres born 1981-09-10 retire 2039-09-10 (capped)
        pytest.param(date(1981, 9, 10), "F", False, date(2039, 9, 9), False, id="Fc-capped-day-before"),
        pytest.param(date(1981, 9, 10), "F", False, date(2039, 9, 10), True, id="Fc-capped-on-the-day"),
    ],
)
def test_is_past_retirement(birth, gender, worker, today, expected):
    assert is_past_retirement(birth, gender, worker, today) is expected


@pytest.mark.parametrize("gender", ["m", "f", "", "X", "Male", "女", None])
def test_bad_gender_raises(gender):
    with pytest.raises(ValueError):
        statutory_retirement_age_months(date(1970, 1, 1), gender, False)
    with pytest.raises(ValueError):
        statutory_retirement_date(date(1970, 1, 1), gender, True)
    with pytest.raises(ValueError):
        is_past_retirement(date(1970, 1, 1), gender, False, date(2030, 1, 1))


# --- The bound bulk checks use to skip the young (recheck_retirement reads only those born by it) -----------------

from datetime import timedelta  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402

from hub.domain.ranks import Rank  # noqa: E402
from hub.domain.retirement import latest_birth_date_retiring_by, retirement_due  # noqa: E402

_days = st.dates(min_value=date(1950, 1, 1), max_value=date(2080, 12, 31))


@settings(max_examples=400, deadline=None)
@given(today=_days, gender=st.sampled_from("MF"), category=st.sampled_from(["ADMINISTRATIVE", "POLITICAL_LEGAL", "PUBLIC_INSTITUTION", "WORKER"]),
       leader=st.sampled_from([None, "DIVISION_CHIEF", "DEPUTY_DIVISION_CHIEF", "SECTION_CHIEF", "DEPUTY_SECTION_CHIEF"]),
       hr_rank=st.sampled_from([None, *(r.value for r in Rank)]), later=st.integers(1, 400), earlier=st.integers(0, 4000))
def test_no_one_born_after_the_bound_is_due_and_the_bound_is_tight(today, gender, category, leader, hr_rank, later, earlier):
    bound = latest_birth_date_retiring_by(today)
    due = lambda born: retirement_due(born, gender, category=category, leader_rank=leader, hr_rank=hr_rank).retire_on  # noqa: E731
    assert due(bound + timedelta(days=later)) > today
    # tight: a woman in a worker post (the youngest schedule, 50 before its delays) born on the bound is due by today
    # when her cohort is not delayed
    if bound.year < 1975:
        assert retirement_due(bound, "F", category="WORKER").retire_on <= today
        assert retirement_due(bound - timedelta(days=earlier), "F", category="WORKER").retire_on <= today


@pytest.mark.parametrize("today, bound", [
    (date(2026, 2, 28), date(1976, 2, 29)),  # born on 29 February: 600 months later is clamped to the 28th
    (date(2028, 2, 29), date(1978, 2, 28)),
    (date(2026, 3, 31), date(1976, 3, 31)),
    (date(2026, 12, 6), date(1976, 12, 6)),
])
def test_the_bound_worked_out_by_hand(today, bound):
    assert latest_birth_date_retiring_by(today) == bound
