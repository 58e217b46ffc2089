"""Apply a batch of validated partner events in one unit of work.

Per event: a CloudEvent `id` already applied for its `source` is a duplicate (same payload: nothing happens;
different payload: a dead letter); an event whose `sequence` is older than the one applied for its
(source, subject) is stale and changes nothing; one implausibly far ahead of it (more than ``max_sequence_jump``)
is a dead letter, held for review, so that one wild number cannot make the person's later events stale. Accepted
events become rows of the partners' latest views by their connector's mapping (connectors/<department>/rows.py),
merged by the views' rules (partner_views); police rows also update the registry's verified identity, and every
touched person is reconciled once at the end of the batch.

`source` is the department that owns the event's topic (``InboundEvent.source``, set by the connector, never the
sender's string): a department cannot write into another's de-duplication or ordering.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Table, bindparam, select, text, update

from hub.adapters.bulk import any_of, any_of_param, any_of_value, array_param, insert_rows, unnest_insert_sql, upsert
from hub.adapters.orm import AppliedEventRow, PersonRow, SubjectSequenceRow
from hub.contract.cloudevents import sql_cloud_event, sql_json
from hub.contract.topics import UPDATES_TOPIC
from hub.contract.types import PERSON_UPDATED
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.partner_views import IDENTITY, VIEWS, BatchViews, PartnerRow
from hub.service_layer.reconcile import lock_persons, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Upsert:
    """Rows to insert or, for a key that exists, update (every other column) — with a batch's writes."""

    table: Table
    rows: list[dict]
    key: tuple[str, ...]


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    conflicts: list[tuple[object, str]] = field(default_factory=list)  # (event, reason) → dead letters
    mismatches: MismatchTally = field(default_factory=MismatchTally)


def apply_events(uow: UnitOfWork, events: list, *, partner_row: Callable[[object], PartnerRow],
                 book: MismatchBook | None = None, plain: bool = False,
                 max_sequence_jump: int | None = None, with_writes: tuple[Upsert, ...] = ()) -> BatchResult:
    """Apply validated InboundEvents (hub.contract.inbound) in order; returns what happened to each.

    ``partner_row``: the connector's mapping of an event to its row of a partner view (``ConnectorSpec.partner_row``;
    ``connectors.spec.partner_row`` for any department's). ``plain=True``: this transaction holds no mismatch as an
    ORM object (a connector's batch), so reconciliation may read and write mismatches as plain rows (see
    ``reconcile_persons``). ``max_sequence_jump``: how far a `sequence` may lie ahead of the last one applied for the
    same person (``HUB_CONNECTOR_MAX_SEQUENCE_JUMP``); None: any distance. ``with_writes``: more rows to upsert
    in the transaction, on PostgreSQL in the batch's one write statement (a connector's consumed offsets: no round
    trip of their own); written also when no event is applied.

    Set-based: the batch is judged in Python against what one lookup read for the whole batch (applied event ids,
    last sequences, the stored records of views kept by period), and written with one statement per table over
    arrays (on PostgreSQL one statement for all of them); the touched persons are re-checked together."""
    res = BatchResult()
    book = book or MismatchBook(uow, res.mismatches)
    res.mismatches = book.tally
    if not events:
        for w in with_writes:
            upsert(uow.session, w.table, w.rows, list(w.key))
        return res
    now = uow.now
    # The reconciliation locks before any partner table: a monthly comparison holds the global lock exclusively
    # and then locks the finance view's partitions (attaching one); taking them in the other order deadlocks.
    lock_persons(uow, sorted({e.subject for e in events}))
    mapped = [(e, partner_row(e)) for e in events]
    latest_keys = {name: sorted({tuple(r.values[k] for k in VIEWS[name].key) for _, r in mapped if r.view == name})
                   for name, v in VIEWS.items() if v.latest_by}
    facts = _lookup(uow, events, {n: ks for n, ks in latest_keys.items() if ks})

    applied, seqs = facts.applied, facts.sequences
    views = BatchViews()
    new_applied, new_seqs = [], {}
    touched: dict[str, list[str]] = defaultdict(list)
    for e, row in mapped:
        k = (e.source, e.event_id)
        if k in applied:
            if applied[k] == e.payload_sha256:
                res.duplicates += 1
            else:
                res.conflicts.append((e, f"event id {e.event_id!r} from {e.source} was already applied with a different payload"))
            continue
        sk = (e.source, e.subject)
        if (e.sequence is not None and sk in seqs and max_sequence_jump is not None
                and e.sequence - seqs[sk] > max_sequence_jump):
            res.conflicts.append((e, f"sequence {e.sequence} is {e.sequence - seqs[sk]} ahead of the last applied for "
                                     f"this person ({seqs[sk]}), more than {max_sequence_jump}: held for review"))
            continue
        applied[k] = e.payload_sha256
        new_applied.append(dict(source=e.source, event_id=e.event_id, payload_sha256=e.payload_sha256, applied_at=now,
                                sent_at=getattr(e, "sent_at", None)))
        if e.sequence is not None and sk in seqs and e.sequence < seqs[sk]:
            res.stale += 1
            continue
        if e.sequence is not None:
            seqs[sk] = new_seqs[sk] = e.sequence
        views.add(row, event_id=e.event_id, now=now)
        touched[e.subject].append(e.event_id)
        res.applied += 1

    writes = views.writes(facts.latest)
    seq_rows = [dict(source=a, subject=b, sequence=n) for (a, b), n in new_seqs.items()]
    if uow.is_postgres:
        _pg_write(uow.session, new_applied, seq_rows, writes, with_writes)
    else:
        s = uow.session
        for view, rows, keep in writes:
            upsert(s, view.table, rows, list(view.key), keep=keep)
        insert_rows(s, AppliedEventRow.__table__, new_applied)
        upsert(s, SubjectSequenceRow.__table__, seq_rows, ["source", "subject"])
        for w in with_writes:
            upsert(s, w.table, w.rows, list(w.key))
    identity = {r.values["id_number"]: r.values for r in views.of(IDENTITY)}
    if identity:
        verify_identities(uow, identity)
    reconcile_persons(uow, book, touched.keys(), caused_by=touched, plain=plain, locked=True)  # locked at the start
    return res


