"""A class's year results as files to upload to the sector database (CSDL ngành,
csdl.moet.gov.vn): the secondary results (each subject's semester and year results, learning
and conduct levels, absences, outcome, award) and the primary results template (each
subject's level and end-of-year test score, qualities and competencies, the education result,
the award, the completion of the programme).

The sector database's upload layouts are not public: the headings below are what was assumed
(`docs/domain/gradebook-layouts.md`), each layout one tuple of headings, so that the official
ones replace them in one place. Every workbook goes through `hocba.spreadsheets.to_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from hocba.gradebook.compute import class_subjects, enrolled_students
from hocba.gradebook.models import ClassSubject, HomeroomRecord, YearResult
from hocba.organizations.models import ClassGroup
from hocba.rules.catalogue import Level
from hocba.rules.labels import Outcome
from hocba.rules.outcome import YearOutcome
from hocba.rules.primary import QUALITIES, competencies_for
from hocba.spreadsheets import clean, to_bytes
from hocba.students.models import Student
from hocba.students.services import grades_in

QUALITY_NAMES = {
    "YEU_NUOC": "Yêu nước", "NHAN_AI": "Nhân ái", "CHAM_CHI": "Chăm chỉ",
    "TRUNG_THUC": "Trung thực", "TRACH_NHIEM": "Trách nhiệm",
}  # fmt: skip
COMPETENCY_NAMES = {
    "TU_CHU_TU_HOC": "Tự chủ và tự học", "GIAO_TIEP_HOP_TAC": "Giao tiếp và hợp tác",
    "GQVD_SANG_TAO": "Giải quyết vấn đề và sáng tạo", "NGON_NGU": "Ngôn ngữ",
    "TINH_TOAN": "Tính toán", "KHOA_HOC": "Khoa học", "CONG_NGHE": "Công nghệ",
    "TIN_HOC": "Tin học", "THAM_MI": "Thẩm mĩ", "THE_CHAT": "Thể chất",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """What one row is made from."""

    student: Student
    year: YearOutcome | None
    homeroom: HomeroomRecord | None
    grade: int = 0
    """The student's own grade (a combined class's pupils differ)."""
    subject_names: Mapping[str, str] = field(default_factory=dict)
    """The class's subjects by code, to name them (never by code) in the file."""


Value = Callable[[Row], Any]


def _shown(value: str | None) -> str:
    return (value or "").replace(".", ",")


IDENTITY: tuple[tuple[str, Value], ...] = (
    ("Mã học sinh", lambda r: r.student.student_code),
    ("Mã định danh", lambda r: r.student.personal_id or ""),
    ("Họ và tên", lambda r: r.student.full_name),
    ("Ngày sinh", lambda r: r.student.date_of_birth.strftime("%d/%m/%Y")
     if r.student.date_of_birth else ""),
)  # fmt: skip
"""The columns that say who a row is, first in every layout."""


def _subject_columns(cs: ClassSubject, primary: bool) -> list[tuple[str, str, Value]]:
    """(group heading, heading, value) of one subject."""

    def of(r: Row) -> Any:
        return r.year.subject(cs.subject_code) if r.year else None

    def level(r: Row) -> str:
        subject = of(r)
        return subject.level.value if subject is not None and subject.level else ""

    def test(r: Row) -> int | str:
        subject = of(r)
        return subject.test if subject is not None and subject.test is not None else ""

    if primary:
        return [(cs.name, "Mức đạt được", level), (cs.name, "Điểm KTĐK", test)]
    return [
        (cs.name, "HK I", lambda r: _shown((s := of(r)) and s.shown("hk1"))),
        (cs.name, "HK II", lambda r: _shown((s := of(r)) and s.shown("hk2"))),
        (cs.name, "Cả năm", lambda r: _shown((s := of(r)) and s.year_shown())),
    ]


SECONDARY_SUMMARY: tuple[tuple[str, Value], ...] = (
    ("Kết quả học tập", lambda r: (r.year and r.year.learning and r.year.learning.label) or ""),
    ("Kết quả rèn luyện", lambda r: (r.year and r.year.conduct and r.year.conduct.label) or ""),
    ("Số buổi nghỉ", lambda r: _shown(f"{r.homeroom.absences:.1f}") if r.homeroom else ""),
    (
        "Kiểm tra lại",
        lambda r: (
            ", ".join(r.subject_names.get(code, code) for code in r.year.retake_subjects)
            if r.year
            else ""
        ),
    ),
    ("Rèn luyện trong hè", lambda r: "x" if r.year and r.year.summer_training else ""),
    ("Lên lớp", lambda r: (r.year and r.year.outcome and r.year.outcome.label) or ""),
    ("Danh hiệu", lambda r: (r.year and r.year.award and r.year.award.label) or ""),
)
"""Secondary: the year's summary after the subjects."""


