"""The older Excel files (.xls, BIFF8 inside an OLE compound file), read safely (pure).

python-calamine reads a sheet into one dense block of cells: a file of 6 kB with a single cell
at row 65,536 and column 256 makes it take a gigabyte. So the file is measured first, here,
without calamine: the compound file's directory gives the workbook stream, and its records are
walked once, each cell record's row and column checked against `hocba.limits` (whatever the
sheet declares), the sheets counted and every formula cell named. Only a file that passes is
handed to calamine, which can then build no sheet larger than SPREADSHEET_ROWS ×
SPREADSHEET_COLUMNS; its rows are read with the same checks as the .xlsx reader.

calamine itself runs in a child process with a memory ceiling (`_calamine_child.py`): native
code that a damaged file can make abort (a Rust allocation failure is no exception) must not
take the site's or a worker's process with it.

A formula's text is not decoded (BIFF stores it tokenised): the cell is named as holding one,
and the import refuses it by name as it refuses an .xlsx formula.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hocba import limits
from hocba.spreadsheets import Formula, SpreadsheetRefused, _within_limits

COMPOUND_FILE = bytes.fromhex("d0cf11e0a1b11ae1")
_FREE, _END_OF_CHAIN = 0xFFFFFFFF, 0xFFFFFFFE

# BIFF8 records that carry (row, column) first; MULRK and MULBLANK carry their last column at
# the end; ROW describes a row (its number and the columns it spans).
_CELL_RECORDS = {0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6, 0x0406}
_FORMULA_RECORDS = {0x0006, 0x0406}
_MULTI_RECORDS = {0x00BD, 0x00BE}
_BOF, _EOF, _BOUNDSHEET = 0x0809, 0x000A, 0x0085


def _refused(why: str) -> SpreadsheetRefused:
    return SpreadsheetRefused(
        "NOT_A_WORKBOOK", f"Tệp không phải bảng tính Excel (.xls) hợp lệ: {why}"
    )


def _stream(content: bytes, names: tuple[str, ...]) -> bytes:
    """The first stream of the compound file named one of `names` (read by its sector chains,
    every chain bounded by the file's own number of sectors)."""
    if len(content) < 512:
        raise _refused("tệp quá ngắn")
    shift, mini_shift = struct.unpack_from("<HH", content, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        raise _refused("phần đầu của tệp không đúng chuẩn")
    size = 1 << shift
    sectors = max(0, (len(content) - size) // size)
    (fat_count, first_dir, _tx, cutoff, first_mini, _minis, first_difat, difat_count) = (
        struct.unpack_from("<IIIIIIII", content, 0x2C)
    )

    def sector(number: int) -> bytes:
        if number >= sectors:
            raise _refused("tệp nhắc tới một phần không có trong tệp")
        start = size + number * size
        return content[start : start + size]

    # counts the header declares beyond what the file holds: calamine would trust them (a
    # DIFAT chain declared four billion sectors long makes it allocate until it is killed)
    if max(fat_count, difat_count, _minis) > sectors:
        raise _refused("phần đầu của tệp khai báo nhiều phần hơn tệp có")
    fat_sectors = list(struct.unpack_from("<109I", content, 0x4C))
    next_difat, seen = first_difat, 0
    while next_difat not in (_FREE, _END_OF_CHAIN):
        if seen >= difat_count:
            raise _refused("chuỗi các phần của tệp bị hỏng")
        entries = struct.unpack(f"<{size // 4}I", sector(next_difat))
        fat_sectors.extend(entries[:-1])
        next_difat, seen = entries[-1], seen + 1
    if seen != difat_count:
        raise _refused("chuỗi các phần của tệp bị hỏng")
    fat: list[int] = []
    for number in fat_sectors[:fat_count]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(number)))

    def chain(first: int, table: list[int], limit: int) -> Iterator[int]:
        current, steps = first, 0
        while current not in (_FREE, _END_OF_CHAIN):
            if current >= len(table) or steps > limit:
                raise _refused("chuỗi các phần của tệp bị hỏng")
            yield current
            current, steps = table[current], steps + 1

    def read(first: int, length: int) -> bytes:
        data = b"".join(sector(n) for n in chain(first, fat, sectors))
        return data[:length]

    directory = read(first_dir, sectors * size)
    listed = [directory[at : at + 128] for at in range(0, len(directory) - 127, 128)]
    if not listed:
        raise _refused("tệp không có danh mục")
    root = listed[0]
    for entry in listed:
        declared = struct.unpack_from("<Q", entry, 0x78)[0] & 0xFFFFFFFF
        if entry[66] in (2, 5) and declared > len(content):
            raise _refused("một phần của tệp khai báo lớn hơn cả tệp")
    for entry in listed:
        name_length = struct.unpack_from("<H", entry, 64)[0]
        name = entry[: max(0, name_length - 2)].decode("utf-16-le", "replace")
        if entry[66] != 2 or name not in names:
            continue
        first, length = struct.unpack_from("<IQ", entry, 0x74)
        length &= 0xFFFFFFFF
        if length > len(content):
            raise _refused("phần dữ liệu khai báo lớn hơn cả tệp")
        if length >= cutoff:
            return read(first, length)
        mini_fat: list[int] = []
        for number in chain(first_mini, fat, sectors):
            mini_fat.extend(struct.unpack(f"<{size // 4}I", sector(number)))
        root_first, root_length = struct.unpack_from("<IQ", root, 0x74)
        mini_stream = read(root_first, root_length & 0xFFFFFFFF)
        pieces = [mini_stream[n * 64 : n * 64 + 64] for n in chain(first, mini_fat, len(mini_fat))]
        return b"".join(pieces)[:length]
    raise _refused("tệp không có bảng tính (Workbook)")


def _records(stream: bytes) -> Iterator[tuple[int, int, bytes]]:
    at = 0
    while at + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, at)
        yield at, kind, stream[at + 4 : at + 4 + length]
        at += 4 + length


