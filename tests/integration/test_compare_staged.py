"""The staged comparison (PostgreSQL set operations) against the general path (row by row in Python).

Both paths run on clones of one database holding a demo city whose partners disagree in every way the rules know
(deceased, retired, other employer, older pay periods, stopped pay, spacing in names); their effects must be the
same: mismatches with details, the finance view, the events published, the bad-row report. Also: the signature
classes of ``recheck_selection`` are sound (every member of a class is judged like its representative).
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.adapters.database import connect
from hub.demo.city import generate_city
from hub.domain.identifiers import make_id_number
from hub.domain.reconciliation import person_findings
from hub.service_layer.comparison.pipeline import run_compare
from hub.service_layer.comparison.report import CompareRejected
from hub.adapters.payroll_partitions import partition_name
from hub.adapters.snapshot_staging import TABLE as STAGE
from hub.service_layer.comparison.recheck_selection import (
    _SIGNATURES,
    CLASSES,
    LATER,
    PERSONS,
    STAGED_JOINS,
    STAGED_SIGNATURES,
    select_for_recheck,
    select_staged_for_recheck,
)
from hub.service_layer.importer import import_registry
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.reconcile import load_views, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork
from tests.conftest import _DROPPER, _admin_engine, _pg_url

P, BEFORE, AFTER = "2026-10", "2026-09", "2026-11"
NOW = datetime(2026, 10, 1, tzinfo=timezone.utc)


@pytest.fixture
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("staged_city")
    generate_city(out, 1500, seed=11)
    persons = {r["id_number"]: r["name"] for r in csv.DictReader((out / "persons.csv").open(encoding="utf-8"))}
    funding = {r["code"]: r["funding"] for r in csv.DictReader((out / "units.csv").open(encoding="utf-8"))}
    postings = [(r["id_number"], r["unit_code"]) for r in csv.DictReader((out / "postings.csv").open(encoding="utf-8"))]
    return out, persons, funding, postings


def _partners_disagree(db, persons, postings, rng, *, lines_of_p: bool = True):
    """Partner views in every state the rules know, then one reconciliation of everyone (as streaming would).

    ``lines_of_p``: some persons already have lines of the compared period (else the snapshot is the period's first
    and some persons are paid in a later period instead, whose findings the snapshot cannot change)."""
    ids = sorted(persons)
    units = sorted({u for _, u in postings})
    posting = dict(postings)
    rows = defaultdict(list)
    for i, idn in enumerate(ids):
        r = rng.random()
        birth = date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
        gender = "M" if int(idn[16]) % 2 else "F"
        if r < 0.5:
            status = "DECEASED" if rng.random() < 0.03 else "ALIVE"
            name = persons[idn] if rng.random() > 0.03 else persons[idn] + "某"
            rows["partner_identity"].append((idn, name, gender, birth, status, None, "seed", NOW))
        if r > 0.4:
            st = rng.choice(["EMPLOYED"] * 20 + ["RETIRED", "LEFT"])
            unit = posting.get(idn) if rng.random() > 0.05 else rng.choice(units)
            rank = rng.choice([None] * 40 + ["四级主任科员", "一级调研员"])  # some contradict a leader: LEADER_RANK_CONFLICT
            rows["partner_employment"].append((idn, persons[idn], unit or rng.choice(units), st, date(2020, 1, 1), rank, "seed", NOW))
        if r > 0.7 and idn in posting:
            emp = posting[idn] if rng.random() > 0.05 else rng.choice(units)
            rows["partner_insurance"].append((idn, persons[idn], emp, BEFORE, "6000.00",
                                               rng.choice(["ACTIVE"] * 10 + ["SUSPENDED"]), "seed", NOW))
        if idn in posting and rng.random() < 0.6:
            rows["partner_payroll"].append((idn, posting[idn], BEFORE, persons[idn], "7000.00", True, "seed", NOW))
        if idn in posting and rng.random() < 0.05:  # a line of the compared period already there, maybe stopped
            rows["partner_payroll"].append((idn, posting[idn], P if lines_of_p else AFTER, persons[idn], "7000.00",
                                            rng.random() < 0.5, "seed", NOW))
        elif not lines_of_p and rng.random() < 0.01:  # paid by another unit in a later period
            rows["partner_payroll"].append((idn, rng.choice(units), AFTER, persons[idn], "7000.00", True, "seed", NOW))
    cols = {"partner_identity": "id_number, name, gender, birth_date, status, photo_sha256, event_id, updated_at",
            "partner_employment": "id_number, name, unit_code, status, effective_date, rank, event_id, updated_at",
            "partner_insurance": "id_number, name, employer_code, period, base_amount, status, event_id, updated_at",
            "partner_payroll": "id_number, unit_code, period, name, gross_amount, paid, event_id, updated_at"}
    with UnitOfWork(db, actor="test") as uow:
        for table, values in rows.items():
            n = len(cols[table].split(","))
            uow.session.execute(text(f"INSERT INTO {table} ({cols[table]}) VALUES ({', '.join(f':c{i}' for i in range(n))})"),
                                [{f"c{i}": v for i, v in enumerate(row)} for row in values])
        reconcile_persons(uow, MismatchBook(uow), ids)
        uow.commit()


def _snapshot(path: Path, persons, funding, postings, rng, *, bad: bool, crlf: bool = False, overlong: bool = True) -> Path:
    """Every fiscally paid posting, with missing lines, ghosts, other units, respaced names, lower-case x.

    ``overlong``: two bad rows have values too long for the finance view's columns (a name, an ID number with a
    space), so the period's first snapshot is staged in a temporary table instead of its partition-to-be."""
    units = sorted(funding)
    lines = []
    for idn, unit in postings:
        if funding[unit] == "SELF":
            continue
        r = rng.random()
        name = persons[idn]
        if r < 0.03:
            continue
        if r < 0.05:
            unit = rng.choice(units)
        elif r < 0.06 and len(name) > 1:
            name = name[0] + " " + name[1:]  # the same name to person_findings, not to SQL
        elif r < 0.07:
            name = f" {name} "  # surrounding spaces: stripped by the model
        lines.append([idn.lower() if rng.random() < 0.01 else idn, name, unit, P, f"{rng.randint(6000, 9000)}.00"])
    for i in range(15):
        ghost = make_id_number("330108", date(1991, 1 + i % 12, 1 + i), i, i % 2 == 0)
        lines.append([ghost, "钱某", rng.choice(units), P, "7000.00"])
    if bad:
        good = lines[0]
        lines += [
            [good[0][:17] + ("0" if good[0][17] != "0" else "1"), "乙", good[2], P, "1.00"],  # check character
            ["11010519491231002X"[:-1] + "9", "丙", good[2], P, "1.00"],  # wrong check character
            [make_id_number("330108", date(1990, 1, 1), 1, True)[:10] + "0230" + "0011", "丁", good[2], P, "1.00"],
            [lines[1][0], lines[1][1], "91330100MA27XXXX0X", P, "1.00"],  # unit code check
            [lines[2][0], "", lines[2][2], P, "1.00"],  # empty name
            *([[lines[3][0], "名" * 101, lines[3][2], P, "1.00"]] if overlong else []),  # name too long
            [lines[4][0], lines[4][1], lines[4][2], "2026-13", "1.00"],  # not a period
            [lines[5][0], lines[5][1], lines[5][2], BEFORE, "1.00"],  # another period
            [lines[6][0], lines[6][1], lines[6][2], P, "1.000.0"],  # not an amount
            [lines[7][0], lines[7][1], lines[7][2], P, "7000.00"],  # duplicate person and unit
            *([[" " + lines[8][0], lines[8][1], lines[8][2], P, "7000.00"]] if overlong else []),  # duplicate once stripped
        ]
    rng.shuffle(lines)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        w.writerow(["id_number", "name", "unit_code", "period", "gross_amount"])
        w.writerows(lines)
    return path


