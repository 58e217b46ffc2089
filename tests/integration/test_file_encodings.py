"""Every CSV the hub reads (`hub import`, `hub compare`, the staged COPY path on PostgreSQL) takes UTF-8 with or
without BOM and GB18030/GBK, says which it read, and refuses anything else with line and byte."""

import codecs
import csv
import json
import re

import pytest

from sqlalchemy import select
from typer.testing import CliRunner

from hub.adapters.database import connect
from hub.adapters.orm import PartnerPayrollRow, PersonRow, UnitRow
from hub.cli import app
from hub.service_layer.comparison.pipeline import run_compare
from hub.service_layer.importer import ImportRejected, import_registry
from tests.factories import id_number, unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.registry_csv import write_registry

P = "2026-10"


def _reencode(directory, encoding, bom=b""):
    for f in directory.iterdir():
        f.write_bytes(bom + f.read_text(encoding="utf-8").encode(encoding))


def _registry(directory):
    person, unit = id_number(), unit_code(1)
    return write_registry(directory, units=[{"code": unit, "name": "杭州市档案馆"}], persons=[(person, "张三丰")],
                          postings=[(person, unit, "ADMINISTRATIVE")]), person


def test_import_reads_a_gbk_registry_like_a_utf8_one_and_says_so(db_url, tmp_path):
    d, person = _registry(tmp_path / "gbk")
    _reencode(d, "gbk")
    r = CliRunner().invoke(app, ["--database-url", db_url, "import", str(d), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    # files with Chinese text are GB18030; those of ASCII only are UTF-8 as well, and said to be that
    assert out["encodings"] == {"units.csv": "GB18030", "quotas.csv": "UTF-8", "leader_quotas.csv": "UTF-8",
                                "persons.csv": "GB18030", "postings.csv": "UTF-8"}
    db = connect(db_url)
    try:
        with db.read_session() as s:
            assert s.scalar(select(PersonRow.name).where(PersonRow.id_number == person)) == "张三丰"
            assert s.scalar(select(UnitRow.name)) == "杭州市档案馆"
    finally:
        db.dispose()
    r = CliRunner().invoke(app, ["--database-url", db_url, "import", str(d)])  # the same files again: refused, no traceback
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_import_reads_utf8_with_bom_and_refuses_other_bytes_with_file_line_and_byte(db, tmp_path):
    d, _ = _registry(tmp_path / "bom")
    _reencode(d, "utf-8", codecs.BOM_UTF8)
    (d / "persons.csv").write_bytes((d / "persons.csv").read_bytes().replace("张三丰".encode(), b"\x80\x80"))
    with pytest.raises(ImportRejected) as e:
        import_registry(db, d)
    error = e.value.report.errors[0]  # (the posting of the person whose file is unreadable is reported too)
    assert (error.file, error.line) == ("persons.csv", 2) and "byte" in error.reason and "UTF-8" in error.reason
    (d / "persons.csv").write_bytes((d / "persons.csv").read_bytes().replace(b"\x80\x80", "张三丰".encode()))
    report = import_registry(db, d)
    assert report.encodings["persons.csv"] == "UTF-8 with BOM" and report.counts["persons"] == 1


def test_compare_reads_a_gbk_snapshot_on_both_databases_and_the_staged_path(db_url, tmp_path):
    db = connect(db_url)
    try:
        unit = make_unit(db)
        a = make_person(db, name="张伟")
        hire(db, a, unit)
        ghost = id_number()
        f = tmp_path / "finance-gbk.csv"
        f.write_bytes(("id_number,name,unit_code,period,gross_amount\n"
                       f"{a},张伟,{unit},{P},8000.00\n{ghost},鬼魂,{unit},{P},100.00\n").encode("gbk"))
        report = run_compare(db, source="finance", period=P, path=f)
        assert report.encoding == "GB18030" and report.rows == 2
        assert report.method == ("staged" if db.is_postgres else "general")  # PostgreSQL: COPY of the UTF-8 text
        assert report.tally.opened.get("GHOST_PAYROLL") == 1
        with db.read_session() as s:
            assert set(s.execute(select(PartnerPayrollRow.name)).scalars()) == {"张伟", "鬼魂"}
        r = CliRunner().invoke(app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P, str(f)])
        assert r.exit_code == 0 and "GB18030" in r.output, r.output
    finally:
        db.dispose()


def test_compare_refuses_a_file_in_neither_encoding_with_line_and_byte(db_url, tmp_path):
    f = tmp_path / "latin.csv"
    f.write_bytes(b"id_number,name,unit_code,period,gross_amount\n" + b"x,\x80\xff,y,2026-10,1\n")
    r = CliRunner().invoke(app, ["--database-url", db_url, "compare", "--source", "finance", "--period", P, str(f)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "line 2, byte 47" in r.output and "UTF-8" in r.output and "GB18030" in r.output


def test_import_reads_excel_workbooks_and_reports_their_rows_under_their_own_name(db, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    d, person = _registry(tmp_path / "xlsx")
    for name in ("persons", "postings"):  # these two as workbooks, as Excel keeps them: dates as dates, numbers
        rows = list(csv.reader((d / f"{name}.csv").open(encoding="utf-8")))
        (d / f"{name}.csv").unlink()
        book = Workbook()
        sheet = book.active
        for row in rows:
            sheet.append([datetime.fromisoformat(v) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) else v for v in row])
        book.save(d / f"{name}.xlsx")
    report = import_registry(db, d)
    assert report.counts["persons"] == 1 and report.counts["postings"] == 1
    assert report.encodings["persons.xlsx"] == "XLSX" and report.encodings["units.csv"] == "UTF-8"
    with db.read_session() as s:
        assert s.scalar(select(PersonRow.name).where(PersonRow.id_number == person)) == "张三丰"

    bad = tmp_path / "bad"
    bad.mkdir()
    book = Workbook()
    book.active.append(["id_number", "name", "gender", "birth_date", "education"])
    book.active.append([id_number(), "李四", "M", "1985-13-01", "BACHELOR"])
    book.save(bad / "persons.xlsx")
    with pytest.raises(ImportRejected) as e:
        import_registry(db, bad)
    assert [(r.file, r.line) for r in e.value.report.errors] == [("persons.xlsx", 2)]
