"""A report table as CSV (formulas neutralised: hub.adapters.csv_safe), XLSX (a small Office Open XML writer of our
own: one worksheet per table, no dependency), print-ready HTML (A4, the office's header, date, page numbers) or a
terminal table."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from hub.adapters import csv_safe
from hub.reports.base import ReportTable

FORMATS = ("table", "csv", "xlsx", "html")


def to_csv(table: ReportTable) -> str:
    out = io.StringIO()
    w = csv_safe.writer(out)
    w.writerow(table.columns)
    w.writerows(_plain(r) for r in table.rows)
    return out.getvalue()


def _plain(row):
    return ["" if v is None else v.isoformat() if isinstance(v, (date, datetime)) else v for v in row]


# --- XLSX ---------------------------------------------------------------------------------------------------------

# characters XML 1.0 does not allow: one in a name made the whole workbook unreadable
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell(ref: str, v) -> str:
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float, Decimal)):
        return f'<c r="{ref}"><v>{v}</v></c>'
    if v is None or v == "":
        return ""
    text = _INVALID_XML.sub("", v.isoformat() if isinstance(v, (date, datetime)) else str(v))
    # inline strings are text, never formulas: nothing a cell holds is evaluated
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _sheet(table: ReportTable) -> str:
    lines = [[table.title], list(table.labels), list(table.columns)] + [_plain(r) for r in table.rows]
    rows = "".join(f'<row r="{n}">' + "".join(_cell(f"{_col(i)}{n}", v) for i, v in enumerate(line)) + "</row>"
                   for n, line in enumerate(lines, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{rows}</sheetData></worksheet>')


def _sheet_name(name: str, used: set) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    out, n = base, 2
    while out.lower() in used:
        out = f"{base[:28]}~{n}"
        n += 1
    used.add(out.lower())
    return out


def to_xlsx(tables: list[ReportTable]) -> bytes:
    """One workbook, one worksheet per table: row 1 the title, row 2 the Chinese labels, row 3 the column names
    (as the CSV header), then the rows."""
    used: set = set()
    names = [_sheet_name(t.name, used) for t in tables]
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                    for i in range(1, len(tables) + 1)) + "</Types>")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
          + "".join(f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1))
          + "</sheets></workbook>")
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               + "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                         for i in range(1, len(tables) + 1)) + "</Relationships>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        for i, t in enumerate(tables, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet(t))
    return buf.getvalue()


# --- HTML ---------------------------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 16mm 12mm 16mm 12mm;
  @top-left { content: "%(office)s"; font-size: 9pt; color: #444; }
  @top-right { content: "%(title)s"; font-size: 9pt; color: #444; }
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 9pt; } }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun", sans-serif;
  font-size: 10pt; color: #000; margin: 0; }
header.report { text-align: center; margin-bottom: 6mm; }
header.report .office { font-size: 12pt; letter-spacing: 0.1em; }
header.report h1 { font-size: 16pt; margin: 2mm 0; }
header.report .meta { font-size: 9pt; color: #333; }
table { width: 100%%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 0.5pt solid #000; padding: 1mm 1.5mm; }
th { background: #eee; font-weight: bold; }
th small { display: block; font-weight: normal; color: #555; font-size: 7pt; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.empty { text-align: center; }
"""


def _css_string(s: str) -> str:
    return (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
            .replace("<", "\\3C ").replace(">", "\\3E "))


def _html_table(table: ReportTable) -> str:
    e = html.escape
    head = "".join(f"<th>{e(lbl)}<small>{e(col)}</small></th>" for lbl, col in zip(table.labels, table.columns))
    body = "".join("<tr>" + "".join(
        f'<td class="n">{e(str(v))}</td>' if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)
        else f"<td>{e('' if v is None else str(v))}</td>" for v in _plain(r)) + "</tr>" for r in table.rows)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if table.rows
            else '<p class="empty">（无数据 no rows）</p>')


def to_html_book(title: str, tables: list[ReportTable], *, office: str, generated_on: date) -> str:
    """Several tables as one printable document (A4, the office and ``title`` on every page, page numbers): a
    heading per table, each table from a new page."""
    e = html.escape
    css = _CSS % {"office": _css_string(office), "title": _css_string(title)}
    css += "section.part { break-before: page; } section.part:first-of-type { break-before: auto; } h2 { font-size: 13pt; }"
    parts = "".join(f'<section class="part"><h2>{e(t.title)}</h2><div class="meta">共 {len(t.rows)} 行</div>'
                    f"{_html_table(t)}</section>" for t in tables)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{css}</style></head><body>"
            f'<header class="report"><div class="office">{e(office)}</div><h1>{e(title)}</h1>'
            f'<div class="meta">制表日期 {generated_on.isoformat()}</div></header>{parts}</body></html>')


def to_html(table: ReportTable, *, office: str) -> str:
    """A page that prints on A4: the office and the title on every page's top margin, page numbers at the foot
    (第 n 页 / 共 m 页), the table header repeated on each page."""
    e = html.escape
    params = "; ".join(f"{k}={v}" for k, v in table.params.items() if v not in (None, ""))
    head = "".join(f"<th>{e(lbl)}<small>{e(col)}</small></th>" for lbl, col in zip(table.labels, table.columns))
    body = "".join("<tr>" + "".join(
        f'<td class="n">{e(str(v))}</td>' if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)
        else f"<td>{e('' if v is None else str(v))}</td>" for v in _plain(r)) + "</tr>" for r in table.rows)
    content = (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if table.rows
               else '<p class="empty">（无数据 no rows）</p>')
    css = _CSS % {"office": _css_string(office), "title": _css_string(table.title)}
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(table.title)}</title>'
            f"<style>{css}</style></head><body>"
            f'<header class="report"><div class="office">{e(office)}</div><h1>{e(table.title)}</h1>'
            f'<div class="meta">制表日期 {table.generated_on.isoformat()}'
            f'{" · 参数 " + e(params) if params else ""} · 共 {len(table.rows)} 行</div></header>'
            f"{content}</body></html>")
