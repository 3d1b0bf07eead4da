"""Subject teachers' remarks (nhận xét): typed on the grade-entry page, carried by the Excel
template, saved under the scores' permissions and locks; required for primary records (TT27),
drawn in the record XML and its printable view."""

from __future__ import annotations

import io
import subprocess

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from hocba.gradebook import excel
from hocba.gradebook.models import ClassSubject, Kind, LockedError, SubjectRemark, Term
from hocba.gradebook.services import (
    CellChange,
    RemarkChange,
    ValidationFailed,
    lock_gradebook,
    save_assessments,
    save_homeroom,
    save_remarks,
)
from hocba.organizations.models import Role, RoleAssignment
from hocba.records.services import build_records, read_xml
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.rules.primary import QUALITIES, competencies_for
from tests.conftest import require_tool
from tests.factories.database import current_class, student_in, user

pytestmark = pytest.mark.django_db

PRIMARY = "25000101"


def teacher_of(cs: ClassSubject):
    return RoleAssignment.objects.get(
        role=Role.SUBJECT_TEACHER, class_group=cs.class_group, subject_code=cs.subject_code
    ).staff.user


@pytest.fixture
def tv_5a(demo) -> ClassSubject:
    return ClassSubject.objects.get(
        class_group=current_class("5A", PRIMARY), subject_code="TIENG_VIET"
    )


def new_pupil(class_group):
    """A pupil joining the class, every subject and the homeroom data entered through the
    services by the class's teachers, the remarks left to the test."""
    student = student_in(class_group, "Đào Minh Khang")
    for cs in class_group.subjects.all():
        known = CATALOGUE.get((Level.TH, cs.subject_code))
        tested = known is not None and class_group.grade in known.periodic_test_grades
        cells = [CellChange(student.pk, t, Kind.LEVEL, 1, "T") for t in (Term.HK1, Term.HK2)]
        if tested:
            cells += [CellChange(student.pk, t, Kind.TEST, 1, "9") for t in (Term.HK1, Term.HK2)]
        save_assessments(teacher_of(cs), cs, cells)
    homeroom = RoleAssignment.objects.get(role=Role.HOMEROOM_TEACHER, class_group=class_group)
    save_homeroom(homeroom.staff.user, class_group, student, {
        "qualities": dict.fromkeys(QUALITIES, "T"),
        "competencies": dict.fromkeys(competencies_for(class_group.grade), "T"),
        "comment": "Ngoan, chăm học.",
    })  # fmt: skip
    return student


def remark_all(class_group, student, but: str = "") -> None:
    for cs in class_group.subjects.exclude(subject_code=but):
        save_remarks(teacher_of(cs), cs, [RemarkChange(student.pk, f"Học tốt môn {cs.name}.")])


def pupil(cs: ClassSubject):
    return cs.class_group.enrolments.order_by("student__full_name").first().student


def test_the_assigned_teacher_saves_a_remark_and_an_audit_event(toan_7a, student_7a):
    teacher = teacher_of(toan_7a)
    text = "Tiến bộ rõ ở phần hình học."
    assert save_remarks(teacher, toan_7a, [RemarkChange(student_7a.pk, f"  {text} ")]) == 1
    assert SubjectRemark.objects.get(class_subject=toan_7a, student=student_7a).text == text
    # the same text again changes nothing
    assert save_remarks(teacher, toan_7a, [RemarkChange(student_7a.pk, text)]) == 0
    # clearing removes it
    assert save_remarks(teacher, toan_7a, [RemarkChange(student_7a.pk, "")]) == 1
    assert not SubjectRemark.objects.filter(class_subject=toan_7a, student=student_7a).exists()


def test_another_teacher_and_the_principal_cannot_write_a_remark(toan_7a, student_7a):
    for someone in (user("ht.chuvanan"), teacher_of(ClassSubject.objects.get(
        class_group=toan_7a.class_group, subject_code="NGU_VAN"
    ))):  # fmt: skip
        with pytest.raises(PermissionDenied):
            save_remarks(someone, toan_7a, [RemarkChange(student_7a.pk, "Tốt")])


def test_a_lock_of_the_second_semester_refuses_remarks(toan_7a, student_7a):
    lock_gradebook(user("ht.chuvanan"), toan_7a.class_group.school, toan_7a.class_group,
                   "TOAN", Term.HK2)  # fmt: skip
    with pytest.raises(LockedError):
        save_remarks(teacher_of(toan_7a), toan_7a, [RemarkChange(student_7a.pk, "Tốt")])


def test_a_too_long_remark_writes_nothing_and_every_problem_is_named(toan_7a, student_7a):
    other = toan_7a.class_group.enrolments.exclude(student=student_7a).first().student
    with pytest.raises(ValidationFailed) as failed:
        save_remarks(
            teacher_of(toan_7a),
            toan_7a,
            [
                RemarkChange(other.pk, "Tốt", where="r1"),
                RemarkChange(student_7a.pk, "x" * 2001, where="r2"),
            ],
        )
    assert failed.value.errors == ["r2: nhận xét dài 2001 kí tự (tối đa 2000 kí tự)"]
    assert not SubjectRemark.objects.filter(class_subject=toan_7a).exists()


