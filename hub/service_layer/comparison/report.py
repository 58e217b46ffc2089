"""What a comparison run reports: rows compared, bad rows, mismatches opened / updated / resolved by kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.adapters.text_files import UTF8
from hub.service_layer.comparison.snapshot_rows import BadSnapshotRow
from hub.service_layer.mismatches import MismatchTally


@dataclass
class CompareReport:
    comparison_id: str
    source: str
    period: str
    rows: int = 0
    bad_rows: list[BadSnapshotRow] = field(default_factory=list)
    tally: MismatchTally = field(default_factory=MismatchTally)
    still_open: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    # "staged": PostgreSQL set operations (staged_finance, staged_person_views); "classes": rows read in Python,
    # persons re-checked by signature class (recheck_selection); "general": row by row in Python
    method: str = "general"
    encoding: str = UTF8  # the snapshot file's (hub.adapters.text_files)

    def summary(self) -> dict:
        kinds = sorted(set(self.tally.opened) | set(self.tally.resolved) | set(self.still_open) | set(self.tally.updated))
        return {"comparison_id": self.comparison_id, "source": self.source, "period": self.period,
                "encoding": self.encoding, "rows": self.rows,
                "bad_rows": len(self.bad_rows), "seconds": round(self.seconds, 3), "method": self.method,
                "by_kind": {k: {"opened": self.tally.opened.get(k, 0), "updated": self.tally.updated.get(k, 0),
                                "resolved": self.tally.resolved.get(k, 0), "still_open": self.still_open.get(k, 0)}
                            for k in kinds}}


class CompareRejected(Exception):
    """The snapshot had bad rows (and --skip-bad-rows was not given): nothing was changed."""

    def __init__(self, report: CompareReport, message: str | None = None):
        super().__init__(message or f"{len(report.bad_rows)} bad rows; nothing changed")
        self.report = report
