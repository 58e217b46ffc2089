"""The door never overfills a unit: 20 concurrent approveOnboarding for 5 free slots give exactly 5 postings and 15
QuotaExhausted, on PostgreSQL and SQLite. The applications are submitted and reviewed first (submission does not
take a slot); the 20 approvals then race."""

from __future__ import annotations

import shutil
import threading
from datetime import date

from sqlalchemy import func, select

from hub.adapters.database import connect
from hub.adapters.orm import ApprovalFormRow, OnboardingRow, PostingRow
from hub.domain.registry import QuotaExhausted
from hub.domain.vocabulary import Role
from hub.domain.workflows import Caller, OnboardingApplication
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import onboarding
from hub.service_layer.workflows.policy import allow_policy_over_quota
from tests.factories import unique_ids
from tests.integration.registry_helpers import hire, make_person, make_unit

KEY = b"race-key-0123456789abcdef-0123456"
UNIT, ADMIN = "unit", Caller("office", Role.ADMIN)


def _race(url, *, policy: bool = False):
    """20 approvals race: for 5 free slots, or (``policy``) for a category without any quota row where the office
    allowed 5 policy placements (政策性超编) — there is no quota row to lock."""
    db = connect(url, pool_size=25)
    try:
        if policy:
            unit = make_unit(db, approved={"ADMINISTRATIVE": 1})
            with UnitOfWork(db, actor="ADMIN:office") as uow:
                allow_policy_over_quota(uow, ADMIN, unit_code=unit, category="WORKER", slots=5, document_number="杭编〔2026〕9号",
                                        deadline=date(2099, 12, 31), reason="职能划转")
                uow.commit()
        else:
            unit = make_unit(db, approved={"ADMINISTRATIVE": 7})
            for _ in range(2):
                hire(db, make_person(db), unit)  # 5 slots left
        ids = []
        for idn in unique_ids(20, birth=date(1997, 7, 7)):
            app = OnboardingApplication.new(unit_code=unit, id_number=idn, name="候选人",
                                            category="WORKER" if policy else "ADMINISTRATIVE",
                                            route="POLICY_PLACEMENT" if policy else "TRANSFER_IN",
                                            start_date=date(2026, 9, 1))
            with UnitOfWork(db, actor="UNIT:unit") as uow:
                row = onboarding.submit_onboarding(uow, Caller(UNIT, Role.UNIT, unit_code=unit), app)
                for reviewer in onboarding.required_of(row):
                    onboarding.review_onboarding(uow, Caller(reviewer.value.lower(), reviewer), row.id, True, "同意")
                uow.commit()
                ids.append(row.id)
        barrier = threading.Barrier(20)
        results: list[str] = []
        lock = threading.Lock()

        def attempt(oid):
            barrier.wait()
            try:
                with UnitOfWork(db, actor=ADMIN.actor) as uow:
                    onboarding.approve_onboarding(uow, ADMIN, KEY, oid, None)
                    uow.commit()
                outcome = "ok"
            except QuotaExhausted:
                outcome = "full"
            except Exception as e:  # noqa: BLE001
                outcome = f"error: {e!r}"
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        with db.read_session() as s:
            active = s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == unit, PostingRow.active))
            approved = s.scalar(select(func.count()).select_from(OnboardingRow).where(OnboardingRow.status == "APPROVED"))
            forms = s.scalar(select(func.count()).select_from(ApprovalFormRow))
        return results, active, approved, forms
    finally:
        db.dispose()


def _check(results, active, approved, forms, held=7):
    assert results.count("ok") == 5, results
    assert results.count("full") == 15, results
    assert active == held and approved == 5 and forms == 5


def test_twenty_concurrent_approvals_for_five_free_slots_on_postgres(pg_url):
    _check(*_race(pg_url))


def test_twenty_concurrent_approvals_for_five_free_slots_on_sqlite(tmp_path, sqlite_template):
    path = tmp_path / "race.sqlite3"
    shutil.copy(sqlite_template, path)
    _check(*_race(f"sqlite:///{path}"))


def test_twenty_concurrent_policy_placements_for_five_allowed_on_postgres(pg_url):
    _check(*_race(pg_url, policy=True), held=5)


def test_twenty_concurrent_policy_placements_for_five_allowed_on_sqlite(tmp_path, sqlite_template):
    path = tmp_path / "race.sqlite3"
    shutil.copy(sqlite_template, path)
    _check(*_race(f"sqlite:///{path}", policy=True), held=5)
