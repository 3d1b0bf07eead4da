"""CSV files coming in (pure): UTF-8 with or without its byte-order mark, fields separated by
commas or semicolons (Excel in a Vietnamese locale writes semicolons), held to the same limits as
a workbook (`hocba.limits`: the file's size, rows and columns, checked while reading).

A field beginning with "=" is what a spreadsheet program would run as a formula: it is handed
over as a `Formula`, so the import refuses it by name as it does in an .xlsx file.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from hocba import limits
from hocba.spreadsheets import Formula, SpreadsheetRefused

_DELIMITERS = (",", ";", "\t")


def _refused(why: str) -> SpreadsheetRefused:
    return SpreadsheetRefused("NOT_A_CSV", f"Tệp không phải tệp CSV hợp lệ: {why}")


def delimiter_of(text: str) -> str:
    """The separator of the file: the one that splits its first line into the most fields
    outside quotes (a comma when none does)."""
    first = text.split("\n", 1)[0]
    best, widest = ",", 1
    for candidate in _DELIMITERS:
        try:
            fields = len(next(csv.reader([first], delimiter=candidate), []))
        except csv.Error:  # a field past the size limit: refused when the rows are read
            continue
        if fields > widest:
            best, widest = candidate, fields
    return best


def rows(content: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    """The rows that hold something, numbered from 1 as a spreadsheet program shows them
    (a quoted field with line breaks is one cell of one row); every field is text, a field
    beginning with "=" a `Formula`."""
    if len(content) > limits.SPREADSHEET_UPLOAD_BYTES:
        raise SpreadsheetRefused(
            "FILE_TOO_LARGE",
            f"Tệp quá lớn (tối đa {limits.SPREADSHEET_UPLOAD_BYTES // limits.MiB} MB)",
        )
    if b"\0" in content:
        raise _refused("tệp chứa dữ liệu nhị phân, không phải văn bản")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refused(
            f"tệp không được mã hóa UTF-8 (byte thứ {error.start + 1}); hãy lưu lại dưới dạng "
            "“CSV UTF-8”"
        ) from None
    found: list[tuple[int, tuple[Any, ...]]] = []
    reader: Any = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter_of(text), strict=False
    )
    try:
        for number, fields in enumerate(reader, start=1):
            if number > limits.SPREADSHEET_ROWS:
                if any(field.strip() for field in fields):
                    raise SpreadsheetRefused(
                        "TOO_MANY_ROWS",
                        f"Tệp CSV có dữ liệu ở dòng {number}; tối đa "
                        f"{limits.SPREADSHEET_ROWS} dòng",
                    )
                continue
            while fields and not fields[-1].strip():
                fields.pop()
            if not fields:
                continue
            if len(fields) > limits.SPREADSHEET_COLUMNS:
                raise SpreadsheetRefused(
                    "TOO_MANY_COLUMNS",
                    f"Tệp CSV có {len(fields)} cột ở dòng {number}; tối đa "
                    f"{limits.SPREADSHEET_COLUMNS} cột",
                )
            found.append(
                (
                    number,
                    tuple(
                        Formula(field) if field.startswith("=") else (field or None)
                        for field in fields
                    ),
                )
            )
    except csv.Error as error:
        raise _refused(f"dòng {reader.line_num}: {error}") from None
    return found
