"""Social insurance keeps one record per person, the newer period's (hub.domain.reconciliation.supersedes), whether
the record comes by the stream (in one batch or across batches) or by a comparison — SQLite and PostgreSQL."""

import pytest
from sqlalchemy import select

from hub.adapters.orm import PartnerInsuranceRow
from hub.service_layer.comparison.pipeline import run_compare
from tests.events import contribution
from tests.integration.registry_helpers import apply, hire, make_person, make_unit
from tests.integration.test_compare import write_csv


def stored(db, idn):
    with db.read_session() as s:
        r = s.execute(select(PartnerInsuranceRow).where(PartnerInsuranceRow.id_number == idn)).scalar_one()
        return r.period, r.status


def insurance_csv(path, period, rows):
    return write_csv(path, ["id_number", "name", "employer_code", "period", "base_amount", "status"],
                     [[i, "张伟", u, period, "7000.00", st] for i, u, st in rows])


@pytest.mark.parametrize("one_batch", [False, True], ids=["two-batches", "one-batch"])
def test_a_september_record_arriving_after_october_does_not_replace_it_on_the_stream(db, one_batch):
    unit = make_unit(db)
    a = make_person(db)
    hire(db, a, unit)
    oct_, sep = contribution(a, "张伟", unit, "2026-10"), contribution(a, "张伟", unit, "2026-09", status="SUSPENDED")
    if one_batch:
        apply(db, oct_, sep)
    else:
        apply(db, oct_)
        apply(db, sep)
    assert stored(db, a) == ("2026-10", "ACTIVE")
    apply(db, contribution(a, "张伟", unit, "2026-11", status="SUSPENDED"))  # a newer one still replaces it
    assert stored(db, a) == ("2026-11", "SUSPENDED")


def test_stream_and_comparison_keep_the_same_latest_record(db, tmp_path):
    unit = make_unit(db)
    a, b = make_person(db), make_person(db, name="李娜")
    hire(db, a, unit)
    hire(db, b, unit)
    # a: October by comparison, then September by the stream; b: October by the stream, then September by comparison
    run_compare(db, source="insurance", period="2026-10", path=insurance_csv(tmp_path / "oct.csv", "2026-10", [(a, unit, "ACTIVE")]))
    apply(db, contribution(a, "张伟", unit, "2026-09", status="SUSPENDED"), contribution(b, "李娜", unit, "2026-10"))
    run_compare(db, source="insurance", period="2026-09",
                path=insurance_csv(tmp_path / "sep.csv", "2026-09", [(a, unit, "SUSPENDED"), (b, unit, "SUSPENDED")]))
    assert stored(db, a) == stored(db, b) == ("2026-10", "ACTIVE")
