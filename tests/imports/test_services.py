"""Importing a school's people from the sector database's files: recognised, previewed, applied
all or nothing, and the same file twice changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from hocba.audit.models import AuditEvent
from hocba.gradebook.models import ClassSubject
from hocba.imports.layouts import layout
from hocba.imports.plan import Action
from hocba.imports.services import ImportRefused, apply_import, preview
from hocba.organizations.models import ClassGroup, Role, RoleAssignment, Staff
from hocba.students.models import Enrolment, Student
from tests.imports.helpers import edited, fixture, new_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(demo):  # type: ignore[no-untyped-def]
    return new_school()


def counts(seen) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return seen.plan.summary()


def test_a_csdl_student_list_is_recognised_and_creates_students_and_classes(school):
    place, year, principal = school
    seen = apply_import(principal, place, year, "students", fixture("csdl-hoc-sinh.xlsx"))
    assert seen.columns.layout == layout("csdl-students")
    assert seen.applied and counts(seen)["create"] == 1000
    assert Enrolment.objects.filter(class_group__school=place).count() == 1000
    classes = ClassGroup.objects.filter(school=place, school_year=year)
    assert sorted({c.grade for c in classes}) == [6, 7, 8, 9] and classes.count() == 24
    assert ClassSubject.objects.filter(class_group__in=classes, subject_code="TOAN").count() == 24
    student = Student.objects.get(student_code="2500000001")
    # Excel kept the personal ID as a number; its leading zero is back
    assert len(student.personal_id) == 12 and student.personal_id.startswith("025")
    assert student.ethnicity in {"01", "02", "06"} and student.sex in {"1", "2"}
    assert isinstance(student.date_of_birth, dt.date)


def test_the_same_file_twice_changes_nothing_the_second_time(school):
    place, year, principal = school
    content = fixture("csdl-hoc-sinh.xlsx")
    apply_import(principal, place, year, "students", content)
    events = AuditEvent.objects.count()
    again = apply_import(principal, place, year, "students", content)
    assert not again.applied
    assert counts(again) == {"create": 0, "change": 0, "unchanged": 1000, "missing": 0}
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("variant", ["csdl-hoc-sinh.xls", "csdl-hoc-sinh.csv"])
def test_the_same_people_as_xls_or_csv_change_nothing(school, variant):
    """Dates as text, "nữ" in lower case, semicolons, a byte-order mark: the same values."""
    place, year, principal = school
    apply_import(principal, place, year, "students", fixture("csdl-hoc-sinh.xlsx"))
    seen = preview(principal, place, year, "students", fixture(variant))
    assert not seen.plan.problems
    assert counts(seen)["unchanged"] == 1000, [i for i in seen.plan.items if i.changes][:3]


def test_a_changed_file_shows_its_differences_before_it_is_applied(school):
    place, year, principal = school
    content = fixture("csdl-hoc-sinh.xlsx")
    apply_import(principal, place, year, "students", content)
    # row 5 is the first student (a title, an empty row and the headings above)
    changed = edited(content, {"C5": "Nguyễn Văn Đổi", "I5": "7A2", "E6": "Nữ"})
    before = Student.objects.get(student_code="2500000001").full_name
    seen = preview(principal, place, year, "students", changed)
    changes = {i.key: i.changes for i in seen.plan.items if i.action == Action.CHANGE}
    first = {c.field: (c.old, c.new) for c in changes["2500000001"]}
    assert first["full_name"] == (before, "Nguyễn Văn Đổi")
    assert first["class_name"] == ("6A1", "7A2")
    assert Student.objects.get(student_code="2500000001").full_name == before  # not yet
    apply_import(principal, place, year, "students", changed, fingerprint=seen.plan.fingerprint())
    assert Student.objects.get(student_code="2500000001").full_name == "Nguyễn Văn Đổi"


def test_a_file_with_five_bad_cells_writes_nothing_and_names_all_five(school):
    place, year, principal = school
    bad = edited(fixture("csdl-hoc-sinh.xlsx"), {
        "D5": "31/02/2012", "E6": "Không rõ", "H7": "12345", "I8": "Lớp A", "C9": "=1+1",
    })  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "students", bad)
    problems = refused.value.problems
    assert refused.value.code == "CELLS_INVALID" and len(problems) == 5
    assert [p.cell for p in problems] == ["D5", "E6", "H7", "I8", "C9"]
    messages = [p.message() for p in problems]
    assert "cột “Ngày sinh”" in messages[0] and "31/02/2012" in messages[0]
    assert "giới tính" in messages[1] and "12 chữ số" in messages[2]
    assert "tên lớp" in messages[3] and "công thức" in messages[4]
    assert all("Trang “Danh sach”, dòng" in m for m in messages)
    assert not Student.objects.filter(enrolments__class_group__school=place).exists()
    assert not ClassGroup.objects.filter(school=place).exists()


def test_students_missing_from_the_file_are_listed_not_removed(school):
    place, year, principal = school
    content = fixture("csdl-hoc-sinh.csv")
    apply_import(principal, place, year, "students", content)
    lines = content.decode("utf-8-sig").splitlines()
    shorter = ("\r\n".join(lines[:-2]) + "\r\n").encode("utf-8-sig")
    seen = apply_import(principal, place, year, "students", shorter)
    assert counts(seen)["missing"] == 2 and not seen.applied
    assert Enrolment.objects.filter(class_group__school=place).count() == 1000


def test_rows_are_matched_by_code_not_by_order(school):
    place, year, principal = school
    content = fixture("csdl-hoc-sinh.csv")
    apply_import(principal, place, year, "students", content)
    lines = content.decode("utf-8-sig").splitlines()
    shuffled = [lines[0], *reversed(lines[1:])]
    seen = preview(principal, place, year, "students", "\r\n".join(shuffled).encode())
    assert counts(seen)["unchanged"] == 1000


def test_staff_then_assignments(school):
    place, year, principal = school
    apply_import(principal, place, year, "students", fixture("csdl-hoc-sinh.xlsx"))
    staff = apply_import(principal, place, year, "staff", fixture("csdl-can-bo.xls"))
    assert staff.columns.layout == layout("csdl-staff") and counts(staff)["create"] == 51
    # the position "Hiệu trưởng" does not appoint a principal (the Sở does); the other roles of
    # a position are given by a principal
    assert not RoleAssignment.objects.filter(
        school=place, role=Role.PRINCIPAL, staff__position="Hiệu trưởng"
    ).exists()
    assert RoleAssignment.objects.filter(
        school=place, role=Role.SEAL_KEEPER, staff__position="Văn thư"
    ).exists()
    teaching = apply_import(principal, place, year, "assignments", fixture("csdl-phan-cong.csv"))
    assert counts(teaching)["create"] == 24 * 12
    english = RoleAssignment.objects.filter(
        role=Role.SUBJECT_TEACHER, class_group__school=place, subject_code="NGOAI_NGU_1"
    )
    assert english.count() == 24
    homeroom = apply_import(principal, place, year, "assignments", fixture("csdl-chu-nhiem.xlsx"))
    assert homeroom.columns.layout == layout("csdl-homeroom") and counts(homeroom)["create"] == 24
    homeroom_teachers = RoleAssignment.objects.filter(
        role=Role.HOMEROOM_TEACHER, class_group__school=place
    )
    assert homeroom_teachers.count() == 24
    for name in ("csdl-can-bo.xlsx", "csdl-can-bo.csv"):
        assert counts(preview(principal, place, year, "staff", fixture(name)))["unchanged"] == 51
    for name in ("csdl-phan-cong.xlsx", "csdl-phan-cong.xls"):
        again = preview(principal, place, year, "assignments", fixture(name))
        assert counts(again)["unchanged"] == 24 * 12, again.plan.problems[:3]


def test_assignments_name_a_teacher_missing_from_the_staff(school):
    place, year, principal = school
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "assignments", fixture("csdl-chu-nhiem.xlsx"))
    assert len(refused.value.problems) == 24
    assert "nhập danh sách cán bộ trước" in refused.value.problems[0].message()
    assert not Staff.objects.filter(school=place).exclude(user__username="ht.thunghiem").exists()


def test_a_file_of_another_layout_is_read_through_a_mapping(school):
    place, year, principal = school
    content = "Tên HS;Mã;Lớp\r\nLê Thị Hoa;HS001;6A1\r\n".encode()
    with pytest.raises(ImportRefused) as refused:
        preview(principal, place, year, "students", content)
    assert refused.value.code == "LAYOUT_UNKNOWN" and "Tên HS" in refused.value.headings
    mapping = {"Tên HS": "full_name", "Mã": "student_code", "Lớp": "class_name"}
    seen = apply_import(principal, place, year, "students", content, mapping)
    assert seen.applied and Student.objects.get(student_code="HS001").full_name == "Lê Thị Hoa"


def test_someone_outside_the_school_may_not_import(school):
    from django.core.exceptions import PermissionDenied

    from tests.factories.database import user

    place, year, _principal = school
    with pytest.raises(PermissionDenied):
        preview(user("ht.chuvanan"), place, year, "students", fixture("csdl-hoc-sinh.csv"))


def test_a_plan_changed_since_the_preview_is_not_applied(school):
    place, year, principal = school
    content = fixture("csdl-hoc-sinh.csv")
    seen = preview(principal, place, year, "students", content)
    apply_import(principal, place, year, "students", fixture("csdl-hoc-sinh.xlsx"))
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "students", content,
                     fingerprint=seen.plan.fingerprint())  # fmt: skip
    assert refused.value.code == "PLAN_CHANGED"


def test_a_student_enrolled_at_another_school_this_year_is_not_taken(school):
    from tests.factories.database import current_class, student_in

    place, year, principal = school
    elsewhere = student_in(current_class("7A"))
    content = f"Mã học sinh;Họ và tên;Lớp\r\n{elsewhere.student_code};Lê Văn Khách;6A1\r\n"
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "students", content.encode())
    (problem,) = refused.value.problems
    assert "đang học ở" in problem.message() and problem.cell == "A2"
    assert elsewhere.enrolments.count() == 1


def _staff_file(*rows: tuple[str, str, str]) -> bytes:
    lines = [
        "Số định danh cá nhân;Họ và tên;Chức vụ;Vai trò",
        *(f"{pid};{name};;{roles}" for pid, name, roles in rows),
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_staff_import_does_not_take_people_of_another_school_or_of_none(demo):
    """The system administrator and another school's teacher stay where they are."""
    from tests.factories.database import current_class, user
    from tests.factories.database import school as school_of

    principal = user("ht.chuvanan")
    place = school_of("25000201")
    year = current_class("7A").school_year
    admin = Staff.objects.get(user__username="quantri")
    other = Staff.objects.filter(school__code="25000301").exclude(user=None).first()
    content = _staff_file(
        (admin.personal_id, "Quản trị", ""), (other.personal_id, "Giáo viên khác", "")
    )
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "staff", content)
    assert refused.value.code == "CELLS_INVALID" and len(refused.value.problems) == 2
    assert all("cán bộ thuộc đơn vị khác" in p.message() for p in refused.value.problems)
    admin.refresh_from_db()
    other.refresh_from_db()
    assert admin.school is None and other.school.code == "25000301"
    assert admin.full_name != "Quản trị" and other.full_name != "Giáo viên khác"


