"""Who may read what (the role × field matrix of docs/access.md), purpose-bound lookups and the read audit."""

from __future__ import annotations

from datetime import datetime, timezone


from sqlalchemy.orm import Session

from hub.adapters import access_chain
from hub.adapters.orm import AccessLogBatchRow
from hub.domain.vocabulary import Role as R

ALL = frozenset(R)
PARTNERS = frozenset({R.POLICE, R.HR, R.FINANCE, R.INSURANCE})

# field → roles allowed to read it. Keys are "Type.field".
MATRIX: dict[str, frozenset[R]] = {
    "Query.person": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.UNIT}) | PARTNERS,
    "Query.persons": frozenset({R.ADMIN, R.AUDITOR}),
    "Query.mismatches": ALL,
    "Query.mismatchStats": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.MONITOR}),
    "Query.establishmentSummary": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.MONITOR}),
    "Query.headcountConsistency": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.FINANCE}),
    "Query.reports": ALL,  # each report names its roles (hub/reports/, docs/reports.md)
    "Query.report": ALL,
    "Query.accessLog": frozenset({R.ADMIN, R.AUDITOR}),
    "Query.comparison": frozenset({R.ADMIN, R.AUDITOR}),
    "Person.education": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.HR, R.UNIT}),
    "Person.postings": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.HR, R.FINANCE, R.INSURANCE, R.UNIT}),
    "Person.verifiedIdentity": frozenset({R.ADMIN, R.AUDITOR, R.POLICE}),
    "Person.accessHistory": frozenset({R.ADMIN, R.AUDITOR}),
    "Unit.postings": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.UNIT}),
    "Unit.history": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION, R.MONITOR, R.UNIT}),
    "Mutation": frozenset({R.ADMIN}),
    # Subscriptions: the same rules as the queries they mirror (hub/api/disclosure.py applies them per event).
    "Subscription.mismatchEvents": ALL,
    "Subscription.registryUpdates": frozenset({R.ADMIN, R.AUDITOR, R.ORGANIZATION}),
}
# Roles that must state a purpose (X-Purpose header or `purpose` argument) to read a person.
PURPOSE_REQUIRED = PARTNERS | {R.ORGANIZATION, R.UNIT}
# Roles that see mismatch ID numbers masked, and nothing that narrows the hidden digits (docs/access.md, "Masking").
MASKED = frozenset({R.MONITOR})
# Outcomes of a person lookup that found nobody the caller may read (access_log.outcome; None: a person was read).
NOT_FOUND = "NOT_FOUND"
OUT_OF_SCOPE = "OUT_OF_SCOPE"


class _Label:
    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value


class FormHolder:
    """Whoever opens a printed approval form (``/forms/{number}?code=…``): no token — the number and verification code
    on the paper are the key. Written to the access log as actor ``FORM:<number>``, role ``FORM``, field ``Form.page``."""

    token_id = None
    role = _Label("FORM")

    def __init__(self, number: str):
        self.actor = f"FORM:{number}"[:200]


FORM_PAGE = "Form.page"


def allowed(field: str, role: R) -> bool:
    return role in MATRIX.get(field, ALL)


