"""Issue 18 (session 10): write_reads sends the batch's ID numbers to PostgreSQL as the text of an array
(hub.api.access._text_array) instead of a list psycopg adapts element by element: what is stored and read back
through the ``access_log`` view is the same, for ordinary and for awkward values (those needing escapes go as a
list), and the chain verifies."""

from __future__ import annotations

import pytest

from hub.adapters import access_chain
from hub.adapters.database import connect
from hub.api.access import write_reads
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal

AWKWARD = ["a b", "x,y", "{z}", "NULL", "null", "", " lead", "中文名", "é", 'q"uote', "back\\slash", "\\\"", "tab\tx"]


@pytest.mark.parametrize("group_count", [1, 2])
def test_the_ids_read_back_as_written(db_url, group_count):
    db = connect(db_url)
    try:
        who = Principal(token_id=None, name="t", role=Role.ADMIN)
        page = [f"1101011990010{k:05d}" for k in range(1900)]
        batches = [page, AWKWARD, [i for i in AWKWARD if '"' not in i and "\\" not in i]]
        written = []
        for ids in batches:
            reads = [(i, "Op", "Posting.person", "p", None) for i in ids]
            if group_count == 2:  # two groups: the multi-group statement, same array parameter
                reads += [(ids[0], "Op", "Query.person", "p", "NOT_FOUND")]
            write_reads(db, principal=who, reads=reads)
            written += [(r[0], r[2], r[4]) for r in reads]
        with db.session() as s:
            got = [tuple(r) for r in s.execute(access_chain.text(
                "SELECT id_number, field, outcome FROM access_log ORDER BY id")).all()]
            report = access_chain.verify(s)
        assert got == written
        assert report.ok, report.problems
    finally:
        db.dispose()
