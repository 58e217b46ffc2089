"""What a caller receives of a mismatch or a registry change — one place for queries and subscriptions alike.

The rules are written in docs/access.md ("Masking for MONITOR", "Person data in mismatches and registry changes");
``Query.mismatches``, ``Query.mismatchStats``, ``Subscription.mismatchEvents`` and ``Subscription.registryUpdates``
all go through the functions below, so that a rule cannot hold for one and not for another.

* Scope: which mismatches a role sees at all (``mismatch_scope`` in SQL, ``in_scope`` for one event — the same
  conditions twice, next to each other).
* Masking (MONITOR): the ID number's birth digits (7–14) stay hidden and nothing narrows them: kinds computed from
  the birth date are not shown at all, details keep only the listed non-personal keys of each kind (anything else
  is dropped, so a new key is hidden until it is listed here), ``causedBy`` is empty (event ids are chosen by
  partners and may contain or hash an ID number), and a ``subject`` filter matches on the visible characters only.
* Person data (names, birth dates, genders) inside mismatch details and registry changes is a read of a person:
  the role × field matrix and the purpose rule apply, and each delivered read is written to the access log.
"""

from __future__ import annotations

from sqlalchemy import and_, false, func, or_

from hub.adapters.orm import MismatchRow
from hub.api import access
from hub.domain.identifiers import InvalidIdentifier, mask_id_number, parse_id_number
from hub.domain.vocabulary import BIRTH_DATE_KINDS, UNIT_LEVEL_KINDS, MismatchClass, kinds_of_class, mismatch_class
from hub.domain.vocabulary import MismatchKind as K
from hub.domain.vocabulary import Role

_UNIT_LEVEL = frozenset(k.value for k in UNIT_LEVEL_KINDS)
# Kinds a masked reader never receives (listed, counted or streamed): their existence and timing are computed from
# the birth date, i.e. from the hidden digits.
HIDDEN_FROM_MASKED = frozenset(k.value for k in BIRTH_DATE_KINDS)

# Detail keys a masked reader receives, per kind ("a.b": key b inside the object at key a). Units, periods, statuses,
# counts and fixed texts only: no names, dates of birth, genders or amounts. Kinds not listed: no details.
MASKED_DETAILS: dict[str, tuple[str, ...]] = {
    K.IDENTITY_UNKNOWN.value: ("expected", "found", "period"),
    K.NAME_MISMATCH.value: (),  # the names are the finding; `source` says which departments differ
    K.DECEASED_ACTIVE.value: ("police_status", "posting_unit", "paying_units", "period"),
    K.GHOST_PAYROLL.value: ("expected", "found.paying_unit", "found.period", "registered"),
    K.PAYROLL_UNIT_MISMATCH.value: ("expected", "found", "period"),
    K.DOUBLE_PAYROLL.value: ("period", "paying_units"),
    K.UNPAID_POSTING.value: ("expected", "found", "period"),
    K.INSURANCE_EMPLOYER_MISMATCH.value: ("expected", "found", "period"),
    K.INSURANCE_MISSING.value: ("expected", "found", "period"),
    K.HR_STATUS_CONFLICT.value: ("expected", "found", "posting_unit"),
    K.HR_UNIT_MISMATCH.value: ("expected", "found"),
    K.OVER_QUOTA.value: ("over",),
    K.LEADERSHIP_OVER_QUOTA.value: ("over",),
    K.HEADCOUNT_INCONSISTENT.value: ("period", "approved", "actual", "paid"),
    K.LEADER_RANK_CONFLICT.value: ("expected", "found", "hr_rank", "hr_level"),
    K.MIXED_CATEGORY.value: ("expected", "found", "unit_kind"),
    K.UNAPPROVED_DEPARTMENT.value: ("departments",),
}

# Detail keys that are a person's identity data (the `person` field's): purpose-bound and logged for every role.
PERSON_DETAILS: dict[str, tuple[str, ...]] = {
    K.NAME_MISMATCH.value: ("expected", "found"),
    K.RETIREMENT_DUE.value: ("birth_date", "gender", "retirement_date"),
}
DETAILS_FIELD = "Mismatch.details"


