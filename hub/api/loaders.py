"""Per-request DataLoaders: every list is resolved with a fixed number of SQL statements (no N+1)."""

from __future__ import annotations

import asyncio
from collections import defaultdict, namedtuple
from functools import cached_property

from sqlalchemy import String, any_, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from strawberry.dataloader import DataLoader as _StrawberryDataLoader

from hub.adapters.database import Database
from hub.adapters.orm import ApplicationStepRow, ApprovalFormRow, PersonRow, PostingRow, UnitFreezeRow, UnitRow
from hub.service_layer.establishment import establishments
from hub.domain.calendar import office_today



class DataLoader(_StrawberryDataLoader):
    """strawberry's DataLoader, each ``load`` shielded: a loaded value's future is shared by every field that asks
    for the key, and one field's awaiting task being cancelled (graphql-core cancels a failed field's siblings) must
    not cancel the shared future under another root field still waiting for it — that answered the whole request
    with a CancelledError (a UNIT token's FORBIDDEN ``unit.postings`` beside a ``units`` root reading the same
    quotas and children)."""

    def load(self, key):
        return asyncio.shield(super().load(key))


# Plain rows (tuples with attribute access) rather than ORM entities on the read path: no identity map, no
# instance state, far fewer objects for the garbage collector. The GraphQL types read them by attribute name.
PERSON_COLUMNS = tuple(PersonRow.__table__.c)
POSTING_COLUMNS = tuple(PostingRow.__table__.c)
UNIT_COLUMNS = tuple(UnitRow.__table__.c)
# A person joined to a posting: the person's columns under their own names (p_ prefix avoided: no clash but `name`).
_P = PersonRow.__table__.alias("p")
JOINED_PERSON_COLUMNS = tuple(c.label(f"person_{c.name}") for c in _P.c)


def member(db: Database, column, values: list):
    """``column IN values``: one array parameter on PostgreSQL (``= ANY(:values)``; the same SQL text whatever the
    number of values, no expanding-parameter compile), an IN list elsewhere."""
    if db.is_postgres:
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    return column.in_(values)


# A person with their postings and the postings' units in one statement (Loaders.prime_person): the three row
# shapes the person, postings_of_person and unit loaders return, under the same attribute names.
_PE, _PO, _U = (PersonRow.__table__.alias("pe"), PostingRow.__table__.alias("po"), UnitRow.__table__.alias("u"))
PersonRecord = namedtuple("PersonRecord", [c.name for c in _PE.c])
PostingRecord = namedtuple("PostingRecord", [c.name for c in _PO.c])
UnitRecord = namedtuple("UnitRecord", [c.name for c in _U.c])
_PERSON_WITH_POSTINGS = (
    select(*(c.label(f"pe_{c.name}") for c in _PE.c), *(c.label(f"po_{c.name}") for c in _PO.c),
           *(c.label(f"u_{c.name}") for c in _U.c))
    .select_from(_PE).outerjoin(_PO, _PO.c.id_number == _PE.c.id_number).outerjoin(_U, _U.c.code == _PO.c.unit_code)
    .where(_PE.c.id_number == bindparam("idn")).order_by(_PO.c.start_date, _PO.c.id))


def _record(cls, row, prefix: str):
    return cls(*(row[prefix + f] for f in cls._fields))


class PersonOfPosting:
    """The person columns of a posting-with-person row, under the person's own attribute names."""

    __slots__ = ("id_number", "name", "gender", "birth_date", "education", "verified_name", "identity_status", "photo_sha256",
                 "degree", "in_service_education", "in_service_degree")

    def __init__(self, r):
        (self.id_number, self.name, self.gender, self.birth_date, self.education, self.verified_name,
         self.identity_status, self.photo_sha256) = (r.person_id_number, r.person_name, r.person_gender,
                                                     r.person_birth_date, r.person_education, r.person_verified_name,
                                                     r.person_identity_status, r.person_photo_sha256)
        self.degree, self.in_service_education, self.in_service_degree = (
            r.person_degree, r.person_in_service_education, r.person_in_service_degree)


def _loader(batch_name: str) -> cached_property:
    """A DataLoader made on first use: a request answered by a compiled read (hub/api/compiled/) uses none of
    them, and making the thirteen cost a lookup ~25 µs (issue 18, session 9)."""
    return cached_property(lambda self: DataLoader(getattr(self, batch_name)))


