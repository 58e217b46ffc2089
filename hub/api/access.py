"""Who may read what (the role × field matrix of docs/access.md), purpose-bound lookups and the read audit."""

from __future__ import annotations

from datetime import datetime, timezone


from hub.adapters import access_chain
from hub.adapters.orm import AccessLogRow
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
    """Write access-log rows for (id_number, operation, field, purpose, outcome) reads in one statement.

    One row per distinct (ID number, field, outcome); ``outcome`` None is a read, NOT_FOUND / OUT_OF_SCOPE a lookup
    that answered "no such person". On PostgreSQL the rows go as one ``INSERT … SELECT unnest(arrays)``
    (four array parameters whatever the number of rows: no per-row bind parameters); elsewhere a multi-row INSERT.
    The seal is one more row, its MAC computed here over the batch; the chain head is locked from the seal to the
    commit (a short moment per request). On PostgreSQL, when this process wrote the head last, the seal, the head
    and the rows are written by one statement (``access_chain.Head``). Committed synchronously before the response
    goes out: the audit log must be durable. ``session``: an open session to write and commit on (the request's
    read session on PostgreSQL: no second connection checkout); by default a short transaction of its own."""
    now = datetime.now(timezone.utc)
    seen = set()
    ids, ops, fields, purposes, outcomes = [], [], [], [], []
    clip_op, clip_purpose = {}, {}
    for idn, op, field, purpose, outcome in reads:
        if (idn, field, outcome) in seen:
            continue
        seen.add((idn, field, outcome))
        ids.append(idn)
        fields.append(field)
        outcomes.append(outcome)
        o = clip_op.get(op, _MISSING)
        if o is _MISSING:
            o = clip_op[op] = (op or "")[:200] or None
        ops.append(o)
        pu = clip_purpose.get(purpose, _MISSING)
        if pu is _MISSING:
            pu = clip_purpose[purpose] = (purpose or None) and purpose[:500]
        purposes.append(pu)
    if not ids:
        return
    actor, role = principal.actor, principal.role.value
    rows = [(principal.token_id, actor, role, i, o, f, pu, oc) for i, o, f, pu, oc in zip(ids, ops, fields, purposes, outcomes)]
    if db.is_postgres:
        if len(set(ops)) == 1 and len(set(fields)) == 1 and len(set(purposes)) == 1 and len(set(outcomes)) == 1:
            # the usual case (one operation, one field, one purpose, reads): one array parameter only
            insert = _UNNEST_IDS_INSERT
            params = {"at": now, "token_id": principal.token_id, "actor": actor, "role": role, "ids": ids,
                      "op": ops[0], "field": fields[0], "purpose": purposes[0], "outcome": outcomes[0]}
        else:
            insert = _UNNEST_INSERT
            params = {"at": now, "token_id": principal.token_id, "actor": actor, "role": role, "ids": ids, "ops": ops,
                      "fields": fields, "purposes": purposes, "outcomes": outcomes}
        head = db.access_head
        if head is None:
            head = db.access_head = access_chain.Head()

        def write(s):
            # one statement when this process wrote the chain's head last (access_chain.Head), else five
            new_head = head.append(s, key=db.audit_key, at=now, rows=rows, insert_sql=insert, params=params)
            if new_head is None:
                new_head = access_chain.seal_head(s, key=db.audit_key, at=now, rows=rows)
                s.connection().exec_driver_sql(insert, {**params, "seal": new_head[0]})
            return new_head
    else:
        def write(s):
            seal = access_chain.seal(s, key=db.audit_key, at=now, rows=rows)
            s.execute(AccessLogRow.__table__.insert(), [
                dict(at=now, token_id=principal.token_id, actor=actor, role=role, id_number=i, operation=o, field=f,
                     purpose=pu, outcome=oc, seal_seq=seal)
                for i, o, f, pu, oc in zip(ids, ops, fields, purposes, outcomes)])
            return None

    if session is not None:
        new_head = write(session)
        session.commit()
    else:
        with db.session() as s, s.begin():
            new_head = write(s)
    if new_head is not None:
        head.remember(new_head)  # committed


_MISSING = object()
# psycopg placeholders (run with exec_driver_sql: no SQLAlchemy compile per request); each ends in a WHERE clause
# (access_chain.Head.append adds its condition on the chain's head to it)
_UNNEST_IDS_INSERT = (
    "INSERT INTO access_log (at, token_id, actor, role, id_number, operation, field, purpose, outcome, seal_seq) "
    "SELECT CAST(%(at)s AS timestamptz), CAST(%(token_id)s AS bigint), CAST(%(actor)s AS text), CAST(%(role)s AS text), "
    "t.id_number, CAST(%(op)s AS text), CAST(%(field)s AS text), CAST(%(purpose)s AS text), CAST(%(outcome)s AS text), "
    "CAST(%(seal)s AS bigint) FROM unnest(CAST(%(ids)s AS text[])) AS t(id_number) WHERE true")
_UNNEST_INSERT = (
    "INSERT INTO access_log (at, token_id, actor, role, id_number, operation, field, purpose, outcome, seal_seq) "
    "SELECT CAST(%(at)s AS timestamptz), CAST(%(token_id)s AS bigint), CAST(%(actor)s AS text), CAST(%(role)s AS text), "
    "t.id_number, t.operation, t.field, t.purpose, t.outcome, CAST(%(seal)s AS bigint) "
    "FROM unnest(CAST(%(ids)s AS text[]), CAST(%(ops)s AS text[]), CAST(%(fields)s AS text[]), "
    "CAST(%(purposes)s AS text[]), CAST(%(outcomes)s AS text[])) AS t(id_number, operation, field, purpose, outcome) "
    "WHERE true")
