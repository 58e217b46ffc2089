"""The access log's chain: one seal per batch of reads (a request's person reads are written in one statement).

A seal's hash is a MAC (HMAC-SHA256 under the audit key; plain SHA-256 without one, see operation_log) over the
previous seal's hash, its sequence number, time and every row of its batch. Rows name their seal (``seal_seq``):
editing, deleting or adding a row changes what its seal covers; deleting, inserting or reordering seals breaks the
sequence or the links. Sealing per batch rather than per row keeps the bulk insert of a big page's reads one
statement; the chain head is locked only from the seal to the commit. Rows written before migration 0009 have no
seal and stay outside the chain (reported, not verified).

Since migration 0019 the reads are stored as batches (``access_log_batches``: one row per group of a batch, the ID
numbers as an array) and read back one row per read through the ``access_log`` view (``AccessLogRow``); a seal
covers the same tuples as before, so verification reads the view. The head also counts the reads written
(``reads``): a batch's reads are numbered from the count before it + 1, under the head's lock."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from operator import itemgetter

import orjson
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hub.adapters.jsonutil import dumps
from hub.adapters.operation_log import GENESIS, VerifyReport, check_key, describe, key_id, mac
from hub.adapters.orm import AccessChainHeadRow, AccessLogBatchRow, AccessLogRow, AccessSealRow


def _at(value: datetime) -> str:
    """A time as hashed: UTC, microseconds (a naive value, as SQLite returns it, is UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def seal_hash(prev_hash: str, seq: int, at: str, rows: list[tuple], key: bytes | None) -> str:
    """The MAC over a seal and its rows (token_id, actor, role, id_number, operation, field, purpose, outcome), in a
    fixed order (the rows of one batch are distinct by ID number, field and outcome)."""
    try:
        if _uniform(rows):
            ordered = sorted(rows, key=itemgetter(3))  # the usual batch: the same order, sorted by ID number alone
        else:
            ordered = sorted(rows, key=lambda r: (r[3], r[5], r[7] or "", r[4] or "", r[6] or ""))
    except TypeError:  # an ID number that is not text (a NULL array element, a number in SQLite's JSON): never
        # written by write_reads, so never in a genuine seal; ordered by its text so that verify reports a mismatch
        ordered = sorted(rows, key=lambda r: (str(r[3]), r[5], r[7] or "", r[4] or "", r[6] or ""))
    return mac(key, _payload([prev_hash, seq, at, ordered]))


def _uniform(rows: list[tuple]) -> bool:
    """Do all rows share (field, outcome, operation, purpose)? ``len({(r[5], r[7], r[4], r[6]) for r in rows}) == 1``
    in C (a page's 1,900 rows: a set of tuples built in Python took ~0.1 ms)."""
    if not rows:
        return False
    columns = list(zip(*rows))
    n = len(rows)
    return all(columns[i].count(columns[i][0]) == n for i in (5, 7, 4, 6))


def _payload(value: list) -> str:
    """``jsonutil.dumps(value)`` for a seal (strings, integers, None; tuples as arrays): orjson writes the same text
    (compact, UTF-8 kept, the same escapes; tests/unit/test_ascii_json.py) in a fraction of the time — a big page's
    1,900 reads took 5–8 ms to dump. What orjson refuses (a lone surrogate, an integer beyond 64 bits) is dumped by
    ``dumps``, which decides."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return dumps(value[:3] + [[list(r) for r in value[3]]])


def seal(session: Session, *, key: bytes | None, at: datetime, rows: list[tuple]) -> int:
    """Link a seal for ``rows`` (all written at ``at``) to the chain; return its sequence number, which the rows
    carry in ``seal_seq``. The head stays locked until the caller's transaction ends."""
    return seal_head(session, key=key, at=at, rows=rows)[0]


def seal_head(session: Session, *, key: bytes | None, at: datetime, rows: list[tuple]) -> tuple[int, str, str | None, int]:
    """``seal``, returning the new head: (sequence number, hash, key id, reads written) — a ``Head`` hint once
    committed. The batch's reads are numbered from reads written − len(rows) + 1."""
    head = session.execute(select(AccessChainHeadRow).where(AccessChainHeadRow.id == 1).with_for_update()).scalar_one()
    check_key(head, key, "access log")
    seq, when = head.seq + 1, _at(at)
    h = seal_hash(head.hash, seq, when, rows, key)
    session.execute(AccessSealRow.__table__.insert(), [dict(seq=seq, at=when, rows=len(rows), prev_hash=head.hash, hash=h)])
    reads = head.reads + len(rows)
    session.execute(update(AccessChainHeadRow).where(AccessChainHeadRow.id == 1)
                    .values(seq=seq, hash=h, key_id=head.key_id, reads=reads))
    return seq, h, head.key_id, reads


class Head:
    """The chain head this process last committed (PostgreSQL): a hint that lets a batch of reads be sealed and
    written in one statement instead of five round trips (lock and read the head, insert the seal, move the head,
    insert the rows).

    ``append`` computes the seal from the hint and sends one statement: an ``UPDATE`` of the head *conditioned on
    the head still being the hint* (sequence number, hash and key id), the seal's ``INSERT`` and the rows' ``INSERT``
    as data-modifying CTEs of it, both writing nothing unless the head moved. The head row stays locked by that
    ``UPDATE`` until the caller's commit, as ``seal``'s ``FOR UPDATE`` does; a writer meanwhile (another request,
    another process, `hub audit rekey`) waits for it and then finds the head moved. When the head is not the hint
    (or there is no hint yet) nothing was written and the caller seals the usual way (``seal_head``) in the same
    transaction. The chain written is the same either way: the hint only saves the reading of a head it matches.
    ``remember`` is called after the commit; an older head never replaces a newer one."""

    def __init__(self) -> None:
        self.hint: tuple[int, str, str | None, int] | None = None

    def remember(self, head: tuple[int, str, str | None, int]) -> None:
        hint = self.hint
        if hint is None or hint[0] < head[0]:
            self.hint = head

    def append(self, session: Session | Connection, *, key: bytes | None, at: datetime, rows: list[tuple], insert_sql: str,
               params: dict, written: int, hint: tuple[int, str, str | None, int] | None = None
               ) -> tuple[int, str, str | None, int] | None:
        """Seal ``rows`` and run ``insert_sql`` (psycopg placeholders; ``%(seal)s`` is the seal's number and
        ``%(first)s`` the number of the batch's first read; it must end in a WHERE clause, to which the condition on
        the head is added, and writes ``written`` rows) in one statement; the new head, or None if the head is not
        the hint (then nothing was written). ``hint``: the head as ``lock_head`` read it in this transaction,
        instead of this process's last one."""
        hint = self.hint if hint is None else hint
        if hint is None or hint[2] != key_id(key):
            return None
        prev_seq, prev_hash, kid, prev_reads = hint
        seq, when, reads = prev_seq + 1, _at(at), prev_reads + len(rows)
        h = seal_hash(prev_hash, seq, when, rows, key)
        result = connection_of(session).exec_driver_sql(
            _APPEND.format(insert=insert_sql),
            {**params, "seal": seq, "first": prev_reads + 1, "prev_seq": prev_seq, "prev_hash": prev_hash,
             "prev_reads": prev_reads, "reads": reads, "kid": kid, "hash": h, "when": when, "n": len(rows)})
        if result.rowcount != written:
            if result.rowcount:  # cannot happen: the rows are written only with the head moved
                raise RuntimeError(f"access log: {result.rowcount} of {written} rows written by a sealed append")
            return None
        return seq, h, kid, reads


def lock_head(session: Session | Connection) -> tuple[int, str, str | None, int]:
    """The chain's head, read and locked until the transaction ends (``SELECT … FOR UPDATE``, as ``seal_head``
    locks it), as a ``Head`` hint: (sequence number, hash, key id, reads written). ``Head.append`` on it then writes
    what ``seal_head`` and the rows' insert would (the same seal, head and rows), in one statement instead of four."""
    seq, h, kid, reads = connection_of(session).exec_driver_sql(_LOCK_HEAD).one()
    return seq, h, kid, reads


def connection_of(session: Session | Connection) -> Connection:
    """The connection an ORM session writes on (its transaction's), or the Core connection itself (a compiled read
    writes its log on one: hub/api/compiled)."""
    return session.connection() if isinstance(session, Session) else session


_LOCK_HEAD = "SELECT seq, hash, key_id, reads FROM access_chain_head WHERE id = 1 FOR UPDATE"
_APPEND = (
    "WITH head AS (UPDATE access_chain_head SET seq = CAST(%(seal)s AS bigint), hash = CAST(%(hash)s AS text), "
    "reads = CAST(%(reads)s AS bigint) "
    "WHERE id = 1 AND seq = CAST(%(prev_seq)s AS bigint) AND hash = CAST(%(prev_hash)s AS text) "
    "AND reads = CAST(%(prev_reads)s AS bigint) "
    "AND key_id IS NOT DISTINCT FROM CAST(%(kid)s AS text) RETURNING seq), "
    "seal AS (INSERT INTO access_log_seals (seq, at, rows, prev_hash, hash) SELECT head.seq, CAST(%(when)s AS text), "
    "CAST(%(n)s AS integer), CAST(%(prev_hash)s AS text), CAST(%(hash)s AS text) FROM head) "
    "{insert} AND EXISTS (SELECT 1 FROM head)")


def _row(r: AccessLogRow) -> tuple:
    return (r.token_id, r.actor, r.role, r.id_number, r.operation, r.field, r.purpose, r.outcome)


def _links(session: Session, batch: int):
    """(seal, its rows, their times) in sequence order, then (None, rows naming a seal that does not exist, [])."""
    last = 0
    while True:
        links = session.execute(select(AccessSealRow).where(AccessSealRow.seq > last)
                                .order_by(AccessSealRow.seq).limit(batch)).scalars().all()
        if not links:
            break
        lo, hi = links[0].seq, links[-1].seq
        grouped = defaultdict(list)
        for r in session.execute(select(AccessLogRow).where(AccessLogRow.seal_seq.between(lo, hi))
                                 .order_by(AccessLogRow.seal_seq, AccessLogRow.id)).scalars():
            grouped[r.seal_seq].append(r)
        for link in links:
            got = grouped.pop(link.seq, [])
            yield link, [_row(r) for r in got], {_at(r.at) for r in got}
        for seq, got in grouped.items():  # rows whose seal was deleted
            yield None, [(seq, *_row(r)) for r in got], set()
        last = hi
        session.expunge_all()
    orphans = session.execute(select(AccessLogRow.seal_seq, func.count()).where(AccessLogRow.seal_seq > last)
                              .group_by(AccessLogRow.seal_seq)).all()
    for seq, n in orphans:
        yield None, [(seq,)] * n, set()


def verify(session: Session, *, key: bytes | None = None, batch: int = 1000) -> VerifyReport:
    """Walk the access log's seals from the first: edited, added or deleted rows and deleted or reordered seals are
    reported (``checked``: rows verified). Same key rules as operation_log.verify."""
    head = session.execute(select(AccessChainHeadRow).where(AccessChainHeadRow.id == 1)).scalar_one()
    head_seq, head_hash, head_key = head.seq, head.hash, head.key_id
    if key is None and head_key is not None:
        return VerifyReport(0, [f"the access log is signed with {describe(head_key)}: verify needs that key "
                                "(HUB_AUDIT_KEY_FILE or HUB_AUDIT_KEY)"], keyed=True)
    problems: list[str] = []
    if key is not None and head_key != key_id(key) and not (head_key is None and head_seq == 0):
        problems.append(f"the access log's head names {describe(head_key)}, the configured key is "
                        f"{describe(key_id(key))} (wrong key, or the head was edited)")
    prev, expected, checked, last = GENESIS, 1, 0, 0
    for link, rows, times in _links(session, batch):
        if link is None:
            problems.append(f"{len(rows)} access-log row(s) name seal {rows[0][0]}, which does not exist (seal deleted)")
            continue
        if link.seq != expected:
            problems.append(f"access seal {expected}..{link.seq - 1} missing (deleted)")
        if link.prev_hash != prev:
            problems.append(f"access seal {link.seq}: prev_hash does not match the seal before it")
        if len(rows) != link.rows:
            problems.append(f"access seal {link.seq}: covers {link.rows} row(s), {len(rows)} found (rows deleted or added)")
        if times - {link.at}:
            problems.append(f"access seal {link.seq}: a row's time differs from the seal's (edited)")
        if seal_hash(link.prev_hash, link.seq, link.at, rows, key) != link.hash:
            problems.append(f"access seal {link.seq}: its rows do not match its hash (edited"
                            + (", or rehashed by someone without the audit key)" if key else ")"))
        prev, expected, last = link.hash, link.seq + 1, link.seq
        checked += len(rows)
    if head_seq != last or head_hash != prev:
        problems.append(f"access chain head says seal {head_seq}, the seals end at {last} (tail deleted or head edited)")
    problems += _numbering_problems(session, head.reads)
    # a batch's id is its first read's number
    first_sealed = session.scalar(select(func.min(AccessLogBatchRow.id)).where(AccessLogBatchRow.seal_seq.is_not(None)))
    unsealed = select(func.count()).select_from(AccessLogRow).where(AccessLogRow.seal_seq.is_(None))
    legacy = session.scalar(unsealed if first_sealed is None else unsealed.where(AccessLogRow.id < first_sealed))
    late = 0 if first_sealed is None else session.scalar(unsealed.where(AccessLogRow.id > first_sealed))
    if late:
        problems.append(f"{late} access-log row(s) without a seal written after sealing began (inserted)")
    report = VerifyReport(checked, problems, keyed=key is not None)
    report.notes.append(f"head: seal {head_seq}, hash {head_hash}")
    if legacy:
        report.notes.append(f"{legacy} access-log row(s) from before sealing (migration 0009) are outside the chain")
    return report


def _numbering_problems(session: Session, head_reads: int) -> list[str]:
    """The reads' numbers (migration 0019): a batch holds the reads ``id`` .. ``id + len(id_numbers) - 1``, so
    batches must not overlap (a batch renumbered, or the head's counter lowered and then used: two reads with one
    number), and the head's ``reads`` must be the last read's number — the next batch is numbered from it, and it
    is not covered by a seal. Gaps between batches are allowed (old rows numbered by a sequence, before 0019)."""
    b = AccessLogBatchRow.__table__.c
    end = (b.id + AccessLogBatchRow.reads() - 1).label("end")
    ranges = select(b.id, func.max(end).over(order_by=b.id, rows=(None, -1)).label("before")).subquery()
    overlaps = session.scalar(select(func.count()).select_from(ranges).where(ranges.c.before >= ranges.c.id))
    last = session.scalar(select(func.coalesce(func.max(end), 0)))
    problems = []
    if overlaps:
        problems.append(f"{overlaps} access-log batch(es) overlap the numbers of the batches before them "
                        "(a batch renumbered, or reads numbered from an edited head)")
    if head_reads != last:
        problems.append(f"access chain head counts {head_reads} reads, the last read is number {last} "
                        "(the head's reads counter edited, or the last reads deleted)")
    return problems


def rekey(session: Session, *, new_key: bytes, old_key: bytes | None = None, from_unkeyed: bool = False,
          batch: int = 1000) -> int:
    """Re-sign every seal with ``new_key`` after checking the chain under the old scheme (as operation_log.rekey);
    returns the number of seals signed."""
    head = session.execute(select(AccessChainHeadRow).where(AccessChainHeadRow.id == 1).with_for_update()).scalar_one()
    expected = None if from_unkeyed else key_id(old_key)
    if old_key is None and not from_unkeyed:
        raise ValueError("name the key the log is signed with now (--old-key-file), or --from-unkeyed")
    if head.key_id != expected:
        raise ValueError(f"the access log is signed with {describe(head.key_id)}, not {describe(expected)}")
    report = verify(session, key=old_key, batch=batch)
    if not report.ok:
        raise ValueError("the access log does not verify under its current scheme; not re-signing it:\n"
                         + "\n".join(report.problems))
    prev, count, pending = GENESIS, 0, []
    t = AccessSealRow.__table__
    statement = t.update().where(t.c.seq == bindparam("s")).values(prev_hash=bindparam("p"), hash=bindparam("h"))
    for link, rows, _ in _links(session, batch):
        h = seal_hash(prev, link.seq, link.at, rows, new_key)
        pending.append({"s": link.seq, "p": prev, "h": h})
        prev, count = h, count + 1
        if len(pending) >= batch:
            session.execute(statement, pending)
            pending = []
    if pending:
        session.execute(statement, pending)
    session.execute(update(AccessChainHeadRow).where(AccessChainHeadRow.id == 1).values(hash=prev, key_id=key_id(new_key)))
    return count


# The GIN index of the batches' ID numbers (migration 0019) keeps new entries in a pending list (fast update) that
# is merged into the index when it passes gin_pending_list_limit (4 MB, ~50 big pages): by the INSERT that passes
# it, i.e. inside a request, 180–230 ms of CPU (docs/bench-graphql.md, session 9). Autovacuum rarely takes it over
# (it counts rows, and a page is one row). `hub up` merges it in the background instead (``keep_pending_reads_merged``).
GIN_INDEX = "ix_access_log_batches_id_numbers"
MERGE_EVERY_S = 5.0


def merge_pending_reads(db) -> int:
    """Merge the GIN pending list of the batches' ID numbers into the index (PostgreSQL; SQLite has none); the
    number of pending pages merged. Inserts meanwhile go on appending to the list; one that passes the limit
    while this merge runs skips its own merge."""
    if not db.is_postgres:
        return 0
    with db.engine.connect() as c:
        merged = c.execute(text(f"SELECT gin_clean_pending_list('{GIN_INDEX}'::regclass)")).scalar_one()
        c.commit()
    return int(merged or 0)


def keep_pending_reads_merged(db, stop_event, every_s: float | None = None) -> None:
    """Merge the pending list every ``every_s`` seconds until ``stop_event`` is set: a request then finds it
    merged unless more than ~50 big pages were written within one interval. A failed merge (the database
    restarting) is logged and retried at the next interval."""
    import logging

    log = logging.getLogger(__name__)
    while not stop_event.wait(MERGE_EVERY_S if every_s is None else every_s):
        try:
            merge_pending_reads(db)
        except Exception as e:  # noqa: BLE001 - retried at the next interval
            if getattr(getattr(e, "orig", None), "sqlstate", None) == "42501":  # not the index's owner: never will be
                log.warning("the access log's GIN pending list is not merged in the background: the hub's database "
                            "user does not own %s (requests merge it, as without hub up's merge)", GIN_INDEX)
                return
            log.warning("merging the access log's GIN pending list failed; retried", exc_info=True)
