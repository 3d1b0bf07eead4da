"""The kinds of import (students, staff, assignments), registered by name.

A kind plans from the file's rows (`plan`), writes what it planned (`apply`, inside the
transaction the service opens) and writes the school's list in a layout (`export`, for the
kinds that have one). The command (`hocba import KIND FILE`) and the page take their kinds from
`KINDS`: another kind (a grade book) is one more `register` call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from django.utils.functional import Promise
from openpyxl import Workbook

from hocba.imports.layouts import Layout
from hocba.imports.plan import Plan
from hocba.imports.reading import Row
from hocba.organizations.models import School, SchoolYear
from hocba.organizations.permissions import Permission


class ImportKind(ABC):
    name: str
    label: Promise
    permission: Permission
    """What the person must be allowed to do on the school."""

    @abstractmethod
    def plan(
        self, user: Any, school: School, year: SchoolYear, rows: list[Row], sheet: str,
        layout: Layout | None,
    ) -> Plan:  # fmt: skip
        """`user` is who imports (None: the operator at the command line): what they may not
        write is a cell problem."""

    @abstractmethod
    def apply(self, user: Any, school: School, year: SchoolYear, plan: Plan) -> list[Any]:
        """Write the plan; the audit entries of what was written (`hocba.audit` `Entry`)."""

    def export(self, school: School, year: SchoolYear, layout: Layout) -> Workbook | None:
        """The school's list in `layout`, or None when this kind exports nothing."""
        return None


KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> ImportKind:
    KINDS[kind.name] = kind
    return kind
