"""Spreadsheets going out to people and coming in from them, safe both ways (pure: openpyxl only).

Out: every workbook the platform writes goes through `to_bytes`, which makes every text cell a
text cell (openpyxl writes any string beginning with "=" as a live formula: a student named
"=HYPERLINK(…)" would run in every teacher's Excel) and `clean` keeps characters XML cannot
carry from breaking the file. CSV files, should the platform write one, put each text field
through `csv_text` (the usual leading apostrophe before = + - @ tab and CR).

In: `open_sheet` checks, before any row is read, the file's size, the sum of the unpacked sizes
its parts declare, and the first sheet's declared dimension (`hocba.limits` SPREADSHEET_*); the
rows are then read with `rows`, which stops at the row and column limits whatever the sheet
declared, and hands each formula over as a `Formula` (never its cached value) so that the
caller can refuse it by name. Every refusal is a `SpreadsheetRefused` with a stable code and a
Vietnamese message.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._reader import WorkSheetParser

from hocba import limits

_CSV_ACTIVE = ("=", "+", "-", "@", "\t", "\r")


class SpreadsheetRefused(ValueError):
    """`code` (UPPER_SNAKE) and a Vietnamese `message` for the person who sent the file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- out ----------------------------------------------------------------------------------


def clean(value: Any) -> Any:
    """A value openpyxl can write: text loses the control characters XML cannot carry (each
    becomes U+FFFD, so that nothing silently joins); anything else is returned as it is."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def to_bytes(workbook: Workbook) -> bytes:
    """The .xlsx file, every text cell written as text: the platform writes no formulas, so a
    cell that openpyxl took for one (its text begins with "=") is turned back into text."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_text(value: str) -> str:
    """A CSV field that no spreadsheet program evaluates."""
    return "'" + value if value.startswith(_CSV_ACTIVE) else value


# --- in -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Formula:
    """A cell holding a formula, and its text as the file has it."""

    text: str

    def __str__(self) -> str:
        return self.text if self.text.startswith("=") else "=" + self.text


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    declared: str
    """The dimension the sheet declares ("A1:AH60"), or "" when it declares none."""
    _workbook: Any
    _sheet: Any

    def close(self) -> None:
        self._workbook.close()


def open_sheet(content: bytes) -> Sheet:
    """The first sheet of an .xlsx file, after the size checks (see the module's docstring)."""
    if len(content) > limits.SPREADSHEET_UPLOAD_BYTES:
        raise SpreadsheetRefused(
            "FILE_TOO_LARGE",
            f"Tệp quá lớn (tối đa {limits.SPREADSHEET_UPLOAD_BYTES // limits.MiB} MB)",
        )
    not_a_workbook = SpreadsheetRefused(
        "NOT_A_WORKBOOK", "Tệp không phải bảng tính Excel (.xlsx) hợp lệ"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise not_a_workbook from None
    unpacked = sum(info.file_size for info in parts)
    for info in parts:
        if info.filename.lower().endswith((".xml", ".rels")) and (
            info.file_size > limits.SPREADSHEET_XML_PART_BYTES
        ):
            raise SpreadsheetRefused(
                "PART_TOO_LARGE",
                f"Phần “{info.filename}” của tệp bung ra {info.file_size // limits.KiB} kB "
                f"(tối đa {limits.SPREADSHEET_XML_PART_BYTES // limits.KiB} kB): tệp không phải "
                "mẫu sổ điểm hoặc đã bị làm hỏng",
            )
    if unpacked > limits.SPREADSHEET_UNPACKED_BYTES:
        raise SpreadsheetRefused(
            "UNPACKED_TOO_LARGE",
            f"Tệp bung ra quá lớn ({unpacked // limits.MiB} MB, tối đa "
            f"{limits.SPREADSHEET_UNPACKED_BYTES // limits.MiB} MB): tệp không phải mẫu sổ "
            "điểm hoặc đã bị làm hỏng",
        )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError,
            IndexError, AttributeError, SyntaxError):  # fmt: skip
        # SyntaxError: lxml's and ElementTree's parse errors derive from it
        raise not_a_workbook from None
    rows, columns = sheet.max_row, sheet.max_column
    declared = ""
    if rows and columns:
        declared = f"A1:{get_column_letter(min(columns, 16384))}{rows}"
    if (rows or 0) > limits.SPREADSHEET_ROWS or (columns or 0) > limits.SPREADSHEET_COLUMNS:
        workbook.close()
        raise SpreadsheetRefused(
            "SHEET_TOO_LARGE",
            f"Trang “{sheet.title}” khai báo vùng {declared} ({rows} dòng, {columns} cột); "
            f"tối đa {limits.SPREADSHEET_ROWS} dòng và {limits.SPREADSHEET_COLUMNS} cột",
        )
    return Sheet(sheet.title, declared, workbook, sheet)


def rows(sheet: Sheet) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of every row that holds something, a formula as a `Formula`;
    `SpreadsheetRefused` at the first cell past the row or column limit.

    The sheet is read with openpyxl's own sheet parser, one row element at a time, so that every
    cell is seen at its real row and column: the read-only worksheet's rows would pad each row
    to a fixed width (slow), fill every missing row up to the next one, and drop cells past the
    width without a word."""
    worksheet, workbook = sheet._sheet, sheet._workbook
    try:
        with worksheet._get_source() as source:
            parser = WorkSheetParser(
                source,
                worksheet._shared_strings,
                data_only=False,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            for number, cells in parser.parse():
                values = _row(sheet.title, number, cells)
                if values is not None:
                    yield number, values
    except SpreadsheetRefused:
        raise
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile, SyntaxError,
            AttributeError, IndexError):  # fmt: skip
        raise SpreadsheetRefused(
            "NOT_A_WORKBOOK", f"Trang “{sheet.title}” bị hỏng, không đọc được"
        ) from None


def _row(title: str, number: int, cells: list[dict[str, Any]]) -> tuple[Any, ...] | None:
    found = {
        int(cell["column"]): _value(cell)
        for cell in cells
        if cell["value"] is not None and cell["value"] != ""
    }
    if not found:
        return None
    if number > limits.SPREADSHEET_ROWS:
        raise SpreadsheetRefused(
            "TOO_MANY_ROWS",
            f"Trang “{title}” có dữ liệu ở dòng {number}; tối đa {limits.SPREADSHEET_ROWS} dòng",
        )
    widest = max(found)
    if widest > limits.SPREADSHEET_COLUMNS:
        raise SpreadsheetRefused(
            "TOO_MANY_COLUMNS",
            f"Trang “{title}” có dữ liệu ở ô {get_column_letter(min(widest, 18278))}{number}; "
            f"tối đa {limits.SPREADSHEET_COLUMNS} cột",
        )
    values: list[Any] = [None] * widest
    for column, value in found.items():
        if column >= 1:
            values[column - 1] = value
    return tuple(values)


def _value(cell: dict[str, Any]) -> Any:
    value = cell["value"]
    if cell.get("data_type") == "f":
        text = getattr(value, "text", value)  # array and data-table formulas are objects
        return Formula(str(text if text is not None else ""))
    return value
