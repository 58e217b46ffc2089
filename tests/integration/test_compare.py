"""`hub compare`: absence kinds, 三数一致, idempotent reruns, bad rows, roster export (SQLite and PostgreSQL)."""

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from hub.adapters.orm import MismatchRow, OutboxRow, PartnerPayrollRow
from hub.service_layer.comparison.pipeline import run_compare
from hub.service_layer.comparison.report import CompareRejected
from hub.service_layer.comparison.roster import export_roster
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person, make_unit

P = "2026-10"


def write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def finance_csv(path, lines):
    return write_csv(path, ["id_number", "name", "unit_code", "period", "gross_amount"],
                     [[i, n, u, P, "8000.00"] for i, n, u in lines])


def open_of(db, kind):
    with db.read_session() as s:
        return {(m.subject, m.unit_code): json.loads(m.details) for m in s.execute(
            select(MismatchRow).where(MismatchRow.kind == kind, MismatchRow.status == "OPEN")).scalars()}


def count(db, model):
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_identity_unknown_opens_for_a_person_police_lacks_and_resolves_when_police_knows_them(db, tmp_path):
    a, b = make_person(db, name="甲"), make_person(db, name="乙")
    from hub.domain.identifiers import parse_id_number

    def police(path, people):
        return write_csv(path, ["id_number", "name", "gender", "birth_date", "status"],
                         [[i, n, parse_id_number(i).gender, parse_id_number(i).birth_date, "ALIVE"] for i, n in people])

    run_compare(db, source="police", period=P, path=police(tmp_path / "p1.csv", [(a, "甲")]))
    assert set(open_of(db, "IDENTITY_UNKNOWN")) == {(b, "")}
    report = run_compare(db, source="police", period=P, path=police(tmp_path / "p2.csv", [(a, "甲"), (b, "乙")]))
    assert open_of(db, "IDENTITY_UNKNOWN") == {} and report.tally.resolved == {"IDENTITY_UNKNOWN": 1}


def test_unpaid_posting_and_insurance_missing_open_and_resolve_with_the_next_snapshot(db, tmp_path):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, funding="FULL")
    a, b = make_person(db, name="甲"), make_person(db, name="乙")
    hire(db, a, unit)
    hire(db, b, unit)
    run_compare(db, source="finance", period=P, path=finance_csv(tmp_path / "f1.csv", [(a, "甲", unit)]))
    assert set(open_of(db, "UNPAID_POSTING")) == {(b, unit)}
    run_compare(db, source="finance", period=P, path=finance_csv(tmp_path / "f2.csv", [(a, "甲", unit), (b, "乙", unit)]))
    assert open_of(db, "UNPAID_POSTING") == {}

    ins = lambda path, people: write_csv(path, ["id_number", "name", "employer_code", "period", "base_amount", "status"],  # noqa: E731
                                         [[i, n, unit, P, "7000.00", st] for i, n, st in people])
    run_compare(db, source="insurance", period=P, path=ins(tmp_path / "i1.csv", [(a, "甲", "ACTIVE"), (b, "乙", "SUSPENDED")]))
    assert set(open_of(db, "INSURANCE_MISSING")) == {(b, unit)}
    run_compare(db, source="insurance", period=P, path=ins(tmp_path / "i2.csv", [(a, "甲", "ACTIVE"), (b, "乙", "ACTIVE")]))
    assert open_of(db, "INSURANCE_MISSING") == {}


def test_three_numbers_for_a_ghost_a_missing_pay_line_and_an_over_quota_unit(db, tmp_path):
    ghost_unit = make_unit(db, approved={"ADMINISTRATIVE": 3})
    gap_unit = make_unit(db, approved={"ADMINISTRATIVE": 3})
    over_unit = make_unit(db, approved={"ADMINISTRATIVE": 2})
    fine_unit = make_unit(db, approved={"ADMINISTRATIVE": 2})
    staff = {u: [make_person(db) for _ in range(2)] for u in (ghost_unit, gap_unit, over_unit, fine_unit)}
    for u, people in staff.items():
        for p in people:
            hire(db, p, u)
    from hub.service_layer import registry_changes
    from hub.service_layer.unit_of_work import UnitOfWork
    from datetime import date

    with UnitOfWork(db, actor="test") as uow:  # a legacy quota cut leaves over_unit over quota
        registry_changes.set_quota(uow, unit_code=over_unit, category="ADMINISTRATIVE", approved=1, document_number="x", effective=date(2024, 1, 1))
        uow.commit()
    ghost = id_number()
    lines = [(p, "某", u) for u, people in staff.items() for p in people if not (u == gap_unit and p == people[1])]
    lines.append((ghost, "鬼", ghost_unit))
    run_compare(db, source="finance", period=P, path=finance_csv(tmp_path / "f.csv", lines))
    found = open_of(db, "HEADCOUNT_INCONSISTENT")
    assert found[(ghost_unit, ghost_unit)] == {"period": P, "approved": 3, "actual": 2, "paid": 3}
    assert found[(gap_unit, gap_unit)] == {"period": P, "approved": 3, "actual": 2, "paid": 1}
    assert found[(over_unit, over_unit)] == {"period": P, "approved": 1, "actual": 2, "paid": 2}
    assert (fine_unit, fine_unit) not in found
    assert set(open_of(db, "GHOST_PAYROLL")) == {(ghost, ghost_unit)}  # the streaming rules, via compare
    assert set(open_of(db, "UNPAID_POSTING")) == {(staff[gap_unit][1], gap_unit)}