# --- scope --------------------------------------------------------------------------------------------------------

def _visible_parts(subject: str) -> tuple[str, str] | None:
    """The characters of an ID number a masked reader sees (first 6, last 4), from a full or masked number."""
    s = (subject or "").strip().upper()
    return (s[:6], s[14:]) if len(s) == 18 else None


def mismatch_scope(q, principal, f):
    """``q`` (a select of MismatchRow) narrowed to what the principal may see and to the filter ``f``."""
    role = principal.role
    masked = role in access.MASKED
    if f:
        if f.kinds:
            q = q.where(MismatchRow.kind.in_([k.value for k in f.kinds]))
        if f.class_:
            q = q.where(MismatchRow.kind.in_(kinds_of_class(f.class_.value)))
        if f.status:
            q = q.where(MismatchRow.status == f.status.value)
        if f.unit_code:
            q = q.where(MismatchRow.unit_code == f.unit_code.strip().upper())
        if f.subject:
            wanted = f.subject.strip().upper()
            if masked:
                # A full number is matched on its visible characters only: every guess that shares them answers the
                # same, so no filter confirms the hidden digits. Unit-level subjects (unit codes) match exactly.
                parts = _visible_parts(wanted)
                person = and_(MismatchRow.kind.not_in(_UNIT_LEVEL), func.length(MismatchRow.subject) == 18,
                              func.substr(MismatchRow.subject, 1, 6) == parts[0],
                              func.substr(MismatchRow.subject, 15, 4) == parts[1]) if parts else false()
                q = q.where(or_(and_(MismatchRow.kind.in_(_UNIT_LEVEL), MismatchRow.subject == wanted), person))
            else:
                q = q.where(MismatchRow.subject == wanted)
        if f.source:
            q = q.where(MismatchRow.source == f.source)
    if role is Role.UNIT:
        q = q.where(MismatchRow.unit_code == principal.unit_code)
    elif role in access.PARTNERS:
        q = q.where(MismatchRow.source.contains(role.value.lower()))
    if masked:
        q = q.where(MismatchRow.kind.not_in(HIDDEN_FROM_MASKED))
    return q


def in_scope(principal, f, d: dict) -> bool:
    """``mismatch_scope`` for one mismatch event's data ``d``."""
    role = principal.role
    masked = role in access.MASKED
    if role is Role.UNIT and d.get("unit_code") != principal.unit_code:
        return False
    if role in access.PARTNERS and role.value.lower() not in (d.get("source") or ""):
        return False
    if masked and d["kind"] in HIDDEN_FROM_MASKED:
        return False
    if f is None:
        return True
    if f.kinds and d["kind"] not in {k.value for k in f.kinds}:
        return False
    if f.class_ and mismatch_class(d["kind"]) is not MismatchClass(f.class_.value):
        return False
    if f.status and d["status"] != f.status.value:
        return False
    if f.unit_code and (d.get("unit_code") or "") != f.unit_code.strip().upper():
        return False
    if f.source and d.get("source") != f.source:
        return False
    if f.subject:
        wanted = f.subject.strip().upper()
        if not masked or d["kind"] in _UNIT_LEVEL:
            return d["subject"] == wanted
        parts = _visible_parts(wanted)
        return parts is not None and len(d["subject"]) == 18 and _visible_parts(d["subject"]) == parts
    return True


# --- one mismatch -------------------------------------------------------------------------------------------------

def _project(details: dict, keys: tuple[str, ...]) -> dict:
    out: dict = {}
    for key in keys:
        head, _, tail = key.partition(".")
        if head not in details:
            continue
        if tail:
            inner = details[head]
            if isinstance(inner, dict) and tail in inner:
                out.setdefault(head, {})[tail] = inner[tail]
        else:
            out[head] = details[head]
    return out


def mask_ids(obj):
    """Mask every valid ID number inside a JSON value."""
    if isinstance(obj, dict):
        return {k: mask_ids(x) for k, x in obj.items()}
    if isinstance(obj, list):
        return [mask_ids(x) for x in obj]
    if isinstance(obj, str) and len(obj) == 18:
        try:
            return mask_id_number(parse_id_number(obj).value)
        except InvalidIdentifier:
            return obj
    return obj