def test_a_vice_principal_may_not_make_themselves_principal_by_a_staff_file(demo):
    from tests.factories.database import current_class, user
    from tests.factories.database import school as school_of

    vice = user("pht.chuvanan")
    me = Staff.objects.get(user=vice)
    place = me.school
    year = current_class("7A").school_year
    for role in ("Hiệu trưởng", "Văn thư"):
        with pytest.raises(ImportRefused) as refused:
            apply_import(
                vice, place, year, "staff", _staff_file((me.personal_id, me.full_name, role))
            )
        (problem,) = refused.value.problems
        assert problem.cell == "D2"
    assert not RoleAssignment.objects.filter(
        staff=me, role__in=[Role.PRINCIPAL, Role.SEAL_KEEPER], active=True
    ).exists()
    assert school_of("25000201") == place


def test_even_the_principal_does_not_appoint_a_principal_by_a_staff_file(demo):
    from tests.factories.database import current_class, user

    principal = user("ht.chuvanan")
    place = Staff.objects.get(user=principal).school
    year = current_class("7A").school_year
    content = _staff_file(("025090000777", "Lê Văn Mới", "Hiệu trưởng"))
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "staff", content)
    assert "Sở" in refused.value.problems[0].message()
    me = Staff.objects.get(user=principal)
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "staff",
                     _staff_file((me.personal_id, me.full_name, "Văn thư")))  # fmt: skip
    assert "chính mình" in refused.value.problems[0].message()
    seen = apply_import(principal, place, year, "staff",
                        _staff_file(("025090000777", "Lê Văn Mới", "Văn thư")))  # fmt: skip
    assert seen.applied
    assert RoleAssignment.objects.filter(
        staff__personal_id="025090000777", role=Role.SEAL_KEEPER, school=place
    ).exists()