class Loaders:
    unit = _loader("_units")
    establishment = _loader("_establishments")
    quotas = _loader("_quotas")
    leader_quotas = _loader("_leader_quotas")
    headcount = _loader("_headcount")
    postings_of_person = _loader("_postings_of_person")
    person = _loader("_persons")
    children = _loader("_children")
    application_steps = _loader("_application_steps")
    approval_form = _loader("_approval_forms")
    posting_by_id = _loader("_postings_by_id")
    frozen = _loader("_frozen")

    def __init__(self, db: Database):
        self.db = db
        self._session = None

    @cached_property
    def unit_postings(self):
        return UnitPostingsLoader(self).loader

    def _rows(self, q, params=None):
        return self.session().execute(q, params).all()

    def prime_person(self, id_number: str) -> None:
        """Read a person, their postings and those postings' units in one statement and prime the ``person``,
        ``postings_of_person`` and ``unit`` loaders with them: a lookup of a person with postings and units then
        makes one read instead of three. Person and posting records have the loaders' columns, types and order;
        units come as records of the unit columns where the loader gives ORM rows (read only by ``Unit.from_row``).
        The caller has checked that the role may read the person and their postings."""
        rows = [r._mapping for r in self._rows(_PERSON_WITH_POSTINGS, {"idn": id_number})]
        if not rows:
            self.person.prime(id_number, None)
            self.postings_of_person.prime(id_number, [])  # nobody: no further read either (one statement, as for a person)
            return
        self.person.prime(id_number, _record(PersonRecord, rows[0], "pe_"))
        postings = [_record(PostingRecord, r, "po_") for r in rows if r["po_id"] is not None]
        self.postings_of_person.prime(id_number, postings)
        self.unit.prime_many({r["u_code"]: _record(UnitRecord, r, "u_") for r in rows if r["u_code"] is not None})

    def session(self):
        """One read session for the whole request (closed by ``close``): fewer connection checkouts and pings."""
        if self._session is None:
            self._session = self.db.read_session()
        return self._session

    def open_session(self):
        """The request's session if one was opened, else None."""
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    async def _units(self, codes: list[str]):
        rows = {r.code: r for (r,) in self._rows(select(UnitRow).where(UnitRow.code.in_(codes)))}
        return [rows.get(c) for c in codes]

    async def _establishments(self, codes: list[str]):
        """Quota use of the units (hub.service_layer.establishment: the one place it is counted)."""

        est = establishments(self.session(), codes, today=office_today())
        return [est[c] for c in codes]

    async def _quotas(self, codes: list[str]):
        ests = await self.establishment.load_many(codes)
        return [[(c.value, e.approved.get(c, 0), e.used.get(c, 0), e.reserved.get(c, 0)) for c in e.categories()] for e in ests]

    async def _leader_quotas(self, codes: list[str]):
        ests = await self.establishment.load_many(codes)
        return [[(r.value, e.leaders_approved.get(r, 0), e.leaders_used.get(r, 0)) for r in e.ranks()] for e in ests]

    async def _application_steps(self, ids: list[int]):
        out = defaultdict(list)
        for (r,) in self._rows(select(ApplicationStepRow).where(ApplicationStepRow.application_id.in_(ids)).order_by(ApplicationStepRow.id)):
            out[r.application_id].append(r)
        return [out[i] for i in ids]

    async def _approval_forms(self, numbers: list[str]):
        rows = {r.number: r for (r,) in self._rows(select(ApprovalFormRow).where(ApprovalFormRow.number.in_(numbers)))}
        return [rows.get(n) for n in numbers]

    async def _postings_by_id(self, ids: list[int]):
        rows = {r.id: r for r in self._rows(select(*POSTING_COLUMNS).where(PostingRow.id.in_(ids)))}
        return [rows.get(i) for i in ids]

    async def _frozen(self, codes: list[str]):
        rows = {r.unit_code: r for (r,) in self._rows(select(UnitFreezeRow).where(UnitFreezeRow.unit_code.in_(codes)))}
        return [rows.get(c) for c in codes]

    async def _headcount(self, codes: list[str]):
        counts = dict(self._rows(select(PostingRow.unit_code, func.count()).where(
            PostingRow.unit_code.in_(codes), PostingRow.active).group_by(PostingRow.unit_code)))
        return [counts.get(c, 0) for c in codes]

    async def _postings_of_person(self, ids: list[str]):
        out = defaultdict(list)
        for r in self._rows(select(*POSTING_COLUMNS).where(member(self.db, PostingRow.id_number, ids))
                            .order_by(PostingRow.start_date, PostingRow.id)):
            out[r.id_number].append(r)
        return [out[i] for i in ids]

    async def _persons(self, ids: list[str]):
        rows = {r.id_number: r for r in self._rows(select(*PERSON_COLUMNS).where(member(self.db, PersonRow.id_number, ids)))}
        return [rows.get(i) for i in ids]

    async def _children(self, codes: list[str]):
        out = defaultdict(list)
        for (r,) in self._rows(select(UnitRow).where(UnitRow.parent_code.in_(codes)).order_by(UnitRow.code)):
            out[r.parent_code].append(r)
        return [out[c] for c in codes]