def test_the_grade_entry_page_has_a_remark_column_that_saves_with_the_scores(
    toan_7a, student_7a, login
):
    client = login(teacher_of(toan_7a).username)
    url = f"/gradebook/subjects/{toan_7a.pk}/"
    page = client.get(f"{url}?term=HK2").content.decode()
    assert "Nhận xét của giáo viên bộ môn" in page
    assert f'name="r-{student_7a.pk}"' in page
    assert f'name="r-{student_7a.pk}"' not in client.get(f"{url}?term=HK1").content.decode()
    client.post(url, {"term": "HK2", f"r-{student_7a.pk}": "Chăm chỉ, cẩn thận."})
    assert SubjectRemark.objects.get(student=student_7a, class_subject=toan_7a).text == (
        "Chăm chỉ, cẩn thận."
    )
    # one cell at a time (htmx)
    name = f"r-{student_7a.pk}"
    answer = client.post(f"{url}cell/", {"cell": name, name: "Cần luyện thêm."})
    assert answer.status_code == 200
    assert SubjectRemark.objects.get(student=student_7a, class_subject=toan_7a).text == (
        "Cần luyện thêm."
    )
    assert ">Cần luyện thêm.</textarea>" in client.get(f"{url}?term=HK2").content.decode()


def test_the_page_shows_a_lock_and_refuses_the_remark(toan_7a, student_7a, login):
    lock_gradebook(user("ht.chuvanan"), toan_7a.class_group.school, toan_7a.class_group)
    client = login(teacher_of(toan_7a).username)
    name = f"r-{student_7a.pk}"
    answer = client.post(f"/gradebook/subjects/{toan_7a.pk}/cell/", {"cell": name, name: "Tốt"})
    assert "Sổ điểm đã khóa" in answer.content.decode()
    assert not SubjectRemark.objects.filter(student=student_7a, class_subject=toan_7a).exists()


def test_the_excel_template_carries_remarks_both_ways(toan_7a, student_7a):
    teacher = teacher_of(toan_7a)
    save_remarks(teacher, toan_7a, [RemarkChange(student_7a.pk, "Có năng khiếu.")])
    content = excel.template(toan_7a)
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    header = [c.value for c in sheet[excel.HEADER_ROW]]
    column = header.index(excel.REMARK_LABEL) + 1
    rows = {sheet.cell(r, 2).value: r for r in range(excel.FIRST_ROW, sheet.max_row + 1)}
    row = rows[student_7a.student_code]
    assert sheet.cell(row, column).value == "Có năng khiếu."
    # importing the file unchanged changes nothing
    assert excel.import_workbook(teacher, toan_7a, content).remarks == 0
    sheet.cell(row, column).value = "Tiến bộ vượt bậc."
    out = io.BytesIO()
    book.save(out)
    report = excel.import_workbook(teacher, toan_7a, out.getvalue())
    assert (report.changed, report.remarks) == (0, 1)
    assert SubjectRemark.objects.get(student=student_7a, class_subject=toan_7a).text == (
        "Tiến bộ vượt bậc."
    )


def test_a_primary_record_is_not_built_while_a_subject_lacks_its_remark(tv_5a):
    class_group = tv_5a.class_group
    student = new_pupil(class_group)
    remark_all(class_group, student, but="TIENG_VIET")
    principal = user("ht.kimdong")
    report = build_records(principal, class_group.school, class_group.school_year, [class_group])
    refused = {s.pk: reasons for s, reasons in report.refused}
    assert refused[student.pk] == ["Môn Tiếng Việt: thiếu nhận xét của giáo viên bộ môn"]
    # with the remark, the record is built and carries it
    save_remarks(teacher_of(tv_5a), tv_5a, [RemarkChange(student.pk, "Đọc trôi chảy, viết đẹp.")])
    report = build_records(principal, class_group.school, class_group.school_year, [class_group])
    assert student.pk not in {s.pk for s, _ in report.refused}
    version = next(v for v in report.created + report.updated if v.record.student_id == student.pk)
    assert "Đọc trôi chảy, viết đẹp." in read_xml(version).decode()


def test_a_secondary_record_is_built_without_remarks(toan_7a):
    class_group = toan_7a.class_group
    assert not SubjectRemark.objects.filter(class_subject__class_group=class_group).exists()
    report = build_records(
        user("ht.chuvanan"), class_group.school, class_group.school_year, [class_group]
    )
    assert not any("nhận xét của giáo viên bộ môn" in " ".join(r) for _, r in report.refused)


def test_the_printable_view_shows_the_subject_teachers_remark(tv_5a, tmp_path):
    from hocba.documents.render import Renderer

    class_group = tv_5a.class_group
    student = new_pupil(class_group)
    remark_all(class_group, student, but="TIENG_VIET")
    save_remarks(teacher_of(tv_5a), tv_5a, [RemarkChange(student.pk, "Viết chữ rất đẹp.")])
    report = build_records(
        user("ht.kimdong"), class_group.school, class_group.school_year, [class_group]
    )
    version = next(v for v in report.created + report.updated if v.record.student_id == student.pk)
    path = tmp_path / "view.pdf"
    path.write_bytes(Renderer("https://hocba.example.vn/xac-minh").render(read_xml(version)))
    text = subprocess.run(
        [require_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Viết chữ rất đẹp." in text
