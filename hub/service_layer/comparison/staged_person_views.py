"""The staged path for police, HR and insurance snapshots (partner views of one row per person), in PostgreSQL.

The twin of ``staged_finance``: same inputs, same effects as the general path (``general``) — which
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
   signature class when they are many (``recheck_selection``).

All of it is one transaction — the pipeline's unit of work —, holding the global reconciliation lock from step 3 on (the general path takes it
once the file is read and checked too).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import text

from hub.adapters.snapshot_staging import TABLE as STAGE, stage
from hub.domain.reconciliation import INSURANCE, POLICE
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.comparison.absences import Found, book_absences_plain
from hub.service_layer.comparison import recheck_selection
from hub.service_layer.comparison.recheck_selection import PERSONS, both_cores
from hub.service_layer.comparison.report import CompareRejected, CompareReport
from hub.service_layer.comparison.sources import SNAPSHOTS, SnapshotSource
from hub.service_layer.comparison.staged_rows import remove_duplicates, validate_flagged_rows
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.partner_events import verify_staged_identities
from hub.service_layer.reconcile import GLOBAL_LOCK_KEY, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork


def compare_staged(uow: UnitOfWork, report: CompareReport, *, raw: bytes, run_id: str, skip_bad_rows: bool,
                   progress: Callable | None) -> bool:
    """Compare a police, HR or insurance snapshot in PostgreSQL within ``uow`` (the pipeline commits it); False,
    and nothing done, when the file needs the general path."""
    source, period = report.source, report.period
    view = SNAPSHOTS[source]
    cols = view.columns
    step = progress or (lambda *a: None)
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
    errors = validate_flagged_rows(s, source, cols, period, STAGE, by_period=view.by_period)
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
        book_absences_plain(uow, book, source, run_id, _absences(uow, source, period))
    changed = _replace_view(uow, view, period, run_id, many=recheck_selection.CLASSES_FROM)
    if source == POLICE:
        verify_staged_identities(uow, STAGE)

    step("compare (staged)", 3, 4)
    if changed > recheck_selection.CLASSES_FROM:
        recheck = recheck_selection.select_changed_for_recheck(uow)
    else:
        recheck = list(s.execute(text(f"SELECT id_number FROM {PERSONS}")).scalars())
    reconcile_persons(uow, book, recheck, caused_by={i: [run_id] for i in recheck}, plain=True)
    step("compare (staged)", 4, 4)
    return True


def _replace_view(uow: UnitOfWork, view: SnapshotSource, period: str, run_id: str, *, many: int) -> int:
    """Make the staged rows the source's view (insurance: for the period and older, where no newer record is —
    the rows of persons with a newer record leave the stage); fills the temp table ``snapshot_changed`` with the
    persons whose row changed, came or went. Returns how many."""
    s = uow.session
    params = {"p": period}
    if view.keeps_newer:  # a person with a newer record keeps it: their staged row is set aside (once: the view changes below)
        s.execute(text(f"DELETE FROM {STAGE} n USING {view.view} x WHERE x.id_number = n.id_number AND x.period > :p"),
                  params)
    cast = dict(view.casts)
    new_values = ", ".join(f'n."{c}"::{cast[c]} AS "{c}"' if c in cast else f'n."{c}"' for c in view.values)
    new = f"SELECT n.id_number, {new_values} FROM {STAGE} n"
    old = f"SELECT id_number, {', '.join(view.values)} FROM {view.view}" + (" WHERE period <= :p" if view.keeps_newer else "")
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
    s.execute(text(f"DELETE FROM {view.view} o USING {PERSONS} c WHERE o.id_number = c.id_number"
                   + (" AND o.period <= :p" if view.keeps_newer else "")), params)
    s.execute(text(
        f"""INSERT INTO {view.view} (id_number, {', '.join(view.values)}, event_id, updated_at)
            SELECT n.id_number, {', '.join(f'n.{c}' for c in view.values)}, :run, :now
            FROM ({new}) n JOIN {PERSONS} c ON c.id_number = n.id_number
            ORDER BY n.id_number"""), {**params, "run": run_id, "now": uow.now})  # in key order: cheap index inserts
    if changed > many:  # many new rows: fresh statistics for the per-person reads that follow
        s.execute(text(f"ANALYZE {view.view}"))
    return changed


def _absences(uow: UnitOfWork, source: str, period: str) -> Found:
    """IDENTITY_UNKNOWN (police) and INSURANCE_MISSING (insurance) from the staged snapshot (the general path's
    ``absences.find_absences``)."""
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