def measure(content: bytes) -> tuple[str, dict[tuple[int, int], Formula]]:
    """The first worksheet's title and its formula cells ((row, column) from 1 → `Formula`),
    after every cell of every sheet has been checked against the limits."""
    try:
        stream = _stream(content, ("Workbook", "Book"))
    except SpreadsheetRefused:
        raise
    except (struct.error, ValueError, IndexError):
        raise _refused("cấu trúc tệp bị hỏng") from None
    sheets: list[tuple[int, str]] = []
    for _at, kind, data in _records(stream):
        if kind == _BOUNDSHEET and len(data) >= 8:
            offset, _visibility, sheet_type, length = struct.unpack_from("<IBBB", data, 0)
            if sheet_type == 0:  # a worksheet (not a chart or a macro sheet)
                sheets.append((offset, _sheet_name(data[6:], length)))
            if len(sheets) > limits.SPREADSHEET_SHEETS:
                raise SpreadsheetRefused(
                    "TOO_MANY_SHEETS",
                    f"Tệp có hơn {limits.SPREADSHEET_SHEETS} trang: tệp không phải mẫu nhập "
                    "hoặc đã bị làm hỏng",
                )
        elif kind == _EOF:
            break
    if not sheets:
        raise _refused("tệp không có trang tính nào")
    formulas: dict[tuple[int, int], Formula] = {}
    # each stretch of the stream is walked once, however many sheets point into it
    titles = {offset: title for offset, title in reversed(sheets)}
    starts = sorted(titles)
    for at, offset in enumerate(starts):
        end = starts[at + 1] if at + 1 < len(starts) else len(stream)
        first = offset == sheets[0][0]
        for _at, kind, data in _records(stream[offset:end]):
            if kind == _EOF:
                break
            if kind in _CELL_RECORDS and len(data) >= 4:
                row, column = struct.unpack_from("<HH", data, 0)
                _within_limits(titles[offset], row + 1, column + 1)
                if first and kind in _FORMULA_RECORDS:
                    formulas[(row + 1, column + 1)] = Formula("(công thức trong tệp .xls)")
            elif kind in _MULTI_RECORDS and len(data) >= 6:
                row, _first = struct.unpack_from("<HH", data, 0)
                (last,) = struct.unpack_from("<H", data, len(data) - 2)
                _within_limits(titles[offset], row + 1, last + 1)
    return sheets[0][1], formulas


def _sheet_name(data: bytes, length: int) -> str:
    if not data:
        return ""
    wide = data[1] & 1 if len(data) > 1 else 0
    text = data[2 : 2 + length * (2 if wide else 1)]
    return text.decode("utf-16-le" if wide else "latin-1", "replace")


CHILD_SECONDS = 60
"""How long the child reading an .xls may take (a sheet within the limits takes a second)."""


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return dt.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
    return value


def _calamine(content: bytes) -> dict[str, Any]:
    """The first sheet as python-calamine reads it, in a child process (`_calamine_child`):
    a file that makes calamine abort, or run past CHILD_SECONDS, is refused, and this process
    goes on."""
    child = Path(__file__).with_name("_calamine_child.py")
    try:
        done = subprocess.run(  # noqa: S603 - our own script, by path, with this interpreter
            [sys.executable, "-I", str(child)], input=content, capture_output=True,
            timeout=CHILD_SECONDS, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise _refused("đọc bảng tính quá lâu; tệp đã bị làm hỏng") from None
    if done.returncode != 0:
        raise _refused("nội dung bảng tính bị hỏng")
    try:
        read: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        raise _refused("nội dung bảng tính bị hỏng") from None
    return read


def rows(content: bytes) -> tuple[str, list[tuple[int, tuple[Any, ...]]]]:
    """The first worksheet's title and its rows that hold something, numbered from 1, each
    cell as calamine reads it (text, float, int, bool, date or datetime), a formula cell as a
    `Formula`. `SpreadsheetRefused` for a file past the limits or not an .xls workbook."""
    if len(content) > limits.SPREADSHEET_UPLOAD_BYTES:
        raise SpreadsheetRefused(
            "FILE_TOO_LARGE",
            f"Tệp quá lớn (tối đa {limits.SPREADSHEET_UPLOAD_BYTES // limits.MiB} MB)",
        )
    title, formulas = measure(content)
    read = _calamine(content)
    if read["height"] > limits.SPREADSHEET_ROWS or read["width"] > limits.SPREADSHEET_COLUMNS:
        _within_limits(title, read["height"], read["width"])
    # calamine's rows begin at the sheet's first row, its columns at the first column used
    start_column = int(read["start"][1])
    table: dict[int, list[Any]] = {}
    for offset, values in enumerate(read["rows"]):
        table[offset + 1] = [None] * start_column + [
            None if value == "" else _value(value) for value in values
        ]
    for (number, column), formula in formulas.items():
        cells = table.setdefault(number, [])
        cells.extend([None] * (column - len(cells)))
        cells[column - 1] = formula
    found: list[tuple[int, tuple[Any, ...]]] = []
    for number in sorted(table):
        cells = table[number]
        while cells and cells[-1] is None:
            cells.pop()
        if cells:
            _within_limits(title, number, len(cells))
            found.append((number, tuple(cells)))
    return title, found
