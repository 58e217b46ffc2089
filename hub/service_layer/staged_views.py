"""The monthly comparison of police, HR and insurance snapshots as set operations in PostgreSQL.

The twin of ``staged_compare`` (finance): same inputs, same effects as the general path in ``compare.py`` — which
stays the path for SQLite and for files the stager cannot number lines for — with the work per row in the database:

1. ``COPY`` the file into a temporary table and check every row there (``snapshot_staging``); rows the SQL does
   not accept go to the Python event models, which word the error (the models stay the one validator);
2. period (insurance) and duplicate-person checks; bad rows reject the file unless ``--skip-bad-rows``;
3. the absence kinds (``IDENTITY_UNKNOWN``, ``INSURANCE_MISSING``): anti-joins of the registry against the snapshot,
   booked through the same ``MismatchBook`` as everywhere else;
4. the source's view: only the rows that changed are rewritten (a FULL JOIN of the old and the new rows) — the
   police and HR views whole, insurance the records of the compared period and earlier (a newer record stays);
   police also updates the verified identity of the persons it names (``verify_staged_identities``);
5. the persons whose view changed are re-checked by ``reconcile_persons`` — the streaming path's own rules — by
   signature class when they are many (``finding_classes``).

All of it is one transaction, holding the global reconciliation lock from step 3 on (the general path takes it
once the file is read and checked too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import text

from hub.adapters.snapshot_staging import TABLE as STAGE, StagedColumns, stage
from hub.domain.reconciliation import HR, INSURANCE, POLICE
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.finding_classes import PERSONS, both_cores, persons_to_judge
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.partner_events import verify_staged_identities
from hub.service_layer.reconcile import GLOBAL_LOCK_KEY, reconcile_persons
from hub.service_layer.staged_compare import book_absences, judge_staged_rows, remove_duplicates
from hub.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class _View:
    table: str
    columns: StagedColumns  # the snapshot's columns, as staged and checked
    values: tuple[str, ...]  # the view's columns a row sets, besides id_number (the snapshot's, by name)
    casts: tuple[tuple[str, str], ...] = ()  # (column, SQL type) where the view's type is not text
    by_period: bool = False  # insurance: one record per person, the latest period's; the snapshot's period and older


VIEWS = {
    POLICE: _View("partner_identity", StagedColumns(
        {"id_number": "id", "name": "name", "gender": "gender", "birth_date": "birth_date",
         "status": "one of:ALIVE|DECEASED|CANCELLED", "photo_sha256": "sha256"}, optional=frozenset({"photo_sha256"})),
        ("name", "gender", "birth_date", "status", "photo_sha256"), casts=(("birth_date", "date"),)),
    HR: _View("partner_employment", StagedColumns(
        {"id_number": "id", "name": "name", "unit_code": "uscc", "status": "one of:EMPLOYED|RETIRED|LEFT",
         "effective_date": "date", "rank": "text100"}, optional=frozenset({"rank"})),
        ("name", "unit_code", "status", "effective_date", "rank"), casts=(("effective_date", "date"),)),
    INSURANCE: _View("partner_insurance", StagedColumns(
        {"id_number": "id", "name": "name", "employer_code": "uscc", "period": "period", "base_amount": "amount",
         "status": "one of:ACTIVE|SUSPENDED|TERMINATED"}),
        ("name", "employer_code", "period", "base_amount", "status"), by_period=True),
}


def run_staged_view(db, report, *, raw: bytes, run_id: str, skip_bad_rows: bool, actor: str,
                    progress: Callable | None, finish: Callable[[UnitOfWork], None]) -> bool:
    """Compare a police, HR or insurance snapshot in PostgreSQL; False (nothing done) when the file needs the
    general path."""
    from hub.service_layer.compare import CLASSES_FROM, CompareRejected

    source, period = report.source, report.period
    view = VIEWS[source]
    cols = view.columns
    step = progress or (lambda *a: None)
    with UnitOfWork(db, actor=actor) as uow:
        s = uow.session
        s.execute(text("SET LOCAL work_mem = '64MB'"))
        s.execute(text("SET LOCAL jit = off"))
        step("compare (staged)", 0, 4)
        rows = stage(s, raw, cols)
        if rows is None:
            return False
        report.method = "staged"
        s.execute(text(f"ANALYZE {STAGE}"))
        step("compare (staged)", 1, 4)
        errors = judge_staged_rows(s, source, cols, period, STAGE, by_period=view.by_period)
        errors += remove_duplicates(s, STAGE, ("id_number",))
        errors.sort(key=lambda e: e.line)
        report.rows, report.bad_rows = rows - len(errors), errors
        if errors and not skip_bad_rows:
            raise CompareRejected(report)

        step("compare (staged)", 2, 4)
        # Staged and checked in a temporary table, nobody waited; from here on the views and findings change:
        # connectors and registry changes wait for the commit (a file with bad rows never took the lock).
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_LOCK_KEY})
        book = MismatchBook(uow, report.tally)
        with both_cores(s):
            book_absences(uow, book, source, run_id, _absences(uow, source, period))
        changed = _replace_view(uow, view, period, run_id, many=CLASSES_FROM)
        if source == POLICE:
            verify_staged_identities(uow, STAGE)

        step("compare (staged)", 3, 4)
        if changed > CLASSES_FROM:
            judge = persons_to_judge(uow)
        else:
            judge = list(s.execute(text(f"SELECT id_number FROM {PERSONS}")).scalars())
        reconcile_persons(uow, book, judge, caused_by={i: [run_id] for i in judge}, plain=True)
        step("compare (staged)", 4, 4)
        finish(uow)
    return True


def _replace_view(uow: UnitOfWork, view: _View, period: str, run_id: str, *, many: int) -> int:
    """Make the staged rows the source's view (insurance: for the period and older, where no newer record is —
    the rows of persons with a newer record leave the stage); fills the temp table ``snapshot_changed`` with the
    persons whose row changed, came or went. Returns how many."""
    s = uow.session
    params = {"p": period}
    if view.by_period:  # a person with a newer record keeps it: their staged row is set aside (once: the view changes below)
        s.execute(text(f"DELETE FROM {STAGE} n USING {view.table} x WHERE x.id_number = n.id_number AND x.period > :p"),
                  params)
    cast = dict(view.casts)
    new_values = ", ".join(f'n."{c}"::{cast[c]} AS "{c}"' if c in cast else f'n."{c}"' for c in view.values)
    new = f"SELECT n.id_number, {new_values} FROM {STAGE} n"
    old = f"SELECT id_number, {', '.join(view.values)} FROM {view.table}" + (" WHERE period <= :p" if view.by_period else "")
    differs = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in view.values)
    s.execute(text(f"DROP TABLE IF EXISTS {PERSONS}"))
    s.execute(text(
        f"""CREATE TEMP TABLE {PERSONS} ON COMMIT DROP AS
            SELECT coalesce(n.id_number, o.id_number) AS id_number FROM ({new}) n FULL JOIN ({old}) o ON o.id_number = n.id_number
            WHERE n.id_number IS NULL OR o.id_number IS NULL OR {differs}"""), params)
    changed = s.execute(text(f"SELECT count(*) FROM {PERSONS}")).scalar()
    if not changed:
        return 0
    s.execute(text(f"ANALYZE {PERSONS}"))
    s.execute(text(f"DELETE FROM {view.table} o USING {PERSONS} c WHERE o.id_number = c.id_number"
                   + (" AND o.period <= :p" if view.by_period else "")), params)
    s.execute(text(
        f"""INSERT INTO {view.table} (id_number, {', '.join(view.values)}, event_id, updated_at)
            SELECT n.id_number, {', '.join(f'n.{c}' for c in view.values)}, :run, :now
            FROM ({new}) n JOIN {PERSONS} c ON c.id_number = n.id_number
            ORDER BY n.id_number"""), {**params, "run": run_id, "now": uow.now})  # in key order: cheap index inserts
    if changed > many:  # many new rows: fresh statistics for the per-person reads that follow
        s.execute(text(f"ANALYZE {view.table}"))
    return changed


def _absences(uow: UnitOfWork, source: str, period: str) -> dict[K, dict[tuple[str, str], dict]]:
    """IDENTITY_UNKNOWN (police) and INSURANCE_MISSING (insurance) from the staged snapshot (the general path's
    ``_absences``)."""
    s = uow.session
    if source == POLICE:
        return {K.IDENTITY_UNKNOWN: {
            (idn, unit): {"expected": "known to police", "found": "absent from the police snapshot", "period": period}
            for idn, unit in s.execute(text(
                f"""SELECT pe.id_number, coalesce(po.unit_code, '') FROM persons pe
                    LEFT JOIN postings po ON po.id_number = pe.id_number AND po.active
                    WHERE NOT EXISTS (SELECT 1 FROM {STAGE} n WHERE n.id_number = pe.id_number)"""))}}
    if source == INSURANCE:
        return {K.INSURANCE_MISSING: {
            (idn, unit): {"expected": "an ACTIVE contribution", "found": "none in the insurance snapshot", "period": period}
            for idn, unit in s.execute(text(
                f"""SELECT po.id_number, po.unit_code FROM postings po WHERE po.active
                    AND NOT EXISTS (SELECT 1 FROM {STAGE} n WHERE n.id_number = po.id_number AND n.status = 'ACTIVE')"""))}}
    return {}
