from datetime import date

import pytest

from hub.domain.identifiers import (
    InvalidIdentifier,
    is_valid_id_number,
    is_valid_unit_code,
    make_id_number,
    make_unit_code,
    mask_id_number,
    parse_id_number,
    parse_unit_code,
)

PUBLISHED_IDS = ["11010519491231002X", "440524188001010014", "370101190102039973"]


@pytest.mark.parametrize("value", PUBLISHED_IDS)
def test_published_id_numbers_are_valid(value):
    assert parse_id_number(value).value == value


@pytest.mark.parametrize("value", PUBLISHED_IDS)
def test_any_single_digit_corruption_is_caught(value):
    for pos in range(17):
        d = value[pos]
        corrupted = value[:pos] + str((int(d) + 1) % 10) + value[pos + 1 :]
        assert not is_valid_id_number(corrupted), corrupted


@pytest.mark.parametrize("value", PUBLISHED_IDS)
def test_wrong_check_character_is_named_in_the_error(value):
    wrong = "0" if value[-1] != "0" else "1"
    with pytest.raises(InvalidIdentifier, match="check character"):
        parse_id_number(value[:17] + wrong)


def test_lower_case_x_is_accepted_and_stored_upper_case():
    assert parse_id_number("11010519491231002x").value == "11010519491231002X"


@pytest.mark.parametrize("bad", ["", "1101051949123100", "11010519491231002XX", "A1010519491231002X", None, 123])
def test_malformed_id_numbers_are_refused(bad):
    assert not is_valid_id_number(bad)


def test_id_number_with_impossible_birth_date_is_refused():
    body = "11010519491331002"  # month 13
    from hub.domain.identifiers import id_check_char

    assert not is_valid_id_number(body + id_check_char(body))


def test_id_number_tells_birth_date_and_gender():
    idn = parse_id_number("11010519491231002X")
    assert idn.birth_date == date(1949, 12, 31)
    assert idn.gender == "F"  # 17th digit 2 is even
    assert parse_id_number("440524188001010014").gender == "M"


def test_masking_keeps_first_six_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_unified_social_credit_code_published_example():
    assert parse_unit_code("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize("pos", range(17))
def test_unified_social_credit_code_corruption_is_caught(pos):
    code = "91350100M000100Y43"
    c = code[pos]
    replacement = "1" if c != "1" else "2"
    assert not is_valid_unit_code(code[:pos] + replacement + code[pos + 1 :])


@pytest.mark.parametrize("bad", ["91350100M000100Y4", "91350100M000100Y4I", "91350100M000100Y4O", "", "91350100M000100Y44"])
def test_malformed_unit_codes_are_refused(bad):
    assert not is_valid_unit_code(bad)


def test_generated_identifiers_validate():
    for serial in range(100):
        male = serial % 2 == 0
        v = make_id_number("330106", date(1990, 2, 28), serial, male)
        assert parse_id_number(v).gender == ("M" if male else "F")
    assert is_valid_unit_code(make_unit_code("11330100MB0123456"))


# The importer's memoised check (IdNumberChecks) is the same rule as parse_id_number: it may only say "plainly
# valid" (with the right birth date and gender) for what parse_id_number accepts unchanged, and must say it for
# every canonical valid number.
from hypothesis import given, settings, strategies as st  # noqa: E402

from hub.domain.identifiers import IdNumberChecks  # noqa: E402

_CHECKS = IdNumberChecks()


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.builds(make_id_number, st.from_regex(r"[0-9]{6}", fullmatch=True),
              st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)), st.integers(0, 99), st.booleans()),
    st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
    st.text(max_size=19)))
def test_the_memoised_id_check_agrees_with_parse_id_number(value):
    verdict = _CHECKS.check(value)
    valid = is_valid_id_number(value) and value == value.strip().upper()
    assert (verdict is not None) == valid, value
    if verdict:
        parsed = parse_id_number(value)
        assert verdict == (parsed.birth_date, parsed.birth_date.isoformat(), parsed.gender)


def test_padded_copies_of_a_unit_code_are_accepted_but_not_kept_in_the_memo():
    """Spaces around a unit code are accepted (stripped). The memo was keyed by the raw text: every padded copy of one
    code in a partner's events — up to a message's size each — stayed in it, up to 65,536 of them."""
    from hub.domain import identifiers

    memo = getattr(identifiers, "_unit_code_memo", identifiers.parse_unit_code)
    code = make_unit_code("91330106MA2B3C4D5")
    memo.cache_clear()
    for n in range(1, 101):
        assert identifiers.parse_unit_code(" " * (1000 * n) + code.lower()) == code
    assert memo.cache_info().currsize == 0
    assert identifiers.parse_unit_code(code) == code and memo.cache_info().currsize == 1  # codes repeat: memoised