@dataclass
class _Facts:
    """What a batch is judged against, read before it is applied."""

    applied: dict[tuple[str, str], str]  # (source, event id) -> payload hash
    sequences: dict[tuple[str, str], int]  # (source, subject) -> last sequence applied
    latest: dict[str, dict[tuple, str]]  # view kept by period -> key -> the stored record's period


def _lookup(uow: UnitOfWork, events: list, latest_keys: dict[str, list[tuple]]) -> _Facts:
    """The applied event ids, last sequences and stored records a batch meets: one statement on PostgreSQL."""
    s = uow.session
    ids_by_source: dict[str, set[str]] = defaultdict(set)
    subjects_by_source: dict[str, set[str]] = defaultdict(set)
    for e in events:
        ids_by_source[e.source].add(e.event_id)
        if e.sequence is not None:
            subjects_by_source[e.source].add(e.subject)
    facts = _Facts({}, {}, {name: {} for name in latest_keys})
    sources = sorted(set(ids_by_source) | set(subjects_by_source))
    if any(len(VIEWS[name].key) != 1 for name in latest_keys):
        raise NotImplementedError("a view kept by period has a one-column key")
    if uow.is_postgres:
        # Per source, one primary-key probe per event id and per subject: each array is unnested and the table read
        # in a fenced subquery (OFFSET 0: no condition is pushed into it or pulled out) that can only be answered
        # by `source = :s AND event_id = k` — the whole key. Asked `source = :s AND event_id = ANY(:ids)`, the
        # planner, whose statistics lag behind tables that grow by a row per event, read the pk by `source` alone
        # and filtered: EVERY applied event and sequence of the source per batch (61k rows each, 3,000 buffers,
        # growing through a 1,000/s phase; docs/bench-streaming.md, session 10). Every part in one round trip.
        parts, params = [], {}
        for i, src in enumerate(sources):
            parts.append(f"SELECT 'a', {i}, a.event_id, a.payload_sha256, NULL::bigint "
                         f"FROM unnest(CAST(:ids{i} AS varchar(200)[])) AS ka{i}(k) CROSS JOIN LATERAL "
                         f"(SELECT event_id, payload_sha256 FROM applied_events "
                         f"WHERE source = :src{i} AND event_id = ka{i}.k OFFSET 0) AS a")
            parts.append(f"SELECT 's', {i}, q.subject, NULL, q.sequence "
                         f"FROM unnest(CAST(:subjects{i} AS varchar(18)[])) AS ks{i}(k) CROSS JOIN LATERAL "
                         f"(SELECT subject, sequence FROM subject_sequences "
                         f"WHERE source = :src{i} AND subject = ks{i}.k OFFSET 0) AS q")
            params.update({f"src{i}": src, f"ids{i}": array_param(sorted(ids_by_source.get(src, ()))),
                           f"subjects{i}": array_param(sorted(subjects_by_source.get(src, ())))})
        names = sorted(latest_keys)
        for j, name in enumerate(names):
            view = VIEWS[name]
            (key,), by = view.key, view.latest_by
            key_type = view.table.c[key].type.compile(dialect=s.get_bind().dialect)
            parts.append(f"SELECT 'l', {j}, {key}, {by}, NULL FROM {view.table.name} "
                         f"WHERE {key} = ANY(CAST(:latest{j} AS {key_type}[]))")
            params[f"latest{j}"] = array_param([k[0] for k in latest_keys[name]])
        for tag, i, key, text_value, n in s.execute(text(" UNION ALL ".join(parts)), params):
            if tag == "a":
                facts.applied[(sources[i], key)] = text_value
            elif tag == "s":
                facts.sequences[(sources[i], key)] = n
            else:
                facts.latest[names[i]][(key,)] = text_value
        return facts
    for src, ids in ids_by_source.items():
        for eid, h in s.execute(select(AppliedEventRow.event_id, AppliedEventRow.payload_sha256)
                                .where(AppliedEventRow.source == src, any_of(s, AppliedEventRow.event_id, sorted(ids)))):
            facts.applied[(src, eid)] = h
    for src, subjects in subjects_by_source.items():
        for sub, n in s.execute(select(SubjectSequenceRow.subject, SubjectSequenceRow.sequence)
                                .where(SubjectSequenceRow.source == src, any_of(s, SubjectSequenceRow.subject, sorted(subjects)))):
            facts.sequences[(src, sub)] = n
    for name, keys in latest_keys.items():
        view = VIEWS[name]
        col, by = view.table.c[view.key[0]], view.table.c[view.latest_by]
        ids = [k[0] for k in keys]
        for i in range(0, len(ids), 1000):
            for key, value in s.execute(select(col, by).where(col.in_(ids[i:i + 1000]))):
                facts.latest[name][(key,)] = value
    return facts


