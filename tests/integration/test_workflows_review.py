"""Review of the workflows (issue 13): attacks that found a problem, each shown here on SQLite and PostgreSQL —
personal data in refusals, bad input that raised instead of refusing, quota paths around the door, leader
appointments left open by a departure, the printable form's headers."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from sqlalchemy import select

from hub.adapters.orm import HiringPlanRow, LeaderAppointmentRow, OnboardingRow, OperationLogRow, OutboxRow, PostingRow
from hub.service_layer import registry_changes
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.test_workflows import (  # noqa: F401  (office is a fixture)
    APPOINT,
    APPROVE,
    PLAN_FIELDS,
    POSTING_FIELDS,
    REVIEW,
    SUBMIT,
    _police,
    application,
    count,
    events,
    gql,
    office,
    submit,
)

SUBMIT_PLAN = "mutation($p: HiringPlanInput!) { submitHiringPlan(plan: $p) { %s } }" % PLAN_FIELDS
DECIDE = "mutation($id: ID!, $n: Int) { decideHiringPlan(id: $id, approve: true, approvedSlots: $n) { %s } }" % PLAN_FIELDS


def _raw(office, who, query, variables=None):
    return office["client"].post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers={"Authorization": f"Bearer {office['tokens'][who]}"}).json()


def _state(db):
    return tuple(count(db, m) for m in (OnboardingRow, HiringPlanRow, PostingRow, OutboxRow, OperationLogRow))


def test_a_refusal_at_the_door_does_not_disclose_police_data_or_where_a_person_works(office):
    """A UNIT token submitting a made-up name must not learn police's name for the ID number, nor where a person
    it does not employ is posted (docs/access.md: no membership oracle beyond the refusal the contract needs)."""
    db, a, b = office["db"], office["a"], office["b"]
    idn = id_number(date(1991, 1, 1))
    _police(db, idn, "真实姓名")
    r = submit(office, "UNIT_A", application(a, idn, name="随便写"))
    assert r["__typename"] == "IdentityNotVerified" and "真实姓名" not in r["message"], r
    elsewhere = make_person(db, name="别处人")
    hire(db, elsewhere, b, category="WORKER")
    r = submit(office, "UNIT_A", application(a, elsewhere, name="别处人"))
    assert r["__typename"] == "PersonAlreadyPosted" and b not in r["message"], r
    # the office still learns where (it may read every posting anyway)
    r = submit(office, "ADMIN", application(a, elsewhere, name="别处人"))
    assert r["__typename"] == "PersonAlreadyPosted" and b in r["message"], r


def test_ids_out_of_range_are_not_found_not_an_internal_error(office):
    a = office["a"]
    huge = "9" * 20
    before = _state(office["db"])
    for who, q, v, field in [
        ("ADMIN", APPROVE, {"id": huge}, "approveOnboarding"),
        ("ORGANIZATION", REVIEW, {"id": huge, "ok": True}, "reviewOnboarding"),
        ("ADMIN", DECIDE, {"id": huge}, "decideHiringPlan"),
        ("UNIT_A", SUBMIT, {"a": application(a, id_number(date(1992, 1, 1)), hiringPlanId=huge)}, "submitOnboarding"),
    ]:
        r = _raw(office, who, q, v)
        assert "errors" not in r, (field, r)
        assert r["data"][field]["__typename"] in ("ApplicationNotFound", "InvalidInput"), (field, r)
    r = _raw(office, "ADMIN", "query($id: ID!) { onboarding(id: $id) { id } }", {"id": huge})
    assert r == {"data": {"onboarding": None}}, r
    assert _state(office["db"]) == before


def test_overlong_text_is_invalid_input_on_every_database(office):
    a = office["a"]
    db = office["db"]
    before = _state(db)
    r = submit(office, "UNIT_A", application(a, id_number(date(1993, 2, 1)), name="李" * 101))
    assert r["__typename"] == "InvalidInput" and "name" in r["message"], r
    p = make_person(db)
    hire(db, p, a)
    long_doc = "杭" * 101
    r = _raw(office, "ADMIN", APPOINT, {"i": p, "r": "SECTION_CHIEF", "d": long_doc})
    assert "errors" not in r and r["data"]["appointLeader"]["__typename"] == "InvalidInput", r
    rd = ("mutation($n: String!, $t: String!) { recordDocument(document: {number: $n, title: $t, issuer: \"杭州市编办\", "
          "issuedOn: \"2026-01-01\", kind: REPLY}) { __typename ... on InvalidInput { message } } }")
    for n, t in ((long_doc, "批复"), ("杭编〔2026〕1号", "批" * 301)):
        r = _raw(office, "ADMIN", rd, {"n": n, "t": t})
        assert "errors" not in r and r["data"]["recordDocument"]["__typename"] == "InvalidInput", r
    assert count(db, OnboardingRow) == before[0] and count(db, LeaderAppointmentRow) == 0


def test_a_hiring_plan_is_for_this_year_or_the_next(office):
    a = office["a"]
    year = datetime.now(timezone.utc).year
    plan = {"unitCode": a, "year": year + 2, "category": "PUBLIC_INSTITUTION", "slots": 1, "reason": "新增业务"}
    r = gql(office, "UNIT_A", SUBMIT_PLAN, {"p": plan})["submitHiringPlan"]
    assert r["__typename"] == "InvalidInput" and str(year + 1) in r["message"], r
    r = gql(office, "UNIT_A", SUBMIT_PLAN, {"p": plan | {"year": 2147483647}})["submitHiringPlan"]
    assert r["__typename"] == "InvalidInput", r
    assert gql(office, "UNIT_A", SUBMIT_PLAN, {"p": plan | {"year": year + 1}})["submitHiringPlan"]["__typename"] == "HiringPlanPayload"


def test_a_quota_cut_below_a_plans_reservation_does_not_let_the_plan_overfill_the_unit(office):
    """核减编制 after a plan was approved: the plan's reserved slots no longer fit under the quota; a hire under the
    plan must still leave used ≤ approved (never over quota at the door)."""
    db, a = office["db"], office["a"]
    year = datetime.now(timezone.utc).year
    plan = {"unitCode": a, "year": year, "category": "PUBLIC_INSTITUTION", "slots": 2, "reason": "新增业务"}
    pid = gql(office, "UNIT_A", SUBMIT_PLAN, {"p": plan})["submitHiringPlan"]["hiringPlan"]["id"]
    assert gql(office, "ADMIN", DECIDE, {"id": pid})["decideHiringPlan"]["hiringPlan"]["approvedSlots"] == 2
    hire(db, make_person(db), a, category="PUBLIC_INSTITUTION")  # 3 approved: 1 used, 2 reserved
    with UnitOfWork(db, actor="test") as uow:  # the committee cuts the category to 1
        registry_changes.set_quota(uow, unit_code=a, category="PUBLIC_INSTITUTION", approved=1, document_number="杭编〔2026〕20号",
                           effective=date(2026, 1, 1))
        uow.commit()
    pi = dict(category="PUBLIC_INSTITUTION", route="OPEN_RECRUITMENT", hiringPlanId=pid)
    r = submit(office, "UNIT_A", application(a, id_number(date(1994, 2, 2)), **pi))
    assert r["__typename"] == "QuotaExhausted", r
    # an application submitted before the cut is refused at approval, and nothing changes
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_quota(uow, unit_code=a, category="PUBLIC_INSTITUTION", approved=3, document_number="杭编〔2026〕21号",
                           effective=date(2026, 1, 1))
        uow.commit()
    oid = submit(office, "UNIT_A", application(a, id_number(date(1994, 3, 3)), **pi))["onboarding"]["id"]
    gql(office, "HR", REVIEW, {"id": oid, "ok": True})
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_quota(uow, unit_code=a, category="PUBLIC_INSTITUTION", approved=1, document_number="杭编〔2026〕22号",
                           effective=date(2026, 1, 1))
        uow.commit()
    assert gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["__typename"] == "QuotaExhausted"
    assert count(db, PostingRow, PostingRow.unit_code == a, PostingRow.active, PostingRow.category == "PUBLIC_INSTITUTION") == 1


def test_a_departure_or_transfer_closes_the_persons_open_leader_appointment(office):
    """An appointment checked (核准) for a person who then leaves must not hold the unit's position forever, nor be
    confirmed later on the person's posting in another unit."""
    db = office["db"]
    u = make_unit(db, approved={"ADMINISTRATIVE": 3}, leaders={"SECTION_CHIEF": 1})
    v = make_unit(db, approved={"ADMINISTRATIVE": 3}, leaders={"SECTION_CHIEF": 1})
    leaver, other, mover = make_person(db, name="甲"), make_person(db, name="乙"), make_person(db, name="丙")
    for p in (leaver, other, mover):
        hire(db, p, u)

    def step(who, idn, doc="杭组干〔2026〕12号"):
        return gql(office, who, APPOINT, {"i": idn, "r": "SECTION_CHIEF", "d": doc})["appointLeader"]

    assert step("ADMIN", leaver)["appointment"]["stage"] == "CHECKED"
    ep = "mutation($i: String!) { endPosting(idNumber: $i, endDate: \"2026-06-30\", reason: RESIGNATION) { %s } }" % POSTING_FIELDS
    assert gql(office, "ADMIN", ep, {"i": leaver})["endPosting"]["__typename"] == "PostingPayload"
    # the position is free again for someone else in the unit
    assert step("ADMIN", other)["appointment"]["stage"] == "CHECKED"
    assert step("ORGANIZATION", other)["appointment"]["stage"] == "DECIDED"
    # a transfer: the mover's appointment in U (decided) does not follow them to V
    assert step("ADMIN", mover)["__typename"] == "LeaderQuotaExhausted"  # U's one position is being filled
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_leader_quota(uow, unit_code=u, rank="SECTION_CHIEF", approved=2, document_number="杭编〔2026〕5号",
                                  effective=date(2026, 1, 1))
        uow.commit()
    assert step("ADMIN", mover)["appointment"]["stage"] == "CHECKED"
    assert step("ORGANIZATION", mover)["appointment"]["stage"] == "DECIDED"
    tp = ("mutation($i: String!, $u: String!) { transferPerson(idNumber: $i, toUnitCode: $u, category: ADMINISTRATIVE, "
          "effectiveDate: \"2026-07-01\") { %s } }" % POSTING_FIELDS)
    assert gql(office, "ADMIN", tp, {"i": mover, "u": v})["transferPerson"]["__typename"] == "PostingPayload"
    r = step("ADMIN", mover)  # in V this is a new check (核准), not a confirmation of U's decision
    assert r["appointment"]["stage"] == "CHECKED" and r["posting"]["leaderRank"] is None, r
    with db.read_session() as s:
        assert s.execute(select(LeaderAppointmentRow).where(LeaderAppointmentRow.id_number == leaver)).first() is None
        log = s.execute(select(OperationLogRow.before, OperationLogRow.after).where(
            OperationLogRow.action == "leader_appointment.cancelled").order_by(OperationLogRow.seq)).all()
    assert [(json.loads(b)["stage"], json.loads(b)["unit_code"], json.loads(x)["stage"]) for b, x in log] == [
        ("CHECKED", u, "CANCELLED"), ("DECIDED", u, "CANCELLED")]
    cancelled = [e for e in events(db, "gov.registry.leader_appointment.cancelled")]
    assert [e["subject"] for e in cancelled] == [leaver, mover]


