import pytest
from django.contrib.auth import get_user_model

from hocba.gradebook.models import ClassSubject
from hocba.organizations.models import ClassGroup

THCS = "25000201"


def current_class(name: str, school: str = THCS) -> ClassGroup:
    return ClassGroup.objects.get(school__code=school, name=name, school_year__name="2024-2025")


def user(username: str):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def toan_7a(demo) -> ClassSubject:
    return ClassSubject.objects.get(class_group=current_class("7A"), subject_code="TOAN")


@pytest.fixture
def student_7a(toan_7a):
    return toan_7a.class_group.enrolments.order_by("student__full_name").first().student
