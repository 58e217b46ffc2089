"""A connector batch's duplicate and sequence lookup probes the primary key once per event id and per subject — it
does not read every applied event (and every last sequence) of the source.

Each event adds an applied_events row and (for a new subject) a subject_sequences row, so both tables grow through
a streaming phase while their statistics lag; the planner then answered `source = :s AND event_id = ANY(:ids)` by
reading the primary key by `source` alone and filtering: all of the source's rows per batch (61k after a minute at
1,000 events/s — the lookup grew from ~15 to ~130 ms through the phase)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import event, text

from hub.adapters.database import connect
from hub.service_layer.partner_events import _lookup
from hub.service_layer.unit_of_work import UnitOfWork

SOURCE = "/gov/finance"
OTHERS = 5000  # applied events and sequences of the same source that the batch does not meet


@dataclass
class _Event:
    source: str
    event_id: str
    subject: str
    sequence: int | None


def _scanned(plan: dict) -> int:
    """Rows an executed plan read and threw away (filters), over all its nodes."""
    return plan.get("Rows Removed by Filter", 0) + sum(_scanned(p) for p in plan.get("Plans", []))


def _seq_scans(plan: dict) -> list[str]:
    here = [plan["Relation Name"]] if plan.get("Node Type") == "Seq Scan" else []
    return here + [r for p in plan.get("Plans", []) for r in _seq_scans(p)]


def test_a_batch_probes_applied_events_and_sequences_by_their_whole_key(pg_url):
    db = connect(pg_url)
    now = datetime.now(timezone.utc).isoformat()

    def applied(ids):
        return json.dumps([dict(source=SOURCE, event_id=i, payload_sha256="0" * 64, applied_at=now, sent_at=now)
                           for i in ids])

    def sequences(subjects):
        return json.dumps([dict(source=SOURCE, subject=s, sequence=1) for s in subjects])

    ins_applied = text("INSERT INTO applied_events SELECT * FROM json_populate_recordset(NULL::applied_events, "
                       "CAST(:rows AS json))")
    ins_sequences = text("INSERT INTO subject_sequences SELECT * FROM json_populate_recordset("
                         "NULL::subject_sequences, CAST(:rows AS json))")
    mine = [_Event(SOURCE, f"mine-{i}", f"11010519900101{i:04d}", 2) for i in range(40)]
    with db.engine.begin() as c:
        for t in ("applied_events", "subject_sequences"):
            c.execute(text(f"ALTER TABLE {t} SET (autovacuum_enabled = false)"))
        # statistics that lag: taken while the source had a handful of rows
        c.execute(ins_applied, {"rows": applied([f"early-{i}" for i in range(20)])})
        c.execute(ins_sequences, {"rows": sequences([f"33010519900101{i:04d}" for i in range(20)])})
        c.execute(text("ANALYZE applied_events"))
        c.execute(text("ANALYZE subject_sequences"))
        c.execute(ins_applied, {"rows": applied([f"other-{i}" for i in range(OTHERS)] + [e.event_id for e in mine[:10]])})
        c.execute(ins_sequences, {"rows": sequences([f"22010519900101{i:04d}" for i in range(OTHERS)]
                                                    + [e.subject for e in mine[:10]])})
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "applied_events" in statement:
            seen.append((statement, parameters))

    with UnitOfWork(db, actor="test") as uow:
        uow.session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                                 "set_config('random_page_cost', '1.1', true)"))  # as a connector's batch
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            facts = _lookup(uow, mine, {})
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        assert sorted(k for _, k in facts.applied) == sorted(e.event_id for e in mine[:10])
        assert sorted(k for _, k in facts.sequences) == sorted(e.subject for e in mine[:10])
        assert set(facts.sequences.values()) == {1}
        (statement, parameters), = seen
        cur = uow.session.connection().connection.driver_connection.cursor()
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        plan = cur.fetchone()[0][0]["Plan"]
    assert _scanned(plan) < 100, f"read {_scanned(plan)} rows of the source that the batch does not meet"
    assert not {"applied_events", "subject_sequences"} & set(_seq_scans(plan)), "read a whole table"
    db.engine.dispose()


AWKWARD_IDS = [" a", "a ", " ", "NULL", "null", 'b"c', "d\\e", '\\"', "{}", "{", "}", "a,b", "(x)", "q'uote", "tab\tx",
               "nl\nx", "中文", "😀" * 200, "x" * 200, "é", "e\u0301", "ß", "SS", "A", "a", "%s", "%(x)s", ":ids0", "$1"]


def test_the_lookup_finds_exactly_the_stored_ids_however_awkward(db_url):
    """Event ids are the partner's (any text up to 200 characters, Envelope.id): the lookup's arrays (a text literal
    built in Python on PostgreSQL) find each stored (source, id) and its last sequence, nothing near it — per
    source, with an id stored under one source only and ids that differ by case, spaces or normalization."""
    from hub.adapters.bulk import insert_rows
    from hub.adapters.orm import AppliedEventRow, SubjectSequenceRow

    db = connect(db_url)
    now = datetime.now(timezone.utc)
    sources = ["/gov/finance", "/gov/police"]
    subjects = [f"11010519900101{i:04d}" for i in range(4)]
    with UnitOfWork(db, actor="test") as uow:
        insert_rows(uow.session, AppliedEventRow.__table__, [
            dict(source=src, event_id=i, payload_sha256=f"{n:064d}", applied_at=now, sent_at=None)
            for src in sources for n, i in enumerate(AWKWARD_IDS)] + [
            dict(source="/gov/hr", event_id="only-hr", payload_sha256="1" * 64, applied_at=now, sent_at=None)])
        insert_rows(uow.session, SubjectSequenceRow.__table__, [
            dict(source=src, subject=s, sequence=10 * k + j) for k, src in enumerate(sources)
            for j, s in enumerate(subjects[:3])])
        uow.commit()
    asked = AWKWARD_IDS + ["a  ", "not-there", "NULL ", "only-hr", "Ss", "e"]
    events = [_Event(src, i, subjects[n % 4], n) for src in sources for n, i in enumerate(asked)]
    with UnitOfWork(db, actor="test") as uow:
        facts = _lookup(uow, events, {})
    assert facts.applied == {(src, i): f"{n:064d}" for src in sources for n, i in enumerate(AWKWARD_IDS)}
    assert facts.sequences == {(src, s): 10 * k + j for k, src in enumerate(sources) for j, s in enumerate(subjects[:3])}
    db.engine.dispose()
