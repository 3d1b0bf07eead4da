"""Small builders for test data beside the demo province."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.auth import get_user_model

from hocba.identity import make_personal_id
from hocba.organizations.models import (
    ClassGroup,
    ProvinceOffice,
    Role,
    RoleAssignment,
    School,
    SchoolYear,
    Staff,
)
from hocba.records.models import RecordVersion, State
from hocba.students.models import Enrolment, Student

_serial = itertools.count(900_000)


def staff_user(username: str, school: School | None, role: Role, **scope: object) -> Staff:
    user = get_user_model().objects.create_user(username=username, password="x", is_staff=True)
    person = Staff.objects.create(
        user=user,
        personal_id=make_personal_id("001", dt.date(1985, 1, 1), "2", next(_serial)),
        full_name="Trần Thị Thử",
        school=school,
    )
    assignment = RoleAssignment(staff=person, role=role, **scope)
    assignment.full_clean()
    assignment.save()
    return person


def student_in(class_group: ClassGroup, name: str = "Lê Văn Khách") -> Student:
    n = next(_serial)
    student = Student.objects.create(
        personal_id=make_personal_id("001", dt.date(2012, 2, 2), "0", n),
        student_code=f"T{n}",
        full_name=name,
        date_of_birth=dt.date(2012, 2, 2),
        sex="1",
        ethnicity="01",
        birthplace="Hà Nội",
        hometown="Hà Nội",
        current_address="Hà Nội",
    )
    Enrolment.objects.create(
        student=student, class_group=class_group, date_joined=dt.date(2024, 9, 5)
    )
    return student


def other_province() -> tuple[ProvinceOffice, School, ClassGroup]:
    province = ProvinceOffice.objects.create(
        code="01", name="Sở Giáo dục và Đào tạo Hà Nội", province_code="01",
        province_name="Thành phố Hà Nội",
    )  # fmt: skip
    school = School.objects.create(
        code="01000201", name="Trường THCS Thăng Long", province_office=province,
        levels=["THCS"], commune_name="Phường Ba Đình", province_code="01",
        province_name="Thành phố Hà Nội",
    )  # fmt: skip
    year = SchoolYear.objects.get(name="2024-2025")
    class_group = ClassGroup.objects.create(
        school=school, school_year=year, level="THCS", grade=7, name="7A"
    )
    return province, school, class_group


def issued_version(school_code: str = "25000201") -> RecordVersion:
    """The demo's first issued record version of a school (by record id)."""
    version: RecordVersion = (
        RecordVersion.objects.filter(record__school__code=school_code, state=State.ISSUED)
        .select_related("record__school")
        .order_by("record__record_id")
        .first()
    )
    return version
