import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from hocba.organizations.models import ClassGroup, Role, RoleAssignment, School, SchoolYear, Staff

pytestmark = pytest.mark.django_db


def test_school_year_must_be_two_consecutive_years():
    with pytest.raises(ValidationError):
        SchoolYear(name="2024-2026", start_date=dt.date(2024, 9, 5),
                   end_date=dt.date(2025, 5, 31)).full_clean()  # fmt: skip
    with pytest.raises(ValidationError):
        SchoolYear(name="2024/2025", start_date=dt.date(2024, 9, 5),
                   end_date=dt.date(2025, 5, 31)).full_clean()  # fmt: skip


def test_class_grade_must_belong_to_its_level(demo):
    school = School.objects.get(code="25000201")
    year = SchoolYear.objects.get(name="2024-2025")
    with pytest.raises(ValidationError) as error:
        ClassGroup(school=school, school_year=year, level="THCS", grade=10, name="10Z").full_clean()
    assert "grade" in error.value.message_dict


def test_class_level_must_be_taught_by_the_school(demo):
    school = School.objects.get(code="25000201")
    year = SchoolYear.objects.get(name="2024-2025")
    with pytest.raises(ValidationError) as error:
        ClassGroup(school=school, school_year=year, level="THPT", grade=10, name="10Z").full_clean()
    assert "level" in error.value.message_dict


def test_school_levels_and_codes_are_validated(demo):
    school = School.objects.get(code="25000201")
    school.levels = ["THCS", "DAI_HOC"]
    school.province_code = "02"  # Hà Giang no longer exists after QĐ 19/2025
    school.tax_code = "26001"
    with pytest.raises(ValidationError) as error:
        school.full_clean()
    assert {"levels", "province_code", "tax_code"} <= set(error.value.message_dict)


def test_role_scope_must_match_the_role(demo):
    person = Staff.objects.filter(school__code="25000201").first()
    school = person.school
    with pytest.raises(ValidationError) as error:
        RoleAssignment(staff=person, role=Role.HOMEROOM_TEACHER, school=school).full_clean()
    assert set(error.value.message_dict) == {"class_group", "school"}


def test_subject_teacher_needs_a_subject_the_class_studies(demo):
    person = Staff.objects.filter(school__code="25000201").first()
    class_group = ClassGroup.objects.get(
        school__code="25000201", name="7A", school_year__name="2024-2025"
    )
    RoleAssignment(staff=person, role=Role.SUBJECT_TEACHER, class_group=class_group,
                   subject_code="TOAN").full_clean()  # fmt: skip
    with pytest.raises(ValidationError) as error:
        RoleAssignment(staff=person, role=Role.SUBJECT_TEACHER, class_group=class_group,
                       subject_code="LICH_SU").full_clean()  # fmt: skip
    assert "subject_code" in error.value.message_dict


def test_staff_personal_id_has_twelve_digits(demo):
    person = Staff.objects.first()
    person.personal_id = "12345"
    with pytest.raises(ValidationError):
        person.full_clean()
