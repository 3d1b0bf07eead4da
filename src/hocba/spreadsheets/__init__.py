"""Spreadsheets going out to people and coming in from them, safe both ways (pure: openpyxl only).

Out: every workbook the platform writes goes through `to_bytes`, which makes every text cell a
text cell (openpyxl writes any string beginning with "=" as a live formula: a student named
"=HYPERLINK(…)" would run in every teacher's Excel) and `clean` keeps characters XML cannot
carry from breaking the file. CSV files, should the platform write one, put each text field
through `csv_text` (the usual leading apostrophe before = + - @ tab and CR).

In: `open_sheet` checks, before any part is read, the file's size, its parts (how many, each one's
unpacked size whatever its name, their sum, and that each is stored or deflated without a
password), then reads the workbook with openpyxl with a count on the shared strings and the
sheets, and the first sheet's declared dimension (`hocba.limits` SPREADSHEET_*). The rows are
then read with `rows`, one cell at a time, which stops at the row and column limits whatever
the sheet declared, and hands each formula over as a `Formula` (never its cached value) so that
the caller can refuse it by name.

The sheet and the shared strings are parsed here with lxml rather than by openpyxl's own
ElementTree readers: those expand the entities a DTD declares (a sheet of 2 MB could unpack to
hundreds), build a whole row before handing it over, and translate a shared formula for every
cell that uses it (one long formula shared by many cells takes hours). A part declaring a DTD
is refused (Office files never carry one), and comments or processing instructions inside a
text are dropped, not left to cut it short. Every refusal is a `SpreadsheetRefused` with a
stable code and a Vietnamese message that says why; whatever else goes wrong while the file is
read is refused as NOT_A_WORKBOOK, never raised.
"""

from __future__ import annotations

import io
import itertools
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from lxml import etree
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
from openpyxl.worksheet._reader import (
    CELL_TAG,
    DATA_TAG,
    DIMENSION_TAG,
    FORMULA_TAG,
    ROW_TAG,
    WorkSheetParser,
)
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

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

_STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"
_ENCRYPTED = 0x1 | 0x40
"""Zip flag bits: an entry encrypted with a password (traditional, or "strong" encryption)."""
_UNPACKED = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
"""How Office programs store a part; others (bzip2, lzma, AES) are refused unread."""
_COMPOUND_FILE = bytes.fromhex("d0cf11e0a1b11ae1")
"""The start of an OLE compound file: an old .xls, or an .xlsx saved with a password."""


@dataclass(frozen=True, slots=True)
class Formula:
    """A cell holding a formula, and its text as the file has it."""

    text: str
    shared_from: str = ""
    """For a cell using a formula written in another cell (a shared formula): that cell, and
    `text` is the formula as written there (not translated to this cell)."""

    def __str__(self) -> str:
        return self.text if self.text.startswith("=") else "=" + self.text


def shown(text: object) -> str:
    """A text from a spreadsheet as an error message repeats it: cut to
    SPREADSHEET_TEXT_SHOWN_CHARS characters."""
    value = str(text)
    limit = limits.SPREADSHEET_TEXT_SHOWN_CHARS
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    declared: str
    """The dimension the sheet declares ("A1:AH60"), or "" when it declares none."""
    _workbook: Any
    _part: str
    """Where the sheet is in the file (whatever its name)."""
    _strings: list[str]

    def close(self) -> None:
        self._workbook.close()


def _not_a_workbook(why: str) -> SpreadsheetRefused:
    return SpreadsheetRefused(
        "NOT_A_WORKBOOK", f"Tệp không phải bảng tính Excel (.xlsx) hợp lệ: {why}"
    )


def _refusal(error: BaseException, where: str = "tệp") -> SpreadsheetRefused:
    """What to tell the person about anything that went wrong while `where` was read: a
    refusal raised inside openpyxl (which wraps what it meets in a ValueError of its own) as it
    is, anything else as NOT_A_WORKBOOK naming the kind of damage."""
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for found in chain:
        if isinstance(found, SpreadsheetRefused):
            return found
    damage = chain[-1]
    if isinstance(damage, KeyError):
        why = f"{where} nhắc tới một phần không có trong tệp"
    elif isinstance(damage, SyntaxError):  # lxml's and ElementTree's parse errors derive from it
        why = f"nội dung XML của {where} bị hỏng"
    elif isinstance(damage, zipfile.BadZipFile | zlib.error | EOFError):
        why = f"dữ liệu nén của {where} bị hỏng"
    else:
        why = f"cấu trúc của {where} không đúng chuẩn Office Open XML"
    return _not_a_workbook(why)


