"""Issue 18 (session 10): the access log's preparation of a request's reads (hub/api/access.py) — the batch fast
path and the text form of the ID numbers' array give what the read-by-read loop and psycopg's list adaptation gave."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.api import access
from hub.api.context import HubContext


def _reference(reads):
    """write_reads' loop before session 10: distinct (ID number, field, outcome), runs of (clipped) keys."""
    seen, ids, groups, last = set(), [], [], None
    for idn, op, field, purpose, outcome in reads:
        if (idn, field, outcome) in seen:
            continue
        seen.add((idn, field, outcome))
        key = ((op or "")[:200] or None, field, (purpose or None) and purpose[:500], outcome)
        if key != last:
            groups.append([len(ids), *key])
            last = key
        ids.append(idn)
    return ids, groups


_ids = st.sampled_from(["110101199001010011", "110101199001010029", "11010119900101003X", "a b", ""])
_ops = st.sampled_from([None, "", "UnitsPage", "x" * 250])
_fields = st.sampled_from(["Posting.person", "Query.person"])
_purposes = st.sampled_from([None, "", "bench", "p" * 600])
_outcomes = st.sampled_from([None, access.NOT_FOUND])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_ids, _ops, _fields, _purposes, _outcomes), max_size=30))
def test_distinct_reads_matches_the_read_by_read_loop(reads):
    assert access._distinct_reads(reads) == _reference(reads)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ids, max_size=40), _ops, _fields, _purposes, _outcomes)
def test_the_uniform_fast_path_matches_the_loop(idns, op, field, purpose, outcome):
    reads = [(i, op, field, purpose, outcome) for i in idns]
    assert access._distinct_reads(reads) == _reference(reads)


def test_record_reads_notes_what_record_read_notes():
    one, many = HubContext.__new__(HubContext), HubContext.__new__(HubContext)
    one.pending_reads, many.pending_reads = [("x", None, "Query.person", None, "NOT_FOUND")], [
        ("x", None, "Query.person", None, "NOT_FOUND")]
    ids = ["110101199001010011", "110101199001010029", "110101199001010011"]
    for i in ids:
        one.record_read(i, operation="UnitsPage", field="Posting.person", purpose="p")
    many.record_reads(ids, operation="UnitsPage", field="Posting.person", purpose="p")
    assert many.pending_reads == one.pending_reads


def test_text_array_quotes_every_element_and_leaves_escapes_to_psycopg():
    assert access._text_array(["110101199001010011", "a b", "", "NULL", "{x},y", "中文"]) == \
        '{"110101199001010011","a b","","NULL","{x},y","中文"}'
    for awkward in (['a"b'], ["ok", 'q"'], ["back\\slash"], ['","'], [1, 2]):
        assert access._text_array(awkward) is awkward  # a list: psycopg adapts it, escapes and all


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.none(), st.just("a"), st.just("ADMIN"), _ids, _ops, _fields, _purposes, _outcomes),
                max_size=12))
def test_the_seals_uniform_check_is_the_set_of_keys(rows):
    from hub.adapters import access_chain

    assert access_chain._uniform(rows) == (len({(r[5], r[7], r[4], r[6]) for r in rows}) == 1)
