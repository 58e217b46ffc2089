"""Which files the hub reads as text: UTF-8 (with or without BOM) and GB18030/GBK; anything else with line and byte."""

import codecs

import pytest

from hub.adapters.text_files import GB18030, UTF8, UTF8_BOM, UnreadableText, decode

ROWS = "code,name\n11330100MB0000001X,杭州市机构编制委员会办公室\n"


@pytest.mark.parametrize("raw, encoding", [
    (ROWS.encode("utf-8"), UTF8),
    (codecs.BOM_UTF8 + ROWS.encode("utf-8"), UTF8_BOM),
    (ROWS.encode("gbk"), GB18030),  # what Chinese Excel saves as "CSV (逗号分隔)"
    (ROWS.encode("gb18030") + "𠀀,䶮\n".encode("gb18030"), GB18030),  # four-byte GB18030 characters GBK lacks
    (b"code,name\n", UTF8),
])
def test_utf8_with_or_without_bom_and_gb18030_are_read_and_named(raw, encoding):
    d = decode(raw, "units.csv")
    assert d.encoding == encoding and d.text.startswith("code,name\n") and "\ufeff" not in d.text
    assert d.utf8(raw).decode("utf-8") == d.text


@pytest.mark.parametrize("raw, line, byte", [
    (b"code,name\n" + b"x,\x80\n", 2, 12),  # 0x80 alone: neither UTF-8 nor GB18030
    (b"code,name\nx,y\n" + b"z,\xff\xff\n", 3, 16),
    (b"PK\x03\x04\x14\x00\x06\x00", 1, 0),  # an .xlsx workbook renamed .csv
    (ROWS.encode("utf-16"), 1, 0),  # "Unicode text" from Excel: UTF-16 with BOM
    ("code,name\n编办".encode("utf-16-le"), 1, 1),  # without BOM: the first NUL byte
    (codecs.BOM_UTF8 + b"code,name\n" + "x,张\n".encode("gbk"), 2, 15),  # says UTF-8, is not
])
def test_other_bytes_are_refused_with_line_and_byte(raw, line, byte):
    with pytest.raises(UnreadableText) as e:
        decode(raw, "units.csv")
    assert (e.value.line, e.value.byte) == (line, byte)
    assert str(e.value).startswith(f"units.csv: line {line}, byte {byte}: ") and "UTF-8" in str(e.value)