def test_dates_out_of_all_reason_are_invalid_input_and_change_nothing(office):
    """A start before the person could work (16), or a start, end or effective date more than a year ahead (which
    would free or take a slot today for a date that may never come), is refused as bad input."""
    db, a, b = office["db"], office["a"], office["b"]
    young = id_number(date(1995, 6, 1))
    before = _state(db)
    for start in ("2011-05-31", "1900-01-01", "9999-12-31"):
        r = submit(office, "UNIT_A", application(a, young, startDate=start))
        assert r["__typename"] == "InvalidInput" and start in r["message"], (start, r)
    p = make_person(db)
    hire(db, p, a)
    before = _state(db)
    ep = "mutation($i: String!) { endPosting(idNumber: $i, endDate: \"9999-12-31\", reason: RETIREMENT) { %s } }" % POSTING_FIELDS
    assert gql(office, "ADMIN", ep, {"i": p})["endPosting"]["__typename"] == "InvalidInput"
    tp = ("mutation($i: String!, $u: String!) { transferPerson(idNumber: $i, toUnitCode: $u, category: WORKER, "
          "effectiveDate: \"9999-12-31\") { %s } }" % POSTING_FIELDS)
    assert gql(office, "ADMIN", tp, {"i": p, "u": b})["transferPerson"]["__typename"] == "InvalidInput"
    far = APPOINT.replace('"2026-08-01"', '"9999-12-31"')
    assert far != APPOINT
    r = gql(office, "ADMIN", far, {"i": p, "r": "SECTION_CHIEF", "d": "杭组干〔2026〕1号"})["appointLeader"]
    assert r["__typename"] == "InvalidInput", r
    assert _state(db) == before
    assert count(db, PostingRow, PostingRow.id_number == p, PostingRow.active) == 1


