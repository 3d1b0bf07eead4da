"""The hostile files of `test_spreadsheets.py`, as .xls and .csv: the import of a school's people
reads them as safely as a grade book reads an .xlsx.

Attacks:
- a small .xls that makes the reader build a huge sheet (one cell at row 65,536 and column 256:
  6 kB that python-calamine would unfold into a gigabyte), a workbook listing hundreds of
  sheets, a compound file whose sector chains loop or point outside it: refused by name,
  quickly, before calamine reads the sheet; a damaged record that makes calamine abort:
  refused, the process going on (calamine runs in a child process);
- a CSV of more rows or columns than the limits, a field of megabytes, bytes that are not UTF-8,
  an HTML page saved as .csv: refused by name;
- a formula in an .xls cell or a CSV field beginning with "=": refused naming the cell, nothing
  written;
- any damage to the bytes of an .xls or a CSV: a refusal with a reason, never another exception.
"""

from __future__ import annotations

import io
import resource
import struct
import time

import pytest
import xlwt
from hypothesis import given, settings
from hypothesis import strategies as st

from hocba import limits
from hocba.spreadsheets import SpreadsheetRefused
from hocba.spreadsheets.tables import read_table


def xls_with(cells: dict[tuple[int, int], object], sheets: int = 1) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    for n in range(sheets):
        sheet = book.add_sheet(f"S{n}")
        if n == 0:
            for (row, column), value in cells.items():
                sheet.write(row, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(content: bytes) -> SpreadsheetRefused:
    started = time.monotonic()
    with pytest.raises(SpreadsheetRefused) as caught:
        read_table(content)
    assert time.monotonic() - started < 5
    return caught.value


def test_a_six_kilobyte_xls_with_a_cell_at_its_last_row_and_column_is_refused_unread():
    content = xls_with({(0, 0): "Họ và tên", (65535, 255): 1})
    assert len(content) < 10_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = refused(content)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert error.code == "TOO_MANY_ROWS" and "dòng 65536" in error.message
    assert grown_mb < 100, f"memory grew {grown_mb:.0f} MB"


def test_xls_cells_are_read_where_they_are():
    """(.xls has 256 columns, fewer than the limit: only rows can be too many.)"""
    table = read_table(xls_with({(6, 3): 10, (6, 255): "cuối", (9, 0): "x"}))
    assert [number for number, _values in table.rows] == [7, 10]
    assert table.rows[0][1][3] == 10 and table.rows[0][1][255] == "cuối"


def test_an_xls_listing_hundreds_of_sheets_is_refused():
    error = refused(xls_with({(0, 0): "x"}, sheets=limits.SPREADSHEET_SHEETS + 5))
    assert error.code == "TOO_MANY_SHEETS"


def test_an_xls_formula_is_handed_over_by_its_cell():
    table = read_table(xls_with({(0, 0): "Điểm", (1, 0): xlwt.Formula("1+2")}))
    assert table.kind == "xls" and str(table.rows[1][1][0]).startswith("=")


def _fat_looping(content: bytes) -> bytes:
    """The file with its first FAT sector pointing every sector at itself."""
    data = bytearray(content)
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    size = 1 << shift
    first_fat = struct.unpack_from("<I", data, 0x4C)[0]
    start = size + first_fat * size
    for at in range(start, start + size, 4):
        data[at : at + 4] = struct.pack("<I", (at - start) // 4)
    return bytes(data)


def test_a_compound_file_whose_chains_loop_is_refused():
    error = refused(_fat_looping(xls_with({(0, 0): "x"})))
    assert error.code == "NOT_A_WORKBOOK" and ".xls" in error.message


def test_a_compound_file_whose_difat_chain_loops_for_ever_is_answered_at_once():
    """The header claims four billion DIFAT sectors, the chain pointing back at itself."""
    data = bytearray(xls_with({(0, 0): "x"}))
    size = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    last = (len(data) - size) // size - 1
    struct.pack_into("<I", data, 0x44, last)  # first DIFAT sector
    struct.pack_into("<I", data, 0x48, 0xFFFFFFF0)  # how many
    struct.pack_into("<I", data, size + last * size + size - 4, last)  # points at itself
    started = time.monotonic()
    try:
        read_table(bytes(data))
    except SpreadsheetRefused as error:
        assert error.code
    assert time.monotonic() - started < 5


def test_an_xls_that_makes_calamine_abort_is_refused_and_the_process_goes_on():
    """Four bytes changed in a record of this workbook make python-calamine ask for petabytes
    and abort (found by mutating it at random): before, the site's process died with it."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("S")
    for row in range(30):
        for column in range(5):
            sheet.write(row, column, f"ô {row} {column}" if column % 2 else row * 1.5)
    out = io.BytesIO()
    book.save(out)
    data = bytearray(out.getvalue())
    assert len(data) == 9728  # the workbook the offset below was found in
    data[4573:4577] = b"\x00\x00\x01\x00"
    error = refused(bytes(data))
    assert error.code == "NOT_A_WORKBOOK" and "bị hỏng" in error.message


@settings(max_examples=150, deadline=None)
@given(damage=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                       max_size=6))  # fmt: skip
def test_a_damaged_xls_is_refused_never_raised(damage):
    data = bytearray(xls_with({(0, 0): "Họ và tên", (1, 0): "Lê Văn A", (1, 1): 7.5}))
    for at, value in damage:
        data[at % len(data)] = value
    try:
        read_table(bytes(data))
    except SpreadsheetRefused as error:
        assert error.code and error.message


# --- CSV ------------------------------------------------------------------------------------


def test_a_csv_past_the_row_limit_is_refused_at_the_limit():
    content = ("a;b\r\n" + "1;2\r\n" * 25_000).encode()
    error = refused(content)
    assert error.code == "TOO_MANY_ROWS" and f"dòng {limits.SPREADSHEET_ROWS + 1}" in error.message


def test_a_csv_past_the_column_limit_is_refused():
    error = refused((";".join(["x"] * 400) + "\r\n").encode())
    assert error.code == "TOO_MANY_COLUMNS" and "400 cột" in error.message


def test_a_csv_field_of_megabytes_is_refused():
    error = refused(b'a;"' + b"x" * 3_000_000 + b'"\r\n')
    assert error.code == "NOT_A_CSV"


def test_a_csv_larger_than_the_upload_limit_is_refused_unread():
    error = refused(b"a;b\r\n" * (limits.SPREADSHEET_UPLOAD_BYTES // 5 + 10))
    assert error.code == "FILE_TOO_LARGE"


def test_a_csv_that_is_not_utf8_is_refused_naming_why():
    error = refused(b"Ho va ten;L\xe1p\r\nL\xea V\xe3n A;6A1\r\n")  # a one-byte code page
    assert error.code == "NOT_A_CSV" and "UTF-8" in error.message


def test_a_web_page_saved_as_csv_is_refused():
    assert refused(b"<!DOCTYPE html><html><body>x</body></html>").code == "NOT_A_WORKBOOK"


def test_a_csv_field_beginning_with_equals_is_a_formula():
    table = read_table('Họ và tên;Lớp\r\n=HYPERLINK("http://x");6A1\r\n'.encode())
    assert str(table.rows[1][1][0]) == '=HYPERLINK("http://x")'


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=2000))
def test_any_bytes_as_csv_are_read_or_refused_never_raised(content):
    try:
        read_table(content)
    except SpreadsheetRefused as error:
        assert error.code and error.message


# --- the import names the cell and writes nothing ---------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xls", "csv"])
def test_a_formula_in_an_imported_list_is_refused_by_its_cell(demo, kind):
    from hocba.imports.services import ImportRefused, apply_import
    from hocba.students.models import Student
    from tests.imports.helpers import new_school

    school, year, principal = new_school()
    if kind == "xls":
        content = xls_with({
            (0, 0): "Mã học sinh", (0, 1): "Họ và tên", (0, 2): "Lớp",
            (1, 0): "HS1", (1, 1): xlwt.Formula('"Lê"&"Văn A"'), (1, 2): "6A1",
        })  # fmt: skip
        cell = "B2"
    else:
        content = "Mã học sinh;Họ và tên;Lớp\r\nHS1;Lê Văn A;=6+1\r\n".encode()
        cell = "C2"
    with pytest.raises(ImportRefused) as caught:
        apply_import(principal, school, year, "students", content)
    (problem,) = caught.value.problems
    assert problem.cell == cell and "công thức" in problem.message()
    assert not Student.objects.filter(student_code="HS1").exists()
