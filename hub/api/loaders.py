"""Per-request DataLoaders: every list is resolved with a fixed number of SQL statements (no N+1)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from hub.adapters.database import Database
from hub.adapters.orm import LeaderQuotaRow, PersonRow, PostingRow, QuotaRow, UnitRow


class Loaders:
    def __init__(self, db: Database):
        self.db = db
        self._session = None
        self.unit = DataLoader(self._units)
        self.quotas = DataLoader(self._quotas)
        self.leader_quotas = DataLoader(self._leader_quotas)
        self.headcount = DataLoader(self._headcount)
        self.postings_of_person = DataLoader(self._postings_of_person)
        self.person = DataLoader(self._persons)
        self.children = DataLoader(self._children)
        self.unit_postings = UnitPostingsLoader(db).loader

    def _rows(self, q):
        return self.session().execute(q).all()

    def session(self):
        """One read session for the whole request (closed by ``close``): fewer connection checkouts and pings."""
        if self._session is None:
            self._session = self.db.read_session()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    async def _units(self, codes: list[str]):
        rows = {r.code: r for (r,) in self._rows(select(UnitRow).where(UnitRow.code.in_(codes)))}
        return [rows.get(c) for c in codes]

    async def _quotas(self, codes: list[str]):
        approved, used = defaultdict(dict), defaultdict(dict)
        for u, c, n in self._rows(select(QuotaRow.unit_code, QuotaRow.category, QuotaRow.approved).where(QuotaRow.unit_code.in_(codes))):
            approved[u][c] = n
        for u, c, n in self._rows(select(PostingRow.unit_code, PostingRow.category, func.count()).where(
                PostingRow.unit_code.in_(codes), PostingRow.active).group_by(PostingRow.unit_code, PostingRow.category)):
            used[u][c] = n
        return [[(c, approved[u].get(c, 0), used[u].get(c, 0)) for c in sorted(set(approved[u]) | set(used[u]))] for u in codes]

    async def _leader_quotas(self, codes: list[str]):
        approved, used = defaultdict(dict), defaultdict(dict)
        for u, r, n in self._rows(select(LeaderQuotaRow.unit_code, LeaderQuotaRow.rank, LeaderQuotaRow.approved).where(LeaderQuotaRow.unit_code.in_(codes))):
            approved[u][r] = n
        for u, r, n in self._rows(select(PostingRow.unit_code, PostingRow.leader_rank, func.count()).where(
                PostingRow.unit_code.in_(codes), PostingRow.active, PostingRow.leader_rank.is_not(None))
                .group_by(PostingRow.unit_code, PostingRow.leader_rank)):
            used[u][r] = n
        return [[(r, approved[u].get(r, 0), used[u].get(r, 0)) for r in sorted(set(approved[u]) | set(used[u]))] for u in codes]

    async def _headcount(self, codes: list[str]):
        counts = dict(self._rows(select(PostingRow.unit_code, func.count()).where(
            PostingRow.unit_code.in_(codes), PostingRow.active).group_by(PostingRow.unit_code)))
        return [counts.get(c, 0) for c in codes]

    async def _postings_of_person(self, ids: list[str]):
        out = defaultdict(list)
        for (r,) in self._rows(select(PostingRow).where(PostingRow.id_number.in_(ids)).order_by(PostingRow.start_date, PostingRow.id)):
            out[r.id_number].append(r)
        return [out[i] for i in ids]

    async def _persons(self, ids: list[str]):
        rows = {r.id_number: r for (r,) in self._rows(select(PersonRow).where(PersonRow.id_number.in_(ids)))}
        return [rows.get(i) for i in ids]

    async def _children(self, codes: list[str]):
        out = defaultdict(list)
        for (r,) in self._rows(select(UnitRow).where(UnitRow.parent_code.in_(codes)).order_by(UnitRow.code)):
            out[r.parent_code].append(r)
        return [out[c] for c in codes]


class UnitPostingsLoader:
    """Pages of postings for many units in one statement per page shape (window function), plus one count."""

    def __init__(self, db: Database):
        self.db = db
        self.loader = DataLoader(self._load, cache_key_fn=lambda k: k)

    async def _load(self, keys: list[tuple]):
        # key: (unit_code, as_of, include_ended, offset, limit)
        from sqlalchemy import or_

        groups: dict[tuple, list[str]] = defaultdict(list)
        for code, as_of, inc, off, lim in keys:
            groups[(as_of, inc, off, lim)].append(code)
        results: dict[tuple, tuple[list, int]] = {}
        with self.db.read_session() as s:
            for (as_of, inc, off, lim), codes in groups.items():
                cond = [PostingRow.unit_code.in_(codes)]
                if as_of is not None:
                    cond += [PostingRow.start_date <= as_of, or_(PostingRow.end_date.is_(None), PostingRow.end_date > as_of)]
                elif not inc:
                    cond.append(PostingRow.active)
                rn = func.row_number().over(partition_by=PostingRow.unit_code, order_by=(PostingRow.start_date, PostingRow.id)).label("rn")
                sub = select(PostingRow.id, rn).where(*cond).subquery()
                rows = s.execute(select(PostingRow).join(sub, sub.c.id == PostingRow.id)
                                 .where(sub.c.rn > off, sub.c.rn <= off + lim).order_by(PostingRow.unit_code, sub.c.rn)).scalars().all()
                totals = dict(s.execute(select(PostingRow.unit_code, func.count()).where(*cond).group_by(PostingRow.unit_code)).all())
                by_unit = defaultdict(list)
                for r in rows:
                    by_unit[r.unit_code].append(r)
                for code in codes:
                    results[(code, as_of, inc, off, lim)] = (by_unit[code], totals.get(code, 0))
        return [results[k] for k in keys]
