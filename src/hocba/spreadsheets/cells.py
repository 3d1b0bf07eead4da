"""What a cell means, whichever program wrote it (pure): texts, codes, decimals, dates, sex.

Schools' files disagree on every one: a decimal comma ("7,5") against a dot, a date as a real
Excel date, as a serial number, or as text "05/09/2012" (day first, as Vietnamese write it), a
personal ID that Excel turned into a number and so lost its leading zero, "Nam"/"Nữ" in any
case or without diacritics. Each function here takes any of those and gives one value, or raises
`CellRefused` with the reason in Vietnamese (the caller adds where the cell is).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from hocba.spreadsheets import Formula, shown

_SPACES = re.compile(r"\s+")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system (serial 60, the 29 February 1900 Excel believes in, is
past: every date a school writes is after it)."""
_DAY_FIRST = re.compile(r"([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[T ][0-9:.]+)?")
_DECIMAL = re.compile(r"[+-]?([0-9]+([.,][0-9]+)?|[.,][0-9]+)")
_SEX = {"nam": "1", "nu": "2", "1": "1", "2": "2", "0": "0", "m": "1", "f": "2", "male": "1",
        "female": "2", "trai": "1", "gai": "2"}  # fmt: skip
_TRUE = {"x", "co", "1", "true", "yes", "d", "v"}
_FALSE = {"", "khong", "0", "false", "no"}


class CellRefused(ValueError):
    """A cell whose value cannot be what its column says; `why` in Vietnamese."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def fold(value: str) -> str:
    """A text as headings and names are compared: lower case, no diacritics (đ is d), no
    marks like "(*)", runs of spaces and punctuation as one space."""
    text = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\(\s*\*\s*\)|\*", " ", text)
    text = re.sub(r"[^\w]+", " ", text)
    return _SPACES.sub(" ", text).strip()


def _no_formula(value: Any) -> None:
    if isinstance(value, Formula):
        raise CellRefused(f"ô chứa công thức “{shown(value)}”; hãy dán giá trị (Paste Values)")


def text(value: Any) -> str:
    """The cell as text: trimmed, runs of spaces (no-break spaces too) as one; a whole number
    read as a float without its ".0"; nothing as ""."""
    _no_formula(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    return unicodedata.normalize("NFC", _SPACES.sub(" ", str(value)).strip())


def code(value: Any, digits: int = 0) -> str:
    """A code of digits (personal ID, student code): a cell Excel kept as a number gets back
    the leading zeros it dropped when `digits` says how long the code is."""
    written = text(value)
    if digits and isinstance(value, int | float) and written.isdigit() and len(written) < digits:
        return written.zfill(digits)
    return written


def decimal(value: Any) -> Decimal | None:
    """A number written with a decimal comma or dot ("7,5", "7.5", 7.5); None when empty."""
    _no_formula(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellRefused("ô chứa giá trị đúng/sai, không phải số")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellRefused("ô không chứa một số")
        return Decimal(repr(value))
    written = _SPACES.sub("", str(value))
    if not _DECIMAL.fullmatch(written):
        raise CellRefused(f"“{shown(value)}” không phải là số (viết như 7,5 hoặc 7.5)")
    try:
        return Decimal(written.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
        raise CellRefused(f"“{shown(value)}” không phải là số") from None


def _checked(year: int, month: int, day: int, written: Any) -> dt.date:
    try:
        found = dt.date(year, month, day)
    except ValueError:
        raise CellRefused(f"“{shown(written)}” không phải là ngày có thật") from None
    if not 1900 <= found.year <= 2100:
        raise CellRefused(f"“{shown(written)}”: năm {found.year} nằm ngoài 1900–2100")
    return found


def date(value: Any) -> dt.date | None:
    """A date: an Excel date, an Excel serial number, text day first ("05/09/2012",
    "5-9-2012", "05.09.2012") or ISO ("2012-09-05"); None when empty."""
    _no_formula(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return _checked(value.year, value.month, value.day, value)
    if isinstance(value, dt.date):
        return _checked(value.year, value.month, value.day, value)
    if isinstance(value, bool):
        raise CellRefused("ô chứa giá trị đúng/sai, không phải ngày")
    if isinstance(value, int | float):
        if not 1 <= value < 80_000 or value != int(value):
            raise CellRefused(f"{shown(value)} không phải là ngày")
        found = _EXCEL_EPOCH + dt.timedelta(days=int(value))
        return _checked(found.year, found.month, found.day, value)
    written = str(value).strip()
    if match := _DAY_FIRST.fullmatch(written):
        return _checked(int(match[3]), int(match[2]), int(match[1]), value)
    if match := _ISO.fullmatch(written):
        return _checked(int(match[1]), int(match[2]), int(match[3]), value)
    if written.isascii() and written.isdigit() and 1 <= int(written) < 80_000:
        return date(int(written))
    raise CellRefused(f"“{shown(value)}” không phải là ngày (viết ngày/tháng/năm, như 05/09/2012)")


def sex(value: Any) -> str:
    """QCVN 109 sex code: "1" Nam, "2" Nữ, "0" unknown (an empty cell)."""
    raw = text(value)
    if not raw:
        return "0"
    written = fold(raw)
    if written in _SEX:
        return _SEX[written]
    raise CellRefused(f"giới tính “{shown(value)}” không rõ (ghi Nam hoặc Nữ)")


def flag(value: Any) -> bool:
    """A yes/no cell: "x", "Có", 1, TRUE … for yes; empty, "Không", 0 for no."""
    if isinstance(value, bool):
        return value
    raw = text(value)
    written = fold(raw)
    if written in _TRUE:
        return True
    if written in _FALSE and (written or not raw):
        return False
    raise CellRefused(f"“{shown(value)}” không phải là Có/Không")
