"""A problem found in a person's identity data: a stable code, the field, a Vietnamese message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProblemCode(StrEnum):
    """Stable identifiers of identity problems (shown in the API, the CLI and JSON output)."""

    PERSONAL_ID_MISSING = "PERSONAL_ID_MISSING"
    PERSONAL_ID_FORMAT = "PERSONAL_ID_FORMAT"
    PERSONAL_ID_PROVINCE = "PERSONAL_ID_PROVINCE"
    PERSONAL_ID_CENTURY = "PERSONAL_ID_CENTURY"
    PERSONAL_ID_SEX = "PERSONAL_ID_SEX"
    PERSONAL_ID_BIRTH_YEAR = "PERSONAL_ID_BIRTH_YEAR"
    PERSONAL_ID_DUPLICATE = "PERSONAL_ID_DUPLICATE"
    FIELD_MISSING = "FIELD_MISSING"
    NAME_NOT_NORMALIZED = "NAME_NOT_NORMALIZED"
    NAME_INVALID = "NAME_INVALID"
    DATE_OF_BIRTH_INVALID = "DATE_OF_BIRTH_INVALID"
    CODE_UNKNOWN = "CODE_UNKNOWN"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one person's data."""

    code: ProblemCode
    """Stable identifier."""
    field: str
    """The data field concerned (the attribute name of `StudentIdentity`)."""
    message: str
    """What is wrong, in Vietnamese, for the school's data officer."""
