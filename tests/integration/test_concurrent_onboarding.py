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
from tests.factories import unique_ids
from tests.integration.registry_helpers import hire, make_person, make_unit

KEY = b"race-key-0123456789abcdef-0123456"
UNIT, ORG, ADMIN = "unit", Caller("org", Role.ORGANIZATION), Caller("office", Role.ADMIN)


def _race(url):
    db = connect(url, pool_size=25)
    try:
        unit = make_unit(db, approved={"ADMINISTRATIVE": 7})
        for _ in range(2):
            hire(db, make_person(db), unit)  # 5 slots left
        ids = []
        for idn in unique_ids(20, birth=date(1997, 7, 7)):
            app = OnboardingApplication.new(unit_code=unit, id_number=idn, name="候选人", category="ADMINISTRATIVE",
                                            route="CIVIL_SERVICE_EXAM", start_date=date(2026, 9, 1))
            with UnitOfWork(db, actor="UNIT:unit") as uow:
                row = onboarding.submit_onboarding(uow, Caller(UNIT, Role.UNIT, unit_code=unit), app)
                onboarding.review_onboarding(uow, ORG, row.id, True, "考察合格")
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


def _check(results, active, approved, forms):
    assert results.count("ok") == 5, results
    assert results.count("full") == 15, results
    assert active == 7 and approved == 5 and forms == 5


def test_twenty_concurrent_approvals_for_five_free_slots_on_postgres(pg_url):
    _check(*_race(pg_url))


def test_twenty_concurrent_approvals_for_five_free_slots_on_sqlite(tmp_path, sqlite_template):
    path = tmp_path / "race.sqlite3"
    shutil.copy(sqlite_template, path)
    _check(*_race(f"sqlite:///{path}"))
