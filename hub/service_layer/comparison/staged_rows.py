"""The staged paths' row verdicts: rows the SQL checks flag are judged by the Python models; duplicates removed.

The staged checks (``hub.adapters.snapshot_staging``) are a fast filter, not a second validator: every row they do
not accept goes to ``snapshot_rows.check_row`` — the same model and the same words as the general path.
"""

from __future__ import annotations

from sqlalchemy import text

from hub.adapters.snapshot_staging import StagedColumns, flagged, settle
from hub.service_layer.comparison.recheck_selection import both_cores
from hub.service_layer.comparison.snapshot_rows import BadSnapshotRow, check_row


def validate_flagged_rows(s, source: str, cols: StagedColumns, period: str, table: str, *,
                          by_period: bool) -> list[BadSnapshotRow]:
    """The staged rows the SQL checks flagged go to the source's model: a bad row is removed and becomes a
    BadSnapshotRow, a good one is rewritten with the model's normalised values. With ``by_period``, rows of another
    period are removed too. Returns the bad rows."""
    errors, fixed, bad = [], [], []
    with both_cores(s):
        suspects = flagged(s, cols, period, table=table)
    for line, *values in suspects:
        rec, error = check_row(source, dict(zip(cols.names, values)), line)
        if error:
            errors.append(error)
            bad.append(line)
        else:
            fixed.append((line, tuple(getattr(rec, c, None) for c in cols.names)))
    settle(s, cols, fixed, bad, table=table)
    if by_period:
        for line, got in s.execute(text(f"DELETE FROM {table} WHERE period <> :p RETURNING line, period"), {"p": period}):
            errors.append(BadSnapshotRow(line, f"period {got} is not the compared period {period}"))
    return errors


def remove_duplicates(s, table: str, key: tuple[str, ...]) -> list[BadSnapshotRow]:
    """Remove the staged rows that repeat an earlier row's ``key`` (person, or person and unit); returns a
    BadSnapshotRow for each, naming the first line."""
    cols = ", ".join(key)
    errors = []
    for line, first, idn, *unit in s.execute(text(
            f"""DELETE FROM {table} s USING (
                    SELECT line, min(line) OVER w AS first, row_number() OVER w AS n FROM {table}
                    WHERE ({cols}) IN (SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1)
                    WINDOW w AS (PARTITION BY {cols} ORDER BY line)) d
                WHERE d.line = s.line AND d.n > 1 RETURNING s.line, d.first, {', '.join(f's.{c}' for c in key)}""")):
        what = f"person {idn}" + (f" with unit {unit[0]}" if unit else "")
        errors.append(BadSnapshotRow(line, f"duplicate {what} (first on line {first})"))
    return errors
