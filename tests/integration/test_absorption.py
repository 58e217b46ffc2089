"""Issue 17, the over-quota absorption ledger (超编消化台账), both databases: a unit cut below use enters the ledger with
its excess (the one quota-use count), the office enters a plan, departures absorb the excess (progress, behind a
target), and once the unit fits its quota it leaves the ledger by itself — through GraphQL, the report and the
service, with the plan's refusals and who may read and write."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from hub import reports
from hub.api.app import create_app
from hub.domain.vocabulary import Role
from hub.service_layer import absorption
from hub.service_layer import registry_changes as registry
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests.integration import score_city as sc
from hub.domain.calendar import office_today

TODAY = office_today()
T1, T2 = TODAY + timedelta(days=30), TODAY + timedelta(days=200)
LEDGER = """query($r: String) { absorptionLedger(regionCode: $r) { unitCode category approved used excess baseline
            absorbed departures targets { targetDate remaining } status } }"""
PLAN = """mutation($u: String!, $t: [AbsorptionTargetInput!]!) { setAbsorptionPlan(unitCode: $u, category: ADMINISTRATIVE,
          targets: $t, note: "自然减员消化") { __typename ... on AbsorptionPlanPayload { entry { excess baseline status } }
          ... on NotAllowed { message } ... on InvalidInput { message } ... on UnitNotFound { message } } }"""


@pytest.fixture
def city(db):
    code = sc.unit(db, "西湖区农业农村局", sc.A, "FULL", {"ADMINISTRATIVE": 5})
    people = [sc.person(db, code, f"乙{i}", on=TODAY - timedelta(days=40)) for i in range(5)]
    with UnitOfWork(db, actor="ADMIN:office") as w:  # 机构改革: the quota cut to 2, three above it
        registry.set_quota(w, unit_code=code, category="ADMINISTRATIVE", approved=2, document_number="西编〔2026〕5号",
                           effective=TODAY - timedelta(days=10))
        w.commit()
    fits = sc.unit(db, "滨江区农业农村局", sc.B, "FULL", {"ADMINISTRATIVE": 5})
    client = TestClient(create_app(db), raise_server_exceptions=False)
    tokens = {r: create_token(db, role=r, name=r.lower())[1] for r in ("ADMIN", "AUDITOR", "ORGANIZATION", "MONITOR", "HR")}
    tokens["XIHU"] = create_token(db, role="ADMIN", name="x", region_code=sc.A)[1]
    tokens["BINJIANG"] = create_token(db, role="ADMIN", name="b", region_code=sc.B)[1]
    tokens["UNIT"] = create_token(db, role="UNIT", name="u", unit_code=code)[1]
    tokens["OTHER_UNIT"] = create_token(db, role="UNIT", name="o", unit_code=fits)[1]
    return {"db": db, "code": code, "fits": fits, "people": people, "client": client, "tokens": tokens}


def gql(city, who, query, **variables):
    return city["client"].post("/graphql", json={"query": query, "variables": variables},
                               headers={"Authorization": f"Bearer {city['tokens'][who]}"}).json()


def targets(*pairs):
    return [{"targetDate": d.isoformat(), "remaining": n} for d, n in pairs]


def end(city, idn):
    r = gql(city, "ADMIN", """mutation($i: String!, $d: Date!) { endPosting(idNumber: $i, endDate: $d, reason: RETIREMENT)
            { __typename } }""", i=idn, d=TODAY.isoformat())
    assert r["data"]["endPosting"]["__typename"] == "PostingPayload", r


def test_the_ledger_follows_departures_until_the_unit_fits(city):
    code = city["code"]
    [entry] = gql(city, "ADMIN", LEDGER)["data"]["absorptionLedger"]
    assert (entry["unitCode"], entry["approved"], entry["used"], entry["excess"], entry["status"], entry["baseline"]) == \
        (code, 2, 5, 3, "NO_PLAN", None)
    # the plan's refusals change nothing
    bad = [("AUDITOR", targets((T1, 1))), ("UNIT", targets((T1, 1))), ("BINJIANG", targets((T1, 1))),
           ("ADMIN", targets((TODAY, 1))), ("ADMIN", targets((T1, 3))), ("ADMIN", targets((T1, 0), (T2, 1))),
           ("ADMIN", targets((T1, 1), (T1, 0))), ("ADMIN", [])]
    for who, t in bad:
        r = gql(city, who, PLAN, u=code, t=t)["data"]["setAbsorptionPlan"]
        assert r["__typename"] in ("NotAllowed", "InvalidInput"), (who, t, r)
    r = gql(city, "ADMIN", PLAN, u=city["fits"], t=targets((T1, 0)))["data"]["setAbsorptionPlan"]
    assert r["__typename"] == "InvalidInput" and "nothing to absorb" in r["message"]
    assert gql(city, "ADMIN", LEDGER)["data"]["absorptionLedger"][0]["status"] == "NO_PLAN"

    r = gql(city, "XIHU", PLAN, u=code, t=targets((T2, 0), (T1, 1)))["data"]["setAbsorptionPlan"]
    assert r["entry"] == {"excess": 3, "baseline": 3, "status": "ON_TRACK"}
    end(city, city["people"][0])
    [entry] = gql(city, "XIHU", LEDGER)["data"]["absorptionLedger"]
    assert (entry["excess"], entry["absorbed"], entry["departures"]) == (2, 1, 1)
    assert entry["targets"] == [{"targetDate": T1.isoformat(), "remaining": 1}, {"targetDate": T2.isoformat(), "remaining": 0}]
    with city["db"].read_session() as s:  # the first target passes with 2 left where 1 was planned: behind
        [later] = absorption.ledger(s, today=T1 + timedelta(days=1))
        assert later.status(T1 + timedelta(days=1)) == "BEHIND" and later.next_target(T1 + timedelta(days=1)).remaining == 0
    table, _ = reports.run_report(city["db"], "absorption-ledger", {}, caller=reports.Caller(name="t", role=Role.ADMIN))
    row = dict(zip(table.columns, table.rows[0]))
    assert (row["unit"], row["excess"], row["baseline"], row["absorbed"], row["departures"], row["next_target"],
            row["next_remaining"], row["final_target"], row["status_zh"]) == (code, 2, 3, 1, 1, T1, 1, T2, "按计划消化")
    # who reads: the office (a district its region), AUDITOR, ORGANIZATION, the unit itself
    assert len(gql(city, "UNIT", LEDGER)["data"]["absorptionLedger"]) == 1
    assert gql(city, "OTHER_UNIT", LEDGER)["data"]["absorptionLedger"] == []
    assert gql(city, "BINJIANG", LEDGER)["data"]["absorptionLedger"] == []
    assert gql(city, "BINJIANG", LEDGER, r=sc.A)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for who in ("MONITOR", "HR"):
        assert gql(city, who, LEDGER)["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
    # two more departures: the unit fits its quota and leaves the ledger by itself
    end(city, city["people"][1])
    end(city, city["people"][2])
    assert gql(city, "ADMIN", LEDGER)["data"]["absorptionLedger"] == []
    table, _ = reports.run_report(city["db"], "absorption-ledger", {}, caller=reports.Caller(name="t", role=Role.ADMIN))
    assert table.rows == []


def test_a_target_date_is_judged_on_the_office_s_local_date(city):
    """01:00 tomorrow in the office (UTC+8) is still today in UTC: a target on the office's today is not "after today"
    and is refused, changing nothing (uow.now.date() took the UTC date and let it through)."""
    from datetime import datetime, timezone

    from hub.domain.calendar import OFFICE_TIME
    from hub.domain.workflows import Caller

    tomorrow = TODAY + timedelta(days=1)
    at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 1, tzinfo=OFFICE_TIME).astimezone(timezone.utc)
    with pytest.raises(ValueError, match="after today"):
        with UnitOfWork(city["db"], actor="ADMIN:office", now=at) as w:
            absorption.set_plan(w, Caller("ADMIN:office", Role.ADMIN), unit_code=city["code"], category="ADMINISTRATIVE",
                                targets=[(tomorrow, 0)], note=None)
            w.commit()
    with city["db"].read_session() as s:
        assert absorption.ledger(s, today=tomorrow)[0].targets == []
