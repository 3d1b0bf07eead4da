"""Personal names as the birth certificate writes them: Unicode NFC, single spaces, each word
capitalised (“Nguyễn Thị Ánh”). Names of ethnic minorities keep apostrophes and hyphens
(“H'Hen Niê”, “Kpă Y-Lan”)."""

from __future__ import annotations

import re
import unicodedata

_ALLOWED = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*$")


def normalize_name(value: str) -> str:
    """The normalised spelling of `value` (NFC, single spaces, capitalised words)."""
    words = unicodedata.normalize("NFC", value).split()
    return " ".join(_capitalize(word) for word in words)


def _capitalize(word: str) -> str:
    if word.isupper() and len(word) > 1:
        word = word.lower()
    return word[:1].upper() + word[1:]


def is_valid_name(value: str) -> bool:
    """True when every word is made of letters (with inner apostrophes or hyphens)."""
    words = unicodedata.normalize("NFC", value).split()
    return bool(words) and all(_ALLOWED.match(word) for word in words)
