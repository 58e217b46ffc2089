"""A submitted application is a lookup of the person it names (issue 12, item 3, for the workflows of issue 13).

`submitOnboarding` must answer `PersonAlreadyPosted` and `IdentityNotVerified` (contract section 9), so a UNIT token
learns whether a number it names is posted somewhere, has an open application or disagrees with police's record:
that much is the workflow. It learns no more — not the unit the person is posted in, not another unit's application,
not the name police record — and each such answer is written to the access log like a person lookup."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.adapters.orm import AccessLogRow
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person
from tests.integration.test_workflows import _police, application, office, submit  # noqa: F401 - fixture

FIELD = "Mutation.submitOnboarding"


def _log(db, who: str):
    with db.read_session() as s:
        return [(r.id_number, r.field, r.outcome) for r in s.execute(
            select(AccessLogRow).where(AccessLogRow.actor == f"UNIT:{who}").order_by(AccessLogRow.id)).scalars()]


def test_a_unit_learns_that_a_person_is_posted_but_not_where(office):
    db, a, b = office["db"], office["a"], office["b"]
    elsewhere = make_person(db, name="钱多")
    hire(db, elsewhere, b, category="WORKER")
    r = submit(office, "UNIT_A", application(a, elsewhere))
    assert r["__typename"] == "PersonAlreadyPosted" and b not in r["message"], r
    # a district office outside the posting's region is not told either; the city-wide office is
    other = submit(office, "DISTRICT", application(b, make_person(db, name="孙甲"), category="WORKER"))
    assert other["__typename"] == "OnboardingPayload", other
    here = make_person(db, name="周乙")
    hire(db, here, a)
    r = submit(office, "DISTRICT", application(b, here, category="WORKER"))
    assert r["__typename"] == "PersonAlreadyPosted" and a not in r["message"], r
    assert b in submit(office, "ADMIN", application(a, elsewhere))["message"]
    assert (elsewhere, FIELD, "ALREADY_POSTED") in _log(db, "unit_a")


def test_a_unit_is_not_told_the_name_police_record(office):
    db, a = office["db"], office["a"]
    renamed, dead = id_number(date(1981, 1, 1)), id_number(date(1980, 1, 1))
    _police(db, renamed, "周新名")
    _police(db, dead, "孙亡", status="DECEASED")
    r = submit(office, "UNIT_A", application(a, renamed, name="周旧名"))
    assert r["__typename"] == "IdentityNotVerified" and "周新名" not in r["message"], r
    r = submit(office, "UNIT_A", application(a, dead, name="张三"))
    assert r["__typename"] == "IdentityNotVerified" and "孙亡" not in r["message"] and "DECEASED" in r["message"], r
    assert [(i, o) for i, f, o in _log(db, "unit_a")] == [(renamed, "NOT_VERIFIED"), (dead, "NOT_VERIFIED")]


def test_a_unit_is_not_told_another_units_application(office):
    db, a, b = office["db"], office["a"], office["b"]
    idn = id_number(date(1995, 5, 5))
    theirs = submit(office, "UNIT_B", application(b, idn, category="WORKER", route="TRANSFER_IN"))["onboarding"]["id"]
    r = submit(office, "UNIT_A", application(a, idn))
    assert r["__typename"] == "InvalidInput" and f"application {theirs}" not in r["message"] and b not in r["message"], r
    assert (idn, FIELD, "OPEN_APPLICATION") in _log(db, "unit_a")
    # the unit's own open application is named to it
    mine = id_number(date(1995, 6, 6))
    own = submit(office, "UNIT_A", application(a, mine))["onboarding"]["id"]
    assert f"application {own}" in submit(office, "UNIT_A", application(a, mine))["message"]
    assert (mine, FIELD, "ACCEPTED") in _log(db, "unit_a")
    # refused for the quota after the person's checks passed: the answer still told the unit the person is free
    free = id_number(date(1995, 7, 7))
    assert submit(office, "UNIT_A", application(a, free, category="WORKER"))["__typename"] == "QuotaExhausted"
    assert (free, FIELD, "CLEAR") in _log(db, "unit_a")


HUGE = ["99999999999999999999999", "9223372036854775808", "-1", "0", "1e3", "１２"]


def test_a_crafted_application_or_plan_id_is_no_such_application(office, caplog):
    """Ids beyond BIGINT, negative or not numbers: "no such application" (typed, or null), never a database error."""
    caplog.set_level("INFO")
    client, token = office["client"], office["tokens"]["ADMIN"]

    def run(query, variables):
        r = client.post("/graphql", json={"query": query, "variables": variables},
                        headers={"Authorization": f"Bearer {token}"}).json()
        assert "errors" not in r, r
        return r["data"]

    app = application(office["a"], id_number(date(1993, 3, 3)))
    for bad in HUGE:
        assert run("query($id: ID!) { onboarding(id: $id) { id } }", {"id": bad}) == {"onboarding": None}
        for m in ("approveOnboarding(id: $id)", "withdrawOnboarding(id: $id)", 'rejectOnboarding(id: $id, comment: "x")',
                  'reviewOnboarding(id: $id, approve: true)'):
            r = run("mutation($id: ID!) { r: %s { __typename } }" % m, {"id": bad})["r"]
            assert r["__typename"] == "ApplicationNotFound", (m, bad, r)
        r = run("mutation($id: ID!) { r: decideHiringPlan(id: $id, approve: true) { __typename } }", {"id": bad})["r"]
        assert r["__typename"] == "ApplicationNotFound", (bad, r)
        r = run("mutation($a: OnboardingInput!) { r: submitOnboarding(application: $a) { __typename } }",
                {"a": app | {"hiringPlanId": bad}})["r"]
        assert r["__typename"] == "InvalidInput", (bad, r)
    assert not [rec for rec in caplog.records if rec.levelno >= 40], [rec.getMessage()[:200] for rec in caplog.records]


PERSON_MUTATIONS = [
    'mutation($i: String!) { r: endPosting(idNumber: $i, endDate: "2026-06-30", reason: RETIREMENT) { __typename %s } }',
    'mutation($i: String!, $u: String!) { r: transferPerson(idNumber: $i, toUnitCode: $u, category: ADMINISTRATIVE, '
    'effectiveDate: "2026-06-01") { __typename %s } }',
    'mutation($i: String!) { r: appointLeader(idNumber: $i, rank: SECTION_CHIEF, effectiveDate: "2026-06-01", '
    'documentNumber: "杭编〔2026〕9号") { __typename %s } }',
]
MESSAGE = ("... on NotAllowed { message } ... on PersonNotFound { message } ... on PostingNotFound { message } "
           "... on InvalidInput { message } ... on ReviewPending { message } ... on WrongState { message }")


def test_a_role_that_may_not_make_a_change_learns_nothing_about_the_person_it_names(office):
    """endPosting, transferPerson and appointLeader looked the number up before asking whether the caller may make
    the change at all: a MONITOR (or a UNIT, or a partner) told PersonNotFound, PostingNotFound and NotAllowed apart —
    for MONITOR an oracle that confirms a guess of the masked digits. Now such a caller is refused first, alike."""
    from hub.service_layer.tokens import create_token

    db, a, b = office["db"], office["a"], office["b"]
    posted, unposted = make_person(db, name="在编"), make_person(db, birth=date(1970, 2, 2), name="无编")
    hire(db, posted, a)
    unknown = id_number(date(1971, 3, 3))
    tokens = dict(office["tokens"], MONITOR=create_token(db, role="MONITOR", name="monitor")[1])
    for who in ("MONITOR", "UNIT_A", "POLICE", "AUDITOR", "HR"):
        for query in PERSON_MUTATIONS:
            answers = []
            for idn in (posted, unposted, unknown):
                r = office["client"].post("/graphql", json={"query": query % MESSAGE, "variables": {"i": idn, "u": b}},
                                          headers={"Authorization": f"Bearer {tokens[who]}"}).json()
                assert "errors" not in r, r
                answers.append(r["data"]["r"])
            assert answers[0]["__typename"] == "NotAllowed", (who, query, answers)
            assert all(x == answers[0] for x in answers), (who, query, answers)


def test_a_district_office_corrects_only_persons_posted_in_its_region(office):
    """registerPerson was the one registry edit a district office could make city-wide: renaming a person posted in
    another district."""
    db, a, b = office["db"], office["a"], office["b"]
    theirs, ours, free = make_person(db, name="甲区人"), make_person(db, birth=date(1970, 1, 2), name="本区人"), \
        make_person(db, birth=date(1971, 1, 2), name="未在编")
    hire(db, theirs, a)
    hire(db, ours, b, category="WORKER")
    query = ('mutation($i: String!, $n: String!) { r: registerPerson(person: {idNumber: $i, name: $n}, '
             'effectiveDate: "2026-01-01") { __typename } }')

    def rename(idn, name):
        r = office["client"].post("/graphql", json={"query": query, "variables": {"i": idn, "n": name}},
                                  headers={"Authorization": f"Bearer {office['tokens']['DISTRICT']}"}).json()
        assert "errors" not in r, r
        return r["data"]["r"]["__typename"]

    assert rename(theirs, "改名") == "NotAllowed"
    assert rename(ours, "本区改名") == "PersonPayload"
    assert rename(free, "未在编改名") == "PersonPayload"
    from hub.adapters.orm import PersonRow
    with db.read_session() as s:
        assert s.get(PersonRow, theirs).name == "甲区人"


def test_a_crafted_form_number_gets_the_not_found_page(office):
    """A NUL in the printable form's number reached PostgreSQL and answered 500; it is no such form."""
    client = TestClient(office["client"].app, raise_server_exceptions=False)
    for path in ("/forms/JB2026-000001%00?code=x", "/forms/JB2026-000001?code=%00", "/forms/" + "9" * 3000 + "?code=1"):
        r = client.get(path)
        assert r.status_code == 404 and "审批表核验失败" in r.text, (path, r.status_code)