def test_a_pupil_of_another_school_is_not_rewritten_by_an_import_into_another_year(demo):
    """The year of the import is free: a pupil enrolled now at the THPT school is not rewritten
    (nor enrolled) by the THCS school importing into 2023-2024."""
    from hocba.organizations.models import SchoolYear
    from tests.factories.database import school as school_of
    from tests.factories.database import user

    pupil = (
        Enrolment.objects.filter(class_group__school__code="25000301", date_left__isnull=True)
        .select_related("student")
        .first()
        .student
    )
    name, enrolments = pupil.full_name, pupil.enrolments.count()
    year = SchoolYear.objects.get(name="2023-2024")
    content = f"Mã học sinh;Họ và tên;Lớp\r\n{pupil.student_code};Lê Văn Đổi Tên;6A1\r\n"
    with pytest.raises(ImportRefused) as refused:
        apply_import(user("ht.chuvanan"), school_of("25000201"), year, "students", content.encode())
    (problem,) = refused.value.problems
    assert refused.value.code == "CELLS_INVALID" and problem.cell == "A2"
    assert "đang học ở" in problem.message()
    pupil.refresh_from_db()
    assert pupil.full_name == name and pupil.enrolments.count() == enrolments


def test_a_pupil_who_left_another_school_and_never_studied_here_is_not_taken(school):
    from tests.factories.database import current_class, student_in

    place, year, principal = school
    elsewhere = student_in(current_class("7A"))
    elsewhere.enrolments.update(date_left=year.start_date)
    content = f"Mã học sinh;Họ và tên;Lớp\r\n{elsewhere.student_code};Lê Văn Khách;6A1\r\n"
    with pytest.raises(ImportRefused) as refused:
        apply_import(principal, place, year, "students", content.encode())
    (problem,) = refused.value.problems
    assert problem.cell == "A2"
    assert elsewhere.enrolments.count() == 1


