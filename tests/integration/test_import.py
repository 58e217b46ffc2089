"""`hub import`: a demo city loads; every bad-row class is reported with file and line, and nothing is written."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.adapters.orm import MismatchRow, OperationLogRow, OutboxRow, PersonRow, PostingRow, UnitRow
from hub.demo.city import generate_city
from hub.domain.identifiers import id_check_char
from hub.service_layer.importer import ImportRejected, import_registry


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    summary = generate_city(out, 1500, seed=7)
    return out, summary


def _count(db, model, *where):
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_city_imports_and_opens_planted_quota_and_retirement_mismatches(db, city):
    src, summary = city
    report = import_registry(db, src)
    assert report.counts["persons"] == summary.persons == _count(db, PersonRow)
    assert _count(db, PostingRow, PostingRow.active) == summary.postings
    assert _count(db, UnitRow) == summary.units
    with db.read_session() as s:
        over = set(s.execute(select(MismatchRow.subject).where(MismatchRow.kind == "OVER_QUOTA", MismatchRow.status == "OPEN")).scalars())
        lead = set(s.execute(select(MismatchRow.subject).where(MismatchRow.kind == "LEADERSHIP_OVER_QUOTA")).scalars())
        retire = set(s.execute(select(MismatchRow.subject).where(MismatchRow.kind == "RETIREMENT_DUE")).scalars())
        entry = s.execute(select(OperationLogRow).where(OperationLogRow.action == "registry.import")).scalar_one()
    assert over == set(summary.planted["over_quota_units"])
    assert lead == set(summary.planted["leadership_over_quota_units"])
    assert retire == set(summary.planted["retirement_due"])
    assert json.loads(entry.after)["counts"]["persons"] == summary.persons
    # every entity reached the outbox
    assert _count(db, OutboxRow, OutboxRow.topic == "registry.updates.v1") == report.counts["events"]
    assert report.counts["events"] == summary.units + summary.quotas + summary.leader_quotas + summary.persons + summary.postings


def test_importing_the_same_city_twice_is_refused_and_changes_nothing(db, city):
    src, _ = city
    import_registry(db, src)
    before = _count(db, OperationLogRow), _count(db, OutboxRow)
    with pytest.raises(ImportRejected) as e:
        import_registry(db, src)
    assert any("already in the registry" in r.reason for r in e.value.report.errors)
    assert (_count(db, OperationLogRow), _count(db, OutboxRow)) == before


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


def test_every_bad_row_class_is_reported_with_file_line_and_reason_and_nothing_is_written(db, city, tmp_path):
    src, _ = city
    bad = tmp_path / "bad"
    shutil.copytree(src, bad)
    persons = _rows(bad / "persons.csv")
    postings = _rows(bad / "postings.csv")
    units = _rows(bad / "units.csv")

    # persons.csv line 2: corrupt the check digit
    p0 = persons[0]["id_number"]
    persons[0]["id_number"] = p0[:17] + ("0" if p0[17] != "0" else "1")
    # line 3: gender disagreeing with the ID number
    persons[1]["gender"] = "F" if persons[1]["gender"] == "M" else "M"
    # line 4: birth date disagreeing with the ID number
    persons[2]["birth_date"] = "1901-01-01"
    # line 5: unknown education value
    persons[3]["education"] = "PHD"
    _write(bad / "persons.csv", persons)
    # units.csv line 2: unknown enum value
    units[0]["kind"] = "COMPANY"
    _write(bad / "units.csv", units)
    # postings: unknown unit (valid code, not in registry) and a person posted twice
    from tests.factories import unit_code

    postings[10]["unit_code"] = unit_code(999_999)
    bad_people = {persons[i]["id_number"] for i in range(4)} | {p0}
    dup = next(i for i, p in enumerate(postings) if i > 10 and p["id_number"] not in bad_people and p["unit_code"] != units[0]["code"])
    postings.append(dict(postings[dup]))
    _write(bad / "postings.csv", postings)

    with pytest.raises(ImportRejected) as e:
        import_registry(db, bad)
    errors = [(r.file, r.line, r.reason) for r in e.value.report.errors]

    def has(file, line, text):
        return any(f == file and ln == line and text in reason for f, ln, reason in errors)

    assert has("persons.csv", 2, "check character"), errors
    assert has("persons.csv", 3, "gender"), errors
    assert has("persons.csv", 4, "birth date"), errors
    assert has("persons.csv", 5, "unknown education 'PHD'"), errors
    assert has("units.csv", 2, "unknown unit kind 'COMPANY'"), errors
    assert has("postings.csv", 12, "unknown unit"), errors
    assert has("postings.csv", len(postings) + 1, f"posted twice (first on line {dup + 2})"), errors
    for model in (UnitRow, PersonRow, PostingRow, OutboxRow, OperationLogRow, MismatchRow):
        assert _count(db, model) == 0, model


def test_missing_header_column_and_empty_folder_are_reported(db, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportRejected) as e:
        import_registry(db, tmp_path / "empty")
    assert "no registry CSV files" in e.value.report.errors[0].reason
    d = tmp_path / "hdr"
    d.mkdir()
    (d / "units.csv").write_text("code,name,kind\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as e:
        import_registry(db, d)
    assert e.value.report.errors[0].line == 1 and "level" in e.value.report.errors[0].reason


def test_a_field_longer_than_the_csv_modules_limit_is_read_by_the_one_csv_policy_not_a_crash(db, tmp_path):
    """A 140,000-character field (a pasted blob) was a ``_csv.Error`` traceback out of `hub import` (the csv
    module's default field limit, raised only by `hub compare`); the one CSV reader policy reads it, and the rows'
    own checks report what is wrong, with file and line."""
    d = tmp_path / "long"
    d.mkdir()
    (d / "persons.csv").write_text("id_number,name,gender,birth_date,education\n"
                                   f"110105194912310021,{'张' * 140_000},F,1949-12-31,BACHELOR\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as e:
        import_registry(db, d)
    (error,) = e.value.report.errors
    assert (error.file, error.line) == ("persons.csv", 2) and "check character" in error.reason
    assert _count(db, PersonRow) == 0


def test_cli_import_prints_a_row_numbered_report_and_exits_1(db_url, tmp_path):
    from typer.testing import CliRunner

    from hub.cli import app

    d = tmp_path / "one"
    d.mkdir()
    body = "33010619850615001"
    (d / "persons.csv").write_text(
        "id_number,name,gender,birth_date,education\n"
        f"{body}{id_check_char(body)},张三,M,1985-06-15,BACHELOR\n"
        f"{body}0,李四,M,1985-06-15,BACHELOR\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["--database-url", db_url, "import", str(d), "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["ok"] is False and out["errors"][0]["line"] == 3 and out["errors"][0]["file"] == "persons.csv"


def test_imported_created_events_carry_what_the_registry_publishes_for_the_same_types(db, city):
    """One builder per entity: an imported unit's unit.created and person's person.created carry exactly the data the
    registry's own events of those types carry (registry.unit_data / person_data of the stored row)."""
    from hub.adapters.jsonutil import dumps
    from hub.service_layer.registry_changes import person_data, unit_data

    src, _ = city
    import_registry(db, src)
    with db.read_session() as s:
        units = {u.code: json.loads(dumps(unit_data(u))) for u in s.execute(select(UnitRow)).scalars()}
        persons = {p.id_number: json.loads(dumps(person_data(p))) for p in s.execute(select(PersonRow)).scalars()}
        events = [json.loads(v) for v in s.execute(select(OutboxRow.value)).scalars()]
    by_type = lambda t: {e["subject"]: e["data"] for e in events if e["type"] == t}  # noqa: E731
    assert by_type("gov.registry.unit.created") == units
    assert by_type("gov.registry.person.created") == persons


def test_imported_events_are_the_registry_builders_output_byte_for_byte(db, city, tmp_path):
    """The import fills its unit, quota, person and posting events from templates made once per type; every outbox
    value is exactly the canonical JSON of the CloudEvent the registry's builders make from the stored row — also
    for names JSON must escape or that look like format fields, and a name of the 100 characters the registry keeps.
    Postings whose category does not fit their unit's kind open MIXED_CATEGORY, exactly those."""
    from datetime import datetime

    from hub.adapters.jsonutil import dumps
    from hub.adapters.orm import LeaderQuotaRow, QuotaRow
    from hub.contract.cloudevents import cloud_event
    from hub.domain.registry import category_fits
    from hub.service_layer.registry_changes import person_data, posting_data, quota_data, unit_data

    src, _ = city
    odd = tmp_path / "odd"
    shutil.copytree(src, odd)
    persons, postings = _rows(odd / "persons.csv"), _rows(odd / "postings.csv")
    # (control characters are refused by the domain: tests/unit/test_cloud_event_forms.py covers their escapes)
    names = ['O\'Brien "the {0}th" %s %(x)s', "back\\slash\u00a0nbsp", "line\u2029para", "张三\u2028😀", "{", "}}",
             "\u200bzero-width", "长" * 100]
    for p, name in zip(persons, names):
        p["name"] = name
    kinds = {u["code"]: u["kind"] for u in _rows(odd / "units.csv")}
    for p in postings[:40:4]:  # a public-institution slot in an organ, an administrative one in an institution
        p["category"] = "ADMINISTRATIVE" if kinds[p["unit_code"]] == "PUBLIC_INSTITUTION" else "PUBLIC_INSTITUTION"
        p["leader_rank"] = ""
    _write(odd / "persons.csv", persons)
    _write(odd / "postings.csv", postings)

    report = import_registry(db, odd)
    with db.read_session() as s:
        stored = {"gov.registry.unit.created": {r.code: unit_data(r) for r in s.execute(select(UnitRow)).scalars()},
                  "gov.registry.person.created": {r.id_number: person_data(r) for r in s.execute(select(PersonRow)).scalars()},
                  "gov.registry.posting.started": {str(r.id): {**posting_data(r), "form_number": None}
                                                   for r in s.execute(select(PostingRow)).scalars()},
                  "gov.registry.quota.changed": {(r.unit_code, r.category): quota_data(r) for r in s.execute(select(QuotaRow)).scalars()},
                  "gov.registry.leader_quota.changed": {(r.unit_code, r.rank): quota_data(r)
                                                        for r in s.execute(select(LeaderQuotaRow)).scalars()}}
        outbox = s.execute(select(OutboxRow.key, OutboxRow.value).order_by(OutboxRow.id)).all()
        mixed = set(s.execute(select(MismatchRow.subject).where(MismatchRow.kind == "MIXED_CATEGORY")).scalars())
    assert {r.name for r in _stored_persons(db, [p["id_number"] for p in persons[:len(names)]])} == set(names)
    checked = 0
    for key, value in outbox:
        event = json.loads(value)
        rows = stored.get(event["type"])
        if rows is None:  # the checks' mismatch events
            continue
        data = rows[key if "quota" not in event["type"] else (key, event["data"].get("category") or event["data"]["rank"])]
        expected = cloud_event(type=event["type"], subject=event["subject"], data=data,
                               now=datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
        assert value == dumps({**expected, "id": event["id"]}), value
        checked += 1
    assert checked == report.counts["events"]
    assert mixed == {p["id_number"] for p in postings if not category_fits(kinds[p["unit_code"]], p["category"])}
    assert len(mixed) >= 10


def _stored_persons(db, ids):
    with db.read_session() as s:
        return s.execute(select(PersonRow).where(PersonRow.id_number.in_(ids))).scalars().all()


def test_a_person_s_name_longer_than_the_registry_keeps_is_a_bad_row(db, city, tmp_path):
    src, _ = city
    bad = tmp_path / "long"
    shutil.copytree(src, bad)
    persons = _rows(bad / "persons.csv")
    persons[2]["name"] = "长" * 101
    persons[4]["name"] = "x" * 100 + "  "  # stripped: 100 characters, kept
    persons[5]["name"] = "y" * 101
    persons[5]["gender"] = ""  # the slow path (the domain's parsers) refuses it too
    _write(bad / "persons.csv", persons)
    with pytest.raises(ImportRejected) as e:
        import_registry(db, bad)
    assert [(r.file, r.line, r.reason) for r in e.value.report.errors if r.file == "persons.csv"] == [
        ("persons.csv", 4, "the person's name is 101 characters long; at most 100 are allowed"),
        ("persons.csv", 7, "the person's name is 101 characters long; at most 100 are allowed")]
    assert _count(db, PersonRow) == 0 and _count(db, OutboxRow) == 0


def test_a_name_with_a_control_character_is_a_bad_row(db, city, tmp_path):
    src, _ = city
    bad = tmp_path / "controls"
    shutil.copytree(src, bad)
    persons = _rows(bad / "persons.csv")
    persons[1]["name"] = "张\n三"
    persons[3]["name"] = "李\x00四"
    persons[6]["name"] = "王\t五"
    persons[8]["name"] = "赵\u3000六"  # an ideographic space is text, not a control character: kept
    _write(bad / "persons.csv", persons)
    with pytest.raises(ImportRejected) as e:
        import_registry(db, bad)
    # the line break inside the quoted name makes that record two lines long: the rows after it are one line later
    bad_rows = [(r.line, r.reason) for r in e.value.report.errors if r.file == "persons.csv"]
    assert [line for line, _ in bad_rows] == [4, 6, 9]
    assert all("person name must not contain control characters" in reason for _, reason in bad_rows), bad_rows
    assert _count(db, PersonRow) == 0 and _count(db, OutboxRow) == 0
