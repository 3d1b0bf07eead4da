"""Every role sees its scope and nothing else: pages, API and admin."""

import pytest
from django.contrib.auth import get_user_model

from hocba.organizations.models import ClassGroup, Commune, Role, School, SchoolYear
from hocba.organizations.permissions import Permission, can, scoped
from hocba.students.models import Student
from tests.factories.database import other_province, student_in

pytestmark = pytest.mark.django_db

THCS = "25000201"
THPT = "25000301"


@pytest.fixture
def class_7b(demo):
    year = SchoolYear.objects.get(name="2024-2025")
    class_group = ClassGroup.objects.create(
        school=School.objects.get(code=THCS), school_year=year, level="THCS", grade=7, name="7B"
    )
    return class_group, student_in(class_group, name="Phan Văn Bảy")


@pytest.fixture
def far_student(demo):
    _province, _school, class_group = other_province()
    return student_in(class_group, name="Hoàng Thị Xa")


def current_class(name: str, school: str = THCS) -> ClassGroup:
    return ClassGroup.objects.get(school__code=school, name=name, school_year__name="2024-2025")


def students_of(class_name: str, school: str = THCS):
    return Student.objects.filter(
        enrolments__class_group__name=class_name,
        enrolments__class_group__school__code=school,
        enrolments__class_group__school_year__name="2024-2025",
    )


# --- homeroom teacher ---------------------------------------------------------------------


def test_homeroom_teacher_of_7a_sees_7a_students(login, class_7b):
    client = login("gvcn.chuvanan.7a")
    class_7a = current_class("7A")
    page = client.get(f"/classes/{class_7a.pk}/")
    assert page.status_code == 200
    for student in students_of("7A"):
        assert student.full_name in page.content.decode()
    assert "Phan Văn Bảy" not in page.content.decode()


def test_homeroom_teacher_of_7a_cannot_open_7b(login, class_7b):
    class_group, student = class_7b
    client = login("gvcn.chuvanan.7a")
    assert client.get(f"/classes/{class_group.pk}/").status_code == 403
    assert client.get(f"/students/{student.pk}/").status_code == 403
    assert client.get(f"/api/v1/classes/{class_group.pk}/students").status_code == 403
    assert client.get(f"/api/v1/students/{student.pk}").status_code == 403


