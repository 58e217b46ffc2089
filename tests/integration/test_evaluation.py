"""Issue 17, the annual evaluation (年度评估) through GraphQL on the small city of tests/integration/score_city.py (both
databases): indicators, scores by the joint evaluation group and who may enter which, the decision with the fixed
indicators the hub computes, reads per role, the reports — and a hiring-plan cut citing the result."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub import reports
from hub.adapters.calendar_file import load_calendar
from hub.adapters.orm import HiringPlanRow, OperationLogRow, OutboxRow
from hub.api.app import create_app
from hub.domain.vocabulary import Role
from hub.reports import render
from hub.service_layer import scorecards
from hub.service_layer.tokens import create_token
from tests.integration import score_city as sc
from hub.domain.calendar import office_today

YEAR = 2026
RESULT = "... on EvaluationPayload { evaluation { id decided score maxScore grade gradeLabel indicators { code kind score maxScore } } }"
REFUSALS = " ".join(f"... on {t} {{ __typename message }}" for t in (
    "NotAllowed", "InvalidInput", "InvalidIdNumber", "UnitNotFound", "WrongState", "ApplicationNotFound"))


@pytest.fixture
def city(db):
    c = sc.build(db)
    c["client"] = TestClient(create_app(db), raise_server_exceptions=False)
    tokens = {r: create_token(db, role=r, name=r.lower())[1] for r in ("ADMIN", "AUDITOR", "ORGANIZATION", "FINANCE",
                                                                        "HR", "MONITOR")}
    tokens["XIHU"] = create_token(db, role="ADMIN", name="xihu", region_code=sc.A)[1]
    tokens["BINJIANG"] = create_token(db, role="ADMIN", name="binjiang", region_code=sc.B)[1]
    tokens["A1"] = create_token(db, role="UNIT", name="a1", unit_code=c["units"]["A1"])[1]
    tokens["A2"] = create_token(db, role="UNIT", name="a2", unit_code=c["units"]["A2"])[1]
    c["tokens"] = tokens
    return c


def gql(city, who, query, **variables):
    r = city["client"].post("/graphql", json={"query": query, "variables": variables},
                            headers={"Authorization": f"Bearer {city['tokens'][who]}"}).json()
    return r


def define(city, who, code, max_score, scored_by="ADMIN", year=YEAR):
    q = """mutation($y: Int!, $c: String!, $m: Int!, $s: Role!) { defineEvaluationIndicator(year: $y, code: $c,
           name: "年度重点改革任务", maxScore: $m, scoredBy: $s) { __typename
           ... on EvaluationIndicatorPayload { indicator { id code maxScore scoredBy } } ... on NotAllowed { message }
           ... on InvalidInput { message } ... on WrongState { message } } }"""
    return gql(city, who, q, y=year, c=code, m=max_score, s=scored_by)["data"]["defineEvaluationIndicator"]


def score(city, who, indicator, unit, points, comment="按期完成"):
    q = f"""mutation($i: ID!, $u: String!, $p: Float!, $c: String) {{ scoreEvaluation(indicatorId: $i, unitCode: $u,
            score: $p, comment: $c) {{ __typename {RESULT} {REFUSALS} }} }}"""
    return gql(city, who, q, i=indicator, u=unit, p=points, c=comment)["data"]["scoreEvaluation"]


def decide(city, who, unit, year=YEAR):
    q = f"""mutation($u: String!, $y: Int!) {{ decideEvaluation(unitCode: $u, year: $y, comment: "整改到位") {{
            __typename {RESULT} {REFUSALS} }} }}"""
    return gql(city, who, q, u=unit, y=year)["data"]["decideEvaluation"]


def test_evaluation_lifecycle_and_permissions(city):
    u = city["units"]
    a1 = u["A1"]
    # indicators: the city office only; codes unique per year, not a fixed one, maximum 1..100
    assert define(city, "XIHU", "REFORM", 20)["__typename"] == "NotAllowed"
    assert define(city, "ORGANIZATION", "REFORM", 20)["__typename"] == "NotAllowed"
    reform = define(city, "ADMIN", "REFORM", 20, "ORGANIZATION")["indicator"]
    funds = define(city, "ADMIN", "FUNDS", 20, "FINANCE")["indicator"]
    local = define(city, "ADMIN", "LOCAL", 10)["indicator"]
    assert define(city, "ADMIN", "REFORM", 5)["__typename"] == "InvalidInput"
    assert define(city, "ADMIN", "OVER_QUOTA", 5)["__typename"] == "InvalidInput"
    assert define(city, "ADMIN", "ZERO", 0)["__typename"] == "InvalidInput"
    assert define(city, "ADMIN", "FAR", 5, year=2099)["__typename"] == "InvalidInput"
    # scores: ORGANIZATION and FINANCE their own indicators, the office any (in its region), nobody else
    assert score(city, "ORGANIZATION", reform["id"], a1, 18)["__typename"] == "EvaluationPayload"
    assert score(city, "ORGANIZATION", funds["id"], a1, 10)["__typename"] == "NotAllowed"
    assert score(city, "FINANCE", reform["id"], a1, 10)["__typename"] == "NotAllowed"
    for who in ("HR", "A1", "AUDITOR", "MONITOR", "BINJIANG"):
        assert score(city, who, local["id"], a1, 5)["__typename"] == "NotAllowed", who
    assert score(city, "FINANCE", funds["id"], a1, 25)["__typename"] == "InvalidInput"
    assert score(city, "FINANCE", funds["id"], a1, -1)["__typename"] == "InvalidInput"
    assert score(city, "FINANCE", "999999", a1, 5)["__typename"] == "ApplicationNotFound"
    preview = score(city, "FINANCE", funds["id"], a1, 15.5)["evaluation"]
    assert preview["decided"] is False and preview["id"] is None
    # a decision waits for every dynamic indicator
    assert decide(city, "ADMIN", a1)["__typename"] == "WrongState"
    assert score(city, "XIHU", local["id"], a1, 9)["__typename"] == "EvaluationPayload"
    assert score(city, "XIHU", local["id"], a1, 10)["__typename"] == "EvaluationPayload"  # entered again: replaces
    assert decide(city, "ORGANIZATION", a1)["__typename"] == "NotAllowed"
    assert decide(city, "BINJIANG", a1)["__typename"] == "NotAllowed"
    result = decide(city, "XIHU", a1)["evaluation"]
    # the fixed indicators as the hub computes them: A1 is over quota (0 of 15), no leader excess, no 混编混岗, no
    # findings; timeliness = 15 × the scorecard's score / 100
    with city["db"].read_session() as s:
        card = scorecards.unit_timeliness(s, unit_code=a1, year=YEAR, today=office_today(), calendar=load_calendar(None))
    fixed = {i["code"]: i["score"] for i in result["indicators"] if i["kind"] == "FIXED"}
    assert fixed == {"OVER_QUOTA": 0.0, "LEADER_OVER_QUOTA": 10.0, "MIXED_CATEGORY": 10.0,
                     "TIMELINESS": round(15 * card / 100, 1), "UNRESOLVED_FINDINGS": 10.0}
    dynamic = {i["code"]: i["score"] for i in result["indicators"] if i["kind"] == "DYNAMIC"}
    assert dynamic == {"FUNDS": 15.5, "LOCAL": 10.0, "REFORM": 18.0}
    total = round(sum(fixed.values()) + 43.5, 1)
    assert (result["decided"], result["score"], result["maxScore"]) == (True, total, 110.0)
    pct = 100 * total / 110
    assert result["grade"] == ("EXCELLENT" if pct >= 90 else "GOOD" if pct >= 75 else "PASS" if pct >= 60 else "FAIL")
    # decided: final
    assert decide(city, "ADMIN", a1)["__typename"] == "WrongState"
    assert score(city, "ADMIN", local["id"], a1, 1)["__typename"] == "WrongState"
    assert define(city, "ADMIN", "LATE", 5)["__typename"] == "WrongState"
    with city["db"].read_session() as s:
        actions = [a for (a,) in s.execute(select(OperationLogRow.action).where(OperationLogRow.action.like("evaluation.%")))]
    assert actions.count("evaluation.score") == 4 and actions.count("evaluation.decide") == 1

    # reads: the office (its region), AUDITOR, ORGANIZATION, FINANCE, the unit itself
    q = "query($u: String!) { evaluation(unitCode: $u, year: 2026) { id decided score gradeLabel } }"
    for who in ("ADMIN", "XIHU", "AUDITOR", "ORGANIZATION", "FINANCE", "A1"):
        assert gql(city, who, q, u=a1)["data"]["evaluation"]["score"] == total, who
    for who in ("BINJIANG", "A2", "MONITOR", "HR"):
        assert gql(city, who, q, u=a1)["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
    league = "query($r: String) { evaluations(year: 2026, regionCode: $r) { unitCode score } }"
    assert [e["unitCode"] for e in gql(city, "FINANCE", league)["data"]["evaluations"]] == [a1]
    assert gql(city, "A2", league)["data"]["evaluations"] == []
    assert gql(city, "BINJIANG", league, r=sc.A)["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # the reports: the league table and the unit's report printed in Chinese
    admin = reports.Caller(name="t", role=Role.ADMIN)
    table, _ = reports.run_report(city["db"], "evaluation-league", {"year": "2026"}, caller=admin)
    assert [(r[0], r[3], r[5], r[7]) for r in table.rows] == [(1, a1, total, round(100 * total / 110, 1))]
    table, _ = reports.run_report(city["db"], "evaluation-report", {"unit": a1, "year": "2026"}, caller=admin)
    assert [r[4] for r in table.rows] == [*fixed, "FUNDS", "LOCAL", "REFORM", "TOTAL"]
    assert table.rows[-1][7] == total and table.rows[-1][10] == "已评定"
    page = render.to_html(table, office="杭州市委编办")
    assert "机构编制年度评估报告" in page and "超编进人" in page and "评估等次" in page
    other, _ = reports.run_report(city["db"], "evaluation-report", {"unit": u["A2"], "year": "2026"}, caller=admin)
    assert other.rows[-1][10] == "未评定(预览)" and [r[7] for r in other.rows if r[3] == "动态指标"] == [None] * 3
    # an audit finding of A2 not closed yet (s7-findings' register) costs 2.5 of UNRESOLVED_FINDINGS
    from hub.domain.workflows import Caller
    from hub.service_layer.findings import NewFinding, record_finding
    from hub.service_layer.unit_of_work import UnitOfWork

    def findings_points():
        t, _ = reports.run_report(city["db"], "evaluation-report", {"unit": u["A2"], "year": "2026"}, caller=admin)
        return next(r[7] for r in t.rows if r[4] == "UNRESOLVED_FINDINGS")

    assert findings_points() == 10.0
    with UnitOfWork(city["db"], actor="AUDITOR:audit") as w:
        record_finding(w, Caller(name="audit", role=Role.AUDITOR), NewFinding(
            unit_code=u["A2"], source="AUDIT", category="OVER_QUOTA_HIRING", title="超编进人", description="审计发现",
            recommendation="限期消化", responsible_party="西湖区城管局", deadline=date(2027, 6, 30)))
        w.commit()
    assert findings_points() == 7.5
    with pytest.raises(reports.ReportError):
        reports.run_report(city["db"], "evaluation-report", {"unit": a1, "year": "2026"},
                           caller=reports.Caller(name="d", role=Role.ADMIN, region_code=sc.B))


def test_a_hiring_plan_cut_cites_the_units_evaluation(city):
    u = city["units"]
    ids = {c: define(city, "ADMIN", c, 10)["indicator"]["id"] for c in ("ONE",)}
    for unit in (u["A1"], u["A2"]):
        score(city, "ADMIN", ids["ONE"], unit, 6)
        decide(city, "ADMIN", unit)
    q = "query($u: String!) { evaluation(unitCode: $u, year: 2026) { id } }"
    own, other = (gql(city, "ADMIN", q, u=x)["data"]["evaluation"]["id"] for x in (u["A2"], u["A1"]))
    year = office_today().year
    plan = gql(city, "A2", """mutation($u: String!, $y: Int!) { submitHiringPlan(plan: {unitCode: $u, year: $y,
               category: ADMINISTRATIVE, slots: 3, reason: "补充执法力量"}) { ... on HiringPlanPayload { hiringPlan { id } } } }""",
               u=u["A2"], y=year)["data"]["submitHiringPlan"]["hiringPlan"]["id"]
    cut = """mutation($p: ID!, $ok: Boolean!, $n: Int, $e: ID) { decideHiringPlan(id: $p, approve: $ok, approvedSlots: $n,
             comment: "评估结果应用：减少核定用编计划", evaluationId: $e) { __typename
             ... on HiringPlanPayload { hiringPlan { status approvedSlots citedEvaluation { id year unitCode gradeLabel } } }
             ... on InvalidInput { message } ... on ApplicationNotFound { message } ... on NotAllowed { message } } }"""

    def decide_plan(approve, n, evaluation):
        return gql(city, "ADMIN", cut, p=plan, ok=approve, n=n, e=evaluation)["data"]["decideHiringPlan"]

    r = decide_plan(True, 1, other)
    assert r["__typename"] == "InvalidInput" and "not of the plan's unit" in r["message"]
    assert decide_plan(True, 1, "999999")["__typename"] == "ApplicationNotFound"
    assert decide_plan(True, 1, "not-a-number")["__typename"] == "ApplicationNotFound"
    assert decide_plan(True, 3, own)["__typename"] == "InvalidInput"  # not a cut: nothing to cite
    with city["db"].read_session() as s:  # every refusal changed nothing
        row = s.get(HiringPlanRow, int(plan))
        assert (row.status, row.evaluation_id, row.approved_slots) == ("IN_REVIEW", None, None)
    r = decide_plan(True, 1, own)["hiringPlan"]
    assert (r["status"], r["approvedSlots"], r["citedEvaluation"]["id"], r["citedEvaluation"]["unitCode"]) == \
        ("APPROVED", 1, own, u["A2"])
    shown = gql(city, "A2", "{ hiringPlans { edges { node { id citedEvaluation { id year } } } } }")["data"]["hiringPlans"]
    assert shown["edges"][0]["node"] == {"id": plan, "citedEvaluation": {"id": own, "year": 2026}}
    with city["db"].read_session() as s:
        assert s.get(HiringPlanRow, int(plan)).evaluation_id == int(own)
        events = [json.loads(v) for (v,) in s.execute(select(OutboxRow.value).where(OutboxRow.key == f"hiring-plan-{plan}"))]
    approved = [e for e in events if e["type"] == "gov.registry.hiring_plan.approved"]
    assert approved[0]["data"]["evaluation_id"] == int(own)

    # a rejection is a cut too: it may cite the evaluation
    plan = gql(city, "A2", """mutation($u: String!, $y: Int!) { submitHiringPlan(plan: {unitCode: $u, year: $y,
               category: ADMINISTRATIVE, slots: 1, reason: "再补充"}) { ... on HiringPlanPayload { hiringPlan { id } } } }""",
               u=u["A2"], y=year)["data"]["submitHiringPlan"]["hiringPlan"]["id"]
    r = decide_plan(False, None, own)["hiringPlan"]
    assert (r["status"], r["citedEvaluation"]["id"]) == ("REJECTED", own)

def test_the_cli_defines_scores_decides_and_plans_with_one_line_refusals(city):
    from typer.testing import CliRunner

    from hub.cli import app as cli_app

    db, u = city["db"], city["units"]

    def hub(*args):
        return CliRunner().invoke(cli_app, ["--database-url", db.url, *args], env={"COLUMNS": "300"})

    r = hub("evaluation", "indicator", "--year", "2026", "--code", "reform", "--name", "年度重点改革任务", "--max", "20")
    assert r.exit_code == 0, r.output
    indicator = json.loads(r.stdout)["indicator_id"]
    for bad in (["--year", "2026", "--code", "REFORM", "--name", "again", "--max", "5"],  # exists
                ["--year", "2026", "--code", "X", "--name", "n", "--max", "5"],
                ["--year", "2026", "--code", "ABC", "--name", "n", "--max", "500"]):
        r = hub("evaluation", "indicator", *bad)
        assert r.exit_code == 1 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert hub("evaluation", "decide", "--unit", u["A1"], "--year", "2026").exit_code == 1  # not scored yet
    assert hub("evaluation", "score", "--indicator", str(indicator), "--unit", u["A1"], "--score", "30").exit_code == 1
    assert hub("evaluation", "score", "--indicator", str(indicator), "--unit", u["A1"], "--score", "17.5").exit_code == 0
    r = hub("evaluation", "decide", "--unit", u["A1"], "--year", "2026", "--comment", "整改到位")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["unit_code"] == u["A1"] and out["max_score"] == 80.0 and "REFORM" in {i["code"] for i in out["indicators"]}
    # A1 is 1 over its ADMINISTRATIVE quota: a plan to absorb it by a date
    r = hub("absorption", "plan", "--unit", u["A1"], "--category", "ADMINISTRATIVE", "--target", "2099-12-31=0")
    assert r.exit_code == 0 and "excess 1 now" in r.stdout, r.output
    for bad in (["--target", "tomorrow"], ["--target", "2099-12-31=1"], ["--category", "WORKER"]):
        args = {"--unit": u["A1"], "--category": "ADMINISTRATIVE", "--target": "2099-12-31=0"}
        args.update(dict(zip(bad[::2], bad[1::2])))
        r = hub("absorption", "plan", *[x for kv in args.items() for x in kv])
        assert r.exit_code != 0 and "Traceback" not in r.output, (bad, r.output)


def test_bad_years_and_regions_are_one_line_input_errors(city):
    """A year far outside the evaluation's range (99999 overflowed the scorecard's date arithmetic) and a region code
    that is not six digits are BAD_USER_INPUT with a clear message, for every read."""
    u = city["units"]
    for q in ("{ evaluation(unitCode: \"%s\", year: 99999) { score } }" % u["A1"],
              "{ evaluations(year: 99999) { score } }", "{ evaluationIndicators(year: -1) { code } }",
              "{ scorecards(year: 99999) { year } }", "{ scorecards(year: 2026, regionCode: \"西湖\") { year } }",
              "{ absorptionLedger(regionCode: \"33010\") { excess } }", "{ evaluations(year: 2026, regionCode: \"x\") { score } }"):
        err = gql(city, "ADMIN", q)["errors"][0]
        assert err["extensions"]["code"] == "BAD_USER_INPUT", (q, err)
        assert "year" in err["message"] or "division code" in err["message"], (q, err)


def test_a_cut_cites_the_plan_year_s_or_the_previous_year_s_evaluation_only(city):
    """Evaluation ids are plain numbers: an office picking the wrong one cut this year's plan on a result from 2019,
    or from a year after the plan's. A plan of year Y cites an evaluation of Y or Y − 1 (the one that informs "the
    unit's next hiring plan"); any other is refused and changes nothing."""
    u, year = city["units"], office_today().year
    ids = {y: decide(city, "ADMIN", u["A2"], year=y)["evaluation"]["id"] for y in (2019, year - 1, year + 1)}
    plan = gql(city, "A2", """mutation($u: String!, $y: Int!) { submitHiringPlan(plan: {unitCode: $u, year: $y,
               category: ADMINISTRATIVE, slots: 3, reason: "补充执法力量"}) { ... on HiringPlanPayload { hiringPlan { id } } } }""",
               u=u["A2"], y=year)["data"]["submitHiringPlan"]["hiringPlan"]["id"]
    cut = """mutation($p: ID!, $e: ID) { decideHiringPlan(id: $p, approve: false, comment: "减少核定用编计划",
             evaluationId: $e) { __typename ... on InvalidInput { message }
             ... on HiringPlanPayload { hiringPlan { status citedEvaluation { year } } } } }"""
    for y in (2019, year + 1):
        r = gql(city, "ADMIN", cut, p=plan, e=ids[y])["data"]["decideHiringPlan"]
        assert r["__typename"] == "InvalidInput" and str(y) in r["message"], r
    with city["db"].read_session() as s:
        assert (s.get(HiringPlanRow, int(plan)).status, s.get(HiringPlanRow, int(plan)).evaluation_id) == ("IN_REVIEW", None)
    r = gql(city, "ADMIN", cut, p=plan, e=ids[year - 1])["data"]["decideHiringPlan"]
    assert r["hiringPlan"] == {"status": "REJECTED", "citedEvaluation": {"year": year - 1}}, r