def _state(url: str) -> dict:
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect() as c:
        mismatches = sorted((k, s, u, st, src, json.loads(d) if d else None, json.loads(cb)) for k, s, u, st, src, d, cb in c.execute(text(
            "SELECT kind, subject, unit_code, status, source, details, caused_by FROM mismatches")))
        payroll = sorted(c.execute(text(
            "SELECT id_number, unit_code, period, name, gross_amount, paid, event_id FROM partner_payroll")).all())
        events = Counter((t, k if t == "registry.updates.v1" else "(a mismatch id)", json.loads(v)["type"],
                          json.loads(v).get("subject")) for t, k, v in c.execute(text("SELECT topic, key, value FROM outbox")))
        person_events = sorted(json.dumps(json.loads(v)["data"], sort_keys=True) for (v,) in c.execute(text(
            "SELECT value FROM outbox WHERE value LIKE '%gov.registry.person.updated%'")))
        views = {t: sorted(c.execute(text(f"SELECT {cols}, event_id FROM {t}")).all()) for t, cols in (
            ("partner_identity", "id_number, name, gender, birth_date, status, photo_sha256"),
            ("partner_employment", "id_number, name, unit_code, status, effective_date, rank"),
            ("partner_insurance", "id_number, name, employer_code, period, base_amount, status"))}
        verified = sorted(c.execute(text("SELECT id_number, verified_name, identity_status, photo_sha256 FROM persons")).all())
    eng.dispose()
    return {"mismatches": [tuple(json.dumps(x, sort_keys=True) for x in m) for m in mismatches], "payroll": payroll,
            "events": sorted(events.items()), "person_events": person_events, "views": views, "verified": verified}


def _differences(states: list[dict]) -> dict:
    """What the first state has that another lacks and the other way round, by part (for assertion messages)."""
    def flat(v):
        j = lambda x: json.dumps(x, default=str, ensure_ascii=False)  # noqa: E731
        return {("", j(x)) for x in v} if isinstance(v, list) else {(k, j(x)) for k, xs in v.items() for x in xs}
    return {f"{key} 0 vs {i}": (sorted(flat(states[0][key]) - flat(st[key]))[:5], sorted(flat(st[key]) - flat(states[0][key]))[:5])
            for i, st in enumerate(states[1:], 1) for key in states[0] if states[0][key] != st[key]}


def _column(url: str, sql: str) -> list:
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect() as c:
        out = list(c.execute(text(sql)).scalars())
    eng.dispose()
    return out


