"""Excel, the way teachers work: a template per class and subject, an import that checks the
whole file before writing anything (and names every wrong cell), and the class book export.

The template's hidden row 5 names each column (`HK1:TX:1`) and cell A5 names the class subject,
so an import always knows what a column means even if the teacher moved it.

Workbooks are written and read through `hocba.spreadsheets`: text written is always text (a
student named "=…" stays a name), an imported formula is an error naming its cell (never its
cached value, never an empty score), and a file's sizes are checked before its rows are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from hocba.gradebook.compute import class_subjects, enrolled_students, students_of_subject
from hocba.gradebook.models import Assessment, ClassSubject, Kind, SubjectRemark, Term, YearResult
from hocba.gradebook.services import (
    CellChange,
    RemarkChange,
    ValidationFailed,
    allowed_cells,
    save_subject_book,
    validate_assessments,
    validate_remarks,
)
from hocba.gradebook.values import display
from hocba.organizations.models import ClassGroup
from hocba.spreadsheets import (
    Formula,
    SpreadsheetRefused,
    clean,
    open_sheet,
    rows,
    shown,
    to_bytes,
)

REMARK_KEY = "REMARK"
"""The key of the template's last column: the subject teacher's remark for the year."""
REMARK_LABEL = "Nhận xét của GV bộ môn"
KEY_ROW = 5
HEADER_ROW = 6
FIRST_ROW = 7
TERM_LABEL = {Term.HK1: "HK I", Term.HK2: "HK II", Term.SUMMER: "Hè"}
KIND_LABEL = {
    Kind.TX: "TX", Kind.GK: "GK", Kind.CK: "CK", Kind.CD: "CĐ", Kind.RETAKE: "KT lại",
    Kind.LEVEL: "Mức", Kind.TEST: "KTĐK",
}  # fmt: skip
_ORDER = {Term.HK1: 0, Term.HK2: 1, Term.SUMMER: 2}
_KIND_ORDER = {Kind.TX: 0, Kind.CD: 1, Kind.GK: 2, Kind.CK: 3, Kind.LEVEL: 4, Kind.TEST: 5,
               Kind.RETAKE: 6}  # fmt: skip


def columns(cs: ClassSubject) -> list[tuple[str, str, int]]:
    return sorted(
        allowed_cells(cs), key=lambda c: (_ORDER[Term(c[0])], _KIND_ORDER[Kind(c[1])], c[2])
    )


def column_label(term: str, kind: str, seq: int) -> str:
    """ "HK I TX1", "HK II CK", "Hè KT lại"."""
    number = str(seq) if kind in (Kind.TX, Kind.CD) else ""
    return f"{TERM_LABEL[Term(term)]} {KIND_LABEL[Kind(kind)]}{number}"


def _marker(cs: ClassSubject) -> str:
    return f"hocba:{cs.pk}:{cs.class_group.name}:{cs.subject_code}"


def template(cs: ClassSubject) -> bytes:
    """The class subject's sheet, with what is already recorded filled in."""
    class_group = cs.class_group
    wb = Workbook()
    ws = wb.active
    ws.title = "So diem"
    ws["A1"] = clean(f"{class_group.school.name} — Năm học {class_group.school_year.name}")
    ws["A2"] = clean(f"Sổ điểm lớp {class_group.name} — Môn {cs.name}")
    ws["A3"] = (
        "Điểm từ 0 đến 10, một chữ số thập phân (8,5); môn đánh giá bằng nhận xét: Đ hoặc CĐ; "
        "để trống ô chưa có điểm."
    )
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"].font = Font(bold=True)
    cols = columns(cs)
    ws.cell(KEY_ROW, 1, clean(_marker(cs)))
    for offset, (term, kind, seq) in enumerate(cols):
        ws.cell(KEY_ROW, 4 + offset, f"{term}:{kind}:{seq}")
        ws.cell(HEADER_ROW, 4 + offset, column_label(term, kind, seq))
    remark_column = 4 + len(cols)
    ws.cell(KEY_ROW, remark_column, REMARK_KEY)
    ws.cell(HEADER_ROW, remark_column, REMARK_LABEL)
    for col, title in enumerate(("STT", "Mã học sinh", "Họ và tên"), start=1):
        ws.cell(HEADER_ROW, col, title)
    header_fill = PatternFill("solid", fgColor="DDE6F0")
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    ws.row_dimensions[KEY_ROW].hidden = True
    values = {
        (a.student_id, a.term, a.kind, a.seq): display(a.score, a.code)
        for a in Assessment.objects.filter(class_subject=cs)
    }
    remarks = dict(SubjectRemark.objects.filter(class_subject=cs).values_list("student_id", "text"))
    for i, student in enumerate(students_of_subject(cs)):
        row = FIRST_ROW + i
        ws.cell(row, 1, i + 1)
        ws.cell(row, 2, clean(student.student_code))
        ws.cell(row, 3, clean(student.full_name))
        for offset, (term, kind, seq) in enumerate(cols):
            value = values.get((student.pk, term, kind, seq))
            if value is not None:
                ws.cell(row, 4 + offset, clean(value))
        if student.pk in remarks:
            ws.cell(row, remark_column, clean(remarks[student.pk]))
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 28
    for offset in range(len(cols)):
        ws.column_dimensions[get_column_letter(4 + offset)].width = 8
    ws.column_dimensions[get_column_letter(remark_column)].width = 40
    ws.freeze_panes = ws.cell(FIRST_ROW, 4)
    return to_bytes(wb)