def _pg_write(session, applied: list[dict], sequences: list[dict], writes: list,
              with_writes: tuple[Upsert, ...] = ()) -> None:
    """PostgreSQL: a batch's applied events, last sequences, partner-view rows (and ``with_writes``) in ONE
    statement — each an ``INSERT … SELECT unnest(arrays)`` as a data-modifying CTE (distinct tables, so no row is
    touched twice)."""
    dialect = session.get_bind().dialect
    parts: list[tuple[str, dict]] = []
    if applied:
        parts.append(unnest_insert_sql(dialect, AppliedEventRow.__table__, applied, None, False, prefix="a"))
    if sequences:
        parts.append(unnest_insert_sql(dialect, SubjectSequenceRow.__table__, sequences, ("source", "subject"), True,
                                       prefix="s"))
    for i, (view, rows, keep) in enumerate(writes):
        parts.append(unnest_insert_sql(dialect, view.table, rows, view.key, True, keep=keep, prefix=f"v{i}_"))
    for i, w in enumerate(with_writes):
        if w.rows:
            parts.append(unnest_insert_sql(dialect, w.table, w.rows, w.key, True, prefix=f"x{i}_"))
    if not parts:
        return
    params: dict = {}
    for _, p in parts:
        params.update(p)
    if len(parts) == 1:
        session.execute(text(parts[0][0]), params)
        return
    ctes = ", ".join(f"w{i} AS ({sql} RETURNING 1)" for i, (sql, _) in enumerate(parts[:-1]))
    session.execute(text(f"WITH {ctes} {parts[-1][0]}"), params)


_PG_VERIFY = text(
    "UPDATE persons SET verified_name = v.name, identity_status = v.status, photo_sha256 = v.photo "
    "FROM unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:statuses AS text[]), CAST(:photos AS text[])) "
    "AS v(id, name, status, photo) WHERE persons.id_number = v.id")


def verified_data(id_number, name, gender, birth_date, education, verified_name, status, photo) -> dict:
    """The `data` of the person.updated event of a person whose police-verified identity changed."""
    return {"id_number": id_number, "name": name, "gender": gender, "birth_date": birth_date, "education": education,
            "verified_name": verified_name, "identity_status": status, "photo_sha256": photo}


# verified_data's JSON made in PostgreSQL from ``persons p`` and the verified values ``v`` (keys in sorted order,
# as jsonutil.dumps writes them); tests/integration/test_sql_events.py checks it against dumps.
_VERIFIED_DATA_SQL = " || ".join((
    """'{"birth_date":"' || to_char(p.birth_date, 'YYYY-MM-DD') || '","education":'""", sql_json("p.education"),
    """',"gender":'""", sql_json("p.gender"), """',"id_number":'""", sql_json("p.id_number"),
    """',"identity_status":'""", sql_json("v.status"), """',"name":'""", sql_json("p.name"),
    """',"photo_sha256":'""", sql_json("v.photo_sha256"), """',"verified_name":'""", sql_json("v.name"), "'}'"))


