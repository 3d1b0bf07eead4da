"""One door for a file of rows, whatever program wrote it (pure): .xlsx, the older .xls, or CSV.

`read_table` tells the kind from the file's first bytes (never from its name alone: a CSV
saved as "danh-sach.xls" is common), reads the first sheet with the safe reader of that kind
and hands back the rows that hold something, numbered as a spreadsheet program shows them.
Hidden columns and rows are read like the others. Every refusal is a `SpreadsheetRefused`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hocba.spreadsheets import SpreadsheetRefused, open_sheet, rows, xls
from hocba.spreadsheets import text as csv_file

_ZIP = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Table:
    """The first sheet of a file, as rows."""

    title: str
    """The sheet's name ("" for CSV)."""
    kind: str
    """"xlsx", "xls" or "csv"."""
    rows: tuple[tuple[int, tuple[Any, ...]], ...]
    """(row number from 1, values from column A) of every row that holds something."""


def kind_of(content: bytes) -> str:
    if content.startswith(_ZIP):
        return "xlsx"
    if content.startswith(xls.COMPOUND_FILE):
        return "xls"
    return "csv"


def read_table(content: bytes) -> Table:
    kind = kind_of(content)
    if kind == "xlsx":
        sheet = open_sheet(content)
        try:
            return Table(sheet.title, kind, tuple(rows(sheet)))
        finally:
            sheet.close()
    if kind == "xls":
        title, found = xls.rows(content)
        return Table(title, kind, tuple(found))
    if len(content) > 0 and content.lstrip()[:1] == b"<":
        raise SpreadsheetRefused(
            "NOT_A_WORKBOOK",
            "Tệp không phải bảng tính (.xlsx, .xls) hay tệp CSV: có vẻ là trang web hoặc XML",
        )
    return Table("", kind, tuple(csv_file.rows(content)))