@dataclass(frozen=True, slots=True)
class ImportReport:
    changed: int
    rows: int
    remarks: int = 0
    """Remarks changed."""


def import_workbook(user: Any, cs: ClassSubject, content: bytes, request: Any = None) -> (
    ImportReport
):  # fmt: skip
    """Validate the whole file, then write it in one transaction; `ValidationFailed` lists
    every bad cell ("D7: điểm 11 ngoài khoảng 0–10") and nothing is written."""
    try:
        sheet = open_sheet(content)
    except SpreadsheetRefused as refused:
        raise ValidationFailed([refused.message]) from None
    try:
        found = _read(sheet, cs)
    except SpreadsheetRefused as refused:
        raise ValidationFailed([refused.message]) from None
    finally:
        sheet.close()
    formulas = _formulas(sheet.title, found)
    if formulas:
        raise ValidationFailed(formulas)
    allowed = allowed_cells(cs)
    keyed: dict[int, tuple[str, str, int]] = {}
    remark_index: int | None = None
    errors: list[str] = []
    for index, key in enumerate(found[KEY_ROW][3:], start=3):
        if key is None:
            continue
        if key == REMARK_KEY:
            remark_index = index
            continue
        parts = str(key).split(":")
        cell = (
            (parts[0], parts[1], int(parts[2])) if len(parts) == 3 and parts[2].isdigit() else None
        )
        if cell not in allowed:
            errors.append(
                f"{get_column_letter(index + 1)}{KEY_ROW}: cột “{shown(key)}” không thuộc môn này"
            )
            continue
        keyed[index] = cell
    students = {s.student_code: s for s in enrolled_students(cs.class_group)}
    changes: list[CellChange] = []
    remarks: list[RemarkChange] = []
    seen: set[str] = set()
    for number, row in found.items():
        if number < FIRST_ROW:
            continue
        code = str(row[1]).strip() if len(row) > 1 and row[1] is not None else ""
        student = students.get(code)
        if student is None:
            errors.append(
                f"B{number}: mã học sinh “{shown(code)}” không thuộc lớp {cs.class_group.name}"
            )
            continue
        if code in seen:
            errors.append(f"B{number}: học sinh {shown(code)} xuất hiện hai lần")
            continue
        seen.add(code)
        for index, (term, kind, seq) in keyed.items():
            value = row[index] if index < len(row) else None
            changes.append(
                CellChange(
                    student.pk,
                    term,
                    kind,
                    seq,
                    cell_text(value),
                    where=f"{get_column_letter(index + 1)}{number}",
                )
            )
        if remark_index is not None:
            value = row[remark_index] if remark_index < len(row) else None
            remarks.append(
                RemarkChange(
                    student.pk,
                    cell_text(value),
                    where=f"{get_column_letter(remark_index + 1)}{number}",
                )
            )
    errors += validate_assessments(cs, changes)[0]
    errors += validate_remarks(cs, remarks)
    if errors:
        raise ValidationFailed(errors)
    changed, noted = save_subject_book(user, cs, changes, remarks, request=request)
    return ImportReport(changed=changed, rows=len(seen), remarks=noted)


