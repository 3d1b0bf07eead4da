"""What a school's people pages may not reach: the accounts and roles of people above the one
acting or beyond the school, a student now at another school, the names of people elsewhere."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from hocba.family.models import StudentAccess
from hocba.organizations.models import ClassGroup, Role, RoleAssignment, Staff
from hocba.people import services
from hocba.people.services import PeopleError
from hocba.students.models import Enrolment, Student
from tests.factories.database import THCS, current_class, school, staff_user, student_in, user

pytestmark = pytest.mark.django_db

THPT = "25000301"
STRONG = "Cay-xanh-la-2026"


def school_admin() -> Staff:
    member = staff_user("qt.chuvanan", school(THCS), Role.MINISTRY_OFFICER)
    member.roles.update(role=Role.SCHOOL_ADMIN, school=school(THCS))
    return member


def member(username: str) -> Staff:
    return Staff.objects.select_related("user").get(user__username=username)


def reset(client: Client, person: Staff) -> int:
    url = f"/schools/{THCS}/accounts/reset/"
    return client.post(url, {"kind": "staff", "pk": person.pk}).status_code


def thpt_class() -> ClassGroup:
    found = ClassGroup.objects.filter(school__code=THPT, school_year__name="2024-2025").first()
    assert found is not None
    return found


def now_at_thpt() -> Student:
    """Once a pupil of 6A at THCS 25000201, now at THPT 25000301."""
    student = student_in(current_class("6A"))
    student.enrolments.update(date_left=dt.date(2024, 12, 31), leave_reason="TRANSFER_OUT")
    Enrolment.objects.create(
        student=student, class_group=thpt_class(), date_joined=dt.date(2025, 1, 6)
    )
    return student


# --- 1. activation codes ---------------------------------------------------------------------


def test_a_school_administrator_cannot_take_the_principals_or_a_vice_principals_account(demo):
    admin = school_admin()
    client = Client()
    client.force_login(admin.user)
    for username in ("ht.chuvanan", "pht.chuvanan"):
        assert reset(client, member(username)) == 302  # refused, back to the staff page
        person = user(username)
        assert person.check_password("hocba-demo")  # still signs in with their password
    assert reset(client, member("gvcn.chuvanan.7a")) == 200  # a teacher: the letter
    assert reset(client, admin) == 302  # not their own
    admin.user.refresh_from_db()
    assert admin.user.check_password("x")


def test_the_principal_resets_those_below_but_not_their_own(demo, client, login):
    login("ht.chuvanan")
    assert reset(client, member("pht.chuvanan")) == 200
    assert reset(client, member("ht.chuvanan")) == 302
    assert user("ht.chuvanan").check_password("hocba-demo")


def test_no_code_for_a_superuser_or_someone_with_a_role_beyond_the_school(demo):
    principal = user("ht.chuvanan")
    elsewhere = staff_user(
        "gv.hai.truong", school(THCS), Role.HOMEROOM_TEACHER, class_group=thpt_class()
    )
    officer = staff_user("cb.bo", school(THCS), Role.MINISTRY_OFFICER)
    boss = staff_user("sieu.quantri", school(THCS), Role.SUBJECT_TEACHER,
                      class_group=current_class("7A"), subject_code="TOAN")  # fmt: skip
    boss.user.is_superuser = True
    boss.user.save()
    for person in (elsewhere, officer, boss):
        with pytest.raises(PeopleError) as refused:
            services.issue_code(principal, school(THCS), person.user, person.full_name, "")
        assert refused.value.code == "ACCOUNT_ABOVE_YOU"
        person.user.refresh_from_db()
        assert person.user.check_password("x")


def test_bulk_letters_leave_out_accounts_above_the_actor(demo):
    admin = school_admin()
    principal = user("ht.chuvanan")
    principal.set_unusable_password()  # never used: the bulk run would issue a new code
    principal.last_login = None
    principal.save()
    letters = services.staff_accounts(admin.user, school(THCS))
    assert "ht.chuvanan" not in [x.username for x in letters]


# --- 2. roles --------------------------------------------------------------------------------


def test_a_school_administrator_cannot_remove_the_principals_role(demo):
    admin = school_admin()
    client = Client()
    client.force_login(admin.user)
    principal = member("ht.chuvanan")
    held = RoleAssignment.objects.get(staff=principal, role=Role.PRINCIPAL, active=True)
    page = client.post(f"/schools/{THCS}/staff/{principal.pk}/",
                       {"action": "unassign", "assignment": held.pk})  # fmt: skip
    assert page.status_code == 200 and "Bạn không thể" in page.content.decode()
    held.refresh_from_db()
    assert held.active


def test_a_school_administrator_gives_teaching_roles_only_and_never_to_themselves(demo):
    admin = school_admin()
    actor = admin.user
    for role in (Role.SEAL_KEEPER, Role.VICE_PRINCIPAL):
        with pytest.raises(PeopleError) as refused:
            services.assign_role(actor, admin, role)
        assert refused.value.code == "ROLE_ABOVE_YOU"
        with pytest.raises(PeopleError) as refused:
            services.assign_role(actor, member("gvcn.chuvanan.7a"), role)
        assert refused.value.code == "ROLE_ABOVE_YOU"
    with pytest.raises(PeopleError) as refused:
        services.assign_role(actor, admin, Role.SUBJECT_TEACHER, current_class("7A"), "TOAN")
    assert refused.value.code == "ROLE_OWN"
    teacher = member("gvcn.chuvanan.7a")
    given = services.assign_role(actor, teacher, Role.SUBJECT_TEACHER, current_class("7A"), "TOAN")
    services.remove_role(actor, given)
    own = admin.roles.get(active=True)
    with pytest.raises(PeopleError) as refused:
        services.remove_role(actor, own)
    assert refused.value.code == "ROLE_OWN"
    assert not RoleAssignment.objects.filter(
        staff=admin, role__in=[Role.SEAL_KEEPER, Role.VICE_PRINCIPAL]
    ).exists()


def test_the_principal_gives_the_schools_roles_but_does_not_change_their_own(demo):
    principal = member("ht.chuvanan")
    teacher = member("gvcn.chuvanan.7a")
    services.assign_role(principal.user, teacher, Role.SEAL_KEEPER)
    held = RoleAssignment.objects.get(staff=principal, role=Role.PRINCIPAL, active=True)
    with pytest.raises(PeopleError) as refused:
        services.remove_role(principal.user, held)
    assert refused.value.code == "ROLE_ABOVE_YOU"
    held.refresh_from_db()
    assert held.active


# --- 3. a student now at another school --------------------------------------------------------


def test_a_school_cannot_record_the_leaving_or_edit_a_student_now_at_another_school(
    demo, client, login
):
    student = now_at_thpt()
    login("ht.chuvanan")
    url = f"/schools/{THCS}/students/{student.pk}/"
    left = client.post(url, {"action": "leave", "leave-reason": "DROPPED_OUT",
                             "leave-date": "2025-03-01"})  # fmt: skip
    assert left.status_code == 200
    assert student.enrolments.get(class_group__school__code=THPT).date_left is None
    with pytest.raises(PeopleError) as refused:
        services.edit_student(
            user("ht.chuvanan"), student, {"full_name": "Lê Văn Đổi"}, school=school(THCS)
        )
    assert refused.value.code == "STUDIES_ELSEWHERE"
    student.refresh_from_db()
    assert student.full_name == "Lê Văn Khách"
    with pytest.raises(PeopleError) as refused:
        services.mark_leaving(
            user("ht.chuvanan"), student, school(THCS), dt.date(2025, 3, 1), "DROPPED_OUT"
        )
    assert refused.value.code == "NOT_ENROLLED_HERE"


# --- 4. accounts of a student's family -------------------------------------------------------


def test_the_school_a_child_left_cannot_reset_the_parents_account(demo, client, login):
    student = now_at_thpt()
    parent = services._new_user("ph.khach")
    access = StudentAccess.objects.create(user=parent, student=student, relation="PARENT")
    login("ht.chuvanan")
    response = client.post(f"/schools/{THCS}/accounts/reset/", {"kind": "access", "pk": access.pk})
    assert response.status_code == 404
    with pytest.raises(PeopleError) as refused:
        services.issue_code(user("ht.chuvanan"), school(THCS), parent, "", "")
    assert refused.value.code == "ACCOUNT_NOT_HERE"


def test_a_parent_account_that_is_also_a_staff_account_is_not_reset_as_a_parent(demo):
    teacher = member("gvcn.chuvanan.7a")
    child = student_in(current_class("6A"))
    StudentAccess.objects.create(user=teacher.user, student=child, relation="PARENT")
    admin = school_admin()
    with pytest.raises(PeopleError) as refused:
        services.issue_code(admin.user, school(THCS), teacher.user, "", "")
    assert refused.value.code == "ACCOUNT_NOT_HERE"


# --- 5. names of people elsewhere --------------------------------------------------------------


def test_a_student_code_taken_elsewhere_does_not_name_its_holder(demo):
    elsewhere = student_in(thpt_class(), name="Đỗ Thị Xa")
    here = student_in(current_class("6A"))
    with pytest.raises(PeopleError) as refused:
        services.edit_student(
            user("ht.chuvanan"), here, {"student_code": elsewhere.student_code},
            school=school(THCS),
        )  # fmt: skip
    assert refused.value.code == "STUDENT_CODE_TAKEN"
    assert "Đỗ Thị Xa" not in refused.value.message
    with pytest.raises(PeopleError) as refused:
        services.edit_student(
            user("ht.hungvuong"), elsewhere, {"student_code": here.student_code},
            school=school(THPT),
        )  # fmt: skip
    assert "Lê Văn Khách" not in refused.value.message
    with pytest.raises(PeopleError) as refused:
        services.edit_student(
            user("quantri"), elsewhere, {"student_code": here.student_code}
        )  # in the system administrator's scope: named
    assert "Lê Văn Khách" in refused.value.message


# --- 6. the activation page's counter ----------------------------------------------------------


def test_a_weak_password_with_ones_own_code_does_not_clear_the_address_counter(demo, settings):
    settings.ACTIVATION_FAILURES_PER_ADDRESS = 4
    settings.ACTIVATION_FAILURES_PER_ACCOUNT = 100
    teacher = member("gvcn.chuvanan.7a")
    letter = services.issue_code(user("ht.chuvanan"), school(THCS), teacher.user, "", "")
    client = Client()

    def attempt(username: str, code: str, password: str = STRONG) -> int:
        data = {"username": username, "code": code, "password1": password, "password2": password}
        return client.post("/kich-hoat/", data).status_code

    for n in range(3):
        assert attempt(f"ai.do.{n}", "AAAA-AAAA-AAAA") == 400
    assert attempt(letter.username, letter.code, "123") == 400  # right code, weak password
    assert attempt("ai.do.9", "AAAA-AAAA-AAAA") == 429  # the guesses still count
