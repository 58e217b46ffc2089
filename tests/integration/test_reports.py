"""Issue 16, reports: the catalogue, its four formats, the CLI and GraphQL fields, and each report's known answers on
the small city of tests/integration/report_city.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import openpyxl
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from hub import reports
from hub.adapters.orm import AccessLogRow, MismatchRow, OperationLogRow
from hub.api.app import create_app
from hub.cli import app as cli_app
from hub.domain.vocabulary import MismatchKind, Role
from hub.reports import render
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests.e2e.test_graphiql_offline import IN_CI, chromium_executable
from tests.integration import report_city as rc
from hub.domain.calendar import office_today

ADMIN = reports.Caller(name="test", role=Role.ADMIN)


def run(db, name, params=None, caller=ADMIN, today=rc.TODAY):
    table, reads = reports.run_report(db, name, params or {}, caller=caller, today=today)
    return table, reads


def rows(db, name, params=None, caller=ADMIN, today=rc.TODAY):
    return run(db, name, params, caller, today)[0].rows


@pytest.fixture
def city(db):
    return rc.build(db)


def test_every_report_declares_title_purpose_params_and_columns():
    cat = reports.catalogue()
    assert {"quota-use", "open-mismatches"} <= set(cat)
    for name, r in cat.items():
        assert r.name == name and re.fullmatch(r"[a-z]+(-[a-z]+)*", name)
        assert re.search(r"[\u4e00-\u9fff]", r.title) and re.search(r"[A-Za-z]", r.title), r.title
        assert r.purpose and "\n" not in r.purpose
        keys = [c.key for c in r.columns]
        assert len(keys) == len(set(keys)) and all(re.search(r"[\u4e00-\u9fff]", c.label) for c in r.columns)
        for p in r.params:
            assert p.type in ("int", "period", "date", "unit", "region", "choice") and p.help
        assert r.roles


# --- quota-use ------------------------------------------------------------------------------------------------------

def test_quota_use_known_answers(city):
    db, u = city["db"], city["units"]
    rc.plan(db, u["school"], 1, office_today().year)
    got = rows(db, "quota-use", today=office_today())
    assert [r[:6] for r in got] == sorted([
        [u["bureau"], "ADMINISTRATIVE", 3, 2, 0, 1],
        [u["bureau"], "WORKER", 1, 1, 0, 0],
        [u["branch"], "ADMINISTRATIVE", 0, 1, 0, -1],
        [u["school"], "PUBLIC_INSTITUTION", 3, 1, 1, 1],  # 周七 left; one slot reserved by the plan
        [u["street"], "ADMINISTRATIVE", 2, 1, 0, 1],
    ])
    assert got[0][6:] == ["杭州市财政局", "330100"]
    assert [r[:2] for r in rows(db, "quota-use", {"region": "330106"})] == sorted(
        [[u["branch"], "ADMINISTRATIVE"], [u["street"], "ADMINISTRATIVE"]])
    full = rows(db, "quota-use", {"only": "full"}, today=office_today())
    assert sorted((r[0], r[1]) for r in full) == sorted([(u["bureau"], "WORKER"), (u["branch"], "ADMINISTRATIVE")])
    assert [r[0] for r in rows(db, "quota-use", {"unit": u["school"]})] == [u["school"]]


def test_bad_parameters_are_refused_clearly(city):
    db = city["db"]
    for params, message in (({"region": "33"}, "six-digit"), ({"only": "some"}, "not one of"),
                            ({"colour": "red"}, "has no parameter colour"), ({"unit": "nonsense"}, "parameter unit")):
        with pytest.raises(reports.ReportError, match=message):
            run(db, "quota-use", params)
    with pytest.raises(reports.ReportError, match="no report named"):
        run(db, "quota-usage")
    with pytest.raises(reports.ReportForbidden, match="may not read report"):
        run(db, "quota-use", caller=reports.Caller(name="u", role=Role.UNIT, unit_code=city["units"]["school"]))


# --- open-mismatches ------------------------------------------------------------------------------------------------

def _mismatch(db, kind, subject, unit, detected: datetime):
    with UnitOfWork(db, actor="test") as uow:
        row = MismatchBook(uow).open_or_update(kind, subject=subject, unit_code=unit, source="finance", details={"period": "2026-06"})
        uow.session.flush()
        rid = row.id
        uow.commit()
    with db.session() as s, s.begin():
        s.execute(update(MismatchRow).where(MismatchRow.id == rid).values(detected_at=detected))


def test_open_mismatches_known_answers(city):
    db, u, p = city["db"], city["units"], city["people"]
    at = lambda days: datetime.combine(rc.TODAY - timedelta(days=days), datetime.min.time(), tzinfo=timezone.utc)  # noqa: E731
    with db.session() as s, s.begin():  # the branch's OVER_QUOTA (opened by the cut) is 40 days old
        s.execute(update(MismatchRow).where(MismatchRow.kind == "OVER_QUOTA").values(detected_at=at(40)))
    _mismatch(db, MismatchKind.UNPAID_POSTING, p["赵四"], u["school"], at(10))
    _mismatch(db, MismatchKind.UNPAID_POSTING, p["李二"], u["bureau"], at(45))
    _mismatch(db, MismatchKind.UNPAID_POSTING, p["张一"], u["bureau"], at(5))
    _mismatch(db, MismatchKind.RETIREMENT_DUE, p["张一"], u["bureau"], at(3))
    got = rows(db, "open-mismatches")
    assert got == [
        ["UNPAID_POSTING", u["bureau"], "杭州市财政局", 2, 45, 1],
        ["OVER_QUOTA", u["branch"], "西湖区财政局", 1, 40, 1],
        ["RETIREMENT_DUE", u["bureau"], "杭州市财政局", 1, 3, 0],
        ["UNPAID_POSTING", u["school"], "杭州市第一中学", 1, 10, 0],
    ]
    assert [r[3:] for r in rows(db, "open-mismatches", {"kind": "UNPAID_POSTING", "older_than": "7"})] == [[2, 45, 1], [1, 10, 1]]
    # MONITOR: no birth-date kinds (docs/access.md); a district ADMIN: its district only
    monitor = reports.Caller(name="m", role=Role.MONITOR)
    assert "RETIREMENT_DUE" not in {r[0] for r in rows(db, "open-mismatches", caller=monitor)}
    district = reports.Caller(name="d", role=Role.ADMIN, region_code=rc.DISTRICT)
    assert [r[:2] for r in rows(db, "open-mismatches", caller=district)] == [["OVER_QUOTA", u["branch"]]]


# --- formats --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_csv_and_xlsx_exports(city, tmp_path):
    db = city["db"]
    evil = rc._unit(db, name="=HYPERLINK(\"http://x\")局", approved={"ADMINISTRATIVE": 1})
    table, _ = run(db, "quota-use", {"unit": evil})
    text = render.to_csv(table)
    lines = text.splitlines()
    assert lines[0] == "unit,category,approved,used,reserved,available,unit_name,region"  # the header is the columns
    assert lines[1] == f'{evil},ADMINISTRATIVE,1,0,0,1,"\'=HYPERLINK(""http://x"")局",330100'  # data, not a formula
    full, _ = run(db, "quota-use", {})
    wb = openpyxl.load_workbook(io.BytesIO(render.to_xlsx([full, table])))
    assert wb.sheetnames == ["quota-use", "quota-use~2"]
    ws = wb["quota-use"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0][0] == "用编余量表 Quota use"
    assert values[1][:3] == ["单位代码", "编制类型", "核定数"]
    assert values[2] == full.columns
    assert [list(v) for v in values[3:]] == full.rows  # numbers stay numbers
    cell = wb["quota-use~2"]["G4"]
    assert cell.value == '=HYPERLINK("http://x")局' and cell.data_type == "s"  # text, not a formula


def _pdf_of(html: str, tmp_path) -> pypdf.PdfReader:
    exe = chromium_executable()
    if exe is None:
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--print-to-pdf={pdf}", page.as_uri()], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return pypdf.PdfReader(pdf)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_html_prints_on_a4_with_header_date_and_page_numbers(city, tmp_path):
    """Headless Chromium prints the page: A4, the office and the title at the top of every page, the column
    header repeated, 第 n 页 / 共 m 页 at the foot. (Without a CJK font installed the Chinese comes out empty: the
    checks hold either way.)"""
    db = city["db"]
    for i in range(60):
        rc._unit(db, name=f"测试单位{i}", approved={"ADMINISTRATIVE": i + 1})
    table, _ = run(db, "quota-use", {"region": "330100"})
    html = render.to_html(table, office="杭州市委编办 Hangzhou Office")
    assert "<script" not in html and "http" not in html  # nothing to load: prints offline
    pdf = _pdf_of(html, tmp_path)
    n = len(pdf.pages)
    assert n >= 2
    for i, page in enumerate(pdf.pages, start=1):
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
        # NFKC: with some fonts Chromium sets "ffi" as one ligature glyph, which pypdf extracts as "ﬃ"
        text = unicodedata.normalize("NFKC", page.extract_text().replace("\x00", ""))
        assert "Hangzhou Office" in text and "Quota use" in text
        # 第 i 页 / 共 n 页 (without a CJK font the Chinese characters come out empty)
        # (Noto CJK shares the glyph of 页 with the radical ⻚, which is what pypdf extracts)
        assert re.search(rf"(第\s*)?\b{i}\s*([页⻚]\s*)?/\s*(共\s*)?{n}\b", text), text[:200]
        assert "category" in text  # the table header on every page
    assert rc.TODAY.isoformat() in pdf.pages[0].extract_text()  # 制表日期


# --- CLI ------------------------------------------------------------------------------------------------------------

def _cli(db, *args):
    return CliRunner().invoke(cli_app, ["--database-url", db.url, *args])


def test_cli_report_formats_and_errors(city, tmp_path):
    db, u = city["db"], city["units"]
    r = _cli(db, "report")
    assert r.exit_code == 0 and "quota-use" in r.output and "open-mismatches" in r.output
    r = _cli(db, "report", "quota-use", "--param", "region=330106", "--format", "csv")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "unit,category,approved,used,reserved,available,unit_name,region"
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted([u["branch"], u["street"]])
    out = tmp_path / "q.xlsx"
    r = _cli(db, "report", "quota-use", "--format", "xlsx", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert openpyxl.load_workbook(out)["quota-use"].max_row == 3 + 5
    out = tmp_path / "q.html"
    r = CliRunner().invoke(cli_app, ["--database-url", db.url, "report", "open-mismatches", "--format", "html",
                                     "--out", str(out)], env={"HUB_OFFICE_NAME": "杭州市西湖区委编办"})
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert "未处理比对问题" in page and '<div class="office">杭州市西湖区委编办</div>' in page  # HUB_OFFICE_NAME
    r = _cli(db, "report", "quota-use", "--format", "table")
    assert r.exit_code == 0 and "用编余量表 Quota use" in r.stdout and "330106" in r.stdout
    with db.read_session() as s:
        ops_before = s.scalar(select(OperationLogRow.seq).order_by(OperationLogRow.seq.desc()).limit(1))
    for args, message in ((["quota-use", "--param", "region"], "KEY=VALUE"),
                          (["quota-use", "--param", "region=3301"], "six-digit"),
                          (["quota-use", "--format", "pdf"], "unknown format"),
                          (["quota-use", "--format", "xlsx"], "--out"),
                          (["nothing-here"], "no report named")):
        r = _cli(db, "report", *args)
        assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output, (args, r.output)
    with db.read_session() as s:
        assert s.scalar(select(OperationLogRow.seq).order_by(OperationLogRow.seq.desc()).limit(1)) == ops_before


# --- GraphQL --------------------------------------------------------------------------------------------------------

def _gql(client, token, query, variables=None, purpose="核查"):
    headers = {"Authorization": f"Bearer {token}"}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    return client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()


REPORT_Q = "query($n: String!, $p: JSON) { report(name: $n, params: $p) { name title columns rows } }"


def test_graphql_reports_roles_and_district(city):
    db, u = city["db"], city["units"]
    client = TestClient(create_app(db))
    tok = {r: create_token(db, role=r, name=r.lower())[1] for r in ("ADMIN", "MONITOR", "POLICE")}
    tok["UNIT"] = create_token(db, role="UNIT", name="school", unit_code=u["school"])[1]
    tok["DISTRICT"] = create_token(db, role="ADMIN", name="xihu", region_code=rc.DISTRICT)[1]
    r = _gql(client, tok["ADMIN"], "{ reports { name title params columns } }")
    names = [x["name"] for x in r["data"]["reports"]]
    assert names == list(reports.catalogue())
    q = next(x for x in r["data"]["reports"] if x["name"] == "quota-use")
    assert q["columns"][:6] == ["unit", "category", "approved", "used", "reserved", "available"]
    assert {p["name"]: p["type"] for p in q["params"]} == {"region": "region", "unit": "unit", "only": "choice"}
    assert _gql(client, tok["UNIT"], "{ reports { name } }")["data"]["reports"] == []
    r = _gql(client, tok["ADMIN"], REPORT_Q, {"n": "quota-use", "p": {"region": "330106"}})
    assert r["data"]["report"]["columns"][:6] == ["unit", "category", "approved", "used", "reserved", "available"]
    assert sorted(row[0] for row in r["data"]["report"]["rows"]) == sorted([u["branch"], u["street"]])
    r = _gql(client, tok["DISTRICT"], REPORT_Q, {"n": "quota-use"})  # a district office: its district only
    assert sorted(row[0] for row in r["data"]["report"]["rows"]) == sorted([u["branch"], u["street"]])
    r = _gql(client, tok["MONITOR"], REPORT_Q, {"n": "quota-use"})
    assert len(r["data"]["report"]["rows"]) == 5
    for who in ("UNIT", "POLICE"):
        r = _gql(client, tok[who], REPORT_Q, {"n": "quota-use"})
        assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN", r
    r = _gql(client, tok["ADMIN"], REPORT_Q, {"n": "quota-use", "p": {"region": "33"}})
    assert r["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "six-digit" in r["errors"][0]["message"]
    r = _gql(client, tok["ADMIN"], REPORT_Q, {"n": "quota-use", "p": ["x"]})
    assert r["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    r = _gql(client, tok["ADMIN"], REPORT_Q, {"n": "nope"})
    assert "no report named" in r["errors"][0]["message"]


def test_docs_list_every_report():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")
    for name, r in reports.catalogue().items():
        assert f"| `{name}` | {r.title} |" in text, name


# --- over-quota, leader-positions, headcount-consistency ------------------------------------------------------------

OFFICE = rc.Caller(name="office", role=Role.ADMIN)


def test_over_quota_known_answers(city):
    from hub.service_layer.workflows.policy import allow_policy_over_quota

    db, u = city["db"], city["units"]
    with db.session() as s, s.begin():
        s.execute(update(MismatchRow).where(MismatchRow.kind == "OVER_QUOTA").values(
            detected_at=datetime(2025, 1, 2, 9, 0, tzinfo=timezone.utc)))
    assert rows(db, "over-quota") == [
        [u["branch"], "西湖区财政局", "ADMINISTRATIVE", 0, 1, 1, date(2025, 1, 2), 0, None, 1]]
    with UnitOfWork(db, actor="test") as uow:  # the office allows one policy placement until the end of 2026
        allow_policy_over_quota(uow, OFFICE, unit_code=u["branch"], category="ADMINISTRATIVE", slots=1,
                                document_number="杭编〔2026〕9号", deadline=date(2026, 12, 31), reason="军转安置")
        uow.commit()
    assert rows(db, "over-quota")[0][7:] == [1, date(2026, 12, 31), 0]
    assert rows(db, "over-quota", today=date(2027, 1, 1))[0][7:] == [0, None, 1]  # past the deadline
    assert rows(db, "over-quota", {"region": rc.CITY}) == []


def test_leader_positions_known_answers(city):
    db, u = city["db"], city["units"]
    assert rows(db, "leader-positions") == sorted([
        [u["bureau"], "杭州市财政局", "DEPUTY_DIVISION_CHIEF", 2, 1, 1],
        [u["bureau"], "杭州市财政局", "DIVISION_CHIEF", 1, 1, 0],
        [u["street"], "西湖区转塘街道办事处", "SECTION_CHIEF", 1, 1, 0]])
    district = reports.Caller(name="d", role=Role.ADMIN, region_code=rc.DISTRICT)
    assert [r[0] for r in rows(db, "leader-positions", caller=district)] == [u["street"]]


def _payroll(db, period, pays):
    from hub.adapters.orm import PartnerPayrollRow

    with db.session() as s, s.begin():
        for idn, unit, paid in pays:
            s.add(PartnerPayrollRow(id_number=idn, unit_code=unit, period=period, name="x", gross_amount="100.00",
                                    paid=paid, event_id=f"e-{idn}-{period}", updated_at=datetime.now(timezone.utc)))


def test_headcount_consistency_known_answers(city):
    db, u, p = city["db"], city["units"], city["people"]
    _payroll(db, "2026-06", [(p["张一"], u["bureau"], True), (p["李二"], u["bureau"], True), (p["孙六"], u["bureau"], True),
                             (p["王三"], u["branch"], True), (p["赵四"], u["school"], True), (p["周七"], u["school"], True),
                             (p["钱五"], u["street"], False)])
    _payroll(db, "2026-05", [(p["钱五"], u["street"], True)])
    got = rows(db, "headcount-consistency", {"period": "2026-06"})
    assert got == sorted([
        [u["bureau"], "杭州市财政局", "FULL", 4, 3, 3, True],
        [u["branch"], "西湖区财政局", "FULL", 0, 1, 1, False],  # actual and paid above approved
        [u["school"], "杭州市第一中学", "PARTIAL", 3, 1, 2, False],  # 周七 left but is still paid
        [u["street"], "西湖区转塘街道办事处", "FULL", 2, 1, 0, False],  # 钱五's June line is not paid
    ])
    assert [r[0] for r in rows(db, "headcount-consistency", {"period": "2026-06", "only": "inconsistent"})] == sorted(
        [u["branch"], u["school"], u["street"]])
    with pytest.raises(reports.ReportError, match="needs parameter period"):
        run(db, "headcount-consistency")
    with pytest.raises(reports.ReportError, match="YYYY-MM"):
        run(db, "headcount-consistency", {"period": "2026-13"})
    finance = reports.Caller(name="f", role=Role.FINANCE)
    assert len(rows(db, "headcount-consistency", {"period": "2026-06"}, caller=finance)) == 4
    with pytest.raises(reports.ReportForbidden):
        run(db, "headcount-consistency", {"period": "2026-06"}, caller=reports.Caller(name="m", role=Role.MONITOR))


# --- establishment-ledger, unit-history, quota-changes --------------------------------------------------------------

def test_establishment_ledger_known_answers(city):
    db, u = city["db"], city["units"]
    rc.plan(db, u["school"], 1, office_today().year)
    got = run(db, "establishment-ledger", {"unit": u["bureau"]})[0]
    by_item = {(r[0], r[2] if r[0] != "基本情况" else r[1]): r for r in got.rows}
    assert by_item[("基本情况", "单位名称 name")][2] == "杭州市财政局"
    assert by_item[("基本情况", "机构规格 level")][2] == "CITY"
    assert by_item[("编制", "ADMINISTRATIVE")][3:] == [3, 2, 0, 1, "杭编〔2020〕2号", date(2020, 1, 1)]
    assert by_item[("编制", "WORKER")][3:7] == [1, 1, 0, 0]
    assert by_item[("领导职数", "DEPUTY_DIVISION_CHIEF")][3:] == [2, 1, None, 1, "杭编〔2020〕3号", date(2020, 1, 1)]
    assert by_item[("合计", "")][3:7] == [4, 3, 0, 1]
    branch = {r[1]: r for r in rows(db, "establishment-ledger", {"unit": u["branch"]})}
    assert branch["上级单位 parent"][2] == f"{u['bureau']} 杭州市财政局"
    assert branch["核定编制 quota"][3:] == [0, 1, 0, -1, "杭编〔2025〕7号", date(2025, 1, 1)]
    school = [r for r in rows(db, "establishment-ledger", {"unit": u["school"]}, today=office_today()) if r[0] == "编制"]
    assert school[0][3:7] == [3, 1, 1, 2]  # 空编 2, one of them reserved by the hiring plan
    district = reports.Caller(name="d", role=Role.ADMIN, region_code=rc.DISTRICT)
    with pytest.raises(reports.ReportError, match="not in your region|in your region"):
        run(db, "establishment-ledger", {"unit": u["bureau"]}, caller=district)
    with pytest.raises(reports.ReportError, match="needs parameter unit"):
        run(db, "establishment-ledger")


def test_unit_history_and_quota_changes_known_answers(city):
    from hub.service_layer import registry_changes
    from hub.service_layer.workflows.documents import record_document

    db, u = city["db"], city["units"]
    with UnitOfWork(db, actor="test") as uow:
        record_document(uow, OFFICE, number="杭编〔2025〕7号", title="关于调整西湖区财政局机构编制的批复",
                        issuer="杭州市机构编制委员会", issued_on=date(2024, 12, 20), kind="REPLY")
        registry_changes.update_unit(uow, code=u["branch"], changes={"name": "西湖区财政局(国资)"}, document_number="杭编〔2026〕3号",
                             effective=date(2026, 3, 1))
        uow.commit()
    got = rows(db, "unit-history", {"unit": u["branch"]})
    assert [r[:2] + r[3:4] for r in got] == [
        [date(2020, 1, 1), "unit", "杭编〔2020〕1号"],
        [date(2020, 1, 1), "quota", "杭编〔2020〕2号"],
        [date(2025, 1, 1), "quota", "杭编〔2025〕7号"],
        [date(2026, 3, 1), "unit", "杭编〔2026〕3号"]]
    assert got[0][2].startswith("设立 established: name=西湖区财政局")
    assert got[2][2] == "ADMINISTRATIVE: 1 → 0"
    assert got[2][4:] == ["关于调整西湖区财政局机构编制的批复", "杭州市机构编制委员会", date(2024, 12, 20)]
    assert got[3][2] == "name: 西湖区财政局 → 西湖区财政局(国资)"
    changes = rows(db, "quota-changes", {"from": "2025-01-01", "to": "2026-06-30"})
    assert changes == [[date(2025, 1, 1), u["branch"], "西湖区财政局(国资)", "quota", "ADMINISTRATIVE", 1, 0, -1, "杭编〔2025〕7号"]]
    assert len(rows(db, "quota-changes", {"from": "2020-01-01", "to": "2020-01-01"})) == 5 + 3  # quotas + leader quotas
    with pytest.raises(reports.ReportError, match="before from"):
        run(db, "quota-changes", {"from": "2026-01-01", "to": "2025-01-01"})


# --- region summary and the structure reports (as of rc.TODAY) ------------------------------------------------------

def test_region_summary_known_answers(city):
    assert rows(city["db"], "region-summary") == [
        ["330100", "CITY", "市本级", 2, 7, 4, 0, 3],
        ["330106", "DISTRICT", "区县(市)", 1, 0, 1, 0, -1],
        ["330106", "TOWNSHIP", "乡镇(街道)", 1, 2, 1, 0, 1],
        ["合计", "", "", 4, 9, 6, 0, 3]]


def test_age_structure_known_answers(city):
    db = city["db"]
    # 330100: 张一 59, 李二 41, 孙六 46 (worker), 赵四 54; 张一 (2027-01-15) and 赵四 (2027-09-10) retire within 5 years
    assert rows(db, "age-structure") == [["330100", 4, 0, 0, 2, 1, 1, 50.0, 2, 50.0],
                                         ["330106", 2, 1, 1, 0, 0, 0, 31.5, 0, 0.0]]
    # as of 2026-06-10 周七 (38, school) was still in post and 孙六 not yet
    got = rows(db, "age-structure", {"as_of": "2026-06-10", "region": "330100"})
    assert got == [["330100", 4, 0, 1, 1, 1, 1, round((59 + 40 + 54 + 38) / 4, 1), 2, 50.0]]
    with pytest.raises(reports.ReportForbidden):
        run(db, "age-structure", caller=reports.Caller(name="m", role=Role.MONITOR))


def test_age_pyramid_known_answers(city):
    db = city["db"]
    # 330100: 张一 (M) 59; 李二 (F) 41, 孙六 (F) 46, 赵四 (F) 54. 330106: 王三 (M) 36, 钱五 (M) 27.
    def band(region, key, label, men, women):
        return [region, key, label, men, women, men + women]
    assert rows(db, "age-pyramid") == [
        band("330100", "under_30", "30岁以下", 0, 0), band("330100", "30_39", "30-39岁", 0, 0),
        band("330100", "40_49", "40-49岁", 0, 2), band("330100", "50_54", "50-54岁", 0, 1),
        band("330100", "55_plus", "55岁及以上", 1, 0),
        band("330106", "under_30", "30岁以下", 1, 0), band("330106", "30_39", "30-39岁", 1, 0),
        band("330106", "40_49", "40-49岁", 0, 0), band("330106", "50_54", "50-54岁", 0, 0),
        band("330106", "55_plus", "55岁及以上", 0, 0)]
    # as of 2026-06-10 周七 (M, 38) was still in post at the school and 孙六 not yet; 李二 was 40
    got = rows(db, "age-pyramid", {"as_of": "2026-06-10", "region": "330100"})
    assert [r[3:5] for r in got] == [[0, 0], [1, 0], [0, 1], [0, 1], [1, 0]]
    # the pyramid agrees with age-structure's bands, district by district
    for region_row in rows(db, "age-structure"):
        mine = [r for r in rows(db, "age-pyramid") if r[0] == region_row[0]]
        assert [r[5] for r in mine] == region_row[2:7] and sum(r[5] for r in mine) == region_row[1]
    xihu = reports.Caller(name="x", role=Role.ADMIN, region_code="330106")
    assert {r[0] for r in rows(db, "age-pyramid", caller=xihu)} == {"330106"}
    with pytest.raises(reports.ReportForbidden):
        run(db, "age-pyramid", caller=reports.Caller(name="m", role=Role.MONITOR))


def test_retirements_due_known_answers_and_access_log(city):
    db, u, p = city["db"], city["units"], city["people"]
    got = rows(db, "retirements-due")
    assert got == [[date(2027, 1, 15), p["张一"], "张一", "M", date(1966, 8, 15), u["bureau"], "杭州市财政局",
                    "ADMINISTRATIVE", "DIVISION_CHIEF", False]]
    assert [r[1] for r in rows(db, "retirements-due", {"months": "18"})] == [p["张一"], p["赵四"]]  # 2027-09-10
    assert [r[1] for r in rows(db, "retirements-due", {"months": "1"}, today=date(2027, 2, 1))] == [p["张一"]]
    assert rows(db, "retirements-due", {"months": "1"}, today=date(2027, 2, 1))[0][9] is True  # overdue
    with pytest.raises(reports.ReportError, match="outside 1..120"):
        run(db, "retirements-due", {"months": "0"})
    # GraphQL: a person-level report is a person read (access log), ORGANIZATION states a purpose, MONITOR may not
    client = TestClient(create_app(db))
    org = create_token(db, role="ORGANIZATION", name="org")[1]
    monitor = create_token(db, role="MONITOR", name="mon")[1]
    r = _gql(client, org, REPORT_Q, {"n": "retirements-due", "p": {"months": 18}}, purpose=None)
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "purpose" in r["errors"][0]["message"]
    r = _gql(client, org, REPORT_Q, {"n": "retirements-due", "p": {"months": 18}}, purpose="2027年退休计划")
    assert [row[1] for row in r["data"]["report"]["rows"]] == [p["张一"], p["赵四"]]
    assert r["data"]["report"]["rows"][0][0] == "2027-01-15"
    with db.read_session() as s:
        logged = s.execute(select(AccessLogRow.id_number, AccessLogRow.field, AccessLogRow.purpose, AccessLogRow.role)).all()
    assert sorted(logged) == sorted([(p["张一"], "Report.retirements-due", "2027年退休计划", "ORGANIZATION"),
                                     (p["赵四"], "Report.retirements-due", "2027年退休计划", "ORGANIZATION")])
    r = _gql(client, monitor, REPORT_Q, {"n": "retirements-due"})
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # the command line logs the operator's reads too
    r = _cli(db, "report", "retirements-due", "--param", "months=12", "--format", "csv")
    assert r.exit_code == 0 and p["张一"] in r.stdout
    with db.read_session() as s:
        assert s.execute(select(AccessLogRow.actor, AccessLogRow.id_number).where(
            AccessLogRow.actor.like("ADMIN:cli:%"))).all()[0][1] == p["张一"]


def test_education_gender_leaders_and_rank_structure_known_answers(city):
    from hub.adapters.orm import PartnerEmploymentRow

    db, u, p = city["db"], city["units"], city["people"]
    assert rows(db, "education-structure") == [
        ["330100", "GOVERNMENT_ORGAN", 3, 0, 1, 1, 0, 1, 0, 0],  # 张一 MASTER, 李二 BACHELOR, 孙六 SECONDARY
        ["330100", "PUBLIC_INSTITUTION", 1, 0, 0, 0, 1, 0, 0, 0],  # 赵四 COLLEGE
        ["330106", "GOVERNMENT_ORGAN", 2, 1, 0, 1, 0, 0, 0, 0]]  # 钱五 DOCTORATE, 王三 BACHELOR
    assert rows(db, "gender-structure") == [
        ["330100", "DIVISION_CHIEF", 1, 1, 0, 0.0],
        ["330100", "DEPUTY_DIVISION_CHIEF", 1, 0, 1, 100.0],
        ["330100", "NONE", 2, 0, 2, 100.0],
        ["330106", "SECTION_CHIEF", 1, 1, 0, 0.0],
        ["330106", "NONE", 1, 1, 0, 0.0]]
    assert rows(db, "leaders-profile") == [
        ["DIVISION_CHIEF", 1, 59.0, 0, 0, 1, 1, 0, 0, 0, 0.0],
        ["DEPUTY_DIVISION_CHIEF", 1, 41.0, 0, 1, 0, 0, 1, 0, 1, 100.0],
        ["SECTION_CHIEF", 1, 27.0, 1, 0, 0, 1, 0, 0, 0, 0.0]]
    now = datetime.now(timezone.utc)
    with db.session() as s, s.begin():
        for idn, unit, rank in ((p["张一"], u["bureau"], "一级调研员"), (p["王三"], u["branch"], "四级主任科员"),
                                (p["李二"], u["bureau"], " ")):
            s.add(PartnerEmploymentRow(id_number=idn, name="x", unit_code=unit, status="ACTIVE",
                                       effective_date=date(2021, 3, 1), rank=rank, event_id=f"hr-{idn}", updated_at=now))
    assert rows(db, "rank-structure") == [["330100", "一级调研员", 1], ["330100", "未报送 (none)", 3],
                                          ["330106", "四级主任科员", 1], ["330106", "未报送 (none)", 1]]


def test_staff_changes_known_answers(city):
    from hub.adapters.orm import OnboardingRow, PostingRow
    from hub.service_layer import registry_changes

    db, u, p = city["db"], city["units"], city["people"]
    with db.session() as s, s.begin():  # 孙六 came through an onboarding application (公开招聘)
        posting = s.execute(select(PostingRow.id).where(PostingRow.id_number == p["孙六"])).scalar_one()
        s.add(OnboardingRow(status="APPROVED", unit_code=u["bureau"], id_number=p["孙六"], name="孙六", category="WORKER",
                            route="OPEN_RECRUITMENT", start_date=date(2026, 6, 15), required_reviews="ORGANIZATION",
                            round=1, submitted_by="UNIT:x", submitted_at=datetime(2026, 6, 1, tzinfo=timezone.utc),
                            posting_id=posting))
    with UnitOfWork(db, actor="test") as uow:  # 王三 moves from the branch to the street office on 25 June
        registry_changes.end_posting(uow, id_number=p["王三"], end_date=date(2026, 6, 25), reason="TRANSFER_OUT")
        registry_changes.start_posting(uow, id_number=p["王三"], unit_code=u["street"], category="ADMINISTRATIVE",
                               start_date=date(2026, 6, 25), reason="transfer")
        uow.commit()
    assert rows(db, "staff-changes", {"period": "2026-06"}) == sorted([
        ["330100", u["bureau"], "杭州市财政局", "hire", "OPEN_RECRUITMENT", 1],
        ["330100", u["school"], "杭州市第一中学", "departure", "RESIGNATION", 1],
        ["330106", u["branch"], "西湖区财政局", "transfer_out", "TRANSFER", 1],
        ["330106", u["street"], "西湖区转塘街道办事处", "hire", "DIRECT", 1],
        ["330106", u["street"], "西湖区转塘街道办事处", "transfer_in", "TRANSFER", 1]],
        key=lambda r: (r[0], r[1], ["hire", "transfer_in", "transfer_out", "departure"].index(r[3]), r[4]))
    assert rows(db, "staff-changes", {"period": "2026-05"}) == []
    # March 2021: 张一 (the bureau), 王三 (the branch), 赵四 and 周七 (the school) were entered directly
    # (ordered by district, then unit code: the bureau was created before the school)
    assert [(r[1], r[3], r[4], r[5]) for r in rows(db, "staff-changes", {"period": "2021-03"})] == [
        (u["bureau"], "hire", "DIRECT", 1), (u["school"], "hire", "DIRECT", 2), (u["branch"], "hire", "DIRECT", 1)]


# --- onboarding turnaround, mismatch trend, ghost pay ---------------------------------------------------------------

def _cst(y, m, d, hh, mm=0):
    """A time in China Standard Time, stored as the hub stores times (UTC)."""
    return datetime(y, m, d, hh, mm, tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)


def test_onboarding_turnaround_known_answers(city):
    from hub.adapters.orm import OnboardingRow

    db, u, p = city["db"], city["units"], city["people"]
    with db.session() as s, s.begin():
        for unit, status, submitted, decided in (
                (u["school"], "APPROVED", _cst(2026, 6, 8, 9), _cst(2026, 6, 8, 16)),  # same day: 1
                (u["school"], "APPROVED", _cst(2026, 6, 18, 10), _cst(2026, 6, 22, 10)),  # Thu → Mon over 端午: 2
                (u["bureau"], "REJECTED", _cst(2026, 5, 29, 17), _cst(2026, 6, 1, 9)),  # Fri → Mon: 2
                (u["bureau"], "APPROVED", _cst(2026, 5, 20, 9), _cst(2026, 5, 20, 11)),  # May: 1
                (u["bureau"], "IN_REVIEW", _cst(2026, 6, 2, 9), None)):  # not decided: not counted
            s.add(OnboardingRow(status=status, unit_code=unit, id_number=p["周七"], name="周七", category="PUBLIC_INSTITUTION",
                                route="OPEN_RECRUITMENT", start_date=date(2026, 7, 1), required_reviews="ORGANIZATION",
                                round=1, submitted_by="UNIT:x", submitted_at=submitted, decided_at=decided))
    assert rows(db, "onboarding-turnaround") == [
        ["2026-05", u["bureau"], "杭州市财政局", 1, 1, 1.0, 1, 1, 100.0],
        ["2026-06", u["bureau"], "杭州市财政局", 1, 0, 2.0, 2, 0, 0.0],
        ["2026-06", u["school"], "杭州市第一中学", 2, 2, 1.5, 2, 1, 50.0]]
    assert [r[0] for r in rows(db, "onboarding-turnaround", {"from": "2026-06-01", "to": "2026-06-30"})] == ["2026-06"] * 2


def test_mismatch_trend_known_answers(city):
    db, u, p = city["db"], city["units"], city["people"]
    utc = lambda y, m, d: datetime(y, m, d, 12, tzinfo=timezone.utc)  # noqa: E731
    _mismatch(db, MismatchKind.UNPAID_POSTING, p["赵四"], u["school"], utc(2026, 6, 22))
    _mismatch(db, MismatchKind.UNPAID_POSTING, p["李二"], u["bureau"], utc(2026, 6, 23))
    _mismatch(db, MismatchKind.RETIREMENT_DUE, p["张一"], u["bureau"], utc(2026, 6, 29))
    with db.session() as s, s.begin():
        s.execute(update(MismatchRow).where(MismatchRow.kind == "OVER_QUOTA").values(detected_at=utc(2026, 6, 16)))
        s.execute(update(MismatchRow).where(MismatchRow.subject == p["赵四"]).values(
            status="RESOLVED", resolved_at=utc(2026, 6, 30)))
        registry_source = s.scalar(select(MismatchRow.source).where(MismatchRow.kind == "OVER_QUOTA"))
    assert rows(db, "mismatch-trend", {"weeks": "3"}) == [
        [date(2026, 6, 15), "2026-W25", registry_source, 1, 0, 1],
        [date(2026, 6, 22), "2026-W26", "finance", 2, 0, 2],
        [date(2026, 6, 29), "2026-W27", "finance", 1, 1, 0]]
    monitor = reports.Caller(name="m", role=Role.MONITOR)  # no birth-date kinds
    assert rows(db, "mismatch-trend", {"weeks": "1"}, caller=monitor) == [[date(2026, 6, 29), "2026-W27", "finance", 0, 1, -1]]
    assert rows(db, "mismatch-trend", {"weeks": "1", "region": rc.DISTRICT}) == []


def test_ghost_pay_known_answers(city):
    from tests.factories import id_number

    db, u, p = city["db"], city["units"], city["people"]
    stranger = id_number(date(1979, 1, 1), True)
    with UnitOfWork(db, actor="test") as uow:
        book = MismatchBook(uow)
        book.open_or_update(MismatchKind.GHOST_PAYROLL, subject=stranger, unit_code=u["bureau"], source="finance",
                    details={"name": "吴八", "period": "2026-06", "found": "paid 8000.00, no posting"})
        book.open_or_update(MismatchKind.DECEASED_ACTIVE, subject=p["李二"], unit_code=u["bureau"], source="police",
                    details={"died_on": "2026-05-01"})
        uow.commit()
    table, reads = run(db, "ghost-pay")
    assert [r[:6] + r[7:] for r in table.rows] == [
        ["GHOST_PAYROLL", stranger, "吴八", u["bureau"], "杭州市财政局", "finance",
         '{"found": "paid 8000.00, no posting", "name": "吴八", "period": "2026-06"}'],
        ["DECEASED_ACTIVE", p["李二"], "李二", u["bureau"], "杭州市财政局", "police", '{"died_on": "2026-05-01"}']]
    assert sorted(reads) == sorted([stranger, p["李二"]])  # person reads, for the access log
    district = reports.Caller(name="d", role=Role.ADMIN, region_code=rc.DISTRICT)
    assert rows(db, "ghost-pay", caller=district) == []
    with pytest.raises(reports.ReportForbidden):
        run(db, "ghost-pay", caller=reports.Caller(name="m", role=Role.MONITOR))


# --- units by kind, feed health, read access, hiring plans ----------------------------------------------------------

def test_units_by_kind_known_answers(city):
    assert rows(city["db"], "units-by-kind") == [
        ["GOVERNMENT_ORGAN", "CITY", "FULL", 1, 4, 3],
        ["GOVERNMENT_ORGAN", "DISTRICT", "FULL", 1, 0, 1],
        ["GOVERNMENT_ORGAN", "TOWNSHIP", "FULL", 1, 2, 1],
        ["PUBLIC_INSTITUTION", "CITY", "PARTIAL", 1, 3, 1]]


def test_feed_health_known_answers(city):
    from hub.adapters.orm import AppliedEventRow, DeadLetterRow

    db = city["db"]
    utc = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731
    cst = timezone(timedelta(hours=8))
    with db.session() as s, s.begin():
        # (source, applied, sent): police on 30 June lag 60 s, 5 s and 150 s (sent given at +08:00) and one event
        # applied before sent times were kept; hr on 1 July lag 2.5 s; police on 28 June, outside two days
        for i, (source, at, sent) in enumerate((
                ("/gov/police", utc(2026, 6, 30, 8), utc(2026, 6, 30, 7, 59)),
                ("/gov/police", utc(2026, 6, 30, 9, 30), utc(2026, 6, 30, 9, 29, 55)),
                ("/gov/police", utc(2026, 6, 30, 9, 0), datetime(2026, 6, 30, 16, 57, 30, tzinfo=cst)),
                ("/gov/police", utc(2026, 6, 30, 8, 30), None),
                ("/gov/hr", utc(2026, 7, 1, 10), utc(2026, 7, 1, 9, 59, 57, 500000)),
                ("/gov/police", utc(2026, 6, 28, 10), utc(2026, 6, 28, 9)),
                # 16:30 UTC on 30 June is 00:30 on 1 July in the office (UTC+8): the office's day, not UTC's
                ("/gov/police", utc(2026, 6, 30, 16, 30), None))):
            s.add(AppliedEventRow(source=source, event_id=f"e{i}", payload_sha256="0" * 64, applied_at=at, sent_at=sent))
        for i, (connector, at, replayed) in enumerate((("police", utc(2026, 6, 30, 11), None),
                                                       ("hr", utc(2026, 7, 1, 9), utc(2026, 7, 1, 12)))):
            s.add(DeadLetterRow(connector=connector, topic="t", partition=0, offset=i, key=None, raw_base64="",
                                reason="bad", created_at=at, replayed_at=replayed))
    assert rows(db, "feed-health", {"days": "2"}) == [
        [date(2026, 6, 30), "police", 4, 1, 1, "16:00:00", "17:30:00", 3, 60.0, 150.0],
        [date(2026, 7, 1), "hr", 1, 1, 0, "18:00:00", "18:00:00", 1, 2.5, 2.5],
        [date(2026, 7, 1), "police", 1, 0, 0, "00:30:00", "00:30:00", 0, None, None]]
    got = rows(db, "feed-health", {"days": "4"})
    assert len(got) == 4 and got[0][:3] == [date(2026, 6, 28), "police", 1] and got[0][7:] == [1, 3600.0, 3600.0]


def test_read_access_known_answers(city):
    from hub.api.access import NOT_FOUND, write_reads
    from hub.service_layer.tokens import Principal

    db, p = city["db"], city["people"]
    police = Principal(token_id=7, name="police-a", role=Role.POLICE)
    write_reads(db, principal=police, reads=[(p["张一"], "q", "Query.person", "案件A", None),
                                             (p["李二"], "q", "Query.person", "案件A", None)])
    write_reads(db, principal=police, reads=[(p["张一"], "q", "Query.person", "案件A", None),
                                             (p["王三"], "q", "Query.person", "案件A", NOT_FOUND)])
    write_reads(db, principal=Principal(token_id=8, name="hr-a", role=Role.HR),
                reads=[(p["赵四"], "q", "Person.postings", "调动", None)])
    today = office_today()
    assert rows(db, "read-access", today=today) == [
        ["HR", "HR:hr-a", "调动", "Person.postings", 1, 1, today, today],
        ["POLICE", "POLICE:police-a", "案件A", "Query.person", 3, 2, today, today]]
    assert [r[0] for r in rows(db, "read-access", {"role": "HR"}, today=today)] == ["HR"]
    with pytest.raises(reports.ReportForbidden):
        run(db, "read-access", caller=reports.Caller(name="o", role=Role.ORGANIZATION))


def test_hiring_plans_known_answers(city):
    from hub.service_layer.workflows.plans import decide_hiring_plan, submit_hiring_plan

    db, u = city["db"], city["units"]
    year = office_today().year
    rc.plan(db, u["school"], 1, year)
    with UnitOfWork(db, actor="test") as uow:
        pid = submit_hiring_plan(uow, OFFICE, unit_code=u["street"], year=year, category="ADMINISTRATIVE", slots=2,
                                 reason="补充").id
        uow.commit()
    with UnitOfWork(db, actor="test") as uow:
        decide_hiring_plan(uow, OFFICE, b"k" * 32, pid, False, None, "暂缓")
        uow.commit()
    assert rows(db, "hiring-plans", today=office_today()) == [
        [u["school"], "杭州市第一中学", year, "PUBLIC_INSTITUTION", 1, 1, 0, 1, 1, 0, 1],
        [u["street"], "西湖区转塘街道办事处", year, "ADMINISTRATIVE", 1, 0, 1, 2, 0, 0, 0]]
    assert rows(db, "hiring-plans", {"year": str(year)}, today=date(year + 1, 1, 1))[0][10] == 0  # expired
    assert rows(db, "hiring-plans", {"year": str(year - 1)}, today=office_today()) == []


# --- the annual report (as of 31 December, from history) ------------------------------------------------------------

def test_annual_report_as_of_31_december_and_reproducible(city, tmp_path):
    from hub.service_layer import registry_changes

    db, u, p = city["db"], city["units"], city["people"]
    expected_units = [  # 31 Dec 2025: the branch's cut (2025-01-01) holds; 钱五 and 孙六 came in 2026, 周七 left in 2026
        [u["bureau"], "杭州市财政局", "GOVERNMENT_ORGAN", "CITY", "330100", "FULL", 3, 0, 0, 1, 4, 2, 2, 3, 2],
        [u["branch"], "西湖区财政局", "GOVERNMENT_ORGAN", "DISTRICT", "330106", "FULL", 0, 0, 0, 0, 0, 1, -1, 0, 0],
        [u["school"], "杭州市第一中学", "PUBLIC_INSTITUTION", "CITY", "330100", "PARTIAL", 0, 0, 3, 0, 3, 2, 1, 0, 0],
        [u["street"], "西湖区转塘街道办事处", "GOVERNMENT_ORGAN", "TOWNSHIP", "330106", "FULL", 2, 0, 0, 0, 2, 0, 2, 1, 0]]
    expected_staff = [  # 张一 59 M MASTER, 李二 40 F BACHELOR, 赵四 53 F COLLEGE, 周七 37 M BACHELOR | 王三 35 M BACHELOR
        ["330100", "CITY", 4, 2, 2, 0, 3, 1, 1, 2, 1],
        ["330106", "DISTRICT", 1, 1, 0, 0, 1, 0, 0, 1, 0]]
    assert rows(db, "annual-report", {"year": "2025"}) == expected_units
    assert rows(db, "annual-staff", {"year": "2025"}) == expected_staff
    with UnitOfWork(db, actor="test") as uow:  # 2026 changes the registry; the 2025 report stays as it was
        registry_changes.update_unit(uow, code=u["branch"], changes={"name": "西湖区财政局(国资)"}, effective=date(2026, 3, 1))
        registry_changes.set_quota(uow, unit_code=u["bureau"], category="ADMINISTRATIVE", approved=5, document_number="杭编〔2026〕5号",
                           effective=date(2026, 2, 1))
        registry_changes.end_posting(uow, id_number=p["李二"], end_date=date(2026, 7, 1), reason="RESIGNATION")
        uow.commit()
    assert rows(db, "annual-report", {"year": "2025"}) == expected_units
    assert rows(db, "annual-staff", {"year": "2025"}) == expected_staff
    y2026 = {r[0]: r for r in rows(db, "annual-report", {"year": "2026"})}
    assert y2026[u["branch"]][1] == "西湖区财政局(国资)" and y2026[u["bureau"]][6] == 5 and y2026[u["bureau"]][11] == 2
    assert rows(db, "annual-report", {"year": "2019"}) == []  # before the units were set up
    # one workbook, both tables
    out = tmp_path / "年报2025.xlsx"
    r = _cli(db, "report", "annual-report", "--param", "year=2025", "--format", "xlsx", "--out", str(out))
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["annual-report", "annual-staff"]
    assert [list(x) for x in wb["annual-report"].iter_rows(min_row=4, values_only=True)] == expected_units
    assert [list(x) for x in wb["annual-staff"].iter_rows(min_row=4, values_only=True)] == expected_staff
    r = _cli(db, "report", "annual-report", "--format", "csv")
    assert r.exit_code == 1 and "needs parameter year" in r.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_person_columns_are_masked_for_monitor_and_reads_otherwise(city):
    """The framework's rule for any report with a person column: MONITOR gets the ID number masked (and no read
    is logged: nothing personal went out), every other role's rows are person reads."""
    from hub.reports.base import OFFICE_AND_MONITOR, Column, Report, run as run_one

    db, p = city["db"], city["people"]
    probe = Report(name="probe", title="探针 Probe", purpose="test", columns=(Column("id_number", "身份证号", person=True),),
                   query=lambda ctx: [[p["张一"]], [p["李二"]]], roles=OFFICE_AND_MONITOR)
    with db.read_session() as s:
        table, reads = run_one(probe, s, {}, caller=reports.Caller(name="m", role=Role.MONITOR))
        assert reads == [] and [r[0] for r in table.rows] == [p["张一"][:6] + "********" + p["张一"][14:],
                                                                p["李二"][:6] + "********" + p["李二"][14:]]
        table, reads = run_one(probe, s, {}, caller=ADMIN)
        assert reads == [p["张一"], p["李二"]] and table.rows == [[p["张一"]], [p["李二"]]]