def write_reads(db, *, principal, reads, session=None) -> None:
    """Write the access log's record of (id_number, operation, field, purpose, outcome) reads in one statement.

    One read per distinct (ID number, field, outcome); ``outcome`` None is a read, NOT_FOUND / OUT_OF_SCOPE a lookup
    that answered "no such person". Stored as batches (migration 0019, ``AccessLogBatchRow``): consecutive reads
    with the same operation, field, purpose and outcome are one row holding their ID numbers in order — the usual
    request (one field, one purpose) is one row whatever the number of reads, read back one row per read through
    the ``access_log`` view. The reads are numbered in order from the chain head's count (``first``). On PostgreSQL
    one ``INSERT … SELECT`` with array parameters (no per-read bind parameters); elsewhere a multi-row INSERT.
    The seal is one more row, its MAC computed here over the reads; the chain head is locked from the seal to the
    commit (a short moment per request). On PostgreSQL, when this process wrote the head last, the seal, the head
    and the reads are written by one statement (``access_chain.Head``). Committed synchronously before the response
    goes out: the audit log must be durable. ``session``: an open session — or Core connection — to write and commit on (the request's
    read session on PostgreSQL: no second connection checkout); by default a short transaction of its own."""
    now = datetime.now(timezone.utc)
    ids, groups = _distinct_reads(reads)
    if not ids:
        return
    actor, role, token_id = principal.actor, principal.role.value, principal.token_id
    bounds = [g[0] for g in groups] + [len(ids)]
    rows = [(token_id, actor, role, i, o, f, pu, oc)
            for (lo, o, f, pu, oc), hi in zip(groups, bounds[1:]) for i in ids[lo:hi]]
    if db.is_postgres:
        if len(groups) == 1:  # the usual case (one operation, one field, one purpose, one outcome): one row
            _, o, f, pu, oc = groups[0]
            insert = _BATCH_INSERT
            params = {"at": now, "token_id": token_id, "actor": actor, "role": role, "ids": _text_array(ids), "op": o,
                      "field": f, "purpose": pu, "outcome": oc}
        else:
            insert = _GROUPS_INSERT
            params = {"at": now, "token_id": token_id, "actor": actor, "role": role, "ids": _text_array(ids),
                      "los": [g[0] + 1 for g in groups], "his": bounds[1:], "ops": [g[1] for g in groups],
                      "fields": [g[2] for g in groups], "purposes": [g[3] for g in groups],
                      "outcomes": [g[4] for g in groups]}
        head = db.access_head
        if head is None:
            head = db.access_head = access_chain.Head()

        def write(s):
            # one statement when this process wrote the chain's head last (access_chain.Head); else the head is
            # locked and read, and the batch appended to it: two more — a request that overlapped another's
            # write (which moved the head) waited for its lock, and is the tail of the latency already
            kw = dict(key=db.audit_key, at=now, rows=rows, insert_sql=insert, params=params, written=len(groups))
            new_head = head.append(s, **kw)
            if new_head is None:
                new_head = head.append(s, **kw, hint=access_chain.lock_head(s))
            if new_head is None:  # a chain not (yet) signed with this process's key: seal_head signs it or refuses
                if isinstance(s, Session):
                    new_head = access_chain.seal_head(s, key=db.audit_key, at=now, rows=rows)
                else:  # a Core connection (a compiled read's): an ORM session on it, in its transaction
                    with Session(bind=s) as orm:
                        new_head = access_chain.seal_head(orm, key=db.audit_key, at=now, rows=rows)
                        orm.flush()
                access_chain.connection_of(s).exec_driver_sql(insert, {**params, "seal": new_head[0],
                                                                     "first": new_head[3] - len(rows) + 1})
            return new_head
    else:
        def write(s):
            seq, _, _, reads_after = access_chain.seal_head(s, key=db.audit_key, at=now, rows=rows)
            first = reads_after - len(rows) + 1
            s.execute(AccessLogBatchRow.__table__.insert(), [
                dict(id=first + lo, at=now, token_id=token_id, actor=actor, role=role, operation=o, field=f, purpose=pu,
                     outcome=oc, seal_seq=seq, id_numbers=ids[lo:hi])
                for (lo, o, f, pu, oc), hi in zip(groups, bounds[1:])])
            return None

    if session is not None:
        new_head = write(session)
        session.commit()
    else:
        with db.session() as s, s.begin():
            new_head = write(s)
    if new_head is not None:
        head.remember(new_head)  # committed


