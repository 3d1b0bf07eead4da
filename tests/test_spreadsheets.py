"""hocba.spreadsheets on its own: text stays text, CSV fields are quoted the usual way; cells are
read where they are and as a spreadsheet program shows them; damage is refused, never raised."""

from __future__ import annotations

import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from hocba import limits
from hocba.spreadsheets import (
    Formula,
    SpreadsheetRefused,
    clean,
    csv_text,
    open_sheet,
    rows,
    shown,
    to_bytes,
)


def test_text_beginning_with_an_active_character_is_quoted_in_csv():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_text(start + "1+1") == "'" + start + "1+1"
    assert csv_text("Nguyễn Văn A") == "Nguyễn Văn A"


def test_every_text_cell_of_a_saved_workbook_is_text():
    book = Workbook()
    book.active["A1"] = clean("=1+1\x07")
    book.active.append(["@SUM(1)", 5, None])
    cells = {
        c.coordinate: (c.value, c.data_type)
        for row in load_workbook(io.BytesIO(to_bytes(book))).active.iter_rows()
        for c in row
    }
    assert cells["A1"] == ("=1+1\ufffd", "s")
    assert cells["A2"] == ("@SUM(1)", "s") and cells["B2"] == (5, "n")


# --- reading ----------------------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook_with_sheet(sheet_data: str) -> bytes:
    """A workbook whose first sheet's <sheetData> is the given text."""
    book = Workbook()
    book.active["A1"] = "x"
    content = to_bytes(book)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>'
                data = data.encode()
            target.writestr(item.filename, data)
    return out.getvalue()


def read(content: bytes) -> list[tuple[int, tuple[object, ...]]]:
    sheet = open_sheet(content)
    try:
        return list(rows(sheet))
    finally:
        sheet.close()


def test_a_value_split_by_a_comment_reads_as_a_spreadsheet_program_shows_it():
    content = workbook_with_sheet(
        '<row r="7"><c r="D7"><v>1<!-- x -->0</v></c>'
        '<c r="E7" t="inlineStr"><is><t>Ng<?pi x?>uyễn</t></is></c></row>'
    )
    assert read(content) == [(7, (None, None, None, 10, "Nguyễn"))]


def test_cells_are_read_where_they_are():
    content = workbook_with_sheet(
        '<row r="3.0"><c><v>1</v></c><c/><c><v>3</v></c></row>'
        '<row><c r="B4"><v>4</v></c></row>'
        '<row r="9"/><c r="A10"><v>5</v></c>'
    )
    assert read(content) == [(3, (1, None, 3)), (4, (None, 4))]


def test_a_shared_formula_is_named_where_it_is_written():
    content = workbook_with_sheet(
        '<row r="2"><c r="B2"><f t="shared" si="0" ref="B2:B3">A2*2</f><v>4</v></c></row>'
        '<row r="3"><c r="B3"><f t="shared" si="0"/><v>6</v></c></row>'
    )
    assert read(content) == [
        (2, (None, Formula("A2*2"))),
        (3, (None, Formula("A2*2", shared_from="B2"))),
    ]


def test_a_text_repeated_in_a_message_is_cut():
    assert shown("ngắn") == "ngắn"
    long = shown("=" + "A1+" * 1000)
    assert len(long) == limits.SPREADSHEET_TEXT_SHOWN_CHARS and long.endswith("…")


@settings(max_examples=150, deadline=None)
@given(damage=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                       max_size=6))  # fmt: skip
def test_a_damaged_workbook_is_refused_never_raised(damage):
    """Whatever bytes are changed, the answer is a refusal with a reason, never another
    exception (a 500 on the import page)."""
    data = bytearray(workbook_with_sheet('<row r="7"><c r="D7"><v>8</v></c></row>'))
    for at, value in damage:
        data[at % len(data)] = value
    try:
        read(bytes(data))
    except SpreadsheetRefused as refused:
        assert refused.code and refused.message
