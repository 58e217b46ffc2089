"""Races around the door beyond the 20-for-5 approval race (tests/integration/test_concurrent_onboarding.py), on
PostgreSQL and SQLite: transfers into the last slots racing approvals, an approval racing a withdrawal and a
return of the same application, and a posting ending while its leader appointment is confirmed."""

from __future__ import annotations

import shutil
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from hub.adapters.database import connect
from hub.adapters.orm import LeaderAppointmentRow, OnboardingRow, PostingRow
from hub.domain.registry import LeaderQuotaExhausted, PostingNotFound, QuotaExhausted
from hub.domain.vocabulary import DepartureReason, LeaderRank, Role
from hub.domain.workflows import Caller, OnboardingApplication, ReviewPending, WrongState
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import leaders, onboarding, postings
from tests.factories import unique_ids
from tests.integration.registry_helpers import hire, make_person, make_unit

KEY = b"race-key-0123456789abcdef-0123456"
ADMIN = Caller("office", Role.ADMIN)


@pytest.fixture(params=["sqlite", "postgres"])
def race_db(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "race.sqlite3"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
    db = connect(url, pool_size=25)
    yield db
    db.dispose()


def _race(jobs):
    """Run the callables together (a barrier starts them at once); each returns an outcome or raises."""
    barrier = threading.Barrier(len(jobs))
    results, lock = [], threading.Lock()

    def run(job):
        barrier.wait()
        try:
            outcome = job()
        except (QuotaExhausted, LeaderQuotaExhausted):
            outcome = "full"
        except (WrongState, ReviewPending, PostingNotFound) as e:
            outcome = type(e).__name__
        except Exception as e:  # noqa: BLE001
            outcome = f"error: {e!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _reviewed(db, unit, ids, route="TRANSFER_IN"):
    out = []
    for idn in ids:
        app = OnboardingApplication.new(unit_code=unit, id_number=idn, name="候选人", category="ADMINISTRATIVE",
                                        route=route, start_date=date(2026, 9, 1))
        with UnitOfWork(db, actor="UNIT:unit") as uow:
            row = onboarding.submit_onboarding(uow, Caller("unit", Role.UNIT, unit_code=unit), app)
            for reviewer in onboarding.required_of(row):
                onboarding.review_onboarding(uow, Caller(reviewer.value.lower(), reviewer), row.id, True, "同意")
            uow.commit()
            out.append(row.id)
    return out




def test_transfers_into_the_last_slots_racing_approvals_never_overfill(race_db):
    db = race_db
    target = make_unit(db, approved={"ADMINISTRATIVE": 4})
    for _ in range(2):
        hire(db, make_person(db), target)  # 2 free slots
    source = make_unit(db, approved={"ADMINISTRATIVE": 10})
    movers = []
    for i in range(5):
        p = make_person(db, birth=date(1980, 1, 1 + i))
        hire(db, p, source)
        movers.append(p)
    oids = _reviewed(db, target, unique_ids(5, birth=date(1997, 7, 7)))

    def approve(oid):
        def job():
            with UnitOfWork(db, actor=ADMIN.actor) as uow:
                onboarding.approve_onboarding(uow, ADMIN, KEY, oid, None)
                uow.commit()
            return "ok"
        return job

    def transfer(idn):
        def job():
            with UnitOfWork(db, actor=ADMIN.actor) as uow:
                postings.transfer_person(uow, ADMIN, KEY, id_number=idn, to_unit_code=target, category="ADMINISTRATIVE",
                                         effective_date=date(2026, 9, 1))
                uow.commit()
            return "ok"
        return job

    results = _race([approve(o) for o in oids] + [transfer(p) for p in movers])
    assert results.count("ok") == 2 and results.count("full") == 8, results
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == target, PostingRow.active)) == 4
        assert s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == source, PostingRow.active)) + \
            s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == target, PostingRow.active,
                                                                         PostingRow.id_number.in_(movers))) == 5


def test_an_approval_racing_a_withdrawal_or_a_return_ends_one_way_only(race_db):
    db = race_db
    unit = make_unit(db, approved={"ADMINISTRATIVE": 20})
    oids = _reviewed(db, unit, unique_ids(8, birth=date(1996, 6, 6)))
    unit_caller, org = Caller("unit", Role.UNIT, unit_code=unit), Caller("organization", Role.ORGANIZATION)

    def approve(oid):
        def job():
            with UnitOfWork(db, actor=ADMIN.actor) as uow:
                onboarding.approve_onboarding(uow, ADMIN, KEY, oid, None)
                uow.commit()
            return "approved"
        return job

    def withdraw(oid):
        def job():
            with UnitOfWork(db, actor=unit_caller.actor) as uow:
                onboarding.close_onboarding(uow, unit_caller, oid, withdraw=True, comment="放弃")
                uow.commit()
            return "withdrawn"
        return job

    def send_back(oid):
        def job():
            with UnitOfWork(db, actor=org.actor) as uow:
                onboarding.review_onboarding(uow, org, oid, False, "补充材料")
                uow.commit()
            return "returned"
        return job

    jobs = []
    for i, oid in enumerate(oids):
        jobs += [approve(oid), withdraw(oid) if i % 2 else send_back(oid)]
    results = _race(jobs)
    assert not [r for r in results if r.startswith("error")], results
    assert len(results) == 16 and results.count("WrongState") == 8, results
    with db.read_session() as s:
        rows = s.execute(select(OnboardingRow.status, OnboardingRow.posting_id).where(OnboardingRow.id.in_(oids))).all()
        postings_ = s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == unit, PostingRow.active))
    for status, posting_id in rows:
        assert (status == "APPROVED") == (posting_id is not None), rows
    assert postings_ == sum(1 for st, _ in rows if st == "APPROVED")


def test_a_departure_racing_the_confirmation_of_its_leader_appointment_leaves_no_leader_and_no_open_appointment(race_db):
    db = race_db
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, leaders={"SECTION_CHIEF": 1})
    org = Caller("organization", Role.ORGANIZATION)
    outcomes = []
    for i in range(3):
        p = make_person(db, birth=date(1980, 2, 1 + i))
        hire(db, p, unit)
        for who in (ADMIN, org):
            with UnitOfWork(db, actor=who.actor) as uow:
                leaders.appoint_leader(uow, who, KEY, id_number=p, rank=LeaderRank.SECTION_CHIEF,
                                       effective_date=date(2026, 9, 1), document_number="杭组干〔2026〕1号")
                uow.commit()

        def confirm():
            with UnitOfWork(db, actor=ADMIN.actor) as uow:
                leaders.appoint_leader(uow, ADMIN, KEY, id_number=p, rank=LeaderRank.SECTION_CHIEF,
                                       effective_date=date(2026, 9, 1), document_number="杭组干〔2026〕1号")
                uow.commit()
            return "confirmed"

        def leave():
            with UnitOfWork(db, actor=ADMIN.actor) as uow:
                postings.end_posting(uow, ADMIN, KEY, id_number=p, end_date=date(2026, 9, 30),
                                     reason=DepartureReason.RESIGNATION)
                uow.commit()
            return "left"

        outcomes.append(sorted(_race([confirm, leave])))
        with db.read_session() as s:
            assert s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.id_number == p, PostingRow.active)) == 0
            assert s.execute(select(LeaderAppointmentRow.stage).where(LeaderAppointmentRow.id_number == p,
                                                                      LeaderAppointmentRow.stage != "CONFIRMED")).first() is None
    for o in outcomes:
        assert o in (["confirmed", "left"], ["PostingNotFound", "left"]), outcomes