def test_rerunning_the_same_compare_changes_nothing_and_publishes_nothing(db, tmp_path):
    unit = make_unit(db)
    a, b = make_person(db), make_person(db)
    hire(db, a, unit)
    hire(db, b, unit)
    f = finance_csv(tmp_path / "f.csv", [(a, "张伟", unit), (id_number(), "鬼", unit)])
    first = run_compare(db, source="finance", period=P, path=f)
    assert first.tally.opened  # something to be idempotent about
    before = (count(db, MismatchRow), count(db, OutboxRow), count(db, PartnerPayrollRow))
    second = run_compare(db, source="finance", period=P, path=f)
    assert (count(db, MismatchRow), count(db, OutboxRow), count(db, PartnerPayrollRow)) == before
    assert second.tally.opened == {} and second.tally.updated == {} and second.tally.resolved == {}


def test_bad_rows_are_reported_with_line_numbers_and_change_nothing_unless_skipped(db, tmp_path):
    unit = make_unit(db)
    a = make_person(db)
    good = id_number()
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    f = write_csv(tmp_path / "ins.csv", ["id_number", "name", "employer_code", "period", "base_amount", "status"], [
        [a, "甲", unit, P, "7000.00", "ACTIVE"],          # line 2 ok
        [bad_check, "乙", unit, P, "7000.00", "ACTIVE"],  # line 3 invalid ID
        [good, "丙", unit, P, "7000.00", "PAUSED"],       # line 4 unknown enum
        [good, "丙", unit, "2026-09", "7000.00", "ACTIVE"],  # line 5 wrong period
        [a, "甲", unit, P, "7000.00", "ACTIVE"],          # line 6 duplicate person
    ])
    with pytest.raises(CompareRejected) as e:
        run_compare(db, source="insurance", period=P, path=f)
    errs = {r.line: r.reason for r in e.value.report.bad_rows}
    assert "check character" in errs[3] and "status" in errs[4] and "not the compared period" in errs[5]
    assert "duplicate person" in errs[6] and "line 2" in errs[6] and 2 not in errs
    assert count(db, MismatchRow) == 0
    report = run_compare(db, source="insurance", period=P, path=f, skip_bad_rows=True)
    assert report.rows == 1 and len(report.bad_rows) == 4