def _distinct_reads(reads) -> tuple[list, list[list]]:
    """The reads to write, in order: the ID numbers (the first read of each (ID number, field, outcome) kept) and
    their groups, [first position (0-based), operation, field, purpose, outcome] per run of consecutive reads with
    the same (clipped) operation, field, purpose and outcome."""
    if not reads:
        return [], []
    idns, ops, fields, purposes, outcomes = zip(*reads)
    n = len(idns)
    if ops.count(ops[0]) == n and fields.count(fields[0]) == n and purposes.count(purposes[0]) == n \
            and outcomes.count(outcomes[0]) == n:
        # the usual request (a page: ~1,900 reads of one field for one operation and purpose), done in C: the
        # field and outcome are the same for all, so a read is a repeat when its ID number is
        op, purpose = ops[0], purposes[0]
        return list(dict.fromkeys(idns)), [[0, (op or "")[:200] or None, fields[0],
                                            (purpose or None) and purpose[:500], outcomes[0]]]
    seen = set()
    ids: list[str] = []
    groups: list[list] = []
    clip_op, clip_purpose = {}, {}
    last = None
    for idn, op, field, purpose, outcome in reads:
        if (idn, field, outcome) in seen:
            continue
        seen.add((idn, field, outcome))
        o = clip_op.get(op, _MISSING)
        if o is _MISSING:
            o = clip_op[op] = (op or "")[:200] or None
        pu = clip_purpose.get(purpose, _MISSING)
        if pu is _MISSING:
            pu = clip_purpose[purpose] = (purpose or None) and purpose[:500]
        key = (o, field, pu, outcome)
        if key != last:
            groups.append([len(ids), *key])
            last = key
        ids.append(idn)
    return ids, groups


def _text_array(ids: list[str]) -> str | list[str]:
    """The ID numbers as the text of a PostgreSQL array (``{"a","b"}``, each element quoted: spaces, commas,
    braces and ``NULL`` stay text) — the statement casts it to ``text[]``, the same value psycopg would send for
    the list, whose adaptation element by element in Python cost ~2 ms of a 1,900-read page. An element holding a
    quote or a backslash (never an ID number) would need escaping: the list itself then, adapted by psycopg."""
    try:
        joined = '","'.join(ids)
    except TypeError:  # not text: psycopg adapts (or refuses) it as before
        return ids
    if '\\' in joined or joined.count('"') != 2 * (len(ids) - 1):
        return ids
    return '{"' + joined + '"}'


_MISSING = object()
# psycopg placeholders (run with exec_driver_sql: no SQLAlchemy compile per request); ``first``: the first read's
# number; each ends in a WHERE clause (access_chain.Head.append adds its condition on the chain's head to it)
_BATCH_INSERT = (
    "INSERT INTO access_log_batches (id, at, token_id, actor, role, operation, field, purpose, outcome, seal_seq, "
    "id_numbers) SELECT CAST(%(first)s AS bigint), CAST(%(at)s AS timestamptz), CAST(%(token_id)s AS bigint), "
    "CAST(%(actor)s AS text), CAST(%(role)s AS text), CAST(%(op)s AS text), CAST(%(field)s AS text), "
    "CAST(%(purpose)s AS text), CAST(%(outcome)s AS text), CAST(%(seal)s AS bigint), CAST(%(ids)s AS text[]) "
    "WHERE true")
_GROUPS_INSERT = (  # one row per group: its slice [lo:hi] (1-based, inclusive) of the ID numbers
    "INSERT INTO access_log_batches (id, at, token_id, actor, role, operation, field, purpose, outcome, seal_seq, "
    "id_numbers) SELECT CAST(%(first)s AS bigint) + t.lo - 1, CAST(%(at)s AS timestamptz), "
    "CAST(%(token_id)s AS bigint), CAST(%(actor)s AS text), CAST(%(role)s AS text), t.operation, t.field, t.purpose, "
    "t.outcome, CAST(%(seal)s AS bigint), (CAST(%(ids)s AS text[]))[t.lo:t.hi] "
    "FROM unnest(CAST(%(los)s AS integer[]), CAST(%(his)s AS integer[]), CAST(%(ops)s AS text[]), "
    "CAST(%(fields)s AS text[]), CAST(%(purposes)s AS text[]), CAST(%(outcomes)s AS text[])) "
    "AS t(lo, hi, operation, field, purpose, outcome) WHERE true")
