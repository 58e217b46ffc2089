"""Review of session 10's access-log write (hub/api/access.py: the ID numbers sent as the text of an array, the
uniform-batch path) with ID numbers chosen by whoever controls what is read. A person lookup validates its argument
(BAD_USER_INPUT), so a hostile number reaches the log through stored data shown unmasked: the ghost-pay report's
person column is a mismatch's subject (up to 18 characters, as a partner's feed delivered it). Through the real HTTP
API, with the compiled path on and off, alone (one group) and mixed with a lookup and a unit's postings (several
groups): the answer has no error, the access log holds exactly the numbers shown, and the chain verifies.
PostgreSQL only (the array text is PostgreSQL's)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import text, update

from hub.adapters import access_chain
from hub.adapters.orm import MismatchRow
from hub.reports.ghost_pay import KINDS
from tests.integration.test_compiled_reads import NOBODY, ask, city  # noqa: F401 - the module's city fixture

HOSTILE = ['"', "\\", '\\"', '","', "{", "}", "{}", '{"a","b"}', ",", "a,b", "NULL", "null", " NULL ", " ", "\t",
           "\n", "\r\n", " 1 ", "[1:2]={x}", "中文", "😀\U0010ffff", "\u2028", "\ufeff", "\x7f", "\x01", "'", "a\\,b",
           '"NULL"', "x" * 18, "é" * 18, "{{{{{{{{{{{{{{{{{{", '""', "\\\\", "a\\"]
REPORT = 'r: report(name: "ghost-pay") { rows }'


# the whole set (a quote in the batch: the list goes, adapted by psycopg) and the subsets that take each path
SETS = {"all": HOSTILE, "plain": [v for v in HOSTILE if '"' not in v and "\\" not in v],
        "backslash": [v for v in HOSTILE if '"' not in v], "quote": [v for v in HOSTILE if "\\" not in v]}


@pytest.fixture(params=list(SETS))
def shown(city, request):  # noqa: F811
    """The city with open ghost-pay mismatches whose subjects are one set of hostile numbers (and nothing else)."""
    at = datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc)
    with city["db"].session() as s, s.begin():
        s.execute(update(MismatchRow).where(MismatchRow.kind.in_(KINDS)).values(status="RESOLVED"))
        s.add_all(MismatchRow(id=f"hostile-{uuid.uuid4().hex[:12]}", kind="GHOST_PAYROLL", subject=v, unit_code="",
                              source="finance", status="OPEN", details="{}", caused_by="[]", detected_at=at,
                              updated_at=at) for k, v in enumerate(SETS[request.param]))
    city["hostile"] = SETS[request.param]
    return city


def _check(city, rows, body):  # noqa: F811
    data = json.loads(body)
    assert "errors" not in data, data["errors"]
    subjects = [r[1] for r in data["data"]["r"]["rows"]]
    assert sorted(subjects) == sorted(city["hostile"])
    logged = [r[2] for r in rows if r[4] == "Report.ghost-pay"]
    assert sorted(logged) == sorted(set(subjects))  # one read per distinct number shown, none altered, none extra
    with city["db"].read_session() as s:
        report = access_chain.verify(s)
    assert report.ok, report.problems


@pytest.mark.parametrize("compiled", [True, False])
def test_hostile_numbers_shown_by_a_report_are_logged_as_shown(shown, compiled):
    (status, _, body), rows = ask(shown, "ADMIN", "{ " + REPORT + " }", {}, "p", compiled)
    assert status == 200, body[:300]
    _check(shown, rows, body)


@pytest.mark.parametrize("compiled", [True, False])
def test_hostile_numbers_in_a_batch_of_several_groups(shown, compiled):
    q = ("{ " + REPORT + f' n: person(idNumber: "{NOBODY}") {{ name }} '
         f'u: unit(code: "{shown["units"][0]}") {{ postings(first: 50) {{ edges {{ node {{ person {{ name }} }} }} }} }} }}')
    (status, _, body), rows = ask(shown, "ADMIN", q, {}, "p", compiled)
    assert status == 200, body[:300]
    _check(shown, rows, body)
    assert [r[2] for r in rows if r[6] == "NOT_FOUND"] == [NOBODY]
    assert len({r[4] for r in rows}) == 3  # three fields: three groups in one batch


@pytest.mark.parametrize("planted", ["a\n0:b", "c\n1:d", "e\n", "\n0:"])
def test_a_planted_number_with_the_compiled_separator(city, planted):  # noqa: F811
    """A person whose stored number holds the compiled reads' separator (a line break, ``0:``): the compiled path logs
    what the general path logs."""
    db, idn = city["db"], city["people"][7]
    with db.session() as s, s.begin():
        cols = [c for c in s.execute(text("SELECT * FROM persons LIMIT 0")).keys() if c != "id_number"]
        s.execute(text(f"INSERT INTO persons (id_number, {', '.join(cols)}) SELECT :new, {', '.join(cols)} FROM persons "
                       "WHERE id_number = :old"), {"new": planted, "old": idn})
        pcols = [c for c in s.execute(text("SELECT * FROM postings LIMIT 0")).keys() if c not in ("id", "id_number")]
        s.execute(text(f"INSERT INTO postings (id_number, {', '.join(pcols)}) SELECT :new, {', '.join(pcols)} "
                       "FROM postings WHERE id_number = :old"), {"new": planted, "old": idn})
    q = (f'{{ u: unit(code: "{city["units"][2]}") {{ postings(first: 50) {{ edges {{ node {{ person {{ name }} }} }} }} }} '
         f'p: person(idNumber: "{city["people"][0]}") {{ name }} }}')
    general = ask(city, "ADMIN", q, {}, "p", False)
    fast = ask(city, "ADMIN", q, {}, "p", True)
    assert planted in [r[2] for r in general[1]]
    assert fast == general


@pytest.mark.parametrize("planted", ["a\n0:b", "\n", "x\n1:y"])
def test_a_mismatch_subject_with_the_compiled_separator(city, planted):  # noqa: F811
    """A NAME_MISMATCH whose subject (as a partner's feed gave it) holds a line break: its details are a person read,
    logged by the compiled path as the general path logs it."""
    at = datetime(2026, 11, 5, 8, 0, tzinfo=timezone.utc)  # newer than the city's: on the first page
    with city["db"].session() as s, s.begin():
        s.execute(text("DELETE FROM mismatches WHERE id LIKE 'planted-%'"))
        s.add(MismatchRow(id=f"planted-{uuid.uuid4().hex[:12]}", kind="NAME_MISMATCH", subject=planted,
                          unit_code=city["units"][0], source="police", status="OPEN",
                          details='{"expected": "甲", "found": "乙"}', caused_by="[]", detected_at=at, updated_at=at))
    q = "{ mismatches(first: 5) { edges { node { subject details } } } }"
    general = ask(city, "ADMIN", q, {}, "p", False)
    fast = ask(city, "ADMIN", q, {}, "p", True)
    assert planted in [r[2] for r in general[1]]
    assert fast == general
