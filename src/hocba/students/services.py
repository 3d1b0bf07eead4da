"""The data-quality review of student identities (rà soát, chuẩn hóa dữ liệu).

A student with an open problem is refused a học bạ until the school fixes the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from hocba.identity import Problem, ProblemCode, find_duplicate_ids, review_student
from hocba.organizations.models import ClassGroup, School
from hocba.students.models import Enrolment, Student


@dataclass(frozen=True, slots=True)
class StudentProblem:
    """One problem of one student, with where the student studies now."""

    student_id: int
    student_code: str
    full_name: str
    school_code: str
    class_name: str
    problem: Problem

    def as_dict(self) -> dict[str, str | int]:
        return {
            "school": self.school_code,
            "class": self.class_name,
            "student_code": self.student_code,
            "full_name": self.full_name,
            "code": self.problem.code.value,
            "field": self.problem.field,
            "message": self.problem.message,
        }


def _current_enrolments() -> Prefetch[Enrolment]:
    return Prefetch(
        "enrolments",
        queryset=Enrolment.objects.filter(date_left__isnull=True)
        .select_related("class_group__school")
        .order_by("-class_group__school_year__name"),
        to_attr="open_enrolments",
    )


def review_students(
    students: QuerySet[Student] | None = None,
    school: School | None = None,
    today: dt.date | None = None,
) -> list[StudentProblem]:
    """Every identity problem of the given students (all students by default, or those now
    enrolled at `school`). Duplicate personal ID numbers are looked for among all students in
    the database, so a number reused at another school is found from either side."""
    today = today or timezone.localdate()
    queryset = Student.objects.all() if students is None else students
    if school is not None:
        queryset = queryset.filter(
            enrolments__class_group__school=school, enrolments__date_left__isnull=True
        ).distinct()
    queryset = queryset.prefetch_related(_current_enrolments()).order_by("student_code")
    selected = list(queryset)
    ids = {s.personal_id for s in selected if s.personal_id}
    holders = Student.objects.filter(personal_id__in=ids).prefetch_related(_current_enrolments())
    by_pk = {s.pk: s for s in holders}
    duplicates = find_duplicate_ids((s.pk, s.personal_id) for s in by_pk.values())

    results: list[StudentProblem] = []
    for student in selected:
        problems = list(review_student(student.identity(), today))
        for other_pk in duplicates.get(student.pk, ()):
            other = by_pk[other_pk]
            where = _where(other)
            problems.append(
                Problem(
                    ProblemCode.PERSONAL_ID_DUPLICATE,
                    "personal_id",
                    f"Mã định danh {student.personal_id} trùng với học sinh {other.full_name} "
                    f"(mã học sinh {other.student_code}{where})",
                )
            )
        school_code, class_name = _location(student)
        results.extend(
            StudentProblem(
                student_id=student.pk,
                student_code=student.student_code,
                full_name=student.full_name,
                school_code=school_code,
                class_name=class_name,
                problem=problem,
            )
            for problem in problems
        )
    return results


def _location(student: Student) -> tuple[str, str]:
    enrolments: list[Enrolment] = getattr(student, "open_enrolments", [])
    if not enrolments:
        return "", ""
    class_group = enrolments[0].class_group
    return class_group.school.code, class_group.name


def _where(student: Student) -> str:
    school_code, class_name = _location(student)
    return f", lớp {class_name} trường {school_code}" if school_code else ""


def grades_in(class_group: ClassGroup, student_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Each enrolled student's own grade in the class (by student id): the class's grade, or in
    a combined class the grade on the pupil's enrolment."""
    enrolments = Enrolment.objects.filter(class_group=class_group)
    if student_ids is not None:
        enrolments = enrolments.filter(student_id__in=list(student_ids))
    if not class_group.is_combined:
        return dict.fromkeys(enrolments.values_list("student_id", flat=True), class_group.grade)
    return {
        student_id: grade or class_group.grade
        for student_id, grade in enrolments.values_list("student_id", "grade")
    }
