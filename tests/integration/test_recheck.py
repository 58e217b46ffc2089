"""`hub recheck [--kind K] [--unit CODE]`: stale findings (left by an older rule) resolve, missing ones open, only
within the kind and unit asked for; a second run changes nothing and publishes nothing (SQLite and PostgreSQL)."""

import json
from datetime import datetime, timezone

from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.adapters.orm import MismatchRow, OutboxRow, PartnerIdentityRow
from hub.domain.identifiers import parse_id_number
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.recheck import recheck
from hub.service_layer.unit_of_work import UnitOfWork
from tests.integration.registry_helpers import hire, make_person, make_unit


def open_kinds(db, subject):
    with db.read_session() as s:
        return set(s.execute(select(MismatchRow.kind).where(MismatchRow.subject == subject, MismatchRow.status == "OPEN")).scalars())


def stale(db, kind, subject, unit=""):
    """A finding today's rules would not make (as a rule since changed or a fixed bug left it)."""
    with UnitOfWork(db, actor="test") as uow:
        MismatchBook(uow).open_or_update(kind, subject=subject, unit_code=unit, source="police", details={"old": "rule"})
        uow.commit()


def police_view_without_reconciling(db, idn, name):
    """The police's view written as an old release did without judging it (the finding is missing)."""
    p = parse_id_number(idn)
    with UnitOfWork(db, actor="test") as uow:
        uow.session.add(PartnerIdentityRow(id_number=idn, name=name, gender=p.gender, birth_date=p.birth_date,
                                           status="ALIVE", event_id="e", updated_at=datetime.now(timezone.utc)))
        uow.commit()


def outbox(db):
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow))


def test_recheck_resolves_stale_and_opens_missing_findings_within_kind_and_unit(db):
    u1, u2 = make_unit(db), make_unit(db)
    a, b, c = make_person(db, name="张伟"), make_person(db, name="李娜"), make_person(db, name="王芳")
    hire(db, a, u1)
    hire(db, b, u2)
    hire(db, c, u1)
    police_view_without_reconciling(db, a, "张卫")  # NAME_MISMATCH missing for a
    stale(db, K.NAME_MISMATCH, b)  # stale for b (no police view at all), in u2
    stale(db, K.DECEASED_ACTIVE, c)  # stale for c, another kind, in u1

    t = recheck(db, kind="NAME_MISMATCH", unit=u1)
    assert t.opened == {"NAME_MISMATCH": 1} and not t.resolved
    assert open_kinds(db, a) == {"NAME_MISMATCH"}
    assert open_kinds(db, b) == {"NAME_MISMATCH"}  # another unit: left as it was
    assert open_kinds(db, c) == {"DECEASED_ACTIVE"}  # another kind: left as it was

    t = recheck(db)
    assert t.resolved == {"NAME_MISMATCH": 1, "DECEASED_ACTIVE": 1} and not t.opened
    assert open_kinds(db, b) == open_kinds(db, c) == set() and open_kinds(db, a) == {"NAME_MISMATCH"}

    before = outbox(db)
    t = recheck(db)  # nothing stale any more: nothing changes, nothing is published
    assert not (t.opened or t.updated or t.resolved) and outbox(db) == before


def test_cli_recheck(db_url, db):
    from hub.cli import app

    u = make_unit(db)
    a = make_person(db)
    hire(db, a, u)
    stale(db, K.HR_UNIT_MISMATCH, a, u)
    r = CliRunner().invoke(app, ["--database-url", db_url, "recheck", "--unit", u, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["resolved"] == {"HR_UNIT_MISMATCH": 1}
    r = CliRunner().invoke(app, ["--database-url", db_url, "recheck", "--kind", "UNPAID_POSTING"])
    assert r.exit_code == 1 and "hub compare" in r.output
