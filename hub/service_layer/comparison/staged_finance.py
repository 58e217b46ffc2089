"""The staged path for finance snapshots: the monthly comparison as set operations in PostgreSQL.

Same inputs, same effects as the general path (``general``) — which stays the path for SQLite and for files
the stager cannot number lines for (police, HR and insurance snapshots: ``staged_person_views``) — but the work
per row happens in the database:

1. ``COPY`` the file into a table and check every row there (``snapshot_staging``); rows the SQL does not accept
   go to the Python event models, which word the error (the models stay the one validator). The period's first
   snapshot is copied straight into the table that becomes its partition of the finance view
   (``payroll_partitions``); a later snapshot of the period goes to a temporary table;
2. period and duplicate checks (the partition-to-be's primary key, a window query when it fails); bad rows reject
   the file unless ``--skip-bad-rows``;
3. the absence kinds (``UNPAID_POSTING``, ``HEADCOUNT_INCONSISTENT``): an anti-join and a GROUP BY of the snapshot
   against the registry; what they find goes through the same ``MismatchBook`` as everywhere else;
4. the finance view of the period: the new partition is attached (lines streamed before the period's first
   snapshot are split off the DEFAULT partition first), or the lines are rewritten only where they changed (a FULL
   JOIN of old and new lines);
5. of the persons whose view changed, those who can have a person-level finding are found by signature classes
   formed from the snapshot's rows (``recheck_selection``) and re-checked by ``reconcile_persons`` — the streaming
   path's own rules.

All of it is one transaction — the pipeline's unit of work — holding the global reconciliation lock, like the
general path.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects import postgresql

from hub.adapters.orm import PartnerPayrollRow
from hub.adapters.payroll_partitions import COLUMNS, attach, has_partition, partition_name, partitioned, split_off, written_to
from hub.adapters.snapshot_staging import TABLE as STAGE, stage
from hub.domain.registry import headcount_consistent
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.comparison.absences import OUTSIDE, Found, book_absences_plain
from hub.service_layer.comparison.recheck_selection import PERSONS, both_cores, select_staged_for_recheck
from hub.service_layer.comparison.report import CompareRejected, CompareReport
from hub.service_layer.comparison.sources import FINANCE_SNAPSHOT
from hub.service_layer.comparison.staged_rows import remove_duplicates, validate_flagged_rows
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.reconcile import GLOBAL_LOCK_KEY, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork

_VIEW = PartnerPayrollRow.__table__
_COLS = ", ".join(COLUMNS)
# The snapshot's columns typed like the view's, in the view's order (the partition-to-be's layout follows it).
_PG = postgresql.dialect()
_VIEW_TYPES = {c.name: c.type.compile(dialect=_PG) for c in _VIEW.c
               if c.name in ("id_number", "name", "unit_code", "period", "gross_amount")}
_VIEW_KEY = ", ".join(c.name for c in _VIEW.primary_key.columns)
_VIEW_DEFAULTED = ("paid", "event_id", "updated_at")  # the columns a snapshot does not have


def _view_defaults(run_id: str, now) -> str:
    """The columns the staged rows get as they land, typed like the view's: paid, written by this run, now
    (literals: DDL takes no parameters)."""
    lit = lambda v: "'" + str(v).replace("'", "''") + "'"  # noqa: E731
    values = dict(zip(_VIEW_DEFAULTED, ("true", lit(run_id), lit(now.isoformat()))))
    return ", ".join(f"{c} {_VIEW.c[c].type.compile(dialect=_PG)} NOT NULL DEFAULT {v}" for c, v in values.items())


def _primary_key(s, table: str) -> bool:
    """Give the partition-to-be its primary key (the view's); False, and nothing changed, when lines repeat."""
    s.execute(text("SAVEPOINT primary_key"))
    try:
        s.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({_VIEW_KEY})'))
    except IntegrityError:
        s.execute(text("ROLLBACK TO SAVEPOINT primary_key"))
        return False
    s.execute(text("RELEASE SAVEPOINT primary_key"))
    return True


def compare_staged(uow: UnitOfWork, report: CompareReport, *, raw: bytes, run_id: str, skip_bad_rows: bool,
                   progress: Callable | None) -> bool:
    """Compare a finance snapshot in PostgreSQL within ``uow`` (the pipeline commits it); False, and nothing done,
    when the file needs the general path."""
    step = progress or (lambda *a: None)
    cols = FINANCE_SNAPSHOT.columns
    period = report.period
    s = uow.session
    s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_LOCK_KEY})
    # Few big set operations: memory for hashes and sorts, and no JIT (compiling costs more than it saves here).
    s.execute(text("SET LOCAL work_mem = '64MB'"))
    s.execute(text("SET LOCAL jit = off"))
    step("compare (staged)", 0, 4)
    # The period's first snapshot (no lines of it anywhere yet) is staged straight into the table that becomes
    # its partition of the finance view; otherwise, and when a value does not fit the view's columns, into a
    # temporary table whose changed lines are then written into the view.
    new_period = not s.execute(text("SELECT EXISTS (SELECT 1 FROM partner_payroll WHERE period = :p)"),
                               {"p": period}).scalar()
    own = new_period and partitioned(s) and not has_partition(s, period)
    rows = None
    if own:
        table = partition_name(period)
        rows = stage(s, raw, cols, table=table, types=_VIEW_TYPES, extra=_view_defaults(run_id, uow.now))
    if rows is None:
        own, table = False, STAGE
        rows = stage(s, raw, cols)
    if rows is None:
        return False
    report.method = "staged"
    s.execute(text("SET LOCAL default_statistics_target = 10"))  # the ANALYZEs below: a small sample is enough
    s.execute(text(f"ANALYZE {table}"))
    step("compare (staged)", 1, 4)
    errors = validate_flagged_rows(s, "finance", cols, period, table, by_period=True)
    # Duplicate lines (person and unit twice). The period's partition-to-be tries its primary key first: built
    # by one sort, kept for the attachment, and it fails only when there are duplicates to find and report.
    if not own or not _primary_key(s, table):
        errors += remove_duplicates(s, table, ("id_number", "unit_code"))
        if own and not _primary_key(s, table):
            raise RuntimeError(f"{table}: no primary key after removing duplicates")
    errors.sort(key=lambda e: e.line)
    report.rows, report.bad_rows = rows - len(errors), errors
    if errors and not skip_bad_rows:
        raise CompareRejected(report)

    step("compare (staged)", 2, 4)
    # The absences need only the snapshot and the registry: found first, before the view's partitions are
    # locked (readers of the view wait from an attachment to the commit).
    book = MismatchBook(uow, report.tally)
    with both_cores(s):
        _finance_absences(uow, book, period, run_id, table)
    leftover = None
    if own:  # the staged rows are the period's lines: the table becomes the partition
        s.execute(text(f"ALTER TABLE {table} DROP COLUMN line, "
                       + ", ".join(f"ALTER COLUMN {c} DROP DEFAULT" for c in _VIEW_DEFAULTED)))
        if not attach(s, period):  # a reader holds the DEFAULT partition: the lines go in row by row
            s.execute(text(f"INSERT INTO partner_payroll ({_COLS}) SELECT {_COLS} FROM {table}"))
            own, leftover = False, table
    elif new_period:  # every line is new, every person in it changed
        s.execute(text(
            f"""INSERT INTO partner_payroll (id_number, unit_code, period, name, gross_amount, paid, event_id, updated_at)
                SELECT id_number, unit_code, :p, name, gross_amount, true, :run, :now FROM {table}"""),
            {"p": period, "run": run_id, "now": uow.now})
    else:
        if partitioned(s) and not has_partition(s, period):  # lines streamed before the period's first snapshot
            split_off(s, period)
        s.execute(text(f"DROP TABLE IF EXISTS {PERSONS}"))
        s.execute(text(
            f"""CREATE TEMP TABLE {PERSONS} ON COMMIT DROP AS
                SELECT DISTINCT coalesce(n.id_number, o.id_number) AS id_number
                FROM {table} n FULL JOIN (SELECT id_number, unit_code, name, gross_amount, paid FROM partner_payroll
                                          WHERE period = :p) o
                  ON o.id_number = n.id_number AND o.unit_code = n.unit_code
                WHERE n.id_number IS NULL OR o.id_number IS NULL OR o.name IS DISTINCT FROM n.name
                   OR o.gross_amount IS DISTINCT FROM n.gross_amount OR NOT o.paid"""), {"p": period})
        s.execute(text(f"ANALYZE {PERSONS}"))
        s.execute(text(f"DELETE FROM partner_payroll p USING {PERSONS} c WHERE p.period = :p AND p.id_number = c.id_number"),
                  {"p": period})
        s.execute(text(
            f"""INSERT INTO partner_payroll (id_number, unit_code, period, name, gross_amount, paid, event_id, updated_at)
                SELECT n.id_number, n.unit_code, :p, n.name, n.gross_amount, true, :run, :now
                FROM {table} n JOIN {PERSONS} c ON c.id_number = n.id_number"""),
            {"p": period, "run": run_id, "now": uow.now})
    # Many new lines: refresh the statistics of the table that took them, or the planner takes it for small
    # and the per-person reads below (`id_number = ANY(:ids)`) become sequential scans comparing every row with
    # every id. A new partition has them from its staging (autovacuum analyzes it properly soon after); the
    # others keep statistics of the usual quality.
    if not own:
        s.execute(text("RESET default_statistics_target"))
        s.execute(text(f'ANALYZE "{written_to(s, period)}"'))

    step("compare (staged)", 3, 4)
    recheck = select_staged_for_recheck(uow, stage=table, period=period, all_changed=new_period)
    reconcile_persons(uow, book, recheck, caused_by={i: [run_id] for i in recheck}, plain=True)
    if leftover:
        s.execute(text(f"DROP TABLE {leftover}"))
    step("compare (staged)", 4, 4)
    return True


