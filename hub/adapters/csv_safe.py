"""CSV that spreadsheets open as data, never as formulas (CWE-1236, "CSV injection").

Every CSV the hub writes goes through ``writer`` (exports, reports, the demo's files): a text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return — what Excel, LibreOffice and Google Sheets take as the start
of a formula — is written with a leading apostrophe, which spreadsheets show as text and do not evaluate. Numbers
(int, float, Decimal) are written as they are: a negative amount stays a number. Names and other text come from
partners and the public; nothing in them may run in an office's spreadsheet.
"""

from __future__ import annotations

import csv
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a CSV cell that no spreadsheet evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with every cell passed through ``safe_cell``."""

    def __init__(self, out, **kwargs):
        self._w = csv.writer(out, **kwargs)

    def writerow(self, row):
        return self._w.writerow([v if isinstance(v, (int, float, Decimal)) else safe_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(out, **kwargs) -> SafeWriter:
    """A CSV writer on ``out`` (as ``csv.writer``) that neutralises spreadsheet formulas."""
    return SafeWriter(out, **kwargs)