def _read(sheet: Any, cs: ClassSubject) -> dict[int, tuple[Any, ...]]:
    """The rows that hold something, by number; the template's marker (A5) is checked as soon
    as its row is read, so that another file is refused before the rest of it is read."""
    found: dict[int, tuple[Any, ...]] = {}
    for number, values in rows(sheet):
        if number > KEY_ROW and KEY_ROW not in found:
            break
        found[number] = values
        if number == KEY_ROW and (not values or values[0] != _marker(cs)):
            break
    key = found.get(KEY_ROW)
    if key and isinstance(key[0], Formula):
        raise SpreadsheetRefused("FORMULA", _formulas(sheet.title, {KEY_ROW: key[:1]})[0])
    if not key or key[0] != _marker(cs):
        raise SpreadsheetRefused(
            "NOT_THE_TEMPLATE",
            f"A{KEY_ROW}: tệp không phải mẫu sổ điểm của lớp {cs.class_group.name}, "
            f"môn {cs.name}; hãy tải mẫu của đúng lớp và môn",
        )
    return found


def _formulas(title: str, found: dict[int, tuple[Any, ...]]) -> list[str]:
    """One error per cell holding a formula: the sheet, the cell, its column's header, the
    formula, and why (its result is not what the teacher typed, and may not even be in the
    file: Excel keeps the last result, other programs none)."""
    headers = found.get(HEADER_ROW, ())
    errors = []
    for number, values in found.items():
        for index, value in enumerate(values):
            if not isinstance(value, Formula):
                continue
            header = headers[index] if index < len(headers) else None
            column = (
                f" (cột “{shown(header)}”)"
                if header is not None and not isinstance(header, Formula)
                else ""
            )
            shared = ""
            if value.shared_from:
                shared = f" (công thức dùng chung, viết ở ô {value.shared_from})"
            errors.append(
                f"Trang “{shown(title)}”, ô {get_column_letter(index + 1)}{number}{column}: ô "
                f"chứa công thức “{shown(value)}”{shared}; hãy nhập giá trị (điểm hoặc nhận "
                "xét), không dùng công thức"
            )
    return errors


def cell_text(value: object) -> str:
    """A cell's value as typed text (a number cell by its shortest repr: 7.1 stays 7.1)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def export_class_book(class_group: ClassGroup) -> bytes:
    """The class book: one sheet per subject, and a summary sheet of the year's results."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Tong hop"
    summary.append(
        [clean(f"Lớp {class_group.name} — {class_group.school.name} — {class_group.school_year}")]
    )
    summary.append([])
    subjects = class_subjects(class_group)
    students = enrolled_students(class_group)
    results = {r.student_id: r for r in YearResult.objects.filter(class_group=class_group)}
    summary.append(
        [
            "STT",
            "Mã học sinh",
            "Họ và tên",
            *[clean(s.name) for s in subjects],
            "Học tập",
            "Rèn luyện",
            "Kết quả",
            "Khen thưởng",
        ]
    )
    for i, student in enumerate(students, start=1):
        known = results.get(student.pk)
        year = known.year_outcome if known else None
        row = [i, student.student_code, student.full_name]
        for s in subjects:
            subject = year.subject(s.subject_code) if year else None
            value = subject.year_shown() if subject is not None else None
            row.append(value.replace(".", ",") if value is not None else "")
        level = (year.learning or year.primary_result) if year else None
        row += [
            level.value if level else "",
            year.conduct.value if year and year.conduct else "",
            year.outcome.label if year and year.outcome else "",
            year.award.label if year and year.award else "",
        ]
        summary.append([clean(value) for value in row])
    for cs in subjects:
        ws = wb.create_sheet(cs.subject_code[:31])
        cols = columns(cs)
        ws.append([clean(f"{cs.name} — lớp {class_group.name}")])
        ws.append(["STT", "Mã học sinh", "Họ và tên", *[column_label(*c) for c in cols]])
        values = {
            (a.student_id, a.term, a.kind, a.seq): display(a.score, a.code)
            for a in Assessment.objects.filter(class_subject=cs)
        }
        for i, student in enumerate(students, start=1):
            ws.append([clean(v) for v in (i, student.student_code, student.full_name,
                       *[values.get((student.pk, *c), "") for c in cols])])  # fmt: skip
    return to_bytes(wb)
