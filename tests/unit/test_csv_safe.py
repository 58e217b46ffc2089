"""CSV cells that a spreadsheet would evaluate are written as text (issue 12, item 5)."""

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from hub.adapters import csv_safe


def test_cells_starting_like_a_formula_get_an_apostrophe_numbers_do_not():
    out = io.StringIO()
    w = csv_safe.writer(out)
    w.writerow(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "a=b", "", None, -5, Decimal("-1.5"), 2.5])
    assert next(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b", "", "", "-5", "-1.5", "2.5"]


def test_every_csv_the_hub_writes_goes_through_the_one_helper():
    """A new CSV writer (a report, an export) must use hub.adapters.csv_safe.writer, not csv.writer. The one exception
    writes no file: text_files turns an uploaded workbook into CSV text that `hub import` reads back (its cells must
    stay exactly as the office typed them)."""
    internal = {"csv_safe.py", "text_files.py"}
    root = Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for p in sorted((root / "hub").rglob("*.py")) + sorted((root / "connectors").rglob("*.py"))
                 if p.name not in internal and re.search(r"\bcsv\.(writer|DictWriter)\(", p.read_text(encoding="utf-8"))]
    assert offenders == []