@pytest.fixture
def twin_databases(pg_url):
    """A second database cloned from ``pg_url`` on demand (after the shared setup)."""
    made = []

    def clone() -> str:
        name = pg_url.rsplit("/", 1)[1] + f"_twin{len(made) or ''}"
        eng = _admin_engine()
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_url.rsplit("/", 1)[1]}"'))
        eng.dispose()
        made.append(name)
        return _pg_url(name)

    yield clone
    for name in made:
        _DROPPER.drop_later(name)  # dropped on the background thread, as pg_url's database is


@pytest.mark.parametrize("lines_of_p", [True, False], ids=["period-has-lines", "first-of-period"])
def test_staged_and_general_paths_leave_the_same_state(pg_url, twin_databases, city, tmp_path, lines_of_p):
    out, persons, funding, postings = city
    rng = random.Random(5)
    db = connect(pg_url)
    import_registry(db, out)
    _partners_disagree(db, persons, postings, rng, lines_of_p=lines_of_p)
    db.dispose()
    twin = twin_databases()
    staged_db, general_db = connect(pg_url), connect(twin)
    try:
        first = _snapshot(tmp_path / "first.csv", persons, funding, postings, random.Random(1), bad=True, crlf=True)
        # bad rows: both reject with the same report, and change nothing
        reports = []
        for d, staged in ((staged_db, True), (general_db, False)):
            with pytest.raises(CompareRejected) as e:
                run_compare(d, source="finance", period=P, path=first, staged=staged)
            reports.append(e.value.report)
        assert reports[0].method == "staged" and reports[1].method == "general"
        assert [str(e) for e in reports[0].bad_rows] == [str(e) for e in reports[1].bad_rows]
        assert len(reports[0].bad_rows) == 11
        assert _state(pg_url) == _state(twin)
        if not lines_of_p:  # the period's first snapshot, staged as its partition-to-be: bad rows skipped
            first = _snapshot(tmp_path / "first.csv", persons, funding, postings, random.Random(1), bad=True, overlong=False)

        second = _snapshot(tmp_path / "second.csv", persons, funding, postings, random.Random(2), bad=False)
        corrected = tmp_path / "corrected.csv"  # the second file with a few amounts corrected: the rest unchanged
        lines = second.read_text(encoding="utf-8").splitlines()
        corrected.write_text("\n".join(l.replace(".00", ".50") if i % 97 == 0 and i else l for i, l in enumerate(lines)) + "\n",
                             encoding="utf-8")
        for snapshot in (first, second, corrected):
            exists = f"SELECT to_regclass('{partition_name(P)}') IS NOT NULL"
            before = _column(pg_url, exists)[0]
            a = run_compare(staged_db, source="finance", period=P, path=snapshot, skip_bad_rows=True)
            if not before:  # the first snapshot: the period's lines get a partition of their own (with the lines
                # streamed before it, split off the DEFAULT partition, when there were such)
                assert snapshot is first and _column(pg_url, exists)[0]
                assert _column(pg_url, f"SELECT count(*) FROM {partition_name(P)}") == \
                    _column(pg_url, f"SELECT count(*) FROM partner_payroll WHERE period = '{P}'")
                assert _column(pg_url, f"SELECT count(*) FROM partner_payroll_default WHERE period = '{P}'") == [0]
                if not lines_of_p:  # the staged rows became the partition
                    assert _column(pg_url, f"SELECT count(*) FROM {partition_name(P)}") == [a.rows]
            b = run_compare(general_db, source="finance", period=P, path=snapshot, skip_bad_rows=True, staged=False)
            assert a.method == "staged" and b.method == "general"
            assert (a.rows, [str(e) for e in a.bad_rows]) == (b.rows, [str(e) for e in b.bad_rows])
            assert (a.tally.opened, a.tally.updated, a.tally.resolved, a.still_open) == \
                (b.tally.opened, b.tally.updated, b.tally.resolved, b.still_open)
            sa, sb = _state(pg_url), _state(twin)
            assert sa == sb
            kinds = {json.loads(m[0]) for m in sa["mismatches"]}
            assert {"GHOST_PAYROLL", "PAYROLL_UNIT_MISMATCH", "UNPAID_POSTING", "HEADCOUNT_INCONSISTENT",
                    "DECEASED_ACTIVE", "NAME_MISMATCH", "HR_STATUS_CONFLICT"} <= kinds
        assert a.tally.opened == {} and a.tally.resolved == {}  # the correction touched amounts only
        if not lines_of_p:  # the later period's lines decide: persons paid then by another unit keep that finding
            later_paid = set(_column(pg_url, f"SELECT id_number FROM partner_payroll WHERE period = '{AFTER}'"))
            unit_mismatch = set(_column(pg_url, "SELECT subject FROM mismatches WHERE kind = 'PAYROLL_UNIT_MISMATCH'"
                                                " AND status = 'OPEN'"))
            assert later_paid & unit_mismatch
    finally:
        staged_db.dispose()
        general_db.dispose()


