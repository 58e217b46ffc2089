"""Array parameters as text literals (bulk.array_param / any_of / upsert) and the one-statement load_views on
PostgreSQL: the same values and views as the generic paths (SQLite and PostgreSQL)."""

from datetime import date, datetime, timezone

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, MetaData, String, Table, select

from hub.adapters.bulk import any_of, array_param, upsert
from hub.service_layer import reconcile
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person, make_unit

AWKWARD = ['b"c', "d\\e", "", " x, {y}", "NULL", "null", "中文", "tab\there", "nl\nx", "q'uote", "{}", "a,b"]


def test_array_param_literals():
    assert array_param(["a", "b"]) == '{"a","b"}'
    assert array_param(["a", None]) == '{"a",NULL}'
    assert array_param(['b"c', "d\\e"]) == '{"b\\"c","d\\\\e"}'
    assert array_param([1, None, 3]) == "{1,NULL,3}"
    assert array_param([True, False, None]) == "{t,f,NULL}"
    assert array_param([date(2020, 1, 2)]) == '{"2020-01-02"}'
    assert array_param([]) == "{}"
    assert array_param([None, None]) == "{NULL,NULL}"
    assert array_param([1, "a"]) == [1, "a"]  # mixed: left to the driver


def test_upsert_and_any_of_round_trip_awkward_values(db):
    meta = MetaData()
    t = Table("zz_array_roundtrip", meta, Column("k", String(50), primary_key=True), Column("v", String(100)),
              Column("b", Boolean), Column("n", BigInteger), Column("ts", DateTime(timezone=True)), Column("d", Date))
    meta.create_all(db.engine)
    now = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=timezone.utc)
    rows = [dict(k=f"k{i}:{v}", v=v, b=i % 2 == 0, n=i * 10**12, ts=now, d=date(2020, 1, i + 1))
            for i, v in enumerate(AWKWARD)]
    with db.session() as s:
        upsert(s, t, rows, ["k"])
        upsert(s, t, [dict(k=rows[0]["k"], v=None, b=None, n=None, ts=None, d=None)], ["k"])
        s.commit()
        got = {r.k: r for r in s.execute(select(t))}
        for r in rows[1:]:
            g = got[r["k"]]
            assert (g.v, g.b, g.n, g.d) == (r["v"], r["b"], r["n"], r["d"])
            assert g.ts.astimezone(timezone.utc) == now
        assert got[rows[0]["k"]].v is None
        keys = [r["k"] for r in rows[3:7]] + ["missing", "NULL"]
        assert sorted(s.execute(select(t.c.k).where(any_of(s, t.c.k, keys))).scalars()) == sorted(keys[:4])
        assert sorted(s.execute(select(t.c.v).where(any_of(s, t.c.v, AWKWARD))).scalars()) == sorted(AWKWARD[1:])
    meta.drop_all(db.engine)


def test_load_views_in_one_statement_equals_the_generic_path(db):
    unit = make_unit(db)
    people = [make_person(db, name=f"张{i}") for i in range(4)] + [id_number(), id_number()]
    hire(db, people[0], unit)
    hire(db, people[1], unit)
    from hub.adapters.orm import PartnerEmploymentRow, PartnerIdentityRow, PartnerInsuranceRow, PartnerPayrollRow

    now = datetime.now(timezone.utc)
    with db.session() as s:
        s.add(PartnerIdentityRow(id_number=people[0], name="张0", gender="M", birth_date=date(1990, 1, 1),
                                 status="ALIVE", event_id="e1", updated_at=now))
        s.add(PartnerEmploymentRow(id_number=people[1], name="张1", unit_code=unit, status="EMPLOYED",
                                   effective_date=date(2020, 1, 1), event_id="e2", updated_at=now))
        for period, paid in (("2026-10", True), ("2026-09", False)):
            s.add(PartnerPayrollRow(id_number=people[1], unit_code=unit, period=period, name="张1", gross_amount="1.00",
                                    paid=paid, event_id=f"e3{period}", updated_at=now))
        s.add(PartnerPayrollRow(id_number=people[4], unit_code=unit, period="2026-10", name=None, gross_amount=None,
                                paid=False, event_id="e4", updated_at=now))
        s.add(PartnerInsuranceRow(id_number=people[5], name="李", employer_code=unit, period="2026-10",
                                  base_amount="2.00", status="ACTIVE", event_id="e5", updated_at=now))
        s.commit()
    ids = sorted(people)
    with UnitOfWork(db, actor="test") as uow:
        got = reconcile.load_views(uow, ids)

        class Generic:  # the per-table queries every database runs
            session = uow.session
            is_postgres = False

        assert got == reconcile.load_views(Generic, ids)
    reg, views = got
    assert reg[people[0]].registered and reg[people[0]].posting_unit == unit
    assert not reg[people[4]].registered
    assert [l.period for l in views[people[1]].pay] == ["2026-09", "2026-10"]
    assert views[people[2]] == reconcile.PartnerViews()
