"""The one CSV reader policy (hub/adapters/csv_rows.py) that `hub import`, `hub compare` and the demo city read by."""

from __future__ import annotations

import pytest

from hub.adapters.csv_rows import MORE_FIELDS, CsvRows, UnreadableCsv, read_records


def rows(text: str, wanted=("a", "b"), optional=()):
    r = CsvRows(text, "f.csv", wanted, optional)
    return r.missing, list(r)


def test_header_names_are_stripped_and_columns_come_in_any_order():
    assert rows(" b , a ,extra\n2,1,x\n") == ([], [(2, ["1", "2"], None)])


def test_a_repeated_header_name_means_its_last_column():
    assert rows("a,b,a\n1,2,3\n")[1] == [(2, ["3", "2"], None)]


def test_a_missing_required_column_is_named_and_no_row_is_read():
    assert rows("a,c\n1,2\n") == (["b"], [])


def test_an_optional_column_the_file_lacks_reads_as_empty():
    assert rows("a,b\n1,2\n", optional=("c",))[1] == [(2, ["1", "2", ""], None)]


def test_blank_lines_are_skipped_and_lines_are_physical_lines():
    assert rows("a,b\n\n1,2\n\n\n3,4\n")[1] == [(3, ["1", "2"], None), (6, ["3", "4"], None)]


def test_a_quoted_line_break_keeps_the_line_where_the_row_ends():
    assert rows('a,b\n"x\ny",2\n3,4\n')[1] == [(3, ["x\ny", "2"], None), (4, ["3", "4"], None)]


def test_more_fields_than_the_header_is_a_bad_row_and_fewer_read_as_empty():
    assert rows("a,b\n1,2,3\n1\n")[1] == [(2, None, MORE_FIELDS), (3, ["1", ""], None)]


def test_values_are_stripped():
    assert rows("a,b\n 1 ,\t2\u3000\n")[1] == [(2, ["1", "2"], None)]


def test_a_field_longer_than_the_csv_modules_default_limit_is_read_not_a_crash():
    long = "名" * 200_000
    assert rows(f"a,b\n{long},2\n")[1] == [(2, [long, "2"], None)]


def test_read_records_refuses_any_problem_with_file_and_line():
    assert read_records("a,b\n1,2\n", "f.csv", ("a", "b")) == [{"a": "1", "b": "2"}]
    with pytest.raises(UnreadableCsv, match=r"f.csv, line 3: more fields"):
        read_records("a,b\n1,2\n1,2,3\n", "f.csv", ("a", "b"))
    with pytest.raises(UnreadableCsv, match=r"f.csv, line 1: header lacks column\(s\): b"):
        read_records("a\n1\n", "f.csv", ("a", "b"))