def test_a_pupil_imported_into_a_combined_class_needs_their_grade(demo):
    """The demo's combined class "1+2 TĐ" at 25000101: without a "Khối" column the class is
    named; with it, the enrolment carries the pupil's grade."""
    place = ClassGroup.objects.get(name="1+2 TĐ").school
    year = ClassGroup.objects.get(name="1+2 TĐ").school_year
    head = RoleAssignment.objects.get(school=place, role=Role.PRINCIPAL, active=True).staff.user
    without = "Mã học sinh;Họ và tên;Lớp\r\nHSGHEP01;Lê Thị Ghép;1+2 TĐ\r\n"
    with pytest.raises(ImportRefused) as refused:
        apply_import(head, place, year, "students", without.encode())
    (problem,) = refused.value.problems
    assert "1+2 TĐ" in problem.message() and "lớp ghép" in problem.message()
    mapping = {"Mã học sinh": "student_code", "Họ và tên": "full_name", "Lớp": "class_name",
               "Khối": "grade"}  # fmt: skip
    content = "Mã học sinh;Họ và tên;Lớp;Khối\r\nHSGHEP01;Lê Thị Ghép;1+2 TĐ;2\r\n"
    apply_import(head, place, year, "students", content.encode(), mapping)
    assert Enrolment.objects.get(student__student_code="HSGHEP01").grade == 2


