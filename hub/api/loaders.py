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
        self.unit = DataLoader(self._units)
        self.quotas = DataLoader(self._quotas)
        self.leader_quotas = DataLoader(self._leader_quotas)
        self.headcount = DataLoader(self._headcount)
        self.postings_of_person = DataLoader(self._postings_of_person)
        self.person = DataLoader(self._persons)
        self.children = DataLoader(self._children)

    def _rows(self, q):
        with self.db.read_session() as s:
            return s.execute(q).all()

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
