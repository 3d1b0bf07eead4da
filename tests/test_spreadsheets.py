"""hocba.spreadsheets on its own: text stays text, CSV fields are quoted the usual way."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from hocba.spreadsheets import clean, csv_text, to_bytes


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