def test_homeroom_teacher_sees_only_own_class_in_admin(login, class_7b):
    _class_group, student = class_7b
    client = login("gvcn.chuvanan.7a")
    listing = client.get("/admin/students/student/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Phan Văn Bảy" not in body
    own = students_of("7A").first()
    assert own.full_name in body
    outside = client.get(f"/admin/students/student/{student.pk}/change/")
    assert outside.status_code == 302  # "does not exist" for this user
    assert client.get(f"/admin/students/student/{own.pk}/change/").status_code == 200


def test_homeroom_teacher_cannot_edit_students_in_admin(login):
    client = login("gvcn.chuvanan.7a")
    own = students_of("7A").first()
    page = client.get(f"/admin/students/student/{own.pk}/change/")
    assert 'name="full_name"' not in page.content.decode()  # read-only view
    response = client.post(f"/admin/students/student/{own.pk}/change/", {"full_name": "X"})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.full_name != "X"


def test_subject_teacher_sees_only_the_classes_taught(login, demo):
    client = login("gv.chuvanan.toan.k7")
    assert client.get(f"/classes/{current_class('7A').pk}/").status_code == 200
    assert client.get(f"/classes/{current_class('8A').pk}/").status_code == 403


# --- principal ----------------------------------------------------------------------------


def test_principal_sees_own_school_only(login, demo):
    client = login("ht.chuvanan")
    assert client.get(f"/schools/{THCS}/").status_code == 200
    assert client.get(f"/schools/{THPT}/").status_code == 403
    other = students_of("10A", THPT).first()
    assert client.get(f"/students/{other.pk}/").status_code == 403
    assert client.get(f"/api/v1/students/{other.pk}").status_code == 403
    assert client.get(f"/api/v1/schools/{THPT}/review").status_code == 403


def test_principal_admin_lists_only_own_school(login, demo):
    client = login("ht.chuvanan")
    schools = client.get("/admin/organizations/school/").content.decode()
    assert "Trường THCS Chu Văn An" in schools
    assert "Trường THPT Hùng Vương" not in schools
    students = client.get("/admin/students/student/?all=").content.decode()
    assert students_of("10A", THPT).first().full_name not in students


def test_principal_cannot_move_the_school_to_another_province(login, far_student):
    client = login("ht.chuvanan")
    school = School.objects.get(code=THCS)
    page = client.get(f"/admin/organizations/school/{school.pk}/change/").content.decode()
    assert 'name="province_office"' not in page
    assert 'name="name"' in page  # the principal may still correct the school's name


# --- Sở / Phòng ---------------------------------------------------------------------------


def test_province_officer_sees_own_province_only(login, far_student):
    client = login("so.phutho")
    assert client.get("/provinces/25/").status_code == 200
    assert client.get("/provinces/01/").status_code == 403
    assert client.get("/schools/01000201/").status_code == 403
    assert client.get(f"/students/{far_student.pk}/").status_code == 403
    assert client.get(f"/api/v1/students/{far_student.pk}").status_code == 403
    own = students_of("7A").first()
    assert client.get(f"/students/{own.pk}/").status_code == 200


def test_province_officer_admin_excludes_other_provinces(login, far_student):
    client = login("so.phutho")
    body = client.get("/admin/students/student/?q=Ho%C3%A0ng").content.decode()
    assert "Hoàng Thị Xa" not in body
    schools = client.get("/admin/organizations/school/").content.decode()
    assert "Trường THCS Thăng Long" not in schools
    assert "Trường THCS Chu Văn An" in schools
    change = client.get(f"/admin/students/student/{far_student.pk}/change/")
    assert change.status_code == 302


def test_commune_officer_sees_the_schools_the_commune_manages_not_the_sos(login, demo):
    client = login("xa.thanhmieu")
    assert client.get(f"/schools/{THCS}/").status_code == 200
    assert client.get(f"/schools/{THPT}/").status_code == 403  # THPT belongs to the Sở directly
    ward = Commune.objects.get(code="07909", valid_to=None)
    page = client.get(f"/communes/{ward.pk}/").content.decode()
    assert "Ủy ban nhân dân phường Thanh Miếu" in page
    assert "Trường THCS Chu Văn An" in page and "Trường Tiểu học Kim Đồng" in page
    assert "Trường THPT Hùng Vương" not in page
    other = Commune.objects.get(code="07894", valid_to=None)  # Phường Nông Trang
    assert client.get(f"/communes/{other.pk}/").status_code == 403


def test_commune_officer_reads_students_and_records_of_its_schools_only(login, demo):
    user = get_user_model().objects.get(username="xa.thanhmieu")
    schools = {s.code for s in scoped(user, Permission.SCHOOL_READ, School.objects.all())}
    assert schools == {"25000101", THCS}
    students = scoped(user, Permission.STUDENT_READ, Student.objects.all())
    assert students.exists()
    assert not students.filter(enrolments__class_group__school__code=THPT).exists()
    assert not scoped(user, Permission.STUDENT_WRITE, Student.objects.all()).exists()


def test_a_former_district_officer_still_reads_what_the_office_managed(login, demo):
    """The Phòng is history: an assignment made before it closed still reads its schools."""
    from hocba.organizations.models import DistrictOffice, RoleAssignment, Staff

    staff = Staff.objects.create(personal_id="025190000001", full_name="Lê Văn Phòng")
    user = get_user_model().objects.create(username="phong.cu", is_staff=True)
    staff.user = user
    staff.save()
    RoleAssignment.objects.create(  # made before 1 July 2025, so no clean()
        staff=staff, role=Role.DISTRICT_OFFICER, district_office=DistrictOffice.objects.get()
    )
    client = login("phong.cu")
    assert client.get(f"/schools/{THCS}/").status_code == 200
    assert client.get(f"/schools/{THPT}/").status_code == 403


def test_no_new_district_officer_is_assigned_after_the_district_level_ended(demo):
    from django.core.exceptions import ValidationError

    from hocba.organizations.models import DistrictOffice, RoleAssignment, Staff

    staff = Staff.objects.create(personal_id="025190000002", full_name="Lê Văn Mới")
    assignment = RoleAssignment(
        staff=staff, role=Role.DISTRICT_OFFICER, district_office=DistrictOffice.objects.get()
    )
    with pytest.raises(ValidationError) as raised:
        assignment.full_clean()
    assert "district_office" in raised.value.message_dict


def test_ministry_officer_sees_every_province(login, far_student):
    client = login("bo.gddt")
    page = client.get("/national/").content.decode()
    assert "Sở Giáo dục và Đào tạo Phú Thọ" in page and "Sở Giáo dục và Đào tạo Hà Nội" in page
    assert client.get(f"/students/{far_student.pk}/").status_code == 200


def test_school_staff_cannot_open_the_national_page(login, demo):
    assert login("ht.chuvanan").get("/national/").status_code == 403


# --- anonymous and the one function -------------------------------------------------------


def test_anonymous_is_sent_to_login_and_refused_by_the_api(client, demo):
    response = client.get(f"/schools/{THCS}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/api/v1/students/1").status_code == 401


def test_can_answers_for_one_object(demo, class_7b):
    _class_group, student = class_7b
    user = get_user_model().objects.get(username="gvcn.chuvanan.7a")
    own = students_of("7A").first()
    assert can(user, Permission.STUDENT_READ, own)
    assert not can(user, Permission.STUDENT_READ, student)
    assert not can(user, Permission.STUDENT_WRITE, own)
    principal = get_user_model().objects.get(username="ht.chuvanan")
    assert can(principal, Permission.STUDENT_WRITE, student)


def test_inactive_assignment_grants_nothing(demo):
    user = get_user_model().objects.get(username="ht.chuvanan")
    user.staff.roles.filter(role=Role.PRINCIPAL).update(active=False)
    user = get_user_model().objects.get(pk=user.pk)
    assert not scoped(user, Permission.SCHOOL_READ, School.objects.all()).exists()


def test_admin_changes_are_audited(login, demo):
    from hocba.audit.models import AuditEvent

    school = School.objects.get(code=THCS)
    client = login("ht.chuvanan")
    page = client.get(f"/admin/organizations/school/{school.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["name"] = "Trường THCS Chu Văn An (cơ sở 1)"
    data["levels"] = '["THCS"]'
    response = client.post(f"/admin/organizations/school/{school.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(action="admin.change").latest("id")
    assert event.old == {"name": "Trường THCS Chu Văn An"}
    assert event.new == {"name": "Trường THCS Chu Văn An (cơ sở 1)"}