def _finance_absences(uow: UnitOfWork, book: MismatchBook, period: str, run_id: str, stage: str) -> None:
    """UNPAID_POSTING and HEADCOUNT_INCONSISTENT from the staged snapshot (the general path's ``_absences``)."""
    s = uow.session
    found: Found = {}
    found[K.UNPAID_POSTING] = {
        (idn, unit): {"expected": "a payroll line", "found": "no pay in the finance snapshot", "period": period}
        for idn, unit in s.execute(text(
            f"""SELECT po.id_number, po.unit_code FROM postings po JOIN units u ON u.code = po.unit_code
                WHERE po.active AND u.funding = 'FULL'
                  AND NOT EXISTS (SELECT 1 FROM {stage} n WHERE n.id_number = po.id_number)"""))}
    found[K.HEADCOUNT_INCONSISTENT] = {
        (code, code): {"period": period, "approved": int(a), "actual": int(n), "paid": int(p),
                       **({"paid_non_establishment": int(o)} if o else {})}
        for code, a, n, p, o in s.execute(text(
            f"""SELECT u.code, coalesce(q.approved, 0), coalesce(h.actual, 0), coalesce(pd.paid, 0), coalesce(pd.other, 0)
                FROM units u
                LEFT JOIN (SELECT unit_code, sum(approved) AS approved FROM quotas GROUP BY unit_code) q ON q.unit_code = u.code
                LEFT JOIN (SELECT unit_code, count(*) AS actual FROM postings WHERE active GROUP BY unit_code) h
                       ON h.unit_code = u.code
                LEFT JOIN (SELECT n.unit_code, count(*) FILTER (WHERE NOT {OUTSIDE}) AS paid,
                                  count(*) FILTER (WHERE {OUTSIDE}) AS other
                           FROM {stage} n GROUP BY n.unit_code) pd
                       ON pd.unit_code = u.code
                WHERE u.funding IN ('FULL', 'PARTIAL')"""))  # SQL gathers the three numbers, the domain judges
        if not headcount_consistent(int(a), int(n), int(p))}
    book_absences_plain(uow, book, "finance", run_id, found)