def test_the_printable_form_escapes_everything_and_is_neither_cached_framed_nor_scriptable(office):
    db, a = office["db"], office["a"]
    p = make_person(db, name="<b>王五</b>")
    hire(db, p, a)
    comment = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>"
    ep = ("mutation($i: String!, $c: String) { endPosting(idNumber: $i, endDate: \"2026-06-30\", reason: RESIGNATION, "
          "comment: $c) { %s } }" % POSTING_FIELDS)
    form = gql(office, "ADMIN", ep, {"i": p, "c": comment})["endPosting"]["form"]
    page = office["client"].get(f"/forms/{form['number']}", params={"code": form["code"]})
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<img" not in page.text and "window.__xss=2</script>" not in page.text and "&lt;b&gt;王五" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    for h, v in (("cache-control", "no-store"), ("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer")):
        assert page.headers[h] == v
    refused = office["client"].get(f"/forms/{form['number']}", params={"code": "0" * 16})
    assert refused.status_code == 404 and refused.headers["cache-control"] == "no-store"
    assert refused.headers["content-security-policy"] == csp


def test_racing_duplicates_are_typed_refusals_not_internal_errors(office):
    """Two office clerks record the same document, or freeze the same unit, at the same moment (several API
    workers run requests in parallel): one succeeds, the other gets a typed refusal — never an internal error."""
    import threading

    a = office["a"]
    rd = ("mutation($n: String!) { recordDocument(document: {number: $n, title: \"批复\", issuer: \"杭州市编办\", "
          "issuedOn: \"2026-01-01\", kind: REPLY}) { __typename } }")
    fr = "mutation($c: String!) { freezeUnit(code: $c, frozen: true, reason: \"清理整顿\") { __typename } }"
    for query, variables, field in ((rd, {"n": "杭编〔2026〕77号"}, "recordDocument"), (fr, {"c": a}, "freezeUnit")):
        for _ in range(3):
            if field == "recordDocument":
                variables = {"n": f"杭编〔2026〕{threading.get_ident() % 1000}-{_}号"}
            barrier, results = threading.Barrier(6), []

            def go():
                barrier.wait()
                results.append(_raw(office, "ADMIN", query, variables))

            threads = [threading.Thread(target=go) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:1]
            kinds = sorted(r["data"][field]["__typename"] for r in results)
            if field == "recordDocument":
                assert kinds == ["DocumentPayload"] + ["InvalidInput"] * 5, kinds
            else:  # freezing a frozen unit is no change: every clerk sees the unit frozen
                assert kinds == ["UnitPayload"] * 6, kinds
            if field == "freezeUnit":
                gql(office, "ADMIN", "mutation($c: String!) { freezeUnit(code: $c, frozen: false) { __typename } }", {"c": a})


