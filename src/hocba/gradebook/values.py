"""Parsing what a teacher typed (page, Excel, API) into a stored value, with the message a
teacher understands when it is wrong ("điểm 11 ngoài khoảng 0–10")."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from hocba.gradebook.models import Kind
from hocba.rules.catalogue import Mode
from hocba.rules.labels import Rating, SubjectLevel
from hocba.rules.scores import has_at_most_one_decimal, in_range, to_decimal

PASS_FAIL = {
    spelling: rating.value
    for rating in (Rating.D, Rating.CD)
    for spelling in (rating.value, rating.value.replace("Đ", "D"), rating.label.upper())
}
"""What a teacher may type for Đạt / Chưa đạt ("Đ", "D", "đạt", "CD", "chưa đạt" …)."""
PRIMARY_LEVELS = {level.value: level.value for level in SubjectLevel}


class InvalidValue(ValueError):
    """The message says what is wrong, in Vietnamese, without the cell or field."""


@dataclass(frozen=True, slots=True)
class Parsed:
    score: Decimal | None = None
    code: str = ""


def _score(text: str, integer: bool = False) -> Decimal:
    number = to_decimal(text)
    if number is None:
        raise InvalidValue(f"“{text}” không phải là điểm số")
    if not in_range(number):
        raise InvalidValue(f"điểm {text} ngoài khoảng 0–10")
    if integer and number != number.to_integral_value():
        raise InvalidValue(f"điểm kiểm tra định kì {text} phải là số nguyên")
    if not has_at_most_one_decimal(number):
        raise InvalidValue(f"điểm {text} có nhiều hơn một chữ số thập phân")
    return number.quantize(Decimal("0.1"))


def parse_value(raw: object, mode: str, kind: str) -> Parsed | None:
    """None for an empty cell; otherwise the value to store. Raises InvalidValue."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", str(raw)).strip()
    if text == "":
        return None
    if kind == Kind.LEVEL:
        code = PRIMARY_LEVELS.get(text.upper())
        if code is None:
            raise InvalidValue(f"mức “{text}” không hợp lệ (dùng T, H, C hoặc M)")
        return Parsed(code=code)
    if kind == Kind.TEST:
        if text.upper() == "M":
            return Parsed(code="M")
        return Parsed(score=_score(text, integer=True))
    if mode == Mode.COMMENT:
        code = PASS_FAIL.get(text.upper())
        if code is None:
            raise InvalidValue(f"mức “{text}” không hợp lệ (dùng Đ hoặc CĐ)")
        return Parsed(code=code)
    if text.upper() == "M":
        return Parsed(code="M")
    return Parsed(score=_score(text))


def display(score: Decimal | None, code: str) -> str:
    """As a teacher writes it: decimal comma, one decimal ("8,5"), or the code."""
    if score is None:
        return code
    return f"{score:.1f}".replace(".", ",")