def test_export_roster_lists_who_should_be_paid_by_which_unit(db):
    full, self_funded = make_unit(db, funding="FULL"), make_unit(db, funding="SELF")
    a, b = make_person(db, name="甲"), make_person(db, name="乙")
    hire(db, a, full)
    hire(db, b, self_funded)
    out = io.StringIO()
    assert export_roster(db, period=P, for_="finance", out=out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == [{"id_number": a, "name": "甲", "unit_code": full, "unit_name": "杭州市测试局", "funding": "FULL",
                     "category": "ADMINISTRATIVE", "period": P}]
    out = io.StringIO()
    assert export_roster(db, period=P, for_="insurance", out=out) == 2


def test_cli_compare_prints_a_summary_by_kind_and_export_writes_the_roster(db_url, tmp_path):
    from typer.testing import CliRunner

    from hub.adapters.database import connect
    from hub.cli import app

    db = connect(db_url)
    unit = make_unit(db)
    a = make_person(db, name="甲")
    hire(db, a, unit)
    db.dispose()
    f = finance_csv(tmp_path / "f.csv", [(id_number(), "鬼", unit)])
    r = CliRunner().invoke(app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P, str(f), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["by_kind"]["GHOST_PAYROLL"]["opened"] == 1 and out["by_kind"]["UNPAID_POSTING"]["still_open"] == 1
    r = CliRunner().invoke(app, ["--database-url", db_url, "compare", "--source", "finance", "--period", "2026-13", str(f)])
    assert r.exit_code == 1 and "YYYY-MM" in r.output
    roster = tmp_path / "roster.csv"
    r = CliRunner().invoke(app, ["--database-url", db_url, "export", "roster", "--period", P, "--for", "finance", "--out", str(roster)])
    assert r.exit_code == 0 and a in roster.read_text(encoding="utf-8")


def test_start_comparison_over_graphql_and_headcount_consistency_report(db, tmp_path):
    import time

    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.config import load_settings
    from hub.service_layer.tokens import create_token

    unit = make_unit(db, approved={"ADMINISTRATIVE": 3})
    a, b = make_person(db), make_person(db)
    hire(db, a, unit)
    hire(db, b, unit)
    f = finance_csv(tmp_path / "f.csv", [(a, "张伟", unit)])
    client = TestClient(create_app(db, settings=load_settings(comparison_dir=tmp_path)))  # startComparison reads there
    _, admin = create_token(db, role="ADMIN", name="office")
    _, hr = create_token(db, role="HR", name="hr")
    post = lambda tok, query, v=None: client.post("/graphql", json={"query": query, "variables": v or {}},  # noqa: E731
                                                 headers={"Authorization": f"Bearer {tok}"}).json()
    start = 'mutation($p: String!) { startComparison(source: "finance", period: "2026-10", path: $p) { __typename ... on ComparisonStarted { comparisonId } ... on InvalidInput { message field } } }'
    assert post(hr, start, {"p": str(f)})["data"]["startComparison"]["__typename"] == "NotAllowed"
    assert post(admin, start, {"p": str(tmp_path / "missing.csv")})["data"]["startComparison"]["field"] == "path"
    cid = post(admin, start, {"p": str(f)})["data"]["startComparison"]["comparisonId"]
    deadline = time.monotonic() + 30
    while True:
        c = post(admin, "query($i: ID!) { comparison(id: $i) { status summary } }", {"i": cid})["data"]["comparison"]
        if c["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert c["status"] == "SUCCEEDED" and c["summary"]["by_kind"]["UNPAID_POSTING"]["opened"] == 1
    r = post(admin, '{ headcountConsistency(period: "2026-10", inconsistentOnly: true) { totalCount edges { node { unit { code } approved actual paid consistent } } } }')
    assert r["data"]["headcountConsistency"]["edges"][0]["node"] == {"unit": {"code": unit}, "approved": 3, "actual": 2, "paid": 1, "consistent": False}


def test_headcount_consistency_resolver_and_comparison_judge_the_same_units(db, tmp_path):
    """三数一致 has one home: the resolver lists exactly the units the comparison judges (an abolished fiscally funded
    unit that finance still pays is inconsistent for both), with the same three numbers."""
    from datetime import date

    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.config import load_settings
    from hub.service_layer import registry_changes
    from hub.service_layer.tokens import create_token
    from hub.service_layer.unit_of_work import UnitOfWork

    live = make_unit(db, approved={"ADMINISTRATIVE": 3})
    gone = make_unit(db, approved={"ADMINISTRATIVE": 2})
    a = make_person(db)
    hire(db, a, live)
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.abolish_unit(uow, code=gone, effective=date(2025, 1, 1))
        uow.commit()
    run_compare(db, source="finance", period=P, path=finance_csv(tmp_path / "f.csv", [(a, "甲", live), (id_number(), "乙", gone)]))
    compared = {u: (d["approved"], d["actual"], d["paid"]) for (u, _), d in open_of(db, "HEADCOUNT_INCONSISTENT").items()}
    assert gone in compared  # the comparison judges the abolished unit still paid

    client = TestClient(create_app(db, settings=load_settings(comparison_dir=tmp_path)))
    _, admin = create_token(db, role="ADMIN", name="office")
    r = client.post("/graphql", headers={"Authorization": f"Bearer {admin}"}, json={"query": '{ headcountConsistency('
                    'period: "2026-10", inconsistentOnly: true) { edges { node { unit { code } approved actual paid } } } }'}).json()
    listed = {e["node"]["unit"]["code"]: (e["node"]["approved"], e["node"]["actual"], e["node"]["paid"])
              for e in r["data"]["headcountConsistency"]["edges"]}
    assert listed == compared
