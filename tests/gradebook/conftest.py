import pytest

from hocba.gradebook.models import ClassSubject
from tests.factories.database import current_class


@pytest.fixture
def toan_7a(demo) -> ClassSubject:
    return ClassSubject.objects.get(class_group=current_class("7A"), subject_code="TOAN")


@pytest.fixture
def student_7a(toan_7a):
    return toan_7a.class_group.enrolments.order_by("student__full_name").first().student