def masked_mismatch(d: dict) -> dict | None:
    """A mismatch as a masked reader receives it, or None when it may not receive it at all."""
    kind = d["kind"]
    if kind in HIDDEN_FROM_MASKED:
        return None
    details = d.get("details")
    keys = MASKED_DETAILS.get(kind)
    details = mask_ids(_project(details, keys)) if isinstance(details, dict) and keys is not None else None
    subject = d["subject"] if kind in _UNIT_LEVEL else mask_id_number(d["subject"])
    return {**d, "subject": subject, "details": details, "caused_by": []}


def mismatch_for(ctx, d: dict, *, operation: str | None) -> dict | None:
    """The mismatch ``d`` (event data shape) as the context's caller receives it; None: not at all. Person data in
    its details is a person read: withheld without the right to read persons (role, purpose), logged otherwise."""
    if ctx.principal.role in access.MASKED:
        return masked_mismatch(d)
    details = d.get("details")
    personal = [k for k in PERSON_DETAILS.get(d["kind"], ()) if isinstance(details, dict) and k in details]
    if not personal:
        return d
    if ctx.person_read_refusal(None) is not None:
        return {**d, "details": {k: x for k, x in details.items() if k not in personal}}
    ctx.record_read(d["subject"], operation=operation, field=DETAILS_FIELD, purpose=ctx.purpose)
    return d


# --- registry changes ---------------------------------------------------------------------------------------------

IDENTITY = "Query.person"
# Keys of a registry change's data that are a person's fields, by event type prefix: key → matrix field. Keys not
# listed take the prefix's default; event types not listed whose subject or data holds an ID number are treated as
# identity data throughout (default deny).
PERSON_EVENT_FIELDS: dict[str, tuple[dict[str, str], str]] = {
    "gov.registry.person.": ({"education": "Person.education", "degree": "Person.education",
                              "in_service_education": "Person.education", "in_service_degree": "Person.education",
                              "verified_name": "Person.verifiedIdentity",
                              "identity_status": "Person.verifiedIdentity", "photo_sha256": "Person.verifiedIdentity"},
                             IDENTITY),
    "gov.registry.posting.": ({"id_number": IDENTITY}, "Person.postings"),
}
NOT_PERSON_EVENTS = ("gov.registry.unit.", "gov.registry.quota.", "gov.registry.leader_quota.")
UPDATES_FIELD = "Subscription.registryUpdates"


def _is_id(value) -> bool:
    if not isinstance(value, str) or len(value) != 18:
        return False
    try:
        parse_id_number(value)
        return True
    except InvalidIdentifier:
        return False


def registry_update_for(ctx, event: dict, *, operation: str | None, purpose: str | None) -> dict:
    """A registry change as the caller receives it: person fields the role may not read (matrix, purpose) are
    removed — with the identity, the subject too — and a delivered identity is written to the access log."""
    etype = event.get("type") or ""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    if etype.startswith(NOT_PERSON_EVENTS):
        return event
    mapping, default = next((m for p, m in PERSON_EVENT_FIELDS.items() if etype.startswith(p)), (None, None))
    if mapping is None:
        if not (_is_id(event.get("subject")) or any(_is_id(x) for x in data.values())):
            return event
        mapping, default = {}, IDENTITY
    role = ctx.principal.role
    identity_ok = ctx.person_read_refusal(purpose) is None
    kept = {}
    for key, value in data.items():
        field = mapping.get(key, default)
        if field == IDENTITY:
            if identity_ok:
                kept[key] = value
        elif access.allowed(field, role) and (identity_ok or field == "Person.postings"):
            kept[key] = value  # a posting without its holder's identity is unit-level information
    subject = event.get("subject") if identity_ok else None
    if identity_ok:
        idn = data.get("id_number") if _is_id(data.get("id_number")) else event.get("subject")
        if _is_id(idn):
            ctx.record_read(idn, operation=operation, field=UPDATES_FIELD, purpose=purpose or ctx.purpose)
    return {**event, "subject": subject, "data": kept}
