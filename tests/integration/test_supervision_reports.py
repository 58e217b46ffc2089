"""Findings in the report catalogue (findings-by-category, rectification-rate) with known answers on the small city
of report_city.py, the audit data pack (hub supervision pack) opened and checked against the database — XLSX with
openpyxl, HTML printed by headless Chromium and read back with pypdf — and the `hub finding` commands, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hub import reports
from hub.adapters.orm import AccessLogRow, FindingRow, FindingStepRow, OperationLogRow, OutboxRow
from hub.cli import app as cli_app
from hub.domain.calendar import OFFICE_TIME
from hub.domain.vocabulary import Role
from hub.reports.audit_pack import build_pack
from hub.service_layer import findings
from hub.service_layer.unit_of_work import UnitOfWork
from tests.integration import report_city as rc
from tests.integration.test_reports import _pdf_of
from hub.domain.calendar import office_today

ADMIN = reports.Caller(name="test", role=Role.ADMIN)
DISTRICT = reports.Caller(name="west", role=Role.ADMIN, region_code=rc.DISTRICT)


def _at(y, m, d) -> datetime:
    return datetime(y, m, d, 10, 0, tzinfo=OFFICE_TIME).astimezone(timezone.utc)


def _finding(db, unit, *, source, category, status, recorded, deadline, closed=None, title="事项"):
    with db.session() as s, s.begin():
        s.add(FindingRow(unit_code=unit, source=source, category=category, status=status, title=title,
                         description="情况", recommendation="建议", responsible_party="单位", deadline=deadline,
                         evidence="[]", recorded_by="test", recorded_at=_at(*recorded), updated_at=_at(*recorded),
                         closed_at=_at(*closed) if closed else None))


@pytest.fixture
def city(db):
    c = rc.build(db)
    u = c["units"]
    _finding(db, u["bureau"], source="AUDIT", category="OVER_QUOTA_HIRING", status="OPEN", recorded=(2026, 6, 21),
             deadline=date(2026, 6, 30))  # overdue on 2026-07-01
    _finding(db, u["bureau"], source="AUDIT", category="OVER_QUOTA_HIRING", status="CLOSED", recorded=(2026, 1, 1),
             deadline=date(2026, 3, 31), closed=(2026, 3, 1))
    _finding(db, u["branch"], source="INSPECTION", category="MIXED_USE", status="RECTIFYING", recorded=(2026, 3, 3),
             deadline=date(2026, 12, 31))
    _finding(db, u["school"], source="HUB", category="MIXED_USE", status="VERIFIED", recorded=(2025, 12, 1),
             deadline=date(2026, 2, 1))  # verified: past its deadline, not overdue
    _finding(db, u["street"], source="INSPECTION", category="GHOST_PAYROLL", status="OPEN", recorded=(2026, 5, 2),
             deadline=date(2026, 7, 1))  # due today: not overdue yet
    return c


def rows(db, name, params=None, caller=ADMIN):
    return reports.run_report(db, name, params or {}, caller=caller, today=rc.TODAY)[0].rows


def test_findings_by_category_known_answers(city):
    db = city["db"]
    #            total open rect ver closed overdue ≤30 31-90 91-180 >180 oldest
    assert rows(db, "findings-by-category") == [
        ["OVER_QUOTA_HIRING", "超编进人", 2, 1, 0, 0, 1, 1, 1, 0, 0, 0, 10],
        ["MIXED_USE", "混编混岗", 2, 0, 1, 1, 0, 0, 0, 0, 1, 1, 212],
        ["GHOST_PAYROLL", "吃空饷", 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 60],
        ["合计", "", 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 212]]
    west = [["MIXED_USE", "混编混岗", 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 120],
            ["GHOST_PAYROLL", "吃空饷", 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 60],
            ["合计", "", 2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 120]]
    assert rows(db, "findings-by-category", caller=DISTRICT) == west  # a district office: its region only
    assert rows(db, "findings-by-category", {"region": rc.DISTRICT}) == west
    assert [r[0] for r in rows(db, "findings-by-category", {"source": "INSPECTION"})] == ["MIXED_USE", "GHOST_PAYROLL", "合计"]
    assert rows(db, "findings-by-category", {"unit": city["units"]["school"]})[0][:3] == ["MIXED_USE", "混编混岗", 1]
    with pytest.raises(reports.ReportError):
        rows(db, "findings-by-category", caller=reports.Caller(name="m", role=Role.MONITOR))


def test_rectification_rate_known_answers(city):
    db, u = city["db"], city["units"]
    expected = {u["bureau"]: ["杭州市财政局", 2, 1, 1, 1, 1, 50.0, 50.0], u["branch"]: ["西湖区财政局", 1, 0, 0, 1, 0, 0.0, 0.0],
                u["school"]: ["杭州市第一中学", 1, 1, 0, 0, 0, 100.0, 0.0],
                u["street"]: ["西湖区转塘街道办事处", 1, 0, 0, 1, 0, 0.0, 0.0]}
    got = rows(db, "rectification-rate")
    assert got[:-1] == [[code, *expected[code]] for code in sorted(expected)]
    assert got[-1] == ["合计", "", 5, 2, 1, 3, 1, 40.0, 20.0]
    assert rows(db, "rectification-rate", {"by": "region"}) == [
        [rc.CITY, "", 3, 2, 1, 1, 1, 66.7, 33.3], [rc.DISTRICT, "", 2, 0, 0, 2, 0, 0.0, 0.0],
        ["合计", "", 5, 2, 1, 3, 1, 40.0, 20.0]]
    assert rows(db, "rectification-rate", {"year": "2025"}) == [[u["school"], *expected[u["school"]]]]
    assert [r[0] for r in rows(db, "rectification-rate", caller=DISTRICT)] == sorted([u["branch"], u["street"]]) + ["合计"]


def _record(db, unit, person, title, *, deadline=None):
    office = findings.Caller(name="office", role=Role.ADMIN)
    with UnitOfWork(db, actor=office.actor) as uow:
        row = findings.record_finding(uow, office, findings.NewFinding(
            unit_code=unit, source="AUDIT", category="OVER_QUOTA_HIRING", title=title, description="审计发现超编",
            recommendation="限期消化", responsible_party="杭州市财政局", deadline=deadline or office_today() + timedelta(days=30),
            reference="AUD-2026-7", evidence=(("PERSON", person),)))
        uow.commit()
    with UnitOfWork(db, actor="UNIT:bureau") as uow:
        findings.update_finding(uow, findings.Caller(name="bureau", role=Role.UNIT, unit_code=unit), row.id,
                                action="PROGRESS", comment="progress-report-42", evidence=())
        uow.commit()
    return row.id


def test_the_audit_pack_holds_ledger_history_staff_mismatches_findings_and_steps(city, tmp_path):
    db, u, p = city["db"], city["units"], city["people"]
    fid = _record(db, u["bureau"], p["张一"], "FINDING-TITLE-A")
    out = tmp_path / "pack.xlsx"
    r = CliRunner().invoke(cli_app, ["--database-url", db.url, "supervision", "pack", "--unit", u["bureau"], "--for",
                                     "audit", "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["establishment-ledger", "unit-history", "documents", "staff", "open-mismatches", "findings",
                             "rectification"]

    def sheet(name):
        return [list(v) for v in wb[name].iter_rows(values_only=True)][3:]  # title, labels, columns, then rows
    ledger, _ = reports.run_report(db, "establishment-ledger", {"unit": u["bureau"]}, caller=ADMIN)
    assert [r[:7] for r in sheet("establishment-ledger")] == [[None if v == "" else v for v in r[:7]] for r in ledger.rows]
    assert sorted(r[2] for r in sheet("staff")) == sorted([p["张一"], p["李二"], p["孙六"]])  # in post today
    history = sheet("unit-history")
    assert any(r[3] == "杭编〔2020〕2号" for r in history)
    assert {r[2] for r in sheet("documents")} == {"杭编〔2020〕1号", "杭编〔2020〕2号", "杭编〔2020〕3号"}
    with db.read_session() as s:
        db_findings = s.execute(select(FindingRow.id, FindingRow.title).where(FindingRow.unit_code == u["bureau"])
                                .order_by(FindingRow.id)).all()
        db_steps = s.execute(select(FindingStepRow.finding_id, FindingStepRow.comment)
                             .where(FindingStepRow.finding_id.in_([f.id for f in db_findings]))
                             .order_by(FindingStepRow.finding_id, FindingStepRow.id)).all()
    assert [(r[0], r[5]) for r in sheet("findings")] == [tuple(f) for f in db_findings]
    assert [(r[0], r[6] or None) for r in sheet("rectification")] == [tuple(s) for s in db_steps]
    assert any(r[0] == fid and r[2] == "报告整改进展" and r[4] == "UNIT" for r in sheet("rectification"))
    recorded = next(r for r in sheet("rectification") if r[0] == fid and r[2] == "登记")
    assert p["张一"] in recorded[7]  # the evidence, in full: the pack is the office's
    with db.read_session() as s:  # and the operator's read of each person is in the access log
        logged = set(s.execute(select(AccessLogRow.id_number).where(AccessLogRow.field == "Report.supervision-pack")).scalars())
    assert logged >= {p["张一"], p["李二"], p["孙六"]}

    # the same pack for a district: every unit of the region, another unit's findings left out
    other = _record(db, u["street"], p["钱五"], "FINDING-TITLE-B")
    with db.read_session() as s:
        pack = build_pack(s, caller=ADMIN, unit=None, region=rc.DISTRICT, purpose="inspection", today=rc.TODAY)
    assert pack.title.startswith("巡察参考数据 Inspection data pack")
    names = [t.name for t in pack.tables]
    assert names[0] == "region-summary" and sum(n.startswith("ledger-") for n in names) == 2
    with db.read_session() as s:
        in_region = s.execute(select(FindingRow.id).where(FindingRow.unit_code.in_([u["branch"], u["street"]]))).scalars().all()
    listed = [r[0] for r in pack.tables[names.index("findings")].rows]
    assert other in listed and sorted(listed) == sorted(in_region) and len(listed) == 3
    with db.read_session() as s:  # a district office builds no pack of another region's unit
        with pytest.raises(reports.ReportError):
            build_pack(s, caller=DISTRICT, unit=u["bureau"], region=None, purpose="audit", today=rc.TODAY)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_audit_pack_prints_as_one_document(city, tmp_path):
    db, u, p = city["db"], city["units"], city["people"]
    _record(db, u["bureau"], p["张一"], "FINDING-TITLE-A")
    out = tmp_path / "pack.html"
    r = CliRunner().invoke(cli_app, ["--database-url", db.url, "supervision", "pack", "--unit", u["bureau"], "--for",
                                     "audit", "--format", "html", "--out", str(out)],
                           env={"HUB_OFFICE_NAME": "Hangzhou Office"})
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page
    pdf = _pdf_of(page, tmp_path)
    text = unicodedata.normalize("NFKC", "\n".join(pg.extract_text().replace("\x00", "") for pg in pdf.pages))  # ﬀ → ff
    compact = re.sub(r"\s+", "", text)  # narrow cells wrap their text
    for part in ("Audit data pack", "Establishment ledger", "Unit history", "Documents", "Staff in post",
                 "Open mismatches", "Findings", "Rectification steps", "FINDING-TITLE-A", "AUD-2026-7",
                 "progress-report-42", u["bureau"], p["张一"], "Hangzhou Office"):
        assert part.replace(" ", "") in compact, part
    assert len(pdf.pages) >= 7  # each table from a new page
    assert round(float(pdf.pages[0].mediabox.width)) == 595  # A4


def _cli(db, *args):
    return CliRunner().invoke(cli_app, ["--database-url", db.url, *args])


def test_the_finding_commands_and_their_refusals(city, tmp_path):
    db, u = city["db"], city["units"]
    today = office_today()
    r = _cli(db, "finding", "record", "--unit", u["school"], "--source", "INSPECTION", "--category", "混编混岗",
             "--title", "混岗2人", "--description", "巡察发现", "--recommendation", "调整编制使用",
             "--recommendation-kind", "CORRECT_POSTINGS", "--responsible", "杭州市第一中学",
             "--deadline", str(today + timedelta(days=10)), "--as", "AUDITOR", "--json")
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert (made["category"], made["status"], made["source"]) == ("MIXED_USE", "OPEN", "INSPECTION")
    fid = str(made["id"])
    r = _cli(db, "finding", "update", fid, "--action", "VERIFIED", "--comment", "已核实", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "VERIFIED", r.output
    r = _cli(db, "finding", "show", fid, "--json")
    assert [s["action"] for s in json.loads(r.stdout)["steps"]] == ["RECORDED", "VERIFIED"]
    r = _cli(db, "finding", "list", "--unit", u["school"], "--json")
    assert [d["id"] for d in json.loads(r.stdout)][0] == int(fid)
    r = _cli(db, "finding", "list", "--overdue", "--json")  # as of today: the city's overdue one
    assert {d["unit_code"] for d in json.loads(r.stdout)} >= {u["bureau"]}
    r = _cli(db, "finding", "overdue", "--json")
    first = json.loads(r.stdout)
    assert r.exit_code == 0 and first["raised"] and all(d["overdue"] for d in first["overdue"])
    r = _cli(db, "finding", "overdue", "--json")
    assert json.loads(r.stdout)["raised"] == []  # once

    def count():
        with db.read_session() as s:
            return tuple(s.scalar(select(func.count()).select_from(t)) for t in (FindingRow, FindingStepRow, OutboxRow, OperationLogRow))
    before = count()
    for args, message in (
            (["record", "--unit", u["school"], "--source", "HUB", "--category", "MIXED_USE", "--title", "t",
              "--description", "d", "--recommendation", "r", "--responsible", "p", "--deadline", str(today)], "HUB"),
            (["record", "--unit", u["school"], "--source", "AUDIT", "--category", "NOPE", "--title", "t",
              "--description", "d", "--recommendation", "r", "--responsible", "p", "--deadline", str(today)], "unknown finding category"),
            (["record", "--unit", u["school"], "--source", "AUDIT", "--category", "MIXED_USE", "--title", "t",
              "--description", "d", "--recommendation", "r", "--responsible", "p", "--deadline", "2026-13-01"], "not a date"),
            (["record", "--unit", u["school"], "--source", "AUDIT", "--category", "MIXED_USE", "--title", "t",
              "--description", "d", "--recommendation", "r", "--responsible", "p", "--deadline", str(today),
              "--evidence", "PERSON"], "KIND:REF"),
            (["record", "--unit", u["school"], "--source", "AUDIT", "--category", "MIXED_USE", "--title", "t",
              "--description", "d", "--recommendation", "r", "--responsible", "p", "--deadline", str(today),
              "--as", "UNIT"], "--as"),
            (["update", fid, "--action", "PROGRESS", "--comment", "x"], "VERIFIED"),
            (["update", "999999", "--action", "CLOSED"], "no finding"),
            (["update", fid, "--action", "FLY"], "unknown finding action"),
            (["show", "abc"], "no finding"),
            (["list", "--status", "DONE"], "unknown finding status"),
            (["overdue", "--today", str(today + timedelta(days=400))], "is after today")):
        r = _cli(db, "finding", *args)
        assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output, (args, r.output)
    for args, message in ((["--unit", u["school"], "--for", "court", "--format", "xlsx", "--out", str(tmp_path / "x")], "audit or inspection"),
                          (["--unit", u["school"], "--for", "audit", "--format", "pdf", "--out", str(tmp_path / "x")], "html or xlsx"),
                          (["--for", "audit", "--format", "xlsx", "--out", str(tmp_path / "x")], "--unit"),
                          (["--region", "339999", "--for", "audit", "--format", "xlsx", "--out", str(tmp_path / "x")], "no unit in region")):
        r = _cli(db, "supervision", "pack", *args)
        assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output, (args, r.output)
    assert count() == before


def test_the_pack_dates_a_finding_and_its_steps_by_the_office_s_day(city):
    """A finding recorded at 07:30 in the office is stored at 23:30 UTC the day before: the pack showed that UTC day
    (recorded, step and mismatch dates), one day off from ageDays and findings-by-category."""
    db, u = city["db"], city["units"]
    early = datetime(2026, 6, 22, 7, 30, tzinfo=OFFICE_TIME).astimezone(timezone.utc)
    with db.session() as s, s.begin():
        f = FindingRow(unit_code=u["branch"], source="AUDIT", category="FALSE_HEADCOUNT", status="OPEN", title="早登记",
                       description="情况", recommendation="建议", responsible_party="单位", deadline=date(2026, 9, 30),
                       evidence="[]", recorded_by="test", recorded_at=early, updated_at=early)
        s.add(f)
        s.flush()
        s.add(FindingStepRow(finding_id=f.id, action="RECORDED", status_after="OPEN", actor="test", role="ADMIN",
                             evidence="[]", at=early))
        fid = f.id
    with db.read_session() as s:
        pack = build_pack(s, caller=ADMIN, unit=u["branch"], region=None, purpose="audit", today=rc.TODAY)
    tables = {t.name: t for t in pack.tables}
    [row] = [r for r in tables["findings"].rows if r[0] == fid]
    [step] = [r for r in tables["rectification"].rows if r[0] == fid]
    assert (row[11], step[1]) == (date(2026, 6, 22), date(2026, 6, 22))