def _completion(r: Row, grade: int) -> str:
    if r.year is None or r.year.outcome is None:
        return ""
    decided = r.homeroom.promotion_decision if r.homeroom else ""
    outcome = r.year.outcome
    if outcome is Outcome.PENDING_DECISION and decided:
        outcome = Outcome(decided)
    if outcome in (Outcome.COMPLETED, Outcome.PROMOTED):
        return "Hoàn thành chương trình tiểu học" if grade == 5 else (
            "Hoàn thành chương trình lớp học"
        )  # fmt: skip
    if outcome is Outcome.RETAINED:
        return "Chưa hoàn thành chương trình lớp học"
    return ""


def _primary_summary(grade: int) -> list[tuple[str, str, Value]]:
    def mark(field: str, code: str) -> Value:
        return lambda r: getattr(r.homeroom, field).get(code, "") if r.homeroom else ""

    columns: list[tuple[str, str, Value]] = [
        ("Phẩm chất chủ yếu", QUALITY_NAMES[q], mark("qualities", q)) for q in QUALITIES
    ]
    columns += [
        ("Năng lực cốt lõi", COMPETENCY_NAMES[c], mark("competencies", c))
        for c in competencies_for(grade)
    ]
    columns += [
        ("", "Kết quả giáo dục",
         lambda r: (r.year and r.year.primary_result and r.year.primary_result.label) or ""),
        ("", "Khen thưởng", lambda r: (r.year and r.year.award and r.year.award.label) or ""),
        ("", "Hoàn thành chương trình lớp học/tiểu học",
         lambda r: _completion(r, r.grade or grade)),
    ]  # fmt: skip
    return columns


def results(class_group: ClassGroup) -> bytes:
    """The class's year results in the CSDL ngành layout of its level: two header rows (a
    subject's name over its columns), one row per student, name order."""
    primary = class_group.level == Level.TH
    columns: list[tuple[str, str, Value]] = [("", h, v) for h, v in IDENTITY]
    for cs in class_subjects(class_group):
        columns += _subject_columns(cs, primary)
    if primary:
        # a combined class: the competencies of its highest grade, which include the others'
        columns += _primary_summary(class_group.grades[-1])
    else:
        columns += [("", h, v) for h, v in SECONDARY_SUMMARY]
    found = {r.student_id: r for r in YearResult.objects.filter(class_group=class_group)}
    homeroom = {h.student_id: h for h in HomeroomRecord.objects.filter(class_group=class_group)}
    wb = Workbook()
    ws = wb.active
    ws.title = "KetQuaTieuHoc" if primary else "KetQuaHocTap"
    what = "KẾT QUẢ ĐÁNH GIÁ HỌC SINH TIỂU HỌC" if primary else "KẾT QUẢ HỌC TẬP, RÈN LUYỆN"
    ws.append([clean(f"{what} — {class_group.school.name} ({class_group.school.code})")])
    ws.append([clean(f"Lớp: {class_group.name} - Năm học: {class_group.school_year.name}")])
    ws.append([clean(group) or None for group, _, _ in columns])
    ws.append([clean(heading) for _, heading, _ in columns])
    for row in (3, 4):
        for cell in ws[row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for i, (group, _, _) in enumerate(columns, start=1):  # a group's name over its columns
        if group and i > 1 and columns[i - 2][0] == group:
            ws.cell(3, i).value = None
    grades = grades_in(class_group)
    names = {cs.subject_code: cs.name for cs in class_subjects(class_group)}
    for student in enrolled_students(class_group):
        result = found.get(student.pk)
        row = Row(
            student,
            result.year_outcome if result else None,
            homeroom.get(student.pk),
            grades.get(student.pk, class_group.grade),
            names,
        )
        ws.append([clean(value(row)) for _, _, value in columns])
    for i in range(1, len(columns) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 14
    ws.freeze_panes = "E5"
    return to_bytes(wb)