def test_racing_submissions_for_one_person_leave_one_open_application(office):
    """Two units (or two clerks) apply for the same person at once: one application is open, the others are told
    the person already has one — as when they apply one after the other."""
    import threading

    a = office["a"]
    for n in range(3):
        idn = id_number(date(1992, 4, 1 + n))
        barrier, results = threading.Barrier(6), []

        def go():
            barrier.wait()
            results.append(_raw(office, "ADMIN", SUBMIT, {"a": application(a, idn)}))

        threads = [threading.Thread(target=go) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        kinds = sorted(r["data"]["submitOnboarding"]["__typename"] for r in results)
        assert kinds == ["InvalidInput"] * 5 + ["OnboardingPayload"], kinds
        assert count(office["db"], OnboardingRow, OnboardingRow.id_number == idn) == 1


def test_free_text_is_bounded_so_no_event_can_outgrow_a_kafka_message(office):
    """Comments and reasons go into registry.updates.v1 events (and a plan's reason into each of its events): a
    reason near the 1 MiB request limit would make an event the producer refuses (MessageSizeTooLarge) and hold up
    the outbox behind it. Free text is at most 2000 characters: InvalidInput, nothing changed."""
    db, a = office["db"], office["a"]
    long = "很" * 2001
    year = datetime.now(timezone.utc).year
    plan = {"unitCode": a, "year": year, "category": "PUBLIC_INSTITUTION", "slots": 1, "reason": long}
    before = _state(db)
    assert gql(office, "UNIT_A", SUBMIT_PLAN, {"p": plan})["submitHiringPlan"]["__typename"] == "InvalidInput"
    submit_long = SUBMIT.replace('comment: "首次申报"', "comment: $c").replace("($a: OnboardingInput!)", "($a: OnboardingInput!, $c: String)")
    assert "$c)" in submit_long
    r = _raw(office, "UNIT_A", submit_long, {"a": application(a, id_number(date(1993, 5, 5))), "c": long})
    assert r["data"]["submitOnboarding"]["__typename"] == "InvalidInput", r
    oid = submit(office, "UNIT_A", application(a, id_number(date(1993, 6, 6))))["onboarding"]["id"]
    before = _state(db)
    assert gql(office, "ORGANIZATION", REVIEW, {"id": oid, "ok": False, "c": long})["reviewOnboarding"]["__typename"] == "InvalidInput"
    fr = "mutation($c: String!, $r: String) { freezeUnit(code: $c, frozen: true, reason: $r) { __typename } }"
    assert gql(office, "ADMIN", fr, {"c": a, "r": long})["freezeUnit"]["__typename"] == "InvalidInput"
    p = make_person(db)
    hire(db, p, a)
    before = _state(db)
    ep = ("mutation($i: String!, $c: String) { endPosting(idNumber: $i, endDate: \"2026-06-30\", reason: OTHER, comment: $c) "
          "{ %s } }" % POSTING_FIELDS)
    assert gql(office, "ADMIN", ep, {"i": p, "c": long})["endPosting"]["__typename"] == "InvalidInput"
    assert _state(db) == before
    ok = gql(office, "UNIT_A", SUBMIT_PLAN, {"p": plan | {"reason": "很" * 2000}})["submitHiringPlan"]
    assert ok["__typename"] == "HiringPlanPayload"