class UnitPostingsLoader:
    """Pages of postings for many units in one statement per page shape (window function), plus one count when
    ``totalCount`` or ``pageInfo`` is asked for. With ``with_person`` the holders' columns come joined to the
    postings in the same statement (``Posting.person`` then needs no loader of its own)."""

    def __init__(self, loaders: Loaders):
        self.loaders = loaders
        self.loader = DataLoader(self._load, cache_key_fn=lambda k: k)

    async def _load(self, keys: list[tuple]):
        # key: (unit_code, as_of, include_ended, offset, limit, with_person, with_total)
        db = self.loaders.db
        groups: dict[tuple, list[str]] = defaultdict(list)
        for code, *shape in keys:
            groups[tuple(shape)].append(code)
        if db.is_postgres:
            # The one big statement of a page: PostgreSQL works on it in a thread of its own, on a session of its
            # own (the request's session may be in use by another loader meanwhile), so that the event loop serves
            # other requests while it waits (psycopg releases the GIL).
            import asyncio

            def fetch():
                with db.read_session() as s:
                    return self._fetch(s, groups)

            results = await asyncio.to_thread(fetch)
        else:
            results = self._fetch(self.loaders.session(), groups)
        return [results[k] for k in keys]

    def _fetch(self, s, groups: dict) -> dict:
        from sqlalchemy import or_

        db = self.loaders.db
        results: dict[tuple, tuple[list, int | None]] = {}
        for shape, codes in groups.items():
            as_of, inc, off, lim, with_person, with_total = shape
            cond = [member(db, PostingRow.unit_code, codes)]
            if as_of is not None:
                cond += [PostingRow.start_date <= as_of, or_(PostingRow.end_date.is_(None), PostingRow.end_date > as_of)]
            elif not inc:
                cond.append(PostingRow.active)
            if db.is_postgres:
                # Per unit, its page through the (unit_code, active) index and a small top-N sort, as PostGraphile
                # does: one LATERAL subquery per unit code of an unnest(array) (no window over every posting of
                # the units, no string sort by unit code).
                codes_t = func.unnest(bindparam(None, list(codes), type_=ARRAY(String))).table_valued("code").render_derived(name="u")
                inner = (select(*POSTING_COLUMNS).where(PostingRow.unit_code == codes_t.c.code, *cond[1:])
                         .order_by(PostingRow.start_date, PostingRow.id).offset(off).limit(lim).lateral("pg"))
                q = select(*inner.c).select_from(codes_t).join(inner, true())
                if with_person:
                    q = q.add_columns(*JOINED_PERSON_COLUMNS).outerjoin(_P, _P.c.id_number == inner.c.id_number)
                # in page order within each unit: said again outside, since a join to the persons (a hash right join
                # when PostgreSQL builds the hash on the postings) returns rows in the persons' order
                rows = s.execute(q.order_by(inner.c.start_date, inner.c.id)).all()
            else:
                rn = func.row_number().over(partition_by=PostingRow.unit_code, order_by=(PostingRow.start_date, PostingRow.id)).label("rn")
                sub = select(PostingRow.id, rn).where(*cond).subquery()
                q = select(*POSTING_COLUMNS).join(sub, sub.c.id == PostingRow.id)
                if with_person:
                    q = q.add_columns(*JOINED_PERSON_COLUMNS).outerjoin(_P, _P.c.id_number == PostingRow.id_number)
                rows = s.execute(q.where(sub.c.rn > off, sub.c.rn <= off + lim).order_by(PostingRow.unit_code, sub.c.rn)).all()
            totals = None
            if with_total:
                totals = dict(s.execute(select(PostingRow.unit_code, func.count()).where(*cond).group_by(PostingRow.unit_code)).all())
            by_unit = defaultdict(list)
            for r in rows:
                by_unit[r.unit_code].append(r)
            for code in codes:
                results[(code, *shape)] = (by_unit[code], totals.get(code, 0) if totals is not None else None)
        return results
