"""A snapshot's rows read and validated in Python: the general path's reader, and the words of every bad row.

Each row goes through its source's event model (``SnapshotSource.model``, the streaming path's own validator);
the staged paths send the rows their SQL checks flag here too (``check_row``), so a bad row reads the same
whichever path found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from hub.contract.inbound import describe
from hub.adapters.csv_rows import CsvRows, UnreadableCsv
from hub.adapters.text_files import decode
from hub.service_layer.comparison.sources import SNAPSHOTS, Progress


@dataclass(frozen=True)
class BadSnapshotRow:
    """A snapshot row that was not compared: its line in the file and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def _explain(e: ValidationError) -> str:
    return "; ".join(describe(err, "row") for err in e.errors()[:3])


def check_row(source: str, row: dict[str, str], line: int):
    """Validate one row with the source's event model: (record, None) or (None, BadSnapshotRow)."""
    snapshot = SNAPSHOTS[source]
    required, optional = snapshot.required, snapshot.optional
    data = {k: v.strip() for k, v in row.items() if k in required or (k in optional and v and v.strip())}
    try:
        return snapshot.model.model_validate(data), None
    except ValidationError as e:
        return None, BadSnapshotRow(line, _explain(e))
    except ValueError as e:
        return None, BadSnapshotRow(line, str(e))


def read_snapshot(source: str, period: str, path: Path, progress: Progress | None = None, *,
                  content: str | None = None) -> tuple[list, list[BadSnapshotRow]]:
    """Validate every row (of ``content``, the file's decoded text, when given); returns (valid records, bad rows)."""
    snapshot = SNAPSHOTS[source]
    required, optional = snapshot.required, snapshot.optional
    errors: list[BadSnapshotRow] = []
    records: list = []
    record = snapshot.record
    seen: dict[tuple, int] = {}
    if content is None:
        content = decode(path.read_bytes(), path.name).text
    rows = CsvRows(content, path.name, required, optional)
    if rows.missing:
        return [], [BadSnapshotRow(1, f"header lacks column(s): {', '.join(rows.missing)} (a {source} snapshot has "
                                      f"{', '.join(required + optional)})")]
    names = required + optional
    try:
        for line, values, problem in rows:
            if problem:
                errors.append(BadSnapshotRow(line, problem))
                continue
            rec, error = check_row(source, dict(zip(names, values)), line)
            if error:
                errors.append(error)
                continue
            if snapshot.by_period and rec.period != period:
                errors.append(BadSnapshotRow(line, f"period {rec.period} is not the compared period {period}"))
                continue
            key = tuple(getattr(rec, c) for c in snapshot.key)
            if key in seen:
                what = f"person {rec.id_number}" + (f" with unit {rec.unit_code}" if "unit_code" in snapshot.key else "")
                errors.append(BadSnapshotRow(line, f"duplicate {what} (first on line {seen[key]})"))
                continue
            seen[key] = line
            records.append(record(*(getattr(rec, c) for c in record._fields)))
            if progress and line % 20000 == 0:
                progress("validate", line, 0)
    except UnreadableCsv as e:
        raise ValueError(str(e)) from None
    return records, errors
