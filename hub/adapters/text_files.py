"""The text of the files offices send: UTF-8 (with or without BOM) or GB18030 (GBK's superset, what Chinese Excel
saves as "CSV"). The one place that decides a file's encoding; everything else is refused with line and byte.
Excel workbooks (.xlsx, `hub import` only, with the optional extra `xlsx`) are turned into the same CSV text."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

XLSX = "XLSX"
UTF8 = "UTF-8"
UTF8_BOM = "UTF-8 with BOM"
GB18030 = "GB18030"


class UnreadableText(ValueError):
    """The bytes are neither UTF-8 nor GB18030 text; ``line`` (1-based) and ``byte`` (0-based offset) show where."""

    def __init__(self, name: str, line: int, byte: int, why: str = "neither UTF-8 nor GB18030/GBK text"):
        super().__init__(f"{name}: line {line}, byte {byte}: {why}; save the file as \"CSV UTF-8\" "
                         f"(or as GBK/GB18030 CSV) and send it again")
        self.name, self.line, self.byte = name, line, byte


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # UTF8, UTF8_BOM or GB18030

    def utf8(self, raw: bytes) -> bytes:
        """The text as UTF-8 bytes without BOM (``raw`` itself when it was UTF-8 already)."""
        if self.encoding == UTF8:
            return raw
        if self.encoding == UTF8_BOM:
            return raw[len(codecs.BOM_UTF8):]
        return self.text.encode("utf-8")


def _where(raw: bytes, byte: int) -> int:
    return raw.count(b"\n", 0, byte) + 1


def decode(raw: bytes, name: str) -> Decoded:
    """The text of ``raw`` and the encoding it was read in; raises UnreadableText for anything else."""
    if raw.startswith(b"PK\x03\x04"):  # a ZIP archive: what .xlsx/.docx are
        raise UnreadableText(name, 1, 0, "an Excel workbook (.xlsx) or another ZIP archive, not CSV text")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableText(name, 1, 0, "UTF-16 text (\"Unicode text\" in Excel)")
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return Decoded(raw[len(codecs.BOM_UTF8):].decode("utf-8"), UTF8_BOM)
        except UnicodeDecodeError as e:  # the BOM says UTF-8: no second guess
            at = e.start + len(codecs.BOM_UTF8)
            raise UnreadableText(name, _where(raw, at), at, "not UTF-8 text although it starts with a UTF-8 BOM") from None
    try:
        return Decoded(raw.decode("utf-8"), UTF8)
    except UnicodeDecodeError as first:
        nul = raw.find(b"\x00")
        if nul >= 0:  # GB18030 would decode it, but no GBK text has NUL bytes: UTF-16 without BOM, or not text
            raise UnreadableText(name, _where(raw, nul), nul, "a NUL byte in a file that is not UTF-8 (UTF-16? a binary file?)") from None
        try:
            return Decoded(raw.decode("gb18030"), GB18030)
        except UnicodeDecodeError as second:
            at = max(first.start, second.start)  # where the likelier of the two encodings broke
            raise UnreadableText(name, _where(raw, at), at) from None


def workbook_csv(raw: bytes, name: str) -> str:
    """The first worksheet of an .xlsx workbook as CSV text, row n on line n (dates as YYYY-MM-DD, whole numbers
    without decimals); raises UnreadableText when it cannot be read."""
    import csv
    import io
    from datetime import date, datetime

    try:
        from openpyxl import load_workbook
    except ImportError:
        raise UnreadableText(name, 1, 0, "an Excel workbook, and reading .xlsx needs the extra: pip install "
                             "'staffing-hub[xlsx]'") from None
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike: not a workbook we can read
        raise UnreadableText(name, 1, 0, f"not a readable .xlsx workbook ({type(e).__name__})") from None

    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, datetime):
            return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).replace("\r\n", " ").replace("\n", " ")  # one row, one line: line numbers stay row numbers

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            writer.writerow([cell(v) for v in row])
    finally:
        book.close()
    return out.getvalue()
