"""A connector batch reads the open mismatches of ITS persons only — not every open mismatch of the kinds it checks.

Every GHOST_PAYROLL event opens a mismatch, so the table grows by one row per event while its statistics lag; the
planner then took the (status, kind) index for `status = 'OPEN' AND kind IN (…) AND subject = ANY(…)` and read all
open mismatches of those kinds per batch (23 ms after 20k of them, growing with each one opened)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import event, text

from hub.adapters.database import connect
from hub.domain.reconciliation import PERSON_STREAMING_KINDS
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork

OTHERS = 4000  # open mismatches of other persons


def _scanned(plan: dict) -> int:
    """Rows an executed plan read and threw away (filters), over all its nodes."""
    return plan.get("Rows Removed by Filter", 0) + sum(_scanned(p) for p in plan.get("Plans", []))


def _seq_scans(plan: dict) -> list[str]:
    here = [plan["Relation Name"]] if plan.get("Node Type") == "Seq Scan" else []
    return here + [r for p in plan.get("Plans", []) for r in _seq_scans(p)]


def test_a_batch_reads_the_open_mismatches_of_its_persons_by_person(pg_url):
    db = connect(pg_url)
    now = datetime.now(timezone.utc)
    mine = [f"11010519900101{i:04d}" for i in range(20)]
    others = [f"22010519900101{i:04d}" for i in range(OTHERS)]
    def rows(subjects, status):
        return json.dumps([dict(id=str(uuid.uuid4()), kind="GHOST_PAYROLL", subject=s, unit_code="U1",
                                source="finance", status=status, details="{}", caused_by="[]", detected_at=now,
                                updated_at=now, resolved_at=None if status == "OPEN" else now) for s in subjects],
                          default=str)

    insert = text("INSERT INTO mismatches (id, kind, subject, unit_code, source, status, details, caused_by, "
                  "detected_at, updated_at, resolved_at) SELECT * FROM json_populate_recordset(NULL::mismatches, "
                  "CAST(:rows AS json))")
    with db.engine.begin() as c:
        c.execute(text("ALTER TABLE mismatches SET (autovacuum_enabled = false)"))
        # statistics that lag: taken when the table held few subjects, many rows each (so a subject looks
        # unselective) and no open mismatch (so `status = 'OPEN' AND kind = …` looks like one row)
        c.execute(insert, {"rows": rows([f"33010519900101{i % 4:04d}" for i in range(2000)], "RESOLVED")})
        c.execute(text("ANALYZE mismatches"))
        c.execute(insert, {"rows": rows(mine + others, "OPEN")})
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "mismatches" in statement:
            seen.append((statement, parameters))

    kinds = sorted(k.value for k in PERSON_STREAMING_KINDS)
    with UnitOfWork(db, actor="test") as uow:
        uow.session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                                 "set_config('random_page_cost', '1.1', true)"))  # as a connector's batch
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            found = MismatchBook(uow).load_open_plain(kinds, mine)
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        assert sorted(r.subject for r in found) == mine
        (statement, parameters), = seen
        cur = uow.session.connection().connection.driver_connection.cursor()
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        plan = cur.fetchone()[0][0]["Plan"]
    assert _scanned(plan) < 100, f"read {_scanned(plan)} open mismatches of other persons"
    assert "mismatches" not in _seq_scans(plan), "read the whole table"
    db.engine.dispose()