def test_an_indicator_defined_while_a_result_is_decided_is_not_missed(city):
    """Defining an indicator holds the year's lock until its commit; a decision of the same year waits for it and
    then sees the new indicator (unscored: refused), instead of deciding without it (the race the session-8 note
    named). Without the lock the decision committed at once with the fixed indicators only."""
    import threading

    from hub.domain.workflows import Caller as WorkflowCaller
    from hub.domain.workflows import WrongState
    from hub.service_layer import evaluation
    from hub.service_layer.unit_of_work import UnitOfWork

    db, a1 = city["db"], city["units"]["A1"]
    office = WorkflowCaller("office", Role.ADMIN)
    defined, outcome = threading.Event(), []

    def decide_meanwhile():
        defined.wait(30)
        try:
            with UnitOfWork(db, actor="ADMIN:office") as uow:
                evaluation.decide(uow, office, unit_code=a1, year=YEAR, comment=None, calendar=load_calendar(None))
                uow.commit()
            outcome.append("decided")
        except WrongState as e:
            outcome.append(str(e))

    deciding = threading.Thread(target=decide_meanwhile)
    deciding.start()
    with UnitOfWork(db, actor="ADMIN:office") as uow:
        evaluation.define_indicator(uow, office, year=YEAR, code="REFORM", name="年度重点改革任务", max_score=10,
                                    scored_by="ADMIN")
        defined.set()
        deciding.join(1.5)  # the decision waits for this transaction (PostgreSQL: the year's lock; SQLite: the writer)
        assert deciding.is_alive(), outcome
        uow.commit()
    deciding.join(30)
    assert outcome == [f"unit {a1} has no score yet on REFORM ({YEAR})"]


