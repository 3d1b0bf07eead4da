"""The layouts of the files schools bring, kept as data: one TOML file per layout in `layouts/`.

A layout names its source (CSDL ngành, vnEdu, SMAS, hocba), the kind of rows it holds
(students, staff, assignments) and, in order, the heading of each column with the field it
fills ("" for a column read and ignored, like vnEdu's hidden ID). Correcting a layout, or
adding the official one when it is published, is editing or adding one file;
`docs/domain/import-layouts.md` says which headings are known and which assumed.

A file's layout is recognised from its headings, wherever the heading row is among the first
rows (schools put the school's name and a title above it): headings are compared folded (no
case, no diacritics, no "(*)"), and the layout matching most of the row's headings, with every
required field of its kind, wins. A file of any other layout is read through a mapping (heading
→ field) chosen by the person.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hocba.imports.fields import ASSIGNMENT_FIELDS, STAFF_FIELDS, STUDENT_FIELDS, Field
from hocba.spreadsheets.cells import fold, text

HEADER_SEARCH_ROWS = 15
"""How far down the heading row is looked for."""

FIELDS: Mapping[str, tuple[Field, ...]] = {
    "students": STUDENT_FIELDS,
    "staff": STAFF_FIELDS,
    "assignments": ASSIGNMENT_FIELDS,
}


@dataclass(frozen=True, slots=True)
class Layout:
    key: str
    kind: str
    source: str
    title: str
    columns: tuple[tuple[str, str], ...]
    """(heading, field) in the order of the file; field "" for a column ignored."""
    homeroom: bool = False
    """Assignments: every row makes a homeroom teacher (no subject column)."""

    def field_of(self, heading: str) -> str | None:
        """The field a heading fills, "" for one ignored, None for one this layout lacks."""
        wanted = fold(heading)
        for written, field in self.columns:
            if fold(written) == wanted:
                return field
        return None

    def headings(self) -> list[tuple[str, str]]:
        """(heading, field) of each field the layout carries, first heading per field (what
        an export in this layout writes)."""
        seen: set[str] = set()
        found = []
        for heading, field in self.columns:
            if field and field not in seen:
                seen.add(field)
                found.append((heading, field))
        return found


@dataclass(frozen=True, slots=True)
class Columns:
    """Where the fields are in one file."""

    header_row: int
    """The row of the headings (the rows after it are data)."""
    headings: tuple[str, ...]
    """Every heading of that row, by column from A ("" for an empty cell)."""
    fields: Mapping[int, str]
    """Column (0-based) → the field it fills."""
    layout: Layout | None
    """The recognised layout; None when read through a mapping."""


def _load(path: Path) -> Layout:
    data: dict[str, Any] = tomllib.loads(path.read_text("utf-8"))
    return Layout(
        key=data["key"],
        kind=data["kind"],
        source=data["source"],
        title=data["title"],
        columns=tuple((str(h), str(f)) for h, f in data["columns"]),
        homeroom=bool(data.get("homeroom", False)),
    )


@cache
def all_layouts() -> tuple[Layout, ...]:
    here = Path(__file__).with_name("layouts")
    found = tuple(_load(path) for path in sorted(here.glob("*.toml")))
    for layout in found:
        known = {field.name for field in FIELDS[layout.kind]}
        unknown = {field for _h, field in layout.columns if field and field not in known}
        if unknown:
            raise ValueError(f"layout {layout.key} names unknown fields {sorted(unknown)}")
    return found


def layouts_of(kind: str) -> tuple[Layout, ...]:
    return tuple(layout for layout in all_layouts() if layout.kind == kind)


def layout(key: str) -> Layout:
    for found in all_layouts():
        if found.key == key:
            return found
    raise KeyError(key)


def headings_of(values: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(text(value) if isinstance(value, str | int | float) else "" for value in values)


def _required(kind: str) -> set[str]:
    return {field.name for field in FIELDS[kind] if field.required}


def recognise(kind: str, rows: tuple[tuple[int, tuple[Any, ...]], ...]) -> Columns | None:
    """The best layout of `kind` for the file's first rows, or None when none carries every
    required field."""
    best: tuple[tuple[int, int], Columns] | None = None
    for number, values in rows[:HEADER_SEARCH_ROWS]:
        headings = headings_of(values)
        for candidate in layouts_of(kind):
            fields: dict[int, str] = {}
            matched = 0
            for column, heading in enumerate(headings):
                if not heading:
                    continue
                field = candidate.field_of(heading)
                if field is None:
                    continue
                matched += 1
                if field and field not in fields.values():
                    fields[column] = field
            if not _required(kind) <= set(fields.values()):
                continue
            unmatched = sum(1 for heading in headings if heading) - matched
            score = (matched - unmatched, -len(candidate.columns))
            if best is None or score > best[0]:
                best = (score, Columns(number, headings, fields, candidate))
    return best[1] if best else None


class MappingRefused(ValueError):
    """A mapping that cannot be used: `code` and a Vietnamese `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_mapping(kind: str, pairs: list[str]) -> dict[str, str]:
    """ "Họ và tên=full_name" pairs (the CLI's --map) as heading → field."""
    known = {field.name for field in FIELDS[kind]}
    mapping: dict[str, str] = {}
    for pair in pairs:
        heading, sep, field = pair.rpartition("=")
        if not sep or not heading.strip():
            raise MappingRefused("MAPPING_INVALID", f"“{pair}” không có dạng “Tiêu đề cột=trường”")
        if field.strip() not in known | {""}:
            raise MappingRefused(
                "MAPPING_INVALID",
                f"Trường “{field.strip()}” không có; các trường: {', '.join(sorted(known))}",
            )
        mapping[heading.strip()] = field.strip()
    return mapping


def mapped(
    kind: str, rows: tuple[tuple[int, tuple[Any, ...]], ...], mapping: Mapping[str, str]
) -> Columns:
    """The columns of a file read through `mapping` (heading → field): the heading row is the
    first row holding most of the mapped headings."""
    wanted = {fold(heading): field for heading, field in mapping.items()}
    best: tuple[int, Columns] | None = None
    for number, values in rows[:HEADER_SEARCH_ROWS]:
        headings = headings_of(values)
        fields = {
            column: wanted[fold(heading)]
            for column, heading in enumerate(headings)
            if heading and wanted.get(fold(heading))
        }
        if best is None or len(fields) > best[0]:
            best = (len(fields), Columns(number, headings, fields, None))
    if best is None or not best[0]:
        raise MappingRefused(
            "MAPPING_NOT_FOUND", "Không tìm thấy dòng tiêu đề nào có các cột đã chọn"
        )
    missing = _required(kind) - set(best[1].fields.values())
    if missing:
        labels = {field.name: str(field.label) for field in FIELDS[kind]}
        raise MappingRefused(
            "MAPPING_INCOMPLETE",
            "Chưa chọn cột cho: " + ", ".join(labels[name] for name in sorted(missing)),
        )
    return best[1]