def test_signature_classes_are_judged_like_their_representative(pg_url, city, tmp_path):
    out, persons, funding, postings = city
    rng = random.Random(9)
    db = connect(pg_url)
    try:
        import_registry(db, out)
        _partners_disagree(db, persons, postings, rng)
        run_compare(db, source="finance", period=P, path=_snapshot(tmp_path / "f.csv", persons, funding, postings, rng, bad=False))
        with UnitOfWork(db, actor="test") as uow:
            uow.session.execute(text(f"CREATE TEMP TABLE {PERSONS} AS SELECT id_number FROM persons UNION "
                                     "SELECT id_number FROM partner_payroll"))
            uow.session.execute(text(_SIGNATURES))
            sig = dict(uow.session.execute(text(f"SELECT id_number, signature FROM {CLASSES}")).all())
            reg, views = load_views(uow, sorted(sig))
        verdicts = defaultdict(set)
        for idn, s in sig.items():
            if "X" not in s:  # X: a name or unit differs from the registry's; always judged one by one
                verdicts[s].add(bool(person_findings(reg[idn], views[idn])))
        assert all(len(v) == 1 for v in verdicts.values()), {s: v for s, v in verdicts.items() if len(v) > 1}
        assert {True, False} <= set().union(*verdicts.values())  # classes with and without findings exist
        assert len(verdicts) < len(sig) / 20  # persons do fall into few classes
        assert sum("X" in s for s in sig.values()) < len(sig) / 4  # and most are not judged one by one
    finally:
        db.dispose()


def test_persons_without_pay_lines_are_judged_by_class_not_one_by_one(pg_url, city, tmp_path):
    """Unpaid persons form classes like the others (an outer join's empty row is no pay line): with partners that
    agree and no pay lines at all, a police comparison has nobody to judge but its representatives."""
    out, persons, funding, postings = city
    db = connect(pg_url)
    try:
        import_registry(db, out)
        ids = sorted(persons)
        with UnitOfWork(db, actor="test") as uow:
            uow.session.execute(text(
                "INSERT INTO partner_identity (id_number, name, gender, birth_date, status, photo_sha256, event_id,"
                " updated_at) SELECT id_number, name, gender, birth_date, 'ALIVE', NULL, 'seed', now() FROM persons"))
            assert select_for_recheck(uow, ids) == []  # every class is free of findings: nobody is judged
            uow.session.execute(text(f"DROP TABLE {CLASSES}"))
            uow.session.execute(text(_SIGNATURES))
            x, n = uow.session.execute(text(f"SELECT count(*) FILTER (WHERE signature LIKE '%X%'), count(DISTINCT signature)"
                                            f" FROM {CLASSES}")).one()
        assert x == 0 and 0 < n < 10, (x, n)
    finally:
        db.dispose()


def test_staged_signature_classes_are_judged_like_their_representative(pg_url, city, tmp_path):
    """The classes the staged finance comparison forms from the snapshot's rows: every member that is not judged
    one by one has the verdict of its class, with every partner view in play and some persons paid later."""
    out, persons, funding, postings = city
    rng = random.Random(9)
    db = connect(pg_url)
    try:
        import_registry(db, out)
        _partners_disagree(db, persons, postings, rng, lines_of_p=False)
        run_compare(db, source="finance", period=P, skip_bad_rows=True,
                    path=_snapshot(tmp_path / "f.csv", persons, funding, postings, rng, bad=False))
        with UnitOfWork(db, actor="test") as uow:
            s = uow.session
            # the compared period's lines as the comparison staged them, one person twice
            s.execute(text(f"CREATE TEMP TABLE {STAGE} AS SELECT id_number, name, unit_code FROM partner_payroll"
                           f" WHERE period = '{P}'"))
            def classes() -> list:
                s.execute(text(f"DROP TABLE IF EXISTS {CLASSES}"))
                s.execute(text(STAGED_SIGNATURES.format(classes=CLASSES, stage=STAGE, joins=STAGED_JOINS, changed="",
                                                         later=LATER)), {"p": P})
                return s.execute(text(f"SELECT id_number, x, signature FROM {CLASSES}")).all()

            twice = min(idn for idn, x, _ in classes() if not x)  # then paid twice: judged one by one
            s.execute(text(f"INSERT INTO {STAGE} SELECT id_number, name, (SELECT min(code) FROM units) FROM {STAGE}"
                           " WHERE id_number = :i"), {"i": twice})
            s.execute(text("INSERT INTO partner_payroll (id_number, unit_code, period, name, gross_amount, paid, event_id,"
                           " updated_at) SELECT id_number, unit_code, :p, name, '1.00', true, 'test', now()"
                           f" FROM {STAGE} WHERE id_number = :i AND unit_code = (SELECT min(code) FROM units)"),
                      {"i": twice, "p": P})
            rows = classes()
            reg, views = load_views(uow, sorted({r[0] for r in rows}))
            later = set(s.execute(text(f"SELECT id_number FROM partner_payroll WHERE period > '{P}'")).scalars())
            judged = set(select_staged_for_recheck(uow, stage=STAGE, period=P, all_changed=True))
        one_by_one = {idn for idn, x, _ in rows if x}
        verdicts = defaultdict(set)
        for idn, x, sig in rows:
            if idn not in one_by_one:
                verdicts[sig].add(bool(person_findings(reg[idn], views[idn])))
        assert all(len(v) == 1 for v in verdicts.values()), {s: v for s, v in verdicts.items() if len(v) > 1}
        assert {True, False} <= set().union(*verdicts.values())  # classes with and without findings exist
        assert len(verdicts) < len(rows) / 20 and len(one_by_one) < len(rows) / 4
        assert later and not later & {r[0] for r in rows}  # persons paid in a later period are left out
        assert twice in one_by_one  # several lines: judged one by one
        # ... and no class's representative: the class it is also in (its line of the posting unit) keeps the verdict
        # of its other members, so they are not all judged
        twice_class = next(sig for idn, x, sig in rows if idn == twice and not x)
        members = {idn for idn, x, sig in rows if sig == twice_class} - one_by_one
        assert members and verdicts[twice_class] == {False} and not members <= judged
        assert one_by_one <= judged
    finally:
        db.dispose()


