"""Students and the data-quality review over the API, scoped like the pages."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from hocba.organizations.models import ClassGroup, School
from hocba.organizations.permissions import Permission, can, scoped
from hocba.students.models import Student
from hocba.students.services import review_students

router = Router(tags=["students"])


class StudentOut(Schema):
    id: int
    student_code: str
    full_name: str
    date_of_birth: dt.date | None
    sex: str


class ProblemOut(Schema):
    school: str
    class_name: str
    student_code: str
    full_name: str
    code: str
    field: str
    message: str


@router.get("/classes/{class_id}/students", response=list[StudentOut])
def class_students(request: HttpRequest, class_id: int) -> list[Student]:
    class_group = get_object_or_404(ClassGroup, pk=class_id)
    if not can(request.user, Permission.CLASS_READ, class_group):
        raise PermissionDenied
    return list(
        scoped(
            request.user,
            Permission.STUDENT_READ,
            Student.objects.filter(
                enrolments__class_group=class_group, enrolments__date_left__isnull=True
            ),
        ).order_by("full_name")
    )


@router.get("/students/{student_id}", response=StudentOut)
def student(request: HttpRequest, student_id: int) -> Student:
    found = get_object_or_404(Student, pk=student_id)
    if not can(request.user, Permission.STUDENT_READ, found):
        raise PermissionDenied
    return found


@router.get("/schools/{code}/review", response=list[ProblemOut])
def school_review(request: HttpRequest, code: str) -> list[dict[str, str]]:
    school = get_object_or_404(School, code=code)
    if not can(request.user, Permission.DATA_REVIEW_READ, school):
        raise PermissionDenied
    visible = scoped(request.user, Permission.STUDENT_READ, Student.objects.all())
    return [
        {
            "school": p.school_code,
            "class_name": p.class_name,
            "student_code": p.student_code,
            "full_name": p.full_name,
            "code": p.problem.code.value,
            "field": p.problem.field,
            "message": p.problem.message,
        }
        for p in review_students(visible, school=school)
    ]