def _check_parts(parts: list[zipfile.ZipInfo]) -> None:
    """Every part of the file, before any is unpacked: how many there are, each one's declared
    unpacked size (which the unpacking cannot pass), how each is stored, and their sum."""
    if len(parts) > limits.SPREADSHEET_PARTS:
        raise SpreadsheetRefused(
            "TOO_MANY_PARTS",
            f"Tệp gồm {len(parts)} phần (tối đa {limits.SPREADSHEET_PARTS}): tệp không phải "
            "mẫu sổ điểm hoặc đã bị làm hỏng",
        )
    for info in parts:
        name = shown(info.filename)
        if info.flag_bits & _ENCRYPTED:
            raise _not_a_workbook(
                f"phần “{name}” được mã hóa bằng mật khẩu; hãy lưu lại tệp không đặt mật khẩu"
            )
        if info.compress_type not in _UNPACKED:
            raise _not_a_workbook(
                f"phần “{name}” được nén theo cách không hỗ trợ (phương pháp số "
                f"{info.compress_type}; chỉ nhận stored hoặc deflate như Excel ghi)"
            )
        if info.file_size > limits.SPREADSHEET_PART_BYTES:
            raise SpreadsheetRefused(
                "PART_TOO_LARGE",
                f"Phần “{name}” của tệp bung ra {info.file_size // limits.KiB} kB "
                f"(tối đa {limits.SPREADSHEET_PART_BYTES // limits.KiB} kB): tệp không phải "
                "mẫu sổ điểm hoặc đã bị làm hỏng",
            )
    unpacked = sum(info.file_size for info in parts)
    if unpacked > limits.SPREADSHEET_UNPACKED_BYTES:
        raise SpreadsheetRefused(
            "UNPACKED_TOO_LARGE",
            f"Tệp bung ra quá lớn ({unpacked // limits.MiB} MB, tối đa "
            f"{limits.SPREADSHEET_UNPACKED_BYTES // limits.MiB} MB): tệp không phải mẫu sổ "
            "điểm hoặc đã bị làm hỏng",
        )