def test_files_the_stager_cannot_number_go_the_general_way(pg_url, tmp_path):
    db = connect(pg_url)
    try:
        f = tmp_path / "quoted.csv"
        f.write_text('id_number,name,unit_code,period,gross_amount\n"330108199101010011","钱\n某","X",2026-10,1\n',
                     encoding="utf-8")
        with pytest.raises(CompareRejected) as e:
            run_compare(db, source="finance", period=P, path=f)
        assert e.value.report.method == "general" and e.value.report.bad_rows[0].line == 3  # the row ends on line 3
    finally:
        db.dispose()


VARIANTS = {
    # name: (file text with {a} {b} {u} placeholders, expected method)
    "bom and crlf": ("\ufeffid_number,name,unit_code,period,gross_amount\r\n{a},张伟,{u},2026-10,1.00\r\n", "staged"),
    "no final newline": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10,1.00", "staged"),
    "columns in another order": ("name,id_number,period,unit_code,gross_amount\n张伟,{a},2026-10,{u},1.00\n", "staged"),
    "lower-case x and spaces": ("id_number,name,unit_code,period,gross_amount\n {x} ,张伟 ,{u},2026-10,1.00\n", "staged"),
    "empty fields": ("id_number,name,unit_code,period,gross_amount\n{a},,{u},,\n", "staged"),
    "blank line": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10,1.00\n\n{b},李娜,{u},2026-10,1.00\n", "general"),
    "ragged row": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10,1.00,extra\n{b},李娜,{u},2026-10\n", "general"),
    "extra column": ("id_number,name,unit_code,period,gross_amount,note\n{a},张伟,{u},2026-10,1.00,x\n", "staged"),
    "extra columns, one unnamed, a trailing comma": ("id_number,note,name,unit_code,period,gross_amount,\n"
                                                     "{a},x,张伟,{u},2026-10,1.00,\n{b},,李娜,{u},2026-10,1.00,y\n", "staged"),
    "blank lines at the end": ("id_number,name,unit_code,period,gross_amount\r\n{a},张伟,{u},2026-10,1.00\r\n\r\n\r\n",
                               "staged"),
    "a blank line, then white space at the end": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10,1.00\n\n \n",
                                                  "general"),
    "missing column": ("id_number,name,unit_code,period\n{a},张伟,{u},2026-10\n", "general"),
    "bare cr line ends": ("id_number,name,unit_code,period,gross_amount\r{a},张伟,{u},2026-10,1.00\r{b},李娜,{u},2026-10,1.00\r",
                          "general"),
    "a field over the csv module's limit": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10,1.00\n"
                                            "{b}," + "名" * 200000 + ",{u},2026-10,1.00\n", "staged"),
    "a period with a trailing space": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10 ,1.00\n", "staged"),
    "all fields quoted": ('"id_number","name","unit_code","period","gross_amount"\n"{a}","张伟","{u}","2026-10","1.00"\n',
                          "staged"),
    "a quoted name with a comma and a doubled quote": ("id_number,name,unit_code,period,gross_amount\n"
                                                       '{a},"张""伟,",{u},2026-10,1.00\n{b},"",{u},2026-10,1.00\n', "staged"),
    "a quote inside an unquoted field": ('id_number,name,unit_code,period,gross_amount\n{a},张"伟,{u},2026-10,1.00\n'
                                         '{b},"李,娜",{u},2026-10,1.00\n', "general"),
    "copy end marker": ("id_number,name,unit_code,period,gross_amount\n{a},张伟,{u},2026-10,1.00\n\\.\n{b},李娜,{u},2026-10,1.00\n", "general"),
}


