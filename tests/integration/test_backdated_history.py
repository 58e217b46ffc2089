"""Issue 12, item 12: a backdated change (setQuota, setLeaderQuota, updateUnit, a person's correction) keeps the
history consistent: no version ends before it begins, exactly one version is open, and a read as of any date answers
what the change dated last on or before that date said (ties: the one recorded last), on both sides of a backdated
date. Checked as a property against that simple model, and end to end through GraphQL."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.adapters import history
from hub.adapters.orm import (
    LeaderQuotaRow,
    LeaderQuotaVersionRow,
    PersonRow,
    PersonVersionRow,
    QuotaRow,
    QuotaVersionRow,
    UnitRow,
    UnitVersionRow,
)
from hub.api.app import create_app
from hub.domain.registry import Person
from hub.service_layer import registry_changes
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import id_number
from tests.integration.registry_helpers import make_unit

DAY0 = date(2019, 1, 1)
DATES = st.integers(min_value=0, max_value=8).map(lambda i: DAY0 + timedelta(days=365 * i // 2))
NAMES = ["甲", "乙", "丙", "丁", "戊"]


class Entity:
    """One kind of versioned entity: how to change it at a date, and how to read it as of a date and now."""

    def __init__(self, db, kind: str):
        self.db, self.kind = db, kind
        if kind in ("quota", "leader_quota"):
            self.unit = make_unit(db, approved={"ADMINISTRATIVE": 1}, effective=DAY0)
        elif kind == "person":
            self.idn = id_number(date(1980, 1, 1), True)

    @property
    def model_key(self):
        return {"quota": (QuotaVersionRow, {"unit_code": getattr(self, "unit", None), "category": "WORKER"}),
                "leader_quota": (LeaderQuotaVersionRow, {"unit_code": getattr(self, "unit", None), "rank": "SECTION_CHIEF"}),
                "unit": (UnitVersionRow, {"unit_code": getattr(self, "unit", None)}),
                "person": (PersonVersionRow, {"id_number": getattr(self, "idn", None)})}[self.kind]

    def change(self, on: date, value: int, first: bool) -> None:
        with UnitOfWork(self.db, actor="test") as uow:
            if self.kind == "quota":
                registry_changes.set_quota(uow, unit_code=self.unit, category="WORKER", approved=value, document_number=f"D{value}",
                                   effective=on)
            elif self.kind == "leader_quota":
                registry_changes.set_leader_quota(uow, unit_code=self.unit, rank="SECTION_CHIEF", approved=value,
                                          document_number=f"D{value}", effective=on)
            elif self.kind == "unit" and first:
                self.unit = make_unit(self.db, name=NAMES[value], effective=on)
                return
            elif self.kind == "unit":
                registry_changes.update_unit(uow, code=self.unit, changes={"name": NAMES[value]}, effective=on)
            else:
                registry_changes.register_person(uow, person=Person.new(id_number=self.idn, name=NAMES[value], education="BACHELOR"),
                                         effective=on)
            uow.commit()

    @staticmethod
    def value_of(kind: str, version):
        return version.approved if kind in ("quota", "leader_quota") else NAMES.index(version.name)

    def as_of(self, on: date):
        model, key = self.model_key
        with self.db.read_session() as s:
            v = history.version_as_of(s, model, key=key, on=on)
        return None if v is None else self.value_of(self.kind, v)

    def versions(self) -> list:
        model, key = self.model_key
        with self.db.read_session() as s:
            return history.history(s, model, key=key)

    def current(self):
        with self.db.read_session() as s:
            if self.kind == "quota":
                return s.scalar(select(QuotaRow.approved).where(QuotaRow.unit_code == self.unit, QuotaRow.category == "WORKER"))
            if self.kind == "leader_quota":
                return s.scalar(select(LeaderQuotaRow.approved).where(LeaderQuotaRow.unit_code == self.unit,
                                                                      LeaderQuotaRow.rank == "SECTION_CHIEF"))
            if self.kind == "unit":
                return NAMES.index(s.get(UnitRow, self.unit).name)
            return NAMES.index(s.get(PersonRow, self.idn).name)


def model_as_of(changes: list[tuple[date, int]], on: date):
    """The simple model: the value of the change dated last on or before ``on``; of those, the one made last."""
    in_force = [(d, i, value) for i, (d, value) in enumerate(changes) if d <= on]
    return max(in_force)[2] if in_force else None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["quota", "leader_quota", "unit", "person"]),
       changes=st.lists(st.tuples(DATES, st.integers(min_value=0, max_value=4)), min_size=1, max_size=6))
def test_as_of_reads_match_the_model_after_any_sequence_of_dated_changes(db, kind, changes):
    entity = Entity(db, kind)
    for n, (on, value) in enumerate(changes):
        entity.change(on, value, first=n == 0)
    versions = entity.versions()
    assert all(v.valid_to is None or v.valid_to >= v.valid_from for v in versions), \
        [(v.valid_from, v.valid_to) for v in versions]
    assert sum(v.valid_to is None for v in versions) == 1
    for i in range(-1, 11):  # every date around the changes, both sides of each
        on = DAY0 + timedelta(days=365 * i // 2 - 1 if i % 2 else 365 * i // 2)
        for probe in (on, on + timedelta(days=1)):
            assert entity.as_of(probe) == model_as_of(changes, probe), (probe, changes)
    latest = model_as_of(changes, date(2100, 1, 1))
    assert entity.current() == latest  # the current row follows the change dated last, not the one made last


def test_a_backdated_set_quota_reads_right_on_both_sides_through_graphql(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, effective=date(2020, 1, 1))
    token = create_token(db, role="ADMIN", name="office")[1]
    client = TestClient(create_app(db))

    def gql(query, variables=None):
        r = client.post("/graphql", json={"query": query, "variables": variables or {}},
                        headers={"Authorization": f"Bearer {token}", "X-Purpose": quote("核查")}).json()
        assert "errors" not in r, r
        return r["data"]

    set_quota = ('mutation($c: String!, $n: Int!, $d: Date!) { setQuota(unitCode: $c, category: ADMINISTRATIVE, '
                 'approved: $n, effectiveDate: $d, documentNumber: "杭编") { __typename } }')
    assert gql(set_quota, {"c": unit, "n": 3, "d": "2024-01-01"})["setQuota"]["__typename"] == "QuotaPayload"
    assert gql(set_quota, {"c": unit, "n": 4, "d": "2022-01-01"})["setQuota"]["__typename"] == "QuotaPayload"  # backdated

    def approved(as_of=None):
        q = "query($c: String!, $d: Date) { unit(code: $c, asOf: $d) { quotas { category approved } } }"
        quotas = gql(q, {"c": unit, "d": as_of})["unit"]["quotas"]
        return {x["category"]: x["approved"] for x in quotas}["ADMINISTRATIVE"]

    assert [approved(d) for d in ("2021-12-31", "2022-01-01", "2023-12-31", "2024-01-01")] == [5, 4, 4, 3]
    assert approved() == 3  # the later document still holds today
    with db.read_session() as s:
        spans = [(v.valid_from, v.valid_to) for v in history.history(
            s, QuotaVersionRow, key={"unit_code": unit, "category": "ADMINISTRATIVE"})]
    assert spans == [(date(2020, 1, 1), date(2022, 1, 1)), (date(2022, 1, 1), date(2024, 1, 1)), (date(2024, 1, 1), None)]


def test_abolishing_a_unit_before_its_later_changes_is_refused(db):
    unit = make_unit(db, effective=date(2020, 1, 1))
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"name": "杭州市新名局"}, effective=date(2024, 1, 1))
        uow.commit()
    with UnitOfWork(db, actor="test") as uow, pytest.raises(ValueError, match="2024-01-01"):
        registry_changes.abolish_unit(uow, code=unit, effective=date(2022, 1, 1))
    with db.read_session() as s:
        assert s.get(UnitRow, unit).status == "ACTIVE"