def test_the_league_s_rank_is_city_wide_also_for_a_district_office(city):
    """排名 is a unit's place among all the city's decided results; a district office (or a region filter) sees its
    units' city-wide places beside their places in the district (区内排名), and no other district's unit."""
    u = city["units"]
    ref = define(city, "ADMIN", "REFORM", 20)["indicator"]["id"]
    for unit, points in (("A1", 1), ("A2", 2), ("B1", 20)):
        assert score(city, "ADMIN", ref, u[unit], points)["__typename"] == "EvaluationPayload"
        assert decide(city, "ADMIN", u[unit])["__typename"] == "EvaluationPayload"
    city_wide, _ = reports.run_report(city["db"], "evaluation-league", {"year": "2026"},
                                      caller=reports.Caller(name="t", role=Role.ADMIN))
    place = {r[3]: r[0] for r in city_wide.rows}
    assert sorted(place) == sorted([u["A1"], u["A2"], u["B1"]])
    # the check below means something only if a unit of the other district is ahead of one of district A's
    assert any(place[u["B1"]] < place[u[a]] for a in ("A1", "A2")), city_wide.rows
    district, _ = reports.run_report(city["db"], "evaluation-league", {"year": "2026"},
                                     caller=reports.Caller(name="x", role=Role.ADMIN, region_code=sc.A))
    filtered, _ = reports.run_report(city["db"], "evaluation-league", {"year": "2026", "region": sc.A},
                                     caller=reports.Caller(name="t", role=Role.ADMIN))
    for table in (district, filtered):
        assert sorted(r[3] for r in table.rows) == sorted([u["A1"], u["A2"]])
        assert all(r[0] == place[r[3]] for r in table.rows), table.rows
        assert sorted(r[2] for r in table.rows) == [1, 2]
