"""Session 11 review of s11-lookup: a compiled read runs on a Core connection (not an ORM session); whatever fails —
its statement, the parse of its JSON, the access-log write, the commit — the connection goes back to the pool with
nothing written (the general path then answers; hub/api/execution.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hub.adapters.database import connect
from hub.adapters.orm import AccessLogRow
from hub.api import access, compiled
from hub.api.compiled.planner import Compiled
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal

WHO = Principal(token_id=None, name="t", role=Role.POLICE)
SITE = [("Query.person", "Op", "p")]


def _rows(db) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AccessLogRow))


@pytest.mark.parametrize("failure", ["statement", "json", "write", "commit"])
def test_a_compiled_read_that_fails_returns_its_connection_and_writes_nothing(pg_url, monkeypatch, failure):
    db = connect(pg_url)
    try:
        sql = "SELECT '{\"a\": 1}', '0:110101199001011234'"
        if failure == "statement":
            sql = "SELECT 1/0, ''"
        elif failure == "json":
            sql = "SELECT '{not json', '0:110101199001011234'"
        elif failure == "write":
            monkeypatch.setattr(access, "_distinct_reads", lambda reads: 1 / 0)
        else:
            from sqlalchemy.engine import Connection

            monkeypatch.setattr(Connection, "commit", lambda self: 1 / 0)
        job = Compiled(sql=sql, params={}, sites=SITE)
        ctx = SimpleNamespace(principal=WHO)
        with pytest.raises(Exception):  # noqa: B017 - whatever fails, the general path answers
            asyncio.run(compiled._run(db, ctx, job))
        monkeypatch.undo()
        assert db.read_engine.pool.checkedout() == 0
        assert _rows(db) == 0
        assert asyncio.run(compiled._run(db, ctx, Compiled(sql="SELECT '{\"a\": 1}', '0:110101199001011234'",
                                                            params={}, sites=SITE))) == {"a": 1}
        assert db.read_engine.pool.checkedout() == 0 and _rows(db) == 1
    finally:
        db.dispose()