def verify_staged_identities(uow: UnitOfWork, stage: str) -> int:
    """``verify_identities`` for a staged police snapshot (PostgreSQL): the table ``stage`` (id_number, name,
    status, photo_sha256, one row per person) updates the persons it names and differs from, with one
    person.updated event each, made in the database. Returns how many persons changed."""
    s = uow.session
    s.execute(text("DROP TABLE IF EXISTS snapshot_verified"))
    n = s.execute(text(
        f"""CREATE TEMP TABLE snapshot_verified ON COMMIT DROP AS
            SELECT s.id_number, s.name, s.status, s.photo_sha256 FROM {stage} s JOIN persons p ON p.id_number = s.id_number
            WHERE (p.verified_name, p.identity_status, p.photo_sha256) IS DISTINCT FROM (s.name, s.status, s.photo_sha256)""")).rowcount
    if not n:
        return 0
    value, params = sql_cloud_event(type=PERSON_UPDATED, now=uow.now, data_sql=_VERIFIED_DATA_SQL,
                                    subject_sql="p.id_number")
    s.execute(text(f"""INSERT INTO outbox (topic, key, value, created_at)
                       SELECT :topic, p.id_number, {value}, :now
                       FROM snapshot_verified v JOIN persons p ON p.id_number = v.id_number ORDER BY p.id_number"""),
              {"topic": UPDATES_TOPIC, "now": uow.now, **params})
    uow.wrote_outbox()
    s.execute(text("UPDATE persons p SET verified_name = v.name, identity_status = v.status, photo_sha256 = v.photo_sha256"
                   " FROM snapshot_verified v WHERE p.id_number = v.id_number"))
    return n


VERIFY_BLOCK = 5000  # persons verified together


@functools.lru_cache(maxsize=2)
def _persons_to_verify(postgres: bool):
    """``verify_identities``' read of the persons, built once (not per police batch: cyclic garbage)."""
    return select(PersonRow.id_number, PersonRow.name, PersonRow.gender, PersonRow.birth_date, PersonRow.education,
                  PersonRow.verified_name, PersonRow.identity_status, PersonRow.photo_sha256).where(
        any_of_param(PersonRow.id_number, "ids", postgres))


def verify_identities(uow: UnitOfWork, identity: dict[str, dict]) -> None:
    """Police may change the registry's verified name, identity status and photo hash — nothing else.

    Persons are handled VERIFY_BLOCK at a time; with more than that (a whole snapshot) each block's events are written to
    the outbox before the next block is read, so memory stays that of one block."""
    ids = list(identity)
    s = uow.session
    for i in range(0, len(ids), VERIFY_BLOCK):
        changed = []
        for person in s.execute(_persons_to_verify(uow.is_postgres),
                                {"ids": any_of_value(ids[i:i + VERIFY_BLOCK], uow.is_postgres)}):
            v = identity[person.id_number]
            new = (v["name"], v["status"], v["photo_sha256"])
            if (person.verified_name, person.identity_status, person.photo_sha256) == new:
                continue
            changed.append((person, new))
        if not changed:
            continue
        if uow.is_postgres:
            # One statement over arrays (an executemany of 1000 single-row UPDATEs costs ~1000 statement executions).
            s.execute(_PG_VERIFY, {"ids": array_param([p.id_number for p, _ in changed]),
                                   "names": array_param([n[0] for _, n in changed]),
                                   "statuses": array_param([n[1] for _, n in changed]),
                                   "photos": array_param([n[2] for _, n in changed])})
        else:
            s.execute(update(PersonRow.__table__).where(PersonRow.__table__.c.id_number == bindparam("b_id")).values(
                verified_name=bindparam("b_name"), identity_status=bindparam("b_status"), photo_sha256=bindparam("b_photo")),
                [dict(b_id=p.id_number, b_name=n[0], b_status=n[1], b_photo=n[2]) for p, n in changed])
        for p, (name, status, photo) in changed:
            data = verified_data(p.id_number, p.name, p.gender, p.birth_date, p.education, name, status, photo)
            uow.publish(UPDATES_TOPIC, key=p.id_number, type=PERSON_UPDATED, subject=p.id_number, data=data)
        if len(ids) > VERIFY_BLOCK:
            uow.flush()
