"""Scores as the circulars write them: decimals on the 10-point scale, one decimal place,
rounded half up ("làm tròn số"), never binary floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
TEN = Decimal(10)
ONE_DECIMAL = Decimal("0.1")


def round1(value: Decimal) -> Decimal:
    """Round to one decimal, half up: 6.25 → 6.3, 6.45 → 6.5 (never banker's rounding)."""
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal | None:
    """A Decimal from a JSON number or a string with a dot or a comma ("8.5", "8,5"); None
    when it is not a number. Floats go through their shortest repr, so 7.1 stays 7.1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace(",", ".")
        if not text or text[0] not in "0123456789+-.":
            return None
        try:
            result = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def has_at_most_one_decimal(value: Decimal) -> bool:
    return value == value.quantize(ONE_DECIMAL)


def in_range(value: Decimal) -> bool:
    return ZERO <= value <= TEN


def format1(value: Decimal | None) -> str | None:
    """ "8.3" (one decimal, dot) for JSON; None stays None."""
    return None if value is None else f"{value.quantize(ONE_DECIMAL)}"
