"""Issue 17, timeliness scorecards: the formulas of docs/supervision.md against the small city of
tests/integration/score_city.py (known answers stated there), on SQLite and PostgreSQL — backdated and future-dated
changes measured from their document's date, a make-up working day and holidays, departures from their effective
date and from the partners' evidence, ranking, trend, calibration; and the report and GraphQL field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hub import reports
from hub.adapters.calendar_file import load_calendar
from hub.api.app import create_app
from hub.domain.vocabulary import Role
from hub.service_layer import scorecards
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests.integration import score_city as sc
from hub.domain.calendar import office_today

CAL = load_calendar(None)


@pytest.fixture
def city(db):
    return sc.build(db)


def cards(db, **kw):
    with db.read_session() as s:
        return scorecards.compute(s, year=2026, today=sc.TODAY, calendar=CAL, **kw)


def test_unit_scorecards_known_answers(city):
    u = city["units"]
    out = cards(city["db"])
    by = {c.code: c for c in out.units}
    a1, a2, b1 = by[u["A1"]].score, by[u["A2"]].score, by[u["B1"]].score
    # the office's changes, from the document's date (not the backdated or future effective date)
    assert (a1.office.prompt, a1.office.total, a1.office.share, a1.undated_changes) == (3, 5, 60.0, 1)
    assert (a1.open_mismatches, a1.oldest_mismatch_days, a1.stale_mismatches) == (1, 120, 1)
    assert (a1.over_quota, a1.leader_over_quota, a1.consistent) == (True, False, False)
    assert a1.points == {"office": 12.0, "departures": 20, "evidence": 15, "mismatches": 12.0, "over_quota": 0.0,
                         "leader_over_quota": 10, "headcount": 0.0}
    assert a1.score == 69.0
    # the units' departures: from the effective date, and from police's report of the death
    assert (a2.departures.prompt, a2.departures.total, a2.evidence.prompt, a2.evidence.total) == (2, 3, 1, 1)
    assert (a2.open_mismatches, a2.consistent, a2.score) == (0, None, 93.3)
    assert (b1.office.prompt, b1.office.total, b1.consistent, b1.score) == (1, 1, True, 100.0)
    assert (by[u["A2"]].rank_in_region, by[u["A1"]].rank_in_region, by[u["B1"]].rank_in_region) == (1, 2, 1)
    assert out.compared_period == "2026-05"


def test_office_cards_calibration_and_trend(city):
    out = cards(city["db"])
    offices = {o.region_code: o for o in out.offices}
    assert [(o.region_code, o.rank) for o in out.offices] == [(sc.B, 1), (sc.A, 2)]
    assert (offices[sc.A].office.prompt, offices[sc.A].office.total, offices[sc.A].units) == (3, 5, 2)
    assert abs(offices[sc.A].average_unit_score - (69.0 + 93.3) / 2) <= 0.05
    assert [(s.source, s.last_clean_period, s.months_since) for s in out.sources] == [
        ("police", "2026-06", 1), ("hr", None, None), ("finance", "2026-05", 2), ("insurance", "2025-12", 7)]
    trend = {(m.month, m.region_code): m for m in out.trend}
    assert sorted(trend) == [("2026-02", sc.A), ("2026-03", sc.A), ("2026-04", sc.A), ("2026-05", sc.A),
                             ("2026-06", sc.A), ("2026-06", sc.B)]
    feb, mar = trend[("2026-02", sc.A)], trend[("2026-03", sc.A)]
    assert (feb.office.prompt, feb.office.total) == (1, 2)  # 2-14 (班) on time, 2-24 late
    assert (mar.office.prompt, mar.office.total, mar.departures.prompt, mar.departures.total,
            mar.evidence.prompt, mar.evidence.total) == (1, 2, 0, 1, 1, 1)
    assert mar.timeliness == round(100 * (20 * 0.5 + 0 + 15) / 55, 1)
    assert trend[("2026-05", sc.A)].office.share == 100.0  # 4-30 → 5-6 over May Day: one working day


def test_a_region_and_a_year_narrow_the_cards(city):
    u = city["units"]
    assert {c.code for c in cards(city["db"], region=sc.B).units} == {u["B1"]}
    with city["db"].read_session() as s:
        last_year = scorecards.compute(s, year=2025, today=sc.TODAY, calendar=CAL)
    # the city's set-up in 2025 was recorded without registered documents: undated, nothing to measure
    assert all(c.score.office.total == 0 for c in last_year.units) and not last_year.trend


def test_scorecards_report_and_graphql(city):
    db, u = city["db"], city["units"]
    table, _ = reports.run_report(db, "scorecards", {"year": "2026"}, caller=reports.Caller(name="t", role=Role.ADMIN),
                                  today=sc.TODAY)
    rows = {r[2]: dict(zip(table.columns, r)) for r in table.rows}
    assert rows[u["A1"]]["score"] == 69.0 and rows[u["A1"]]["changes_prompt_pct"] == 60.0
    assert rows[u["A1"]]["rank"] == 2 and rows[u["A2"]]["departures_prompt_pct"] == 66.7
    offices, _ = reports.run_report(db, "scorecard-offices", {"year": "2026"},
                                    caller=reports.Caller(name="t", role=Role.AUDITOR), today=sc.TODAY)
    assert [(r[0], r[1]) for r in offices.rows] == [(1, sc.B), (2, sc.A)]
    trend, _ = reports.run_report(db, "scorecard-trend", {"year": "2026", "region": sc.A},
                                  caller=reports.Caller(name="t", role=Role.ORGANIZATION), today=sc.TODAY)
    march = next(r for r in trend.rows if r[0] == "2026-03")
    assert march == ["2026-03", sc.A, 2, 50.0, 1, 0.0, 1, 100.0, round(100 * 25 / 55, 1)]
    assert [r[0] for r in trend.rows] == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    district = reports.Caller(name="d", role=Role.ADMIN, region_code=sc.B)
    t, _ = reports.run_report(db, "scorecards", {"year": "2026"}, caller=district, today=sc.TODAY)
    assert [r[2] for r in t.rows] == [u["B1"]]
    t, _ = reports.run_report(db, "scorecards", {"year": "2026", "region": sc.A}, caller=district, today=sc.TODAY)
    assert t.rows == []
    with pytest.raises(reports.ReportForbidden):
        reports.run_report(db, "scorecards", {}, caller=reports.Caller(name="m", role=Role.MONITOR), today=sc.TODAY)

    client = TestClient(create_app(db), raise_server_exceptions=False)
    q = """query($y: Int!, $r: String) { scorecards(year: $y, regionCode: $r) {
             year units { unitCode regionCode rankInRegion score officeChanges officePrompt overQuota consistent }
             offices { regionCode rank officeChanges officePrompt averageUnitScore }
             sources { source lastCleanPeriod monthsSince } trend { month regionCode timeliness } } }"""

    def ask(token, region=None):
        return client.post("/graphql", json={"query": q, "variables": {"y": 2026, "r": region}},
                           headers={"Authorization": f"Bearer {token}"}).json()

    admin = create_token(db, role="ADMIN", name="a")[1]
    data = ask(admin)["data"]["scorecards"]
    got = {c["unitCode"]: c for c in data["units"]}
    assert set(got) == set(u.values())  # every unit of this city (a fresh database)
    assert (got[u["A1"]]["score"], got[u["A1"]]["officeChanges"], got[u["A1"]]["officePrompt"]) != (None, None, None)
    assert {o["regionCode"] for o in data["offices"]} == {sc.A, sc.B}
    xihu = create_token(db, role="ADMIN", name="x", region_code=sc.A)[1]
    assert {c["unitCode"] for c in ask(xihu)["data"]["scorecards"]["units"]} == {u["A1"], u["A2"]}
    assert ask(xihu, sc.B)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    unit = create_token(db, role="UNIT", name="u", unit_code=u["A2"])[1]
    mine = ask(unit)["data"]["scorecards"]
    assert [c["unitCode"] for c in mine["units"]] == [u["A2"]] and mine["units"][0]["rankInRegion"] == 1
    assert mine["offices"] == []
    for role in ("MONITOR", "POLICE", "HR", "FINANCE", "INSURANCE"):
        token = create_token(db, role=role, name=role.lower())[1]
        assert ask(token)["errors"][0]["extensions"]["code"] == "FORBIDDEN", role


def test_a_bulk_import_is_not_the_offices_daily_work(db, tmp_path):
    """`hub import` writes every version with document number "import" in one step: no change of the scorecard (its
    operation-log entry is registry.import, not an office step), neither measured nor undated."""
    from datetime import date

    from hub.service_layer.importer import import_registry
    from tests.factories import id_number, unit_code
    from tests.registry_csv import write_registry

    units = [{"code": unit_code(), "name": f"导入单位{i}"} for i in range(3)]
    idn = id_number()
    import_registry(db, write_registry(tmp_path / "reg", units=units, persons=[(idn, "丙")],
                                       postings=[(idn, units[0]["code"], "ADMINISTRATIVE")]))
    with db.read_session() as s:
        out = scorecards.compute(s, year=office_today().year, today=office_today(), calendar=CAL)
    assert {c.code for c in out.units} == {u["code"] for u in units}
    assert all((c.score.office.total, c.score.undated_changes) == (0, 0) for c in out.units)


def test_aliased_scorecards_ledgers_and_evaluations_are_counted_like_reports(db):
    """`scorecards`, `absorptionLedger` and `evaluation` (a preview computes the year's scorecard) scan the registry as
    a report does: thirty aliases in one request ran thirty scans; each now costs FIXED_COST, so six are refused."""
    client = TestClient(create_app(db), raise_server_exceptions=False)
    admin = create_token(db, role="ADMIN", name="a")[1]
    code = sc.unit(db, "测试局", sc.A, "FULL", {"ADMINISTRATIVE": 1})
    for field in ("scorecards(year: 2026) { year }", "absorptionLedger { excess }",
                  'evaluation(unitCode: "%s", year: 2026) { score }' % code):
        def ask(n):
            doc = "{ %s }" % " ".join(f"a{i}: {field}" for i in range(n))
            return client.post("/graphql", json={"query": doc}, headers={"Authorization": f"Bearer {admin}"}).json()
        ok = ask(5)
        assert "errors" not in ok and len(ok["data"]) == 5, (field, ok)
        refused = ask(6)
        assert refused.get("data") is None and refused["errors"][0]["extensions"]["code"] == "COST_LIMIT", (field, refused)


def test_office_dates_not_utc_dates_decide_the_day_and_the_year(db):
    """07:00 on Tuesday in the office is still Monday in UTC: the change is late (2 working days after Friday's
    document), and 00:30 on 1 January 2027 in the office (2026 in UTC) belongs to 2027."""
    from datetime import date

    code = sc.unit(db, "萧山区财政局", "330109", "FULL", {"ADMINISTRATIVE": 3})
    sc.document(db, "X1", date(2026, 3, 6))
    sc.document(db, "X2", date(2026, 12, 31))
    with sc.uow(db, date(2026, 3, 10), 7) as w:
        sc.registry.set_quota(w, unit_code=code, category="ADMINISTRATIVE", approved=4, document_number="X1",
                              effective=date(2026, 3, 6))
        w.commit()
    with UnitOfWork(db, actor="ADMIN:office", now=sc.at(date(2027, 1, 1), 0) + timedelta(minutes=30)) as w:
        sc.registry.set_quota(w, unit_code=code, category="ADMINISTRATIVE", approved=5, document_number="X2",
                              effective=date(2027, 1, 1))
        w.commit()
    with db.read_session() as s:
        y2026 = scorecards.compute(s, year=2026, today=date(2027, 1, 2), calendar=CAL, region="330109").units[0]
        y2027 = scorecards.compute(s, year=2027, today=date(2027, 1, 2), calendar=CAL, region="330109").units[0]
    assert (y2026.score.office.prompt, y2026.score.office.total) == (0, 1)
    assert (y2027.score.office.prompt, y2027.score.office.total) == (1, 1)


def test_an_abolished_unit_s_changes_still_count_for_its_district_office(db):
    """unit.abolish is an office change (docs/supervision.md), but the cards read active units only, so a unit
    abolished late — or abolished at all — dropped every change of the year from its district office's card and trend:
    abolishing a unit two weeks after its document cost the office nothing. The unit itself has no card any more."""
    from datetime import date

    kept = sc.unit(db, "临平区水利局", "330113", "FULL", {"ADMINISTRATIVE": 3})
    gone = sc.unit(db, "临平区撤并中心", "330113", "FULL", {})
    sc.document(db, "撤1", date(2026, 3, 6))
    with sc.uow(db, date(2026, 3, 20)) as w:
        sc.registry.abolish_unit(w, code=gone, document_number="撤1", effective=date(2026, 3, 6))
        w.commit()
    with db.read_session() as s:
        out = scorecards.compute(s, year=2026, today=date(2026, 7, 1), calendar=CAL, region="330113")
    assert [c.code for c in out.units] == [kept]
    [office] = out.offices
    assert (office.office.prompt, office.office.total, office.units) == (0, 1, 1)
    assert [(m.month, m.office.total, m.office.prompt) for m in out.trend] == [("2026-03", 1, 0)]


def test_an_abolished_unit_s_own_timeliness_is_measured_not_zero(db):
    """The annual evaluation reads a unit's timeliness through unit_timeliness; for a unit abolished during the year
    it found no card and answered 0 — the unit lost all 15 TIMELINESS points for having been abolished."""
    from datetime import date

    gone = sc.unit(db, "富阳区撤并办", "330111", "FULL", {})
    sc.document(db, "撤2", date(2026, 3, 9))
    with sc.uow(db, date(2026, 3, 9)) as w:  # abolished on its document's day: on time
        sc.registry.abolish_unit(w, code=gone, document_number="撤2", effective=date(2026, 3, 9))
        w.commit()
    with db.read_session() as s:
        assert scorecards.unit_timeliness(s, unit_code=gone, year=2026, today=date(2026, 7, 1), calendar=CAL) == 100.0
        assert scorecards.compute(s, year=2026, today=date(2026, 7, 1), calendar=CAL, region="330111").units == []
