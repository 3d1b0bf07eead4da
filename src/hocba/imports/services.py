"""The one door of an import: read the file, recognise its layout (or apply a mapping), plan,
and preview; apply the plan all or nothing, with an audit event for every person or assignment
written.

`preview` writes nothing. `apply_import` plans again inside its transaction and refuses when any
cell is bad (`CELLS_INVALID`, every bad cell named) or when the plan is no longer the one the
person saw (`PLAN_CHANGED`: the school's data or the file changed between preview and apply).
Applying the same file twice changes nothing the second time: the plan is then all unchanged.
Large files are applied by a background job (`start_apply`), whose progress the page shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest

from hocba.audit.services import Entry, record_events
from hocba.imports.kinds import KINDS, ImportKind
from hocba.imports.layouts import Columns, Layout, MappingRefused, mapped, recognise
from hocba.imports.plan import Plan
from hocba.imports.reading import CellProblem, read_rows
from hocba.jobs.models import Job
from hocba.jobs.services import start_job
from hocba.organizations.models import School, SchoolYear
from hocba.organizations.permissions import can
from hocba.spreadsheets import SpreadsheetRefused
from hocba.spreadsheets.tables import Table, read_table

BACKGROUND_ROWS = 1500
"""Files with more rows than this are applied by a background job from the page."""


class ImportRefused(Exception):
    """`code` (UPPER_SNAKE), a Vietnamese `message`, and the bad cells when there are some."""

    def __init__(
        self, code: str, message: str, problems: list[CellProblem] | None = None,
        headings: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems or []
        self.headings = headings
        """The file's headings, when its layout was not recognised (for the mapping step)."""


@dataclass
class Preview:
    kind: ImportKind
    table: Table
    columns: Columns
    plan: Plan
    digest: str
    """SHA-256 of the file."""
    rows: int = 0
    applied: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def layout_title(self) -> str:
        return self.columns.layout.title if self.columns.layout else ""


def kind_of(name: str) -> ImportKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ImportRefused(
            "KIND_UNKNOWN", f"Không có loại nhập “{name}”; các loại: {', '.join(sorted(KINDS))}"
        ) from None


def read(content: bytes) -> Table:
    try:
        return read_table(content)
    except SpreadsheetRefused as refused:
        raise ImportRefused(refused.code, refused.message) from None


def columns_of(kind: str, table: Table, mapping: Mapping[str, str] | None) -> Columns:
    if mapping:
        try:
            return mapped(kind, table.rows, mapping)
        except MappingRefused as refused:
            raise ImportRefused(refused.code, refused.message) from None
    found = recognise(kind, table.rows)
    if found is None:
        headings = max(
            (
                tuple(str(v) if v is not None else "" for v in values)
                for _n, values in table.rows[:15]
            ),
            key=lambda row: sum(1 for v in row if v),
            default=(),
        )
        raise ImportRefused(
            "LAYOUT_UNKNOWN",
            "Không nhận ra mẫu của tệp: hãy chọn trường cho từng cột (hoặc dùng --map)",
            headings=headings,
        )
    return found


def _allowed(user: Any, kind: ImportKind, school: School) -> None:
    """`user` None is the operator at the command line (who holds the database itself)."""
    if user is not None and not can(user, kind.permission, school):
        raise PermissionDenied


def export_list(user: Any, school: School, year: SchoolYear, kind_name: str, chosen: Layout) -> Any:
    """The school's list of a kind in a layout (an openpyxl workbook), or None when the kind
    exports nothing. The lists hold personal ID numbers, families and addresses: they are for
    who may write them (`students:student:write`, `organizations:staff:write`), not readers."""
    kind = kind_of(kind_name)
    _allowed(user, kind, school)
    return kind.export(school, year, chosen)


def preview(
    user: Any, school: School, year: SchoolYear, kind_name: str, content: bytes,
    mapping: Mapping[str, str] | None = None,
) -> Preview:  # fmt: skip
    kind = kind_of(kind_name)
    _allowed(user, kind, school)
    table = read(content)
    columns = columns_of(kind.name, table, mapping)
    rows, problems = read_rows(table, kind.name, columns)
    plan = kind.plan(user, school, year, rows, table.title, columns.layout)
    plan.problems = sorted(problems + plan.problems, key=lambda p: (p.row, p.column))
    digest = hashlib.sha256(content).hexdigest()
    return Preview(kind, table, columns, plan, digest, rows=len(rows))


def apply_import(
    user: Any, school: School, year: SchoolYear, kind_name: str, content: bytes,
    mapping: Mapping[str, str] | None = None, fingerprint: str = "",
    request: HttpRequest | None = None,
) -> Preview:  # fmt: skip
    """Apply the file all or nothing; the preview of what was applied. The upload stored for the
    page or a job is deleted once the file is applied or refused here."""
    try:
        return _apply(user, school, year, kind_name, content, mapping, fingerprint, request)
    finally:
        discard(content)


def _apply(
    user: Any, school: School, year: SchoolYear, kind_name: str, content: bytes,
    mapping: Mapping[str, str] | None, fingerprint: str, request: HttpRequest | None,
) -> Preview:  # fmt: skip
    with transaction.atomic():
        seen = preview(user, school, year, kind_name, content, mapping)
        plan = seen.plan
        if plan.problems:
            raise ImportRefused(
                "CELLS_INVALID",
                f"Tệp có {len(plan.problems)} ô sai; không ghi gì cả: hãy sửa tệp rồi nhập lại",
                plan.problems,
            )
        if fingerprint and plan.fingerprint() != fingerprint:
            raise ImportRefused(
                "PLAN_CHANGED",
                "Dữ liệu đã thay đổi từ lúc xem trước; hãy xem lại trước khi ghi",
            )
        if plan.writes:
            entries = seen.kind.apply(user, school, year, plan)
            entries.append(
                Entry("imports.apply", school, summary=f"{seen.kind.name}: {seen.layout_title}",
                      new={"kind": seen.kind.name, "file": seen.digest, **plan.summary()})
            )  # fmt: skip
            record_events(user or "hocba import", entries, request=request)
            seen.applied = True
    return seen


# --- large files: a background job ----------------------------------------------------------


def discard(content: bytes) -> None:
    """Delete the stored upload of `content` (`imports/<sha256>`), if there is one."""
    path = f"imports/{hashlib.sha256(content).hexdigest()}"
    if default_storage.exists(path):
        default_storage.delete(path)


def _stored(content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    path = f"imports/{digest}"
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(content))
    return path


def start_apply(
    user: Any, school: School, year: SchoolYear, kind_name: str, content: bytes,
    mapping: Mapping[str, str] | None, fingerprint: str,
) -> Job:  # fmt: skip
    """Apply the file in the background; the job whose progress the page shows."""
    from hocba.imports.tasks import apply_file

    _allowed(user, kind_of(kind_name), school)
    with transaction.atomic():
        return start_job(
            apply_file, school=school.code, year=year.name, kind=kind_name,
            path=_stored(content), mapping=dict(mapping or {}), fingerprint=fingerprint,
            user_id=getattr(user, "pk", None),
        )  # fmt: skip
