"""Monthly full comparison (全库比对): a department's snapshot for one period against the registry.

The snapshot (contract section 6, ``sources``) is the source's complete truth for the period. In one transaction —
the unit of work this pipeline opens and commits — it replaces the source's partner view for that period,
re-checks every affected person with the same rules as the streaming path (``reconcile_persons``), and raises or
resolves the absence kinds only a complete snapshot can show (``absences``).

Three ways through, one result (tests/integration/test_compare_staged.py compares them):
  staged  — PostgreSQL: COPY and set operations (``staged_finance``; ``staged_person_views`` for police, HR and
            insurance); a file the stager cannot number lines for is declined, and nothing was done;
  classes — PostgreSQL, a declined file: rows read in Python (``snapshot_rows``), the view replaced
            (``general``), and when many persons changed only those whose signature class can have findings are
            re-checked (``recheck_selection``);
  general — SQLite (and ``staged=False``): rows read in Python, the view replaced, every changed person re-checked.

Re-running the same file changes nothing and publishes nothing (the run's id is derived from the file, so the
mismatches it touched already name it). A run killed mid-way committed nothing; re-running it gives the state of
one clean run.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text

from hub.adapters.database import Database
from hub.adapters.jsonutil import dumps
from hub.adapters.orm import ComparisonRow, MismatchRow
from hub.adapters.text_files import decode
from hub.domain.reconciliation import FINANCE
from hub.service_layer.comparison import recheck_selection, staged_finance, staged_person_views
from hub.service_layer.comparison.absences import book_absences, find_absences
from hub.service_layer.comparison.general import replace_partner_view
from hub.service_layer.comparison.report import CompareRejected, CompareReport
from hub.service_layer.comparison.snapshot_rows import read_snapshot
from hub.service_layer.comparison.sources import PERIOD, SOURCES, Progress
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.reconcile import GLOBAL_LOCK_KEY, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork

RECHECK_BLOCK = 20000  # persons re-checked together (the general path: every changed person)
STAGED_SOURCES = SOURCES  # sources whose snapshots PostgreSQL compares with set operations


def run_compare(db: Database, *, source: str, period: str, path: Path, skip_bad_rows: bool = False,
                actor: str = "cli", progress: Progress | None = None, comparison_id: str | None = None,
                staged: bool = True, expected_sha256: str | None = None) -> CompareReport:
    """Compare a snapshot file; raises CompareRejected (nothing changed) on bad rows unless ``skip_bad_rows``.

    ``staged=False`` forces the plain general path (all paths must agree; the tests compare them).
    ``expected_sha256``: the digest of the file when it was checked (``startComparison``); other bytes — the file
    was replaced since, e.g. by a symbolic link out of the comparison directory — are not compared (REJECTED).
    """
    started = time.perf_counter()
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (allowed: {', '.join(SOURCES)})")
    if not PERIOD.match(period or ""):
        raise ValueError(f"period {period!r} must be YYYY-MM")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    raw = path.read_bytes()
    decoded = decode(raw, path.name)  # UTF-8 or GB18030; UnreadableText (a ValueError) with line and byte otherwise
    digest = hashlib.sha256(raw).hexdigest()
    cid = comparison_id or str(uuid.uuid4())
    report = CompareReport(cid, source, period, encoding=decoded.encoding)
    record_start(db, cid, source, period, path, digest, actor, comparison_id is not None)
    if expected_sha256 is not None and digest != expected_sha256:
        message = f"{path.name} changed after the comparison was started; start it again"
        _record_end(db, cid, "REJECTED", report, message)
        raise ValueError(message)
    run_id = f"compare:{source}:{period}:{digest[:16]}"

    def finish(uow: UnitOfWork) -> None:
        """Close the run inside its transaction: summary, operation log, comparison row, commit."""
        report.still_open = _still_open(uow)
        report.seconds = time.perf_counter() - started
        uow.record("compare.run", "comparison", cid, after={
            "source": source, "period": period, "file": path.name, "sha256": digest, "rows": report.rows,
            "bad_rows": len(report.bad_rows), "opened": report.tally.opened, "resolved": report.tally.resolved})
        uow.session.execute(ComparisonRow.__table__.update().where(ComparisonRow.id == cid).values(
            status="SUCCEEDED", finished_at=uow.now, summary=dumps(report.summary())))
        uow.commit()

    try:
        if db.is_postgres and staged and source in STAGED_SOURCES:
            staged_path = staged_finance.compare_staged if source == FINANCE else staged_person_views.compare_staged
            with UnitOfWork(db, actor=actor) as uow:
                if staged_path(uow, report, raw=decoded.utf8(raw), run_id=run_id, skip_bad_rows=skip_bad_rows,
                               progress=progress):
                    finish(uow)
                    return report
            # declined: the transaction ends without a commit, nothing was done
        records, errors = read_snapshot(source, period, path, progress, content=decoded.text)
        report.rows, report.bad_rows = len(records), errors
        if errors and not skip_bad_rows:
            raise CompareRejected(report)
        with UnitOfWork(db, actor=actor) as uow:
            if uow.is_postgres:
                uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_LOCK_KEY})
            book = MismatchBook(uow, report.tally)
            step = progress or (lambda *a: None)
            step("apply snapshot", 0, 3)
            affected = replace_partner_view(uow, source, period, records, run_id)
            step("apply snapshot", 1, 3)
            if uow.is_postgres and staged and len(affected) > recheck_selection.CLASSES_FROM:
                affected = recheck_selection.select_for_recheck(uow, affected)  # only persons whose signature class can have findings
                report.method = "classes"
            ordered = sorted(affected)
            for i in range(0, len(ordered), RECHECK_BLOCK):  # a block at a time: memory of one block's views
                block = ordered[i:i + RECHECK_BLOCK]
                reconcile_persons(uow, book, block, caused_by={p: [run_id] for p in block})
                if len(ordered) > RECHECK_BLOCK:
                    uow.session.flush()
                    uow.flush()
            step("apply snapshot", 2, 3)
            book_absences(book, source, run_id, find_absences(uow, source, period, records))
            step("apply snapshot", 3, 3)
            finish(uow)
        return report
    except CompareRejected as e:
        _record_end(db, cid, "REJECTED", report, str(e))
        raise
    except Exception as e:
        _record_end(db, cid, "FAILED", report, repr(e))
        raise
    except KeyboardInterrupt:  # Ctrl-C (`hub compare`): the run must not stay RUNNING for good
        _record_end(db, cid, "FAILED", report, "interrupted (Ctrl-C) before its changes were committed",
                    only_running=True)
        raise


def record_start(db, cid, source, period, path, digest, actor, exists: bool) -> None:
    """The run's ``comparisons`` row, RUNNING (committed at once: GraphQL's ``comparison(id)`` shows it)."""
    with UnitOfWork(db, actor=actor) as uow:
        if exists and uow.session.get(ComparisonRow, cid) is not None:
            uow.session.execute(ComparisonRow.__table__.update().where(ComparisonRow.id == cid).values(
                status="RUNNING", file_sha256=digest))
        else:
            uow.session.add(ComparisonRow(id=cid, source=source, period=period, file_name=str(path), file_sha256=digest,
                                          status="RUNNING", actor=actor, started_at=uow.now))
        uow.commit()


def _record_end(db, cid, status, report: CompareReport, error: str, only_running: bool = False) -> None:
    """``only_running``: not over a run already committed SUCCEEDED (a Ctrl-C right after its commit)."""
    where = [ComparisonRow.id == cid] + ([ComparisonRow.status == "RUNNING"] if only_running else [])
    with UnitOfWork(db, actor="system") as uow:
        uow.session.execute(ComparisonRow.__table__.update().where(*where).values(
            status=status, finished_at=uow.now, error=error[:2000],
            summary=dumps({**report.summary(), "errors": [str(e) for e in report.bad_rows[:200]]})))
        uow.commit()


def _still_open(uow: UnitOfWork) -> dict[str, int]:
    return dict(uow.session.execute(select(MismatchRow.kind, func.count()).where(MismatchRow.status == "OPEN")
                                    .group_by(MismatchRow.kind)).all())
