"""Apply a batch of validated partner events in one unit of work.

Per event: a CloudEvent `id` already applied for its `source` is a duplicate (same payload: nothing happens;
different payload: a dead letter); an event whose `sequence` is older than the one applied for its
(source, subject) is stale and changes nothing; one implausibly far ahead of it (more than ``max_sequence_jump``)
is a dead letter, held for review, so that one wild number cannot make the person's later events stale. Accepted
events update the partner's latest view, police events also the registry's verified identity, and every touched
person is reconciled once at the end of the batch.

`source` is the department that owns the event's topic (``InboundEvent.source``, set by the connector, never the
sender's string): a department cannot write into another's de-duplication or ordering.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, text, tuple_, update

from hub.adapters.bulk import any_of, array_param, bulk_insert, insert_rows, upsert
from hub.adapters.orm import (
    AppliedEventRow,
    PartnerEmploymentRow,
    PartnerIdentityRow,
    PartnerInsuranceRow,
    PartnerPayrollRow,
    PersonRow,
    SubjectSequenceRow,
)
from hub.contract.cloudevents import sql_cloud_event, sql_json
from hub.contract.topics import UPDATES_TOPIC
from hub.contract.types import PERSON_UPDATED
from hub.domain.reconciliation import supersedes
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.reconcile import lock_persons, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    conflicts: list[tuple[object, str]] = field(default_factory=list)  # (event, reason) → dead letters
    mismatches: MismatchTally = field(default_factory=MismatchTally)


def apply_events(uow: UnitOfWork, events: list, *, book: MismatchBook | None = None, plain: bool = False,
                 max_sequence_jump: int | None = None) -> BatchResult:
    """Apply validated InboundEvents (hub.contract.inbound) in order; returns what happened to each.

    ``plain=True``: this transaction holds no mismatch as an ORM object (a connector's batch), so reconciliation
    may read and write mismatches as plain rows (see ``reconcile_persons``). ``max_sequence_jump``: how far a
    `sequence` may lie ahead of the last one applied for the same person (``HUB_CONNECTOR_MAX_SEQUENCE_JUMP``);
    None: any distance."""
    res = BatchResult()
    book = book or MismatchBook(uow, res.mismatches)
    res.mismatches = book.tally
    if not events:
        return res
    s, now = uow.session, uow.now
    # The reconciliation locks before any partner table: a monthly comparison holds the global lock exclusively
    # and then locks the finance view's partitions (attaching one); taking them in the other order deadlocks.
    lock_persons(uow, sorted({e.subject for e in events}))
    # Lookups per source with a plain IN list (an index scan; a row-value IN would plan as a 1000-way OR).
    by_source: dict[str, set[str]] = defaultdict(set)
    subjects_by_source: dict[str, set[str]] = defaultdict(set)
    for e in events:
        by_source[e.source].add(e.event_id)
        if e.sequence is not None:
            subjects_by_source[e.source].add(e.subject)
    applied: dict[tuple[str, str], str] = {}
    seqs: dict[tuple[str, str], int] = {}
    if uow.is_postgres:
        # Both lookups of a source in one round trip.
        for src in sorted(set(by_source) | set(subjects_by_source)):
            for tag, key, h, n in s.execute(_PG_LOOKUP, {"src": src, "ids": array_param(sorted(by_source.get(src, ()))),
                                                         "subjects": array_param(sorted(subjects_by_source.get(src, ())))}):
                if tag == "a":
                    applied[(src, key)] = h
                else:
                    seqs[(src, key)] = n
        by_source, subjects_by_source = {}, {}
    for src, ids in by_source.items():
        for eid, h in s.execute(select(AppliedEventRow.event_id, AppliedEventRow.payload_sha256)
                                .where(AppliedEventRow.source == src, any_of(s, AppliedEventRow.event_id, sorted(ids)))):
            applied[(src, eid)] = h
    for src, subjects in subjects_by_source.items():
        for sub, n in s.execute(select(SubjectSequenceRow.subject, SubjectSequenceRow.sequence)
                                .where(SubjectSequenceRow.source == src, any_of(s, SubjectSequenceRow.subject, sorted(subjects)))):
            seqs[(src, sub)] = n

    identity, employment, payroll, insurance = {}, {}, {}, {}
    new_applied, new_seqs = [], {}
    touched: dict[str, list[str]] = defaultdict(list)
    for e in events:
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
        if e.sequence is not None and sk in seqs and e.sequence < seqs[sk]:
            res.stale += 1
            applied[k] = e.payload_sha256
            new_applied.append(dict(source=e.source, event_id=e.event_id, payload_sha256=e.payload_sha256, applied_at=now,
                                    sent_at=getattr(e, "sent_at", None)))
            continue
        if e.sequence is not None:
            seqs[sk] = e.sequence
            new_seqs[sk] = e.sequence
        applied[k] = e.payload_sha256
        new_applied.append(dict(source=e.source, event_id=e.event_id, payload_sha256=e.payload_sha256, applied_at=now,
                                    sent_at=getattr(e, "sent_at", None)))
        d = e.data
        if e.type == "gov.police.identity.updated":
            identity[d.id_number] = dict(id_number=d.id_number, name=d.name, gender=d.gender, birth_date=d.birth_date,
                                         status=d.status, photo_sha256=d.photo_sha256, event_id=e.event_id, updated_at=now)
        elif e.type == "gov.hr.employment.updated":
            employment[d.id_number] = dict(id_number=d.id_number, name=d.name, unit_code=d.unit_code, status=d.status,
                                           effective_date=d.effective_date, rank=d.rank, event_id=e.event_id, updated_at=now)
        elif e.type == "gov.finance.payroll.paid":
            payroll[(d.id_number, d.unit_code, d.period)] = dict(
                id_number=d.id_number, unit_code=d.unit_code, period=d.period, name=d.name,
                gross_amount=d.gross_amount, paid=True, event_id=e.event_id, updated_at=now)
        elif e.type == "gov.finance.payroll.stopped":
            key = (d.id_number, d.unit_code, d.period)
            prev = payroll.get(key)
            payroll[key] = dict(id_number=d.id_number, unit_code=d.unit_code, period=d.period,
                                name=prev["name"] if prev else None, gross_amount=prev["gross_amount"] if prev else None,
                                paid=False, event_id=e.event_id, updated_at=now)
        elif e.type == "gov.insurance.contribution.recorded":
            prev = insurance.get(d.id_number)
            if prev is None or supersedes(d.period, prev["period"]):  # an older period's record arriving late stays out
                insurance[d.id_number] = dict(id_number=d.id_number, name=d.name, employer_code=d.employer_code, period=d.period,
                                              base_amount=d.base_amount, status=d.status, event_id=e.event_id,
                                              updated_at=now)
        touched[e.subject].append(e.event_id)
        res.applied += 1

    upsert(s, PartnerIdentityRow.__table__, list(identity.values()), ["id_number"])
    upsert(s, PartnerEmploymentRow.__table__, list(employment.values()), ["id_number"])
    _upsert_payroll(uow, list(payroll.values()))
    upsert(s, PartnerInsuranceRow.__table__, _newer_than_stored(s, insurance), ["id_number"])
    if uow.is_postgres and len(new_applied) >= COPY_MIN_ROWS:
        bulk_insert(s, AppliedEventRow.__table__, ["source", "event_id", "payload_sha256", "applied_at", "sent_at"],
                    [(r["source"], r["event_id"], r["payload_sha256"], now, r["sent_at"]) for r in new_applied])
    else:
        insert_rows(s, AppliedEventRow.__table__, new_applied)
    upsert(s, SubjectSequenceRow.__table__, [dict(source=a, subject=b, sequence=n) for (a, b), n in new_seqs.items()],
           ["source", "subject"])
    if identity:
        verify_identities(uow, identity)
    reconcile_persons(uow, book, touched.keys(), caused_by=touched, plain=plain, locked=True)  # locked at the start
    return res


def _newer_than_stored(s, insurance: dict[str, dict]) -> list[dict]:
    """The batch's insurance records that supersede the one kept for their person (the persons are locked)."""
    if not insurance:
        return []
    ids = sorted(insurance)
    kept = {}
    for i in range(0, len(ids), 1000):
        kept.update(s.execute(select(PartnerInsuranceRow.id_number, PartnerInsuranceRow.period)
                              .where(PartnerInsuranceRow.id_number.in_(ids[i:i + 1000]))).all())
    return [r for idn, r in insurance.items() if supersedes(r["period"], kept.get(idn))]


def _upsert_payroll(uow: UnitOfWork, rows: list[dict]) -> None:
    """A stop keeps the name and amount of the paid line it stops."""
    if not rows:
        return
    stops = [r for r in rows if not r["paid"] and r["name"] is None]
    if stops:
        keys = [(r["id_number"], r["unit_code"], r["period"]) for r in stops]
        known = {}
        for i in range(0, len(keys), 1000):
            for idn, unit, period, name, amount in uow.session.execute(
                    select(PartnerPayrollRow.id_number, PartnerPayrollRow.unit_code, PartnerPayrollRow.period,
                           PartnerPayrollRow.name, PartnerPayrollRow.gross_amount)
                    .where(tuple_(PartnerPayrollRow.id_number, PartnerPayrollRow.unit_code, PartnerPayrollRow.period).in_(keys[i:i + 1000]))):
                known[(idn, unit, period)] = (name, amount)
        for r in stops:
            r["name"], r["gross_amount"] = known.get((r["id_number"], r["unit_code"], r["period"]), (None, None))
    upsert(uow.session, PartnerPayrollRow.__table__, rows, ["id_number", "unit_code", "period"])


COPY_MIN_ROWS = 64  # fewer rows: one INSERT over arrays (one round trip; COPY takes two)

_PG_LOOKUP = text(
    "SELECT 'a', event_id, payload_sha256, NULL::bigint FROM applied_events "
    "WHERE source = :src AND event_id = ANY(CAST(:ids AS varchar(200)[])) "
    "UNION ALL SELECT 's', subject, NULL, sequence FROM subject_sequences "
    "WHERE source = :src AND subject = ANY(CAST(:subjects AS varchar(18)[]))")

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


def verify_identities(uow: UnitOfWork, identity: dict[str, dict]) -> None:
    """Police may change the registry's verified name, identity status and photo hash — nothing else.

    Persons are handled VERIFY_BLOCK at a time; with more than that (a whole snapshot) each block's events are written to
    the outbox before the next block is read, so memory stays that of one block."""
    ids = list(identity)
    s = uow.session
    for i in range(0, len(ids), VERIFY_BLOCK):
        changed = []
        for person in s.execute(select(PersonRow.id_number, PersonRow.name, PersonRow.gender, PersonRow.birth_date,
                                       PersonRow.education, PersonRow.verified_name, PersonRow.identity_status,
                                       PersonRow.photo_sha256).where(any_of(s, PersonRow.id_number, ids[i:i + VERIFY_BLOCK]))):
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