# Police, HR and insurance (persons a: M, 1980-01-01; b: F, 1981-02-02): name, (source, file text, expected method)
OTHER_VARIANTS = {
    "police bom and crlf": ("police", "\ufeffid_number,name,gender,birth_date,status\r\n{a},张伟,M,1980-01-01,ALIVE\r\n"
                            "{b},李娜,F,1981-02-02,DECEASED\r\n", "staged"),
    "police optional column first, columns in another order": (
        "police", "photo_sha256,status,birth_date,gender,name,id_number\n,ALIVE,1980-01-01,M,张伟,{a}\n"
        + "AB" * 32 + ",DECEASED,1981-02-02,F,李娜 ,{b}\n", "staged"),
    "police all quoted, the optional column empty": (
        "police", '"id_number","name","gender","birth_date","status","photo_sha256"\n"{a}","张伟","M","1980-01-01","ALIVE",""\n'
        '"{b}","李娜","F","1981-02-02","ALIVE",' + '"' + "ab" * 32 + '"\n', "staged"),
    "police extra column": ("police", "id_number,name,gender,birth_date,status,note\n{a},张伟,M,1980-01-01,ALIVE,x\n", "staged"),
    "police a repeated column": ("police", "id_number,name,gender,birth_date,status,name\n{a},张伟,M,1980-01-01,ALIVE,李娜\n",
                                 "general"),
    "police copy end marker": ("police", "id_number,name,gender,birth_date,status\n{a},张伟,M,1980-01-01,ALIVE\n\\.\n", "general"),
    "police a field over 16 MiB": ("police", "id_number,name,gender,birth_date,status\n{a},张伟,M,1980-01-01,ALIVE\n"
                                   "{b}," + "a" * (17 << 20) + ",F,1981-02-02,ALIVE\n", "staged"),
    "police ideographic and no-break spaces": ("police", "id_number,name,gender,birth_date,status\n{a},\u3000张伟,M,1980-01-01,"
                                               "ALIVE\n{b},李娜\u00a0,F,1981-02-02,ALIVE\n", "staged"),
    "police a status with a no-break space": ("police", "id_number,name,gender,birth_date,status\n{a},张伟,M,1980-01-01,"
                                              "ALIVE\u00a0\n", "staged"),
    "hr rank empty and spaced": ("hr", "id_number,name,unit_code,status,effective_date,rank\n{a},张伟,{u},EMPLOYED,"
                                          "2020-01-01,\n{b},李娜,{u},RETIRED,2020-02-29,\u00a0科长\n", "staged"),
    "hr rank quoted and empty": ("hr", 'id_number,name,unit_code,status,effective_date,rank\r\n{a},张伟,{u},EMPLOYED,2020-01-01,""\r\n'
                                 '"{b}","李娜","{u}","EMPLOYED","2020-01-01",""\r\n', "staged"),
    "police header line ending in two carriage returns": (
        "police", "id_number,name,gender,birth_date,status\r\r\n{a},张伟,M,1980-01-01,ALIVE\n{a},张伟,M,1980-01-01,ALIVE\n", "general"),
    "police a NUL character in a name": ("police", "id_number,name,gender,birth_date,status\n{a},张\x00伟,M,1980-01-01,ALIVE\n",
                                         "general"),
    "hr a NUL character in a rank": ("hr", "id_number,name,unit_code,status,effective_date,rank\n{a},张伟,{u},EMPLOYED,2020-01-01,"
                                     "科\x00长\n", "general"),
    "hr a date that does not exist": ("hr", "id_number,name,unit_code,status,effective_date\n{a},张伟,{u},EMPLOYED,2021-02-29\n",
                                      "staged"),
    "insurance another period": ("insurance", "id_number,name,employer_code,period,base_amount,status\n"
                                 "{a},张伟,{u},2026-10,1.00,ACTIVE\n{b},李娜,{u},2026-09,1.00,ACTIVE\n", "staged"),
    "insurance spaces": ("insurance", "id_number,name,employer_code,period,base_amount,status\n"
                         "{a},张伟\u3000,{u},2026-10,1.00,ACTIVE\n{b},李娜,{u},2026-10,\t1.00,ACTIVE\n", "staged"),
    "insurance duplicate person": ("insurance", "id_number,name,employer_code,period,base_amount,status\n"
                                   "{a},张伟,{u},2026-10,1.00,ACTIVE\n{a},张伟,{u},2026-10,2.00,SUSPENDED\n", "staged"),
}


def test_a_file_neither_utf8_nor_gb18030_is_refused_with_its_line(pg_url, tmp_path):
    db = connect(pg_url)
    f = tmp_path / "latin1.csv"
    f.write_bytes("id_number,name,unit_code,period,gross_amount\n".encode() + "x,Zoë\xff,y,2026-10,1\n".encode("latin-1"))
    try:
        with pytest.raises(ValueError, match="line 2, byte 49: neither UTF-8 nor GB18030"):
            run_compare(db, source="finance", period=P, path=f)
    finally:
        db.dispose()


@pytest.mark.parametrize("variant", sorted(VARIANTS) + sorted(OTHER_VARIANTS))
def test_odd_files_get_the_same_report_either_way(pg_url, twin_databases, tmp_path, variant):
    from tests.factories import id_number
    from tests.integration.registry_helpers import hire, make_person, make_unit

    db = connect(pg_url)
    unit = make_unit(db)
    a = make_person(db, name="张伟", birth=date(1980, 1, 1))
    b = make_person(db, name="李娜", birth=date(1981, 2, 2), male=False)
    hire(db, a, unit)
    hire(db, b, unit)
    x = next(i for i in (id_number(serial=s) for s in range(100)) if i.endswith("X"))
    db.dispose()
    twin = twin_databases()
    source, template, method = ("finance", *VARIANTS[variant]) if variant in VARIANTS else OTHER_VARIANTS[variant]
    f = tmp_path / "f.csv"
    f.write_text(template.format(a=a, b=b, u=unit, x=x.lower()), encoding="utf-8", newline="")
    outcomes = []
    for url, staged in ((pg_url, True), (twin, False)):
        d = connect(url)
        try:
            r = run_compare(d, source=source, period=P, path=f, staged=staged)
            outcomes.append(("ok", r.method, r.rows, sorted(r.tally.opened.items())))
        except CompareRejected as e:
            outcomes.append(("rejected", e.report.method, [str(x) for x in e.report.bad_rows]))
        finally:
            d.dispose()
    assert outcomes[0][1] == method and outcomes[1][1] == "general"
    assert outcomes[0][0] == outcomes[1][0] and outcomes[0][2:] == outcomes[1][2:], outcomes
    assert _state(pg_url) == _state(twin)