def _events(
    source: IO[bytes], part: str, events: tuple[str, ...], tags: tuple[str, ...] | None = None
) -> Iterator[tuple[str, Any]]:
    """lxml's events over one part (only for `tags`, when given): no DTD (refused at the first
    event: entities are never expanded, nothing is fetched), comments and processing
    instructions dropped. The first event must come before any text for the DTD to be named
    (an entity it declares is checked where it is used): with "start" among `events`, or after
    `_declared` read the part."""
    parser = etree.iterparse(
        source,
        events=events,
        tag=tags,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    first = next(parser, None)
    if first is None:
        return iter(())
    if first[1].getroottree().docinfo.doctype:
        raise _not_a_workbook(
            f"phần “{shown(part)}” khai báo DTD (<!DOCTYPE …>), điều tệp Excel không có"
        )
    return itertools.chain((first,), parser)


def _forget(element: Any) -> None:
    """Free an element once read, and the sibling read before it: what is kept of a part
    never grows with it."""
    element.clear(keep_tail=True)
    previous = element.getprevious()
    if previous is not None:
        element.getparent().remove(previous)


def _shared_strings(source: IO[bytes], part: str) -> list[str]:
    """openpyxl's `read_string_table`, read with lxml and counted: refused at the first string
    past SPREADSHEET_SHARED_STRINGS."""
    strings: list[str] = []
    for event, element in _events(source, part, ("start", "end"), (_STRING_TAG,)):
        if event == "start":
            continue
        if len(strings) >= limits.SPREADSHEET_SHARED_STRINGS:
            raise SpreadsheetRefused(
                "TOO_MANY_STRINGS",
                f"Phần “{shown(part)}” có hơn {limits.SPREADSHEET_SHARED_STRINGS} chuỗi văn bản: "
                "tệp không phải mẫu sổ điểm hoặc đã bị làm hỏng",
            )
        strings.append(str(Text.from_tree(element).content).replace("x005F_", ""))
        _forget(element)
    return strings


class _Reader(ExcelReader):  # type: ignore[misc]
    """openpyxl's reader, read only, reading no more than the import needs: the manifest, the
    shared strings (counted, with lxml), the workbook (its sheets counted before any is looked
    at; external links not followed), the styles (which numbers are dates) and where the first
    worksheet is. Not read: document properties, the theme, defined names, and the other
    sheets (openpyxl measures each read-only sheet as it makes it, with the ElementTree
    reader)."""

    def __init__(self, content: bytes) -> None:
        super().__init__(io.BytesIO(content), read_only=True, data_only=False, keep_links=False)
        self.first: tuple[str, str] = ("", "")
        """The first worksheet's title and part."""

    def read(self) -> None:
        self.read_manifest()
        self.read_strings()
        self.read_workbook()
        apply_stylesheet(self.archive, self.wb)
        self.first = self._first_worksheet()

    def read_strings(self) -> None:
        found = self.package.find(SHARED_STRINGS)
        if found is not None:
            part = found.PartName[1:]
            with self.archive.open(part) as source:
                self.shared_strings = _shared_strings(source, part)

    def read_workbook(self) -> None:
        super().read_workbook()
        if len(self.parser.sheets) > limits.SPREADSHEET_SHEETS:
            raise SpreadsheetRefused(
                "TOO_MANY_SHEETS",
                f"Tệp có {len(self.parser.sheets)} trang (tối đa {limits.SPREADSHEET_SHEETS}): "
                "tệp không phải mẫu sổ điểm hoặc đã bị làm hỏng",
            )

    def _first_worksheet(self) -> tuple[str, str]:
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                return str(sheet.name), str(rel.target)
        raise _not_a_workbook("tệp không có trang tính nào")


def _declared(archive: zipfile.ZipFile, part: str) -> tuple[int, int] | None:
    """(rows, columns) as the sheet's <dimension> declares them, read before its rows."""
    with archive.open(part) as source:
        for _event, element in _events(source, part, ("start",)):
            if element.tag == DIMENSION_TAG:
                _min_col, _min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
                return (max_row or 0, max_col or 0)
            if element.tag == DATA_TAG:
                break
    return None


def open_sheet(content: bytes) -> Sheet:
    """The first sheet of an .xlsx file, after the size checks (see the module's docstring)."""
    if len(content) > limits.SPREADSHEET_UPLOAD_BYTES:
        raise SpreadsheetRefused(
            "FILE_TOO_LARGE",
            f"Tệp quá lớn (tối đa {limits.SPREADSHEET_UPLOAD_BYTES // limits.MiB} MB)",
        )
    if content.startswith(_COMPOUND_FILE):
        raise _not_a_workbook(
            "đây là tệp Excel cũ (.xls) hoặc tệp đặt mật khẩu; hãy mở bằng Excel, bỏ mật khẩu "
            "và lưu lại dưới dạng .xlsx"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except Exception:  # whatever the zip reader meets, the file is not a workbook
        raise _not_a_workbook("tệp không phải tệp nén của Office Open XML") from None
    _check_parts(parts)
    reader = None
    try:
        reader = _Reader(content)
        reader.read()
        title, part = reader.first
        size = _declared(reader.archive, part)
    except Exception as error:  # refused with the reason, never raised
        if reader is not None:
            reader.archive.close()
        raise _refusal(error) from None
    workbook = reader.wb
    declared = ""
    if size is not None and all(size):
        rows, columns = size
        declared = f"A1:{get_column_letter(min(columns, 16384))}{rows}"
        if rows > limits.SPREADSHEET_ROWS or columns > limits.SPREADSHEET_COLUMNS:
            workbook.close()
            raise SpreadsheetRefused(
                "SHEET_TOO_LARGE",
                f"Trang “{shown(title)}” khai báo vùng {declared} ({rows} dòng, {columns} "
                f"cột); tối đa {limits.SPREADSHEET_ROWS} dòng và "
                f"{limits.SPREADSHEET_COLUMNS} cột",
            )
    return Sheet(title, declared, workbook, part, list(reader.shared_strings))


def rows(sheet: Sheet) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of every row that holds something, a formula as a `Formula`;
    `SpreadsheetRefused` at the first cell past the row or column limit.

    The sheet is read one cell at a time (each cell's value by openpyxl's own cell parser), so
    that every cell is seen at its real row and column, and a refusal comes at the first cell
    past a limit, not at the end of its row: the read-only worksheet's rows would pad each row
    to a fixed width (slow), fill every missing row up to the next one, and drop cells past the
    width without a word."""
    workbook = sheet._workbook
    cells = WorkSheetParser(
        None,
        sheet._strings,
        data_only=False,
        epoch=workbook.epoch,
        date_formats=workbook._date_formats,
        timedelta_formats=workbook._timedelta_formats,
    )
    try:
        with workbook._archive.open(sheet._part) as source:
            yield from _rows(sheet.title, sheet._part, source, cells)
    except SpreadsheetRefused:
        raise
    except Exception as error:  # refused with the reason, never raised
        raise _refusal(error, f"trang “{shown(sheet.title)}”") from None


def _rows(
    title: str, part: str, source: IO[bytes], cells: Any
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    number = 0
    row = None  # the <row> whose cells are being read
    found: dict[int, Any] = {}
    shared: dict[str, tuple[str, str]] = {}
    # only ends: the part's DTD, if any, was refused by `_declared` when the sheet was opened
    for _event, element in _events(source, part, ("end",), (CELL_TAG, ROW_TAG, DATA_TAG)):
        tag = element.tag
        if tag == CELL_TAG:
            parent = element.getparent()
            if parent is not row:
                if parent is None or parent.tag != ROW_TAG:
                    _forget(element)  # a cell outside any row is no cell of the sheet
                    continue
                row = parent
                number = _row_number(row.get("r"), number)
                cells.row_counter, cells.col_counter = number, 0
            column, value = _cell(element, cells, shared)
            if value is not None and value != "":
                _within_limits(title, number, column)
                found[column] = value
            _forget(element)
        elif tag == ROW_TAG:
            if element is not row:  # a row without cells
                number = _row_number(element.get("r"), number)
            row = None
            if found:
                widest = max(found)
                yield number, tuple(found.get(column) for column in range(1, widest + 1))
                found = {}
            _forget(element)
        else:  # the end of <sheetData>: no rows after it
            return


def _row_number(written: str | None, previous: int) -> int:
    """A row's number as written ("7", even "7.0"), or the one after the previous row."""
    if written is None:
        return previous + 1
    number = float(written)
    if not number.is_integer() or number < 1:
        raise ValueError(f"row number {written!r}")
    return int(number)


def _cell(element: Any, cells: Any, shared: dict[str, tuple[str, str]]) -> tuple[int, Any]:
    """(column, value) of one <c>: a formula as a `Formula` (a shared formula's text kept once,
    never translated cell by cell), any other value as openpyxl reads it."""
    formula = element.find(FORMULA_TAG) if len(element) else None
    if formula is None and len(element):
        read = cells.parse_cell(element)
        return int(read["column"]), read["value"]
    ref = element.get("r")
    cells.col_counter = coordinate_to_tuple(ref)[1] if ref else cells.col_counter + 1
    column = int(cells.col_counter)
    if formula is None:
        return column, None  # an empty cell (its formatting only)
    text = formula.text or ""
    if formula.get("t") == "shared":
        key = formula.get("si", "")
        if text:
            shared.setdefault(key, (text, ref or ""))
        elif key in shared:
            written, where = shared[key]
            return column, Formula(written, shared_from=where)
    return column, Formula(text)


def _within_limits(title: str, number: int, column: int) -> None:
    if number > limits.SPREADSHEET_ROWS:
        raise SpreadsheetRefused(
            "TOO_MANY_ROWS",
            f"Trang “{shown(title)}” có dữ liệu ở dòng {number}; tối đa "
            f"{limits.SPREADSHEET_ROWS} dòng",
        )
    if column > limits.SPREADSHEET_COLUMNS:
        raise SpreadsheetRefused(
            "TOO_MANY_COLUMNS",
            f"Trang “{shown(title)}” có dữ liệu ở ô {get_column_letter(min(column, 18278))}"
            f"{number}; tối đa {limits.SPREADSHEET_COLUMNS} cột",
        )
