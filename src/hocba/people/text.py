"""Finding and ordering people's names the Vietnamese way.

`fold` makes a search accent-insensitive ("nguyen van an" finds "Nguyễn Văn An"); `name_key`
orders names as a Vietnamese class list does: by the given name (the last word), then the family
and middle names, each letter in the Vietnamese alphabet's order (a ă â b c d đ e ê … ư v x y),
and the tones after the letters (a, à, á, ả, ã, ạ), so "Đức" comes after "Dũng" and before "Em".
"""

from __future__ import annotations

import unicodedata

# The Vietnamese alphabet, each base letter with its rank; letters of other languages (f, j,
# w, z) go where the Latin alphabet puts them.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
# Tone marks in their dictionary order: none, huyền, sắc, hỏi, ngã, nặng.
_TONES = {"\u0300": 1, "\u0301": 2, "\u0309": 3, "\u0303": 4, "\u0323": 5}
# Marks that make another letter (ă â ê ô ơ ư), kept with their letter.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}


def fold(text: str) -> str:
    """`text` lower-cased, without accents, đ as d, spaces collapsed: what a search compares."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def _letters(word: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A word's letters by rank, and its tones (compared only when the letters are equal)."""
    letters: list[int] = []
    tones: list[int] = []
    for char in word.casefold():
        parts = unicodedata.normalize("NFD", char)
        base, marks = parts[0], parts[1:]
        letter = unicodedata.normalize(
            "NFC", base + "".join(m for m in marks if m in _LETTER_MARKS)
        )
        tone = next((_TONES[m] for m in marks if m in _TONES), 0)
        rank = _RANK.get(letter)
        letters.append(rank if rank is not None else len(_ALPHABET) + ord(letter))
        tones.append(tone)
    return tuple(letters), tuple(tones)


def name_key(full_name: str) -> tuple[object, ...]:
    """Sort key of a full name: given name, then the family and middle names, then tones."""
    words = unicodedata.normalize("NFC", full_name).split()
    if not words:
        return ((), (), (), ())
    given, rest = _letters(words[-1]), [_letters(w) for w in words[:-1]]
    return (
        given[0],
        tuple(w[0] for w in rest),
        given[1],
        tuple(w[1] for w in rest),
    )


def matches(query: str, *fields: str) -> bool:
    """Does every word of `query` occur (accents ignored) in one of `fields`?"""
    words = fold(query).split()
    haystack = " ".join(fold(f) for f in fields)
    return all(word in haystack for word in words)