def _other_snapshot(path: Path, source: str, persons, postings, rng, *, bad: bool = False) -> Path:
    """A police, HR or insurance snapshot: absences, other names and units, respaced names, statuses. ``bad``: also
    rows of every kind the models reject or normalise, and the optional police photo filled. HR's ranks always: some
    contradict a leader's rank (LEADER_RANK_CONFLICT)."""
    posting = dict(postings)
    units = sorted(set(posting.values()))
    rows = []
    for idn, name in sorted(persons.items()):
        if rng.random() < 0.02:
            continue  # absent: IDENTITY_UNKNOWN / INSURANCE_MISSING
        if rng.random() < 0.03:
            name = name + "某"
        elif rng.random() < 0.03 and len(name) > 1:
            name = name[0] + " " + name[1:]
        unit = posting.get(idn) or rng.choice(units)
        if rng.random() < 0.03:
            unit = rng.choice(units)
        if source == "police":
            rows.append([idn, name, "M" if int(idn[16]) % 2 else "F", f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}",
                         "DECEASED" if rng.random() < 0.02 else "ALIVE"]
                        + ([rng.choice(["", "", "ab" * 32, "AB" * 32])] if bad else []))
        elif source == "hr":
            rows.append([idn, name, unit, rng.choice(["EMPLOYED"] * 30 + ["RETIRED", "LEFT"]), "2026-01-01",
                         rng.choice(["", "", "", "科长", "副处长", "正处", "副处", "三级主任科员", "一级调研员", "管理岗位七级"])])
        elif idn in posting:
            rows.append([idn, name, unit, P, "6000.00", "ACTIVE" if rng.random() > 0.03 else "SUSPENDED"])
    header = {"police": ["id_number", "name", "gender", "birth_date", "status"],
              "hr": ["id_number", "name", "unit_code", "status", "effective_date", "rank"],
              "insurance": ["id_number", "name", "employer_code", "period", "base_amount", "status"]}[source]
    if bad:
        header += {"police": ["photo_sha256"], "hr": [], "insurance": []}[source]
        ok = rows[:40]
        wrong_check = ok[0][0][:17] + ("0" if ok[0][0][17] != "0" else "1")
        feb30 = make_id_number("330108", date(1990, 1, 1), 1, True)[:10] + "0230" + "0011"
        x = next(make_id_number("330108", date(1990, 3, 3), i, True) for i in range(200)
                 if make_id_number("330108", date(1990, 3, 3), i, True).endswith("X"))
        def fix(i: int, **changes) -> list:  # the i-th good row with some fields changed
            row = list(ok[i])
            for col, value in changes.items():
                row[header.index(col)] = value
            return row
        rows += [fix(1, id_number=wrong_check), fix(2, id_number=feb30), fix(3, name=""), fix(4, name="名" * 101),
                 fix(5, name=f" {ok[5][1]} "), fix(6), fix(7, id_number=" " + ok[7][0])]  # 6, 7: duplicates
        if source == "police":
            male = int(ok[8][0][16]) % 2
            rows += [fix(8, gender="F" if male else "M"), fix(9, birth_date="1900-01-01"), fix(10, birth_date="2026-02-30"),
                     fix(11, status="DEAD"), fix(12, status="alive"), fix(13, photo_sha256="g" * 64),
                     fix(14, photo_sha256="  "), fix(15, gender=" " + ok[15][2]),
                     [x.lower(), "钱某", "M" if int(x[16]) % 2 else "F", "1990-03-03", "ALIVE", ""]]
        elif source == "hr":
            rows += [fix(8, unit_code=ok[8][2][:17] + ("0" if ok[8][2][17] != "0" else "1")), fix(9, status="FIRED"),
                     fix(10, effective_date="2026-02-30"), fix(11, effective_date="2026-1-01"), fix(12, effective_date="20260101"),
                     fix(13, rank="级" * 101), fix(14, rank="  "), fix(15, rank=" 科长 "), fix(16, effective_date="0000-01-01"),
                     [x.lower(), "钱某", ok[0][2], "EMPLOYED", "2026-01-01", ""]]
        else:
            rows += [fix(8, period=BEFORE), fix(9, period="2026-13"), fix(10, base_amount="abc"), fix(11, status="active"),
                     fix(12, employer_code="91330100MA27XXXX0X"), fix(13, base_amount=" 6000.00"),
                     [x.lower(), "钱某", ok[0][2], P, "1.00", "ACTIVE"]]
        rng.shuffle(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.parametrize("source", ["police", "hr", "insurance"])
def test_other_sources_bad_rows_get_the_same_report_and_skip_either_way(pg_url, twin_databases, city, tmp_path, source):
    """Rows of every kind the models reject or normalise: the staged checks flag them and the models word the
    errors — the same report as the general path; with --skip-bad-rows the same state."""
    out, persons, funding, postings = city
    db = connect(pg_url)
    import_registry(db, out)
    _partners_disagree(db, persons, postings, random.Random(5))
    db.dispose()
    twin = twin_databases()
    snap = _other_snapshot(tmp_path / f"{source}.csv", source, persons, postings, random.Random(3), bad=True)
    reports = []
    for url, staged in ((pg_url, True), (twin, False)):
        d = connect(url)
        try:
            with pytest.raises(CompareRejected) as e:
                run_compare(d, source=source, period=P, path=snap, staged=staged)
            reports.append((e.value.report.method, [str(x) for x in e.value.report.bad_rows]))
            r = run_compare(d, source=source, period=P, path=snap, staged=staged, skip_bad_rows=True)
            reports.append((r.method, r.rows, [str(x) for x in r.bad_rows]))
        finally:
            d.dispose()
    assert [r[0] for r in reports] == ["staged", "staged", "general", "general"]
    assert reports[0][1:] == reports[2][1:] and reports[1][1:] == reports[3][1:], reports
    assert len(reports[0][1]) >= 12 and reports[1][1] > 1000
    assert _state(pg_url) == _state(twin)


@pytest.mark.parametrize("source", ["police", "hr", "insurance"])
def test_other_sources_staged_by_class_and_general_leave_the_same_state(pg_url, twin_databases, city, tmp_path, source,
                                                                       monkeypatch):
    """The staged path (SQL), the classes path (rows read in Python, persons judged by signature class) and the general path,
    on clones of one database, over two snapshots: the same mismatches, views, verified identities and events.
    (Signature classes from 100 changed persons, so that both faster paths use them.)"""
    monkeypatch.setattr("hub.service_layer.comparison.recheck_selection.CLASSES_FROM", 100)
    monkeypatch.setattr("hub.service_layer.comparison.pipeline.RECHECK_BLOCK", 250)  # the general path works in blocks too
    monkeypatch.setattr("hub.service_layer.partner_events.VERIFY_BLOCK", 200)
    out, persons, funding, postings = city
    db = connect(pg_url)
    import_registry(db, out)
    _partners_disagree(db, persons, postings, random.Random(5))
    if source == "insurance":  # persons whose record is of a later period keep it, whatever the snapshot says
        with UnitOfWork(db, actor="test") as uow:
            uow.session.execute(text(f"UPDATE partner_insurance SET period = '{AFTER}' WHERE id_number IN"
                                     " (SELECT id_number FROM partner_insurance ORDER BY id_number LIMIT 30)"))
            uow.session.execute(text(
                "INSERT INTO partner_insurance (id_number, name, employer_code, period, base_amount, status, event_id,"
                f" updated_at) SELECT id_number, name, unit_code, '{AFTER}', '1.00', 'SUSPENDED', 'seed', now()"
                " FROM (SELECT pe.id_number, pe.name, po.unit_code FROM persons pe JOIN postings po USING (id_number)"
                " WHERE NOT EXISTS (SELECT 1 FROM partner_insurance i WHERE i.id_number = pe.id_number)"
                " ORDER BY pe.id_number LIMIT 30) x"))
            uow.commit()
    db.dispose()
    by_class, general = twin_databases(), twin_databases()
    dbs = [connect(u) for u in (pg_url, by_class, general)]
    try:
        for seed in (1, 2):
            snap = _other_snapshot(tmp_path / f"{source}{seed}.csv", source, persons, postings, random.Random(seed))
            runs = [run_compare(dbs[0], source=source, period=P, path=snap)]
            with monkeypatch.context() as m:  # the classes path: the file read in Python, persons judged by class
                m.setattr("hub.service_layer.comparison.pipeline.STAGED_SOURCES", ())
                runs.append(run_compare(dbs[1], source=source, period=P, path=snap))
            runs.append(run_compare(dbs[2], source=source, period=P, path=snap, staged=False))
            assert [r.method for r in runs] == ["staged", "classes", "general"]
            tallies = [(r.rows, *(sorted(getattr(r.tally, w).items()) for w in ("opened", "updated", "resolved"))) for r in runs]
            assert tallies[0] == tallies[1] == tallies[2], tallies
            states = [_state(u) for u in (pg_url, by_class, general)]
            assert states[0] == states[1] == states[2], _differences(states)
        assert runs[0].tally.opened and runs[0].tally.resolved
        if source == "insurance":
            assert len(_column(pg_url, f"SELECT id_number FROM partner_insurance WHERE period = '{AFTER}'")) == 60
        rerun = run_compare(dbs[0], source=source, period=P, path=snap)  # the same file again: nothing changes
        assert not (rerun.tally.opened or rerun.tally.updated or rerun.tally.resolved)
        assert _state(pg_url) == states[0]
    finally:
        for d in dbs:
            d.dispose()


@pytest.mark.parametrize("period", ["2026-10\n", "２０２６-10", "2026-1", "2026-13"])
def test_a_period_must_be_ascii_yyyy_mm(pg_url, tmp_path, period):
    db = connect(pg_url)
    f = tmp_path / "f.csv"
    f.write_text("id_number,name,unit_code,period,gross_amount\n", encoding="utf-8")
    try:
        with pytest.raises(ValueError, match="must be YYYY-MM"):
            run_compare(db, source="finance", period=period, path=f)
    finally:
        db.dispose()
