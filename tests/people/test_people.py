"""The school's people pages: who may use them, students (search, order, pages, add, edit,
enrol, move, leave), staff and roles, accounts with one-time activation codes."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from hocba.audit.models import AuditEvent
from hocba.family.models import StudentAccess
from hocba.identity import make_personal_id
from hocba.organizations.models import ClassGroup, Role, RoleAssignment, Staff
from hocba.people import services
from hocba.people.models import ActivationCode
from hocba.students.models import Enrolment, Student
from tests.factories.database import THCS, current_class, school, staff_user, student_in, user

pytestmark = pytest.mark.django_db

PAGES = [
    "/schools/{s}/students/",
    "/schools/{s}/students/new/",
    "/schools/{s}/staff/",
    "/schools/{s}/staff/new/",
    "/schools/{s}/accounts/",
]


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def school_admin() -> Staff:
    member = staff_user("qt.chuvanan", school(THCS), Role.MINISTRY_OFFICER)
    member.roles.update(role=Role.SCHOOL_ADMIN, school=school(THCS))
    return member


def new_student_data(**changes: str) -> dict[str, str]:
    born = dt.date(2012, 3, 14)
    data = {
        "full_name": "nguyễn  thị đào", "student_code": "HS990001",
        "personal_id": make_personal_id("025", born, "2", 77), "date_of_birth": "2012-03-14",
        "sex": "2", "ethnicity": "01", "nationality": "VN", "birthplace": "Phú Thọ",
        "hometown": "Phú Thọ", "current_address": "Việt Trì, Phú Thọ", "mother_name": "Lê Thị Hoa",
        "class_group": str(current_class("7A").pk), "date_joined": "2024-10-01",
        "join_reason": "TRANSFER_IN",
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_teacher_another_principal_a_student_and_a_parent_are_refused(demo, client, login):
    student = StudentAccess.objects.filter(relation="SELF")[0].user.username
    parent = StudentAccess.objects.filter(relation="PARENT")[0].user.username
    some = Student.objects.filter(enrolments__class_group=current_class("7A"))[0]
    staff = Staff.objects.filter(school=school(THCS))[0]
    paths = [
        *PAGES,
        f"/schools/{{s}}/students/{some.pk}/",
        f"/schools/{{s}}/staff/{staff.pk}/",
    ]
    for who in ("gvcn.chuvanan.6a", "ht.hungvuong", student, parent):
        login(who)
        for path in paths:
            response = client.get(path.format(s=THCS))
            assert response.status_code == 403, (who, path, response.status_code)
        reset = client.post(f"/schools/{THCS}/accounts/reset/", {"kind": "staff", "pk": staff.pk})
        assert reset.status_code == 403, who
    login("ht.chuvanan")
    for path in paths:
        assert client.get(path.format(s=THCS)).status_code == 200, path


def test_a_school_administrator_manages_people_but_not_records(demo, client):
    admin = school_admin()
    client.force_login(admin.user)
    for path in PAGES:
        assert client.get(path.format(s=THCS)).status_code == 200, path
    assert client.get("/schools/25000301/students/").status_code == 403  # another school
    cls = current_class("7A")
    assert client.post(f"/records/classes/{cls.pk}/build/").status_code == 403
    page = client.get(f"/schools/{THCS}/").content.decode()
    assert "Quản lý học sinh" in page and "Tài khoản" in page


def test_students_are_found_without_accents_in_vietnamese_order_and_shown_fifty_to_a_page(
    demo, client, login
):
    cls = current_class("6A")
    for name in ("Nguyễn Văn Ân", "Trần Đức", "Lê Dũng", "Phạm Em", "Nguyễn Văn Anh"):
        student_in(cls, name)
    for n in range(60):
        student_in(cls, f"Hoàng Văn Zy{chr(97 + n % 26)}")
    login("ht.chuvanan")
    found = client.get(f"/schools/{THCS}/students/", {"q": "nguyen van an"}).content.decode()
    assert "Nguyễn Văn Ân" in found and "Nguyễn Văn Anh" in found and "Trần Đức" not in found
    listed = client.get(f"/schools/{THCS}/students/", {"q": "dung duc em"}).content.decode()
    assert "Không tìm thấy học sinh nào" in listed  # every word must match the same student
    page = client.get(f"/schools/{THCS}/students/").content.decode()
    names = re.findall(r'<td><a href="/schools/\d+/students/\d+/[^"]*">([^<]+)</a>', page)
    assert len(names) == 50
    order = [n for n in names if n in ("Lê Dũng", "Trần Đức", "Phạm Em")]
    assert order == ["Lê Dũng", "Trần Đức", "Phạm Em"]
    assert "Trang 1/2" in page
    last = client.get(f"/schools/{THCS}/students/", {"page": "2"}).content.decode()
    assert "Hoàng Văn Zy" in last and "Trang 2/2" in last
    searched = client.get(f"/schools/{THCS}/students/", {"q": "hoang van zy"}).content.decode()
    assert "?q=hoang+van+zy&amp;page=2" in searched  # the next page keeps the search
    seventh = client.get(f"/schools/{THCS}/students/", {"class": "7A"}).content.decode()
    assert "Hoàng Văn Zy" not in seventh and "Lê Dũng" not in seventh
    assert set(re.findall(r"<td>(\d+A)</td>", seventh)) == {"7A"}


def test_a_student_whose_personal_id_disagrees_is_refused_and_nothing_is_written(
    demo, client, login
):
    login("ht.chuvanan")
    before = (Student.objects.count(), Enrolment.objects.count(), AuditEvent.objects.count())
    wrong = make_personal_id("025", dt.date(2012, 3, 14), "1", 77)  # a boy's number
    response = client.post(f"/schools/{THCS}/students/new/", new_student_data(personal_id=wrong))
    assert response.status_code == 200
    assert "giới tính" in response.content.decode().lower()
    after = (Student.objects.count(), Enrolment.objects.count(), AuditEvent.objects.count())
    assert after == before
    taken = Student.objects.filter(enrolments__class_group__school__code=THCS)[0]
    twice = client.post(
        f"/schools/{THCS}/students/new/", new_student_data(student_code=taken.student_code)
    )
    assert f"Mã học sinh {taken.student_code} đã là của {taken.full_name}" in twice.content.decode()
    assert Student.objects.count() == before[0]


def test_a_student_added_is_enrolled_normalised_and_audited(demo, client, login):
    login("ht.chuvanan")
    response = client.post(f"/schools/{THCS}/students/new/", new_student_data())
    assert response.status_code == 302
    student = Student.objects.get(student_code="HS990001")
    assert student.full_name == "Nguyễn Thị Đào"
    enrolment = student.enrolments.get()
    assert enrolment.class_group == current_class("7A")
    assert enrolment.join_reason == "TRANSFER_IN" and enrolment.date_joined == dt.date(2024, 10, 1)
    assert AuditEvent.objects.filter(action="student.add", object_id=str(student.pk)).exists()
    edited = client.post(
        response["Location"], {**new_student_data(), "action": "save", "hometown": "Hà Nội"}
    )
    assert edited.status_code == 302
    event = AuditEvent.objects.get(action="student.edit", object_id=str(student.pk))
    assert event.old == {"hometown": "Phú Thọ"} and event.new == {"hometown": "Hà Nội"}


def test_moving_keeps_the_history_and_leaving_ends_the_enrolment(demo, client, login):
    six_a = current_class("6A")
    student = student_in(six_a)
    target = ClassGroup.objects.create(
        school=six_a.school, school_year=six_a.school_year, level="THCS", grade=6, name="6B"
    )
    login("ht.chuvanan")
    url = f"/schools/{THCS}/students/{student.pk}/"
    early = client.post(url, {"action": "move", "enrol-class_group": target.pk,
                              "enrol-date": "2024-09-01"})  # fmt: skip
    assert "phải sau ngày học sinh vào lớp 6A" in early.content.decode()
    moved = client.post(url, {"action": "move", "enrol-class_group": target.pk,
                              "enrol-date": "2025-01-06"})  # fmt: skip
    assert moved.status_code == 302
    history = list(student.enrolments.order_by("date_joined"))
    assert [(e.class_group.name, e.date_left, e.leave_reason, e.join_reason) for e in history] == [
        ("6A", dt.date(2025, 1, 5), "CLASS_CHANGE", "NEW"),
        ("6B", None, "", "CLASS_CHANGE"),
    ]
    left = client.post(url, {"action": "leave", "leave-reason": "TRANSFER_OUT",
                             "leave-date": "2025-03-01"})  # fmt: skip
    assert left.status_code == 302
    last = student.enrolments.get(class_group=target)
    assert (last.date_left, last.leave_reason) == (dt.date(2025, 3, 1), "TRANSFER_OUT")
    actions = AuditEvent.objects.filter(action__in=["student.move", "student.leave"])
    assert actions.count() == 2
    page = client.get(url).content.decode()
    assert "Chuyển sang lớp khác" in page and "Hiện không học lớp nào" in page


def test_roles_are_given_by_subject_name_and_removed(demo, client, login):
    login("ht.chuvanan")
    added = client.post(f"/schools/{THCS}/staff/new/", {
        "full_name": "phạm thu hà", "position": "Giáo viên",
        "personal_id": make_personal_id("025", dt.date(1990, 5, 1), "2", 5),
    })  # fmt: skip
    member = Staff.objects.get(full_name="Phạm Thu Hà")
    assert added["Location"] == f"/schools/{THCS}/staff/{member.pk}/"
    form = client.get(added["Location"]).content.decode()
    assert ">Toán<" in form and "TOAN<" not in form
    cls = current_class("7A")
    given = client.post(added["Location"], {"action": "assign", "role-role": "SUBJECT_TEACHER",
                                            "role-class_group": cls.pk,
                                            "role-subject_code": "TOAN"})  # fmt: skip
    assert given.status_code == 302
    page = client.get(added["Location"]).content.decode()
    assert "Giáo viên bộ môn: Toán — lớp 7A, 2024-2025" in page
    homeroom = client.post(added["Location"], {"action": "assign", "role-role": "HOMEROOM_TEACHER",
                                               "role-class_group": cls.pk})  # fmt: skip
    assert "Lớp 7A đã có giáo viên chủ nhiệm" in homeroom.content.decode()
    assignment = RoleAssignment.objects.get(staff=member, active=True)
    client.post(added["Location"], {"action": "unassign", "assignment": assignment.pk})
    assignment.refresh_from_db()
    assert not assignment.active
    assert AuditEvent.objects.filter(action__in=["role.assign", "role.remove"]).count() == 2


def test_the_parents_of_a_class_get_one_account_each_and_one_pdf_of_letters(demo, client, login):
    cls = current_class("8A")
    students = list(
        Student.objects.filter(enrolments__class_group=cls, enrolments__date_left__isnull=True)
    )
    StudentAccess.objects.filter(student__in=students, relation="PARENT").delete()
    login("ht.chuvanan")
    response = client.post(
        f"/schools/{THCS}/accounts/", {"group": "parents", "class_group": cls.pk}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == len(students)
    text = text_of(response.content)
    assert "Trường THCS Chu Văn An".upper() in text
    assert "THƯ KÍCH HOẠT TÀI KHOẢN HỌC BẠ SỐ" in text
    for student in students:
        assert f"Phụ huynh học sinh {student.full_name}" in text
        access = StudentAccess.objects.get(student=student, relation="PARENT")
        assert access.user.username == f"ph.{student.student_code.lower()}"
        assert access.user.username in text
        assert not access.user.has_usable_password()
    again = client.post(f"/schools/{THCS}/accounts/", {"group": "parents", "class_group": cls.pk})
    assert again.status_code == 200  # never activated: new codes, the old ones void
    assert ActivationCode.objects.filter(void_at__isnull=False).count() == len(students)


STRONG = "Cay-xanh-la-2026"


def activation(username: str, code: str, password: str = STRONG) -> dict[str, str]:
    return {"username": username, "code": code, "password1": password, "password2": password}


def _letter_for_staff(actor: object) -> tuple[Staff, services.Letter]:
    member = Staff.objects.filter(
        school=school(THCS), user__isnull=False, roles__role=Role.HOMEROOM_TEACHER
    ).exclude(user=actor)[0]
    return member, services.issue_code(actor, school(THCS), member.user, member.full_name, "")


def test_an_activation_code_works_once(demo):
    member, letter = _letter_for_staff(user("ht.chuvanan"))
    client = Client()
    assert client.get(f"/kich-hoat/?u={letter.username}&c={letter.code}").status_code == 200
    weak = client.post("/kich-hoat/", activation(letter.username, letter.code, "123"))
    assert weak.status_code == 400  # too short: nothing written, the code still works
    typed = letter.code.lower().replace("-", " ")  # as a person may type it
    done = client.post("/kich-hoat/", activation(letter.username, typed))
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").status_code == 302  # signed in: sent to the landing page
    member.user.refresh_from_db()
    assert member.user.check_password(STRONG)
    twice = Client().post("/kich-hoat/", activation(letter.username, letter.code, "Khac-nua-2026"))
    assert twice.status_code == 400 and "đã được sử dụng" in twice.content.decode()
    member.user.refresh_from_db()
    assert member.user.check_password(STRONG)


def test_an_activation_code_expires(demo, settings):
    settings.ACTIVATION_CODE_DAYS = 30
    member, letter = _letter_for_staff(user("ht.chuvanan"))
    assert letter.expires == timezone.localdate() + dt.timedelta(days=30)
    ActivationCode.objects.filter(user=member.user).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = Client().post("/kich-hoat/", activation(letter.username, letter.code))
    assert response.status_code == 400 and "đã hết hạn" in response.content.decode()
    member.user.refresh_from_db()
    assert not member.user.has_usable_password()


def test_a_new_code_stops_the_password_and_the_older_code(demo, client, login):
    access = StudentAccess.objects.filter(
        relation="SELF", student__enrolments__class_group__school__code=THCS
    )[0]
    person = access.user
    assert person.check_password("hocba-demo")
    first = services.issue_code(user("ht.chuvanan"), school(THCS), person, "", "")
    login("ht.chuvanan")
    response = client.post(f"/schools/{THCS}/accounts/reset/", {"kind": "access", "pk": access.pk})
    assert response.status_code == 200 and person.username in text_of(response.content)
    person.refresh_from_db()
    assert not person.check_password("hocba-demo")
    old = Client().post("/kich-hoat/", activation(person.username, first.code))
    assert "đã được thay bằng mã mới hơn" in old.content.decode()
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", text_of(response.content))
    assert code is not None
    new = Client().post("/kich-hoat/", activation(person.username, code.group(0)))
    assert new.status_code == 302


def test_the_activation_page_stops_checking_after_too_many_wrong_codes(demo, settings):
    settings.ACTIVATION_FAILURES_PER_ACCOUNT = 3
    member, letter = _letter_for_staff(user("ht.chuvanan"))
    client = Client()
    for _ in range(3):
        wrong = client.post("/kich-hoat/", activation(letter.username, "AAAA-AAAA-AAAA"))
        assert wrong.status_code == 400
    locked = client.post("/kich-hoat/", activation(letter.username, letter.code))
    assert locked.status_code == 429 and "Quá nhiều lần thử" in locked.content.decode()
    member.user.refresh_from_db()
    assert not member.user.has_usable_password()


def test_the_province_page_searches_its_schools_by_name_or_code(demo, client, login):
    login("so.phutho")
    found = client.get("/provinces/25/", {"q": "chu van an"}).content.decode()
    assert "Trường THCS Chu Văn An" in found and "25000301" not in found
    by_code = client.get("/provinces/25/", {"q": "25000301"}).content.decode()
    assert "Trường THCS Chu Văn An" not in by_code and "25000301" in by_code


def test_usernames_are_made_from_the_name_and_never_reused(demo):
    member = Staff.objects.create(
        personal_id=make_personal_id("025", dt.date(1980, 1, 1), "1", 9),
        full_name="Nguyễn Văn Đức", school=school(THCS),
    )  # fmt: skip
    get_user_model().objects.create(username=f"ducnv.{THCS}")
    assert services.staff_username(member) == f"ducnv.{THCS}2"


def test_the_staff_without_an_account_get_one_and_a_letter_each(demo, client, login):
    newcomer = Staff.objects.create(
        personal_id=make_personal_id("025", dt.date(1988, 6, 2), "2", 11),
        full_name="Vũ Thị Ngọc Ánh", position="Giáo viên Ngữ văn", school=school(THCS),
    )  # fmt: skip
    login("ht.chuvanan")
    response = client.post(f"/schools/{THCS}/accounts/", {"group": "staff"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    newcomer.refresh_from_db()
    assert newcomer.user.username == f"anhvtn.{THCS}"
    text = text_of(response.content)
    assert "Vũ Thị Ngọc Ánh" in text and "Giáo viên Ngữ văn" in text
    assert "ht.chuvanan" not in text  # accounts in use are left alone
    assert AuditEvent.objects.filter(action="account.bulk", object_id=str(school(THCS).pk)).exists()


def test_a_staff_members_new_code_comes_as_a_letter_and_ends_the_password(demo, client, login):
    member = Staff.objects.select_related("user").get(user__username="gvcn.chuvanan.6a")
    assert member.user.check_password("hocba-demo")
    login("ht.chuvanan")
    response = client.post(f"/schools/{THCS}/accounts/reset/", {"kind": "staff", "pk": member.pk})
    assert response.status_code == 200
    text = text_of(response.content)
    assert member.full_name in text and "gvcn.chuvanan.6a" in text
    member.user.refresh_from_db()
    assert not member.user.has_usable_password()
    event = AuditEvent.objects.get(action="account.code", object_id=str(member.user.pk))
    assert event.actor == user("ht.chuvanan")
    other = Staff.objects.filter(school__code="25000301", user__isnull=False)[0]
    refused = client.post(f"/schools/{THCS}/accounts/reset/", {"kind": "staff", "pk": other.pk})
    assert refused.status_code == 404  # not a staff member of this school


def test_a_pupil_enrolled_in_a_combined_class_is_given_their_own_grade(demo, client, login):
    """The demo's primary school has the combined class "1+2 TĐ": a pupil added to it must be
    given a grade of the class, which the enrolment keeps (and the grade book follows)."""
    combined = current_class("1+2 TĐ", school="25000101")
    login("ht.kimdong")
    data = new_student_data(class_group=str(combined.pk), date_joined="2024-10-01")
    missing = client.post("/schools/25000101/students/new/", data)
    assert "lớp ghép: hãy chọn khối lớp của học sinh (1, 2)" in missing.content.decode()
    assert not Student.objects.filter(student_code="HS990001").exists()
    wrong = client.post("/schools/25000101/students/new/", {**data, "grade": "3"})
    assert "không có học sinh khối 3" in wrong.content.decode()
    added = client.post("/schools/25000101/students/new/", {**data, "grade": "2"})
    assert added.status_code == 302
    enrolment = Student.objects.get(student_code="HS990001").enrolments.get()
    assert (enrolment.class_group, enrolment.grade, enrolment.own_grade) == (combined, 2, 2)