def test_a_pupil_moved_by_a_file_keeps_the_old_class_in_the_history(school):
    from hocba.students.models import JoinReason, LeaveReason

    place, year, principal = school
    content = "Mã học sinh;Họ và tên;Lớp\r\nHSMOVE01;Lê Văn Chuyển;6A1\r\n"
    apply_import(principal, place, year, "students", content.encode())
    apply_import(principal, place, year, "students", content.replace("6A1", "6A2").encode())
    old, new = Enrolment.objects.filter(student__student_code="HSMOVE01").order_by("date_joined")
    assert old.class_group.name == "6A1" and old.leave_reason == LeaveReason.CLASS_CHANGE
    assert old.date_left is not None and new.date_left is None
    assert new.class_group.name == "6A2" and new.join_reason == JoinReason.CLASS_CHANGE


def test_a_combined_class_is_assigned_the_subjects_of_each_of_its_grades(demo):
    """A class of grades 2 and 3 studies "Tin học và Công nghệ" (grade 3 only): the teaching
    file assigns it, and the class gets the subject."""
    combined = ClassGroup.objects.get(name="1+2 TĐ")
    place, year = combined.school, combined.school_year
    group = ClassGroup.objects.create(
        school=place, school_year=year, level=combined.level, grade=2, name="2+3 TĐ",
        combined_grades=[2, 3], site=combined.site,
    )  # fmt: skip
    head = RoleAssignment.objects.get(school=place, role=Role.PRINCIPAL, active=True).staff
    content = (
        "STT;Họ và tên giáo viên;Số ĐDCN;Môn học;Lớp\r\n"
        f"1;{head.full_name};{head.personal_id};Tin học và Công nghệ;2+3 TĐ\r\n"
    )
    seen = apply_import(head.user, place, year, "assignments", content.encode())
    assert seen.applied, seen.plan.problems
    assert ClassSubject.objects.filter(class_group=group, subject_code="TIN_HOC_CONG_NGHE").exists()


def test_a_background_import_of_a_removed_person_fails_instead_of_running_as_the_operator(
    school, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    from hocba.imports.services import start_apply
    from hocba.jobs.models import Job

    place, year, principal = school
    content = fixture("csdl-hoc-sinh.csv")
    seen = preview(principal, place, year, "students", content)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_apply(principal, place, year, "students", content, None,
                          seen.plan.fingerprint())  # fmt: skip
    Staff.objects.filter(user=principal).update(user=None)
    principal.delete()
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error
    assert not Enrolment.objects.filter(class_group__school=place).exists()
    assert not default_storage.exists(f"imports/{seen.digest}")


def test_the_stored_upload_is_deleted_once_applied_or_refused(school):
    from django.core.files.storage import default_storage

    from hocba.imports.services import _stored

    place, year, principal = school
    content = fixture("csdl-hoc-sinh.csv")
    path = _stored(content)
    apply_import(principal, place, year, "students", content)
    assert not default_storage.exists(path)
    bad = edited(fixture("csdl-hoc-sinh.xlsx"), {"E6": "Không rõ"})
    path = _stored(bad)
    with pytest.raises(ImportRefused):
        apply_import(principal, place, year, "students", bad)
    assert not default_storage.exists(path)
