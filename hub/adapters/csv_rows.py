"""The one CSV reader policy: every CSV the hub reads (``hub import``, ``hub compare``, …) is read here.

The text comes from ``text_files.decode`` (the one decoder: UTF-8 or GB18030/GBK, .xlsx converted). The policy:

* the first row names the columns, in any order; names are stripped of surrounding white space; a repeated name
  means its last column (as ``csv.DictReader``); columns nobody asked for are ignored;
* a required column missing from the header is one problem, reported as line 1 (``CsvRows.missing``);
* blank lines are skipped; line numbers are the physical line where a row ends (header = 1);
* a row with more fields than the header is a bad row, not a crash; a row with fewer reads its missing trailing
  fields as empty (Excel leaves out the commas of empty trailing cells on long sheets), and the row's own
  validation then says what a required column lacks;
* values are stripped of surrounding white space; an optional column the file lacks reads as "";
* a field of any length is read (the file is in memory already): the caller's validation says it is too long;
* a line the csv module cannot read at all raises ``UnreadableCsv`` (a ValueError naming file and line).
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Iterator

csv.field_size_limit(sys.maxsize)  # an over-long field is a bad row for the validation to word, never a csv.Error

MORE_FIELDS = "more fields than the header has"


class UnreadableCsv(ValueError):
    """The csv module gave up on a line (e.g. a stray quote it cannot recover from)."""


class CsvRows:
    """The rows of one CSV text: iterate for (line, values of ``wanted`` + ``optional`` columns, problem or None)."""

    def __init__(self, text: str, name: str, wanted: tuple[str, ...] | list[str], optional: tuple[str, ...] | list[str] = ()):
        self.name = name
        self._file = io.StringIO(text, newline="")
        self._reader = csv.reader(self._file)
        try:
            self.header = [h.strip() for h in next(self._reader, [])]
        except csv.Error as e:
            raise UnreadableCsv(f"{name}, line {self._reader.line_num}: unreadable CSV ({e})") from None
        self.missing = [c for c in wanted if c not in self.header]
        position = {h: i for i, h in enumerate(self.header)}  # a repeated name: its last column
        self._take = [position.get(c) for c in (*wanted, *optional)]

    @property
    def line(self) -> int:
        """The line the reader is at (where the last row read ends)."""
        return self._reader.line_num

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        if self.missing:
            return
        reader, take, width = self._reader, self._take, len(self.header)
        pad = [""] * width
        try:
            for row in reader:
                if len(row) != width:
                    if not row:  # a blank line
                        continue
                    if len(row) > width:
                        yield reader.line_num, None, MORE_FIELDS
                        continue
                    row = row + pad[len(row):]
                yield reader.line_num, ["" if i is None else row[i].strip() for i in take], None
        except csv.Error as e:
            raise UnreadableCsv(f"{self.name}, line {reader.line_num}: unreadable CSV ({e})") from None


def read_records(text: str, name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Every row as a dict of ``columns``, for files the hub wrote itself (the demo city): any problem is an error."""
    rows = CsvRows(text, name, columns)
    if rows.missing:
        raise UnreadableCsv(f"{name}, line 1: header lacks column(s): {', '.join(rows.missing)}")
    out = []
    for line, values, problem in rows:
        if problem:
            raise UnreadableCsv(f"{name}, line {line}: {problem}")
        out.append(dict(zip(columns, values)))
    return out
