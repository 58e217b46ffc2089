"""Review of issue 19 (rev19): rules through the service layer, both databases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hub.adapters.orm import MismatchRow
from hub.domain.registry import LeaderQuotaExhausted, LeaderRankAboveGrade
from hub.domain.vocabulary import LeaderRank, Role
from hub.domain.workflows import Caller
from hub.service_layer import registry_changes
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.registry_checks import recheck_retirement
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import leaders
from tests.events import hr
from tests.integration.registry_helpers import apply, hire, make_person, make_unit

ADMIN = Caller("office", Role.ADMIN)
KEY = b"review-key-0123456789abcdef-01234"


def _due(db) -> set[str]:
    with db.read_session() as s:
        return set(s.execute(select(MismatchRow.subject).where(MismatchRow.kind == "RETIREMENT_DUE",
                                                               MismatchRow.status == "OPEN")).scalars())


def test_a_woman_whose_hr_rank_is_written_in_full_width_digits_follows_the_60_schedule(db):
    # 管理岗位五级 (五级职员, 正处级): 组通字〔2015〕14号 — the 60-based schedule. Born 1968-06: 60y11m → 2029-05-01.
    unit = make_unit(db, approved={"PUBLIC_INSTITUTION": 3})
    woman = make_person(db, birth=date(1968, 6, 1), male=False, name="周敏")
    hire(db, woman, unit, category="PUBLIC_INSTITUTION")
    apply(db, hr(woman, "周敏", unit, rank="管理岗位５级"))
    with UnitOfWork(db, actor="test") as uow:
        recheck_retirement(uow, MismatchBook(uow), date(2026, 12, 1))
        uow.commit()
    assert woman not in _due(db)  # read as a 55-based cadre she was shown due since 2023-06-01


def test_a_division_leader_in_a_section_grade_unit_is_refused_on_every_path(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, leaders={"SECTION_CHIEF": 1})
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"grade": "SECTION"}, effective=date(2021, 1, 1))
        uow.commit()
    with pytest.raises(LeaderRankAboveGrade), UnitOfWork(db, actor="test") as uow:
        registry_changes.set_leader_quota(uow, unit_code=unit, rank="DIVISION_CHIEF", approved=1, document_number="x",
                                  effective=date(2021, 2, 1))
    p = make_person(db, birth=date(1980, 2, 1))
    with pytest.raises(LeaderRankAboveGrade), UnitOfWork(db, actor="test") as uow:
        registry_changes.start_posting(uow, id_number=p, unit_code=unit, category="ADMINISTRATIVE", leader_rank="DIVISION_CHIEF",
                               start_date=date(2021, 3, 1))
    hire(db, p, unit)
    with pytest.raises(LeaderQuotaExhausted), UnitOfWork(db, actor=ADMIN.actor) as uow:
        leaders.appoint_leader(uow, ADMIN, KEY, id_number=p, rank=LeaderRank.DIVISION_CHIEF,
                               effective_date=date(2026, 9, 1), document_number="杭组干〔2026〕9号")
    # a 正科 leader fits; lowering the grade below him afterwards is refused
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"grade": "SECTION"}, effective=date(2022, 1, 1))
        uow.commit()
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_leader_quota(uow, unit_code=unit, rank="SECTION_CHIEF", approved=1, document_number="x",
                                  effective=date(2022, 2, 1))
        uow.commit()
    with pytest.raises(LeaderRankAboveGrade), UnitOfWork(db, actor="test") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"grade": "DEPUTY_SECTION"}, effective=date(2023, 1, 1))
