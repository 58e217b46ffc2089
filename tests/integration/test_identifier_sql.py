"""The staged comparison's SQL checks of ID numbers and unit codes (hub/adapters/snapshot_staging.py) are generated
from the weights in hub/domain/identifiers.py; here they are run on PostgreSQL against ``parse_id_number`` and
``parse_unit_code`` over generated values: valid ones, every kind of corruption, and arbitrary text.

The SQL accepts only canonical values (upper-case, no surrounding white space — the rest go to the Python models,
which normalise them), so it must say yes exactly when Python accepts the value unchanged."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import text

from hub.adapters.snapshot_staging import CHECKS
from hub.domain.identifiers import USCC_ALPHABET, is_valid_id_number, is_valid_unit_code, make_id_number, make_unit_code
from tests.conftest import _admin_engine

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg(pg_available):
    if not pg_available:
        pytest.skip("PostgreSQL not reachable")
    engine = _admin_engine()
    with engine.connect() as c:
        yield c
    engine.dispose()


def _sql_verdicts(conn, kind: str, values: list[str]) -> list[bool]:
    expr = CHECKS[kind]("t.v")
    rows = conn.execute(text(f"SELECT coalesce({expr}, false) FROM unnest(CAST(:vals AS text[])) WITH ORDINALITY"
                             " AS t(v, n) ORDER BY t.n"), {"vals": values}).scalars().all()
    return list(rows)


def _mutations(value: str, alphabet: str) -> st.SearchStrategy[str]:
    """The value with one character replaced, two swapped, one dropped, lower-cased or padded."""
    i = st.integers(0, len(value) - 1)
    return st.one_of(
        st.just(value), st.just(value.lower()), st.just(f" {value}"), st.just(value[:-1]),
        st.tuples(i, st.sampled_from(alphabet)).map(lambda t: value[:t[0]] + t[1] + value[t[0] + 1:]),
        st.tuples(i, i).map(lambda t: _swap(value, *t)),
    )


def _swap(v: str, a: int, b: int) -> str:
    chars = list(v)
    chars[a], chars[b] = chars[b], chars[a]
    return "".join(chars)


_births = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
_ids = st.builds(lambda r, d, s, m: make_id_number(r, d, s, m), st.from_regex(r"[0-9]{6}", fullmatch=True), _births,
                 st.integers(0, 99), st.booleans())
# Digits with impossible dates too (month 13, 31 February, year 0000), any check character.
_id_shaped = st.from_regex(r"[0-9]{17}[0-9Xx]", fullmatch=True)
_id_values = st.one_of(_ids.flatmap(lambda v: _mutations(v, "0123456789X")), _id_shaped, st.text(max_size=20))
_codes = st.from_regex(f"[{USCC_ALPHABET}]{{17}}", fullmatch=True).map(make_unit_code)
_code_values = st.one_of(_codes.flatmap(lambda v: _mutations(v, USCC_ALPHABET + "IOSVZ")),
                         st.from_regex(f"[{USCC_ALPHABET}]{{18}}", fullmatch=True), st.text(max_size=20))
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _no_nul(values: list[str]) -> list[str]:
    return [v for v in values if "\x00" not in v]  # PostgreSQL text holds no NUL (the COPY refuses such a file)


@_SETTINGS
@given(st.lists(_id_values, min_size=1, max_size=40))
def test_the_sql_id_number_check_agrees_with_python(pg, values):
    values = _no_nul(values)
    expected = [is_valid_id_number(v) and v == v.strip().upper() for v in values]
    assert _sql_verdicts(pg, "id", values) == expected, list(zip(values, expected))


@_SETTINGS
@given(st.lists(_code_values, min_size=1, max_size=40))
def test_the_sql_unit_code_check_agrees_with_python(pg, values):
    values = _no_nul(values)
    expected = [is_valid_unit_code(v) and v == v.strip().upper() for v in values]
    assert _sql_verdicts(pg, "uscc", values) == expected, list(zip(values, expected))


def test_the_checks_see_a_real_difference(pg):
    """Both sides say yes and no (the comparison above is not of two constant answers)."""
    good = make_id_number("330102", date(1990, 1, 1) + timedelta(days=3), 12, True)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    code = make_unit_code("91330100MA2H0000A")
    assert _sql_verdicts(pg, "id", [good, bad]) == [True, False]
    assert _sql_verdicts(pg, "uscc", [code, code[:17] + ("0" if code[17] != "0" else "1")]) == [True, False]
