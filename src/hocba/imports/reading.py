"""From a file's rows to records of fields, every bad cell named (sheet, row, heading, value,
why), never the first one only: a file with any bad cell writes nothing, and the person fixes
all of them in one go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl.utils import get_column_letter

from hocba.imports.layouts import FIELDS, Columns
from hocba.spreadsheets import Formula, shown
from hocba.spreadsheets.cells import CellRefused, text
from hocba.spreadsheets.tables import Table


@dataclass(frozen=True, slots=True)
class CellProblem:
    """One bad cell, or one bad row (`column` 0) when no single cell is at fault."""

    sheet: str
    row: int
    column: int
    """From 1 (A); 0 when the problem is the row's."""
    heading: str
    value: str
    why: str

    @property
    def cell(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}" if self.column else ""

    def message(self) -> str:
        where = f"Trang “{shown(self.sheet)}”, " if self.sheet else ""
        if not self.column:
            return f"{where}dòng {self.row}: {self.why}"
        value = f"“{shown(self.value)}”" if self.value else "(trống)"
        return (
            f"{where}dòng {self.row}, cột “{shown(self.heading)}” (ô {self.cell}): {value} — "
            f"{self.why}"
        )


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    values: dict[str, Any]
    cells: dict[str, tuple[int, str, str]]
    """Field → (column from 1, heading, the cell as written): where to point a problem found
    later (an unknown class, a teacher not on the staff)."""

    def problem(self, sheet: str, field: str, why: str) -> CellProblem:
        column, heading, written = self.cells.get(field, (0, "", ""))
        return CellProblem(sheet, self.number, column, heading, written, why)


def _written(value: Any) -> str:
    if isinstance(value, Formula):
        return str(value)
    try:
        return text(value)
    except CellRefused:
        return str(value)


def read_rows(table: Table, kind: str, columns: Columns) -> tuple[list[Row], list[CellProblem]]:
    fields = {field.name: field for field in FIELDS[kind]}
    found: list[Row] = []
    problems: list[CellProblem] = []
    for number, values in table.rows:
        if number <= columns.header_row:
            continue
        raw = {
            field: values[column] if column < len(values) else None
            for column, field in columns.fields.items()
        }
        if all(
            value is None or (isinstance(value, str) and not value.strip())
            for value in raw.values()
        ):
            continue
        read: dict[str, Any] = {}
        where: dict[str, tuple[int, str, str]] = {}
        for column, name in columns.fields.items():
            value = raw[name]
            heading = columns.headings[column]
            where[name] = (column + 1, heading, _written(value))
            if value is None or (isinstance(value, str) and not value.strip()):
                # an empty cell leaves what is stored; only a required one is a problem
                if fields[name].required:
                    problems.append(
                        CellProblem(
                            table.title,
                            number,
                            column + 1,
                            heading,
                            "",
                            "ô bắt buộc, không được để trống",
                        )
                    )
                continue
            try:
                read[name] = fields[name].read(value)
            except CellRefused as refused:
                problems.append(
                    CellProblem(
                        table.title, number, column + 1, heading, _written(value), refused.why
                    )
                )
        found.append(Row(number, read, where))
    return found, problems
