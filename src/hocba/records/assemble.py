"""From the grade book and the student's data to the record dataclasses (`hocba.formats.model`).

Everything a record needs must be present and final; otherwise `NotReady` lists what is missing,
in Vietnamese, for the school to fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from hocba.formats import model as m
from hocba.gradebook.compute import studies
from hocba.gradebook.models import ClassSubject, HomeroomRecord, SubjectRemark, YearResult
from hocba.identity.review import review_student
from hocba.organizations.geography import Issuer, issuer_as_of, record_date
from hocba.organizations.models import ClassGroup, Role, RoleAssignment, School
from hocba.rules.catalogue import Level
from hocba.rules.labels import (
    PROGRAMMES,
    PROMOTED_AFTER_SUMMER_WORDING,
    WAITING_FOR_DECISION,
    WAITING_FOR_SUMMER,
    Circular,
    Outcome,
    programme_completed,
    programme_not_completed,
)
from hocba.rules.outcome import SubjectOutcome
from hocba.students.models import Enrolment, Student


class NotReady(ValueError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _person(assignment: RoleAssignment | None, position: str = "") -> m.Person | None:
    if assignment is None:
        return None
    return m.Person(assignment.staff.personal_id, assignment.staff.full_name, position)


def _outcome(
    level: str, grade: int, outcome: Outcome | None, decision: str
) -> tuple[Outcome, str, bool, bool] | str:
    """(outcome, text as the học bạ writes it, promoted, completes level) or a reason."""
    if outcome is Outcome.PENDING_SUMMER:
        return WAITING_FOR_SUMMER
    if outcome is Outcome.PENDING_DECISION:
        if not decision:
            return WAITING_FOR_DECISION
        outcome = Outcome(decision)
    closing = level != Level.TH and grade in PROGRAMMES  # grade 9 or 12 ends a programme
    if outcome is Outcome.COMPLETED:
        text = programme_completed(5) if grade == 5 else Outcome.COMPLETED.label
        return outcome, text, True, grade == 5
    if outcome is Outcome.PROMOTED or outcome is Outcome.PROMOTED_AFTER_SUMMER:
        if closing:
            text = programme_completed(grade)
        elif outcome is Outcome.PROMOTED:
            text = Outcome.PROMOTED.label
        else:
            text = PROMOTED_AFTER_SUMMER_WORDING
        return outcome, text, True, closing
    if closing:
        return Outcome.RETAINED, programme_not_completed(grade), False, False
    return Outcome.RETAINED, Outcome.RETAINED.label, False, False


def _own_grade(class_group: ClassGroup, enrolments: Sequence[Enrolment]) -> int:
    """The student's grade in the class: in a combined class, the one on their enrolment."""
    for enrolment in enrolments:
        if enrolment.class_group_id == class_group.pk and enrolment.grade:
            return enrolment.grade
    return class_group.grade


def _value(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ClassStaff:
    """What the records of a class are built from, read once for the class: its subjects in
    order, who teaches each, its homeroom teacher and the school's principal, and, for the
    students given to `of`, their results, homeroom records, subject remarks and enrolments (a
    student not among them is read when their record is built)."""

    subjects: tuple[ClassSubject, ...]
    teachers: dict[str, m.Person | None]
    homeroom: m.Person | None
    principal: m.Person | None
    results: dict[int, YearResult] = field(default_factory=dict)
    homerooms: dict[int, HomeroomRecord] = field(default_factory=dict)
    remarks: dict[int, dict[str, str]] = field(default_factory=dict)
    enrolments: dict[int, list[Enrolment]] = field(default_factory=dict)
    students: frozenset[int] = frozenset()
    issuers: dict[tuple[int, dt.date], Issuer] = field(default_factory=dict)
    """Each school's identity on a date, read once for the class's records."""

    def issuer_on(self, school: School, day: dt.date) -> Issuer:
        """`school` as it was named and placed on `day`."""
        key = (school.pk, day)
        if key not in self.issuers:
            self.issuers[key] = issuer_as_of(school, day)
        return self.issuers[key]

    def result_of(self, class_group: ClassGroup, student: Student) -> YearResult | None:
        if student.pk in self.students:
            return self.results.get(student.pk)
        return YearResult.objects.filter(class_group=class_group, student=student).first()

    def homeroom_of(self, class_group: ClassGroup, student: Student) -> HomeroomRecord | None:
        if student.pk in self.students:
            return self.homerooms.get(student.pk)
        return HomeroomRecord.objects.filter(class_group=class_group, student=student).first()

    def remarks_of(self, class_group: ClassGroup, student: Student) -> dict[str, str]:
        if student.pk in self.students:
            return self.remarks.get(student.pk, {})
        return {
            r.class_subject.subject_code: r.text
            for r in _remarks(class_group).filter(student=student)
        }

    def enrolments_of(self, student: Student) -> list[Enrolment]:
        if student.pk in self.students:
            return self.enrolments.get(student.pk, [])
        return list(_enrolments().filter(student=student))

    @classmethod
    def of(cls, class_group: ClassGroup, students: Sequence[Student] = ()) -> ClassStaff:
        assignments = RoleAssignment.objects.filter(active=True).select_related("staff")
        teachers = {
            a.subject_code: _person(a)
            for a in assignments.filter(role=Role.SUBJECT_TEACHER, class_group=class_group)
        }
        homeroom = assignments.filter(role=Role.HOMEROOM_TEACHER, class_group=class_group).first()
        principal = assignments.filter(role=Role.PRINCIPAL, school=class_group.school).first()
        return cls(
            subjects=tuple(
                ClassSubject.objects.filter(class_group=class_group).order_by("position")
            ),
            teachers=teachers,
            homeroom=_person(homeroom),
            principal=_person(principal, principal.staff.position if principal else ""),
            **_rows_of(class_group, [s.pk for s in students]),
        )


def _remarks(class_group: ClassGroup) -> QuerySet[SubjectRemark]:
    return SubjectRemark.objects.filter(class_subject__class_group=class_group).select_related(
        "class_subject"
    )


def _enrolments() -> QuerySet[Enrolment]:
    return Enrolment.objects.select_related(
        "class_group__school_year", "class_group__school"
    ).order_by("class_group__school_year__name", "date_joined")


def _rows_of(class_group: ClassGroup, ids: list[int]) -> dict[str, Any]:
    """The per-student rows of `ClassStaff` for the students `ids`, one query each kind (the
    first of each kind by id, as `.first()` takes it)."""
    if not ids:
        return {}
    results: dict[int, YearResult] = {}
    for result in YearResult.objects.filter(class_group=class_group, student_id__in=ids).order_by(
        "pk"
    ):
        results.setdefault(result.student_id, result)
    homerooms: dict[int, HomeroomRecord] = {}
    for homeroom in HomeroomRecord.objects.filter(
        class_group=class_group, student_id__in=ids
    ).order_by("pk"):
        homerooms.setdefault(homeroom.student_id, homeroom)
    remarks: dict[int, dict[str, str]] = {}
    for remark in _remarks(class_group).filter(student_id__in=ids):
        remarks.setdefault(remark.student_id, {})[remark.class_subject.subject_code] = remark.text
    enrolments: dict[int, list[Enrolment]] = {}
    for enrolment in _enrolments().filter(student_id__in=ids):
        enrolments.setdefault(enrolment.student_id, []).append(enrolment)
    return {
        "results": results,
        "homerooms": homerooms,
        "remarks": remarks,
        "enrolments": enrolments,
        "students": frozenset(ids),
    }


def assemble(
    student: Student,
    class_group: ClassGroup,
    envelope: m.Envelope,
    today: dt.date,
    staff: ClassStaff | None = None,
) -> m.Record:
    """The record of `student` in `class_group`; NotReady lists what is missing. Nothing is
    made up: a student without a date of birth is refused with the identity review's list.
    `staff`: the class's `ClassStaff` when the caller builds several of its records."""
    if student.date_of_birth is None:
        raise NotReady([p.message for p in review_student(student.identity(), today)])
    reasons: list[str] = []
    staff = staff or ClassStaff.of(class_group)
    result = staff.result_of(class_group, student)
    homeroom = staff.homeroom_of(class_group, student)
    if result is None or not result.complete:
        reasons += result.missing if result else ["Chưa có kết quả học tập"]
        raise NotReady(reasons)
    year = result.year_outcome
    grade = _own_grade(class_group, staff.enrolments_of(student))
    outcome = _outcome(
        class_group.level, grade, year.outcome,
        homeroom.promotion_decision if homeroom else "",
    )  # fmt: skip
    if isinstance(outcome, str):
        raise NotReady([outcome])
    code, text, promoted, completes = outcome

    school = class_group.school
    teachers, homeroom_teacher, principal = staff.teachers, staff.homeroom, staff.principal
    if homeroom_teacher is None:
        reasons.append("Lớp chưa có giáo viên chủ nhiệm")
    if principal is None:
        reasons.append("Trường chưa có hiệu trưởng")
    remarks = staff.remarks_of(class_group, student)
    subjects: list[m.SubjectResult] = []
    primary = class_group.level == Level.TH
    for cs in staff.subjects:
        if not studies(cs, grade):
            continue
        teacher = teachers.get(cs.subject_code)
        if teacher is None:
            reasons.append(f"Môn {cs.name} chưa phân công giáo viên")
            continue
        values = year.subject(cs.subject_code) or SubjectOutcome(cs.subject_code)
        if primary:
            if not remarks.get(cs.subject_code, "").strip():
                # TT27 Điều 6, 7: a subject's evaluation is the teacher's remark and the level;
                # the record of a pupil is not built while a subject lacks its remark
                reasons.append(f"Môn {cs.name}: thiếu nhận xét của giáo viên bộ môn")
                continue
            subjects.append(
                m.SubjectResult(
                    cs.subject_code,
                    cs.name,
                    teacher,
                    level=_value(values.level),
                    test=_value(values.test),
                    comment=remarks.get(cs.subject_code, ""),
                )
            )
        else:
            subjects.append(
                m.SubjectResult(
                    cs.subject_code,
                    cs.name,
                    teacher,
                    hk1=_value(values.shown("hk1")),
                    hk2=_value(values.shown("hk2")),
                    year=_value(values.shown("year")),
                    retake=_value(values.shown("retake")),
                    comment=remarks.get(cs.subject_code, ""),
                )
            )
    if reasons or homeroom_teacher is None or principal is None:
        raise NotReady(reasons)

    comment = (homeroom.comment if homeroom else "").strip()
    if not comment:
        raise NotReady(["Thiếu nhận xét của giáo viên chủ nhiệm"])
    record_homeroom = homeroom
    assert record_homeroom is not None
    summary = m.Summary(
        promoted=promoted,
        outcome=code,
        outcome_text=text,
        completes_level=completes,
        absences=f"{record_homeroom.absences:.1f}",
        homeroom_comment=comment,
        learning_hk1=_value(year.learning_hk1),
        learning_hk2=_value(year.learning_hk2),
        learning_year=_value(year.learning),
        learning_after_retake=_value(year.learning_after_retake),
        adjusted_for=_value(year.adjusted_for),
        conduct_hk1=_value(year.conduct_hk1),
        conduct_hk2=_value(year.conduct_hk2),
        conduct_year=_value(year.conduct),
        conduct_after_summer=_value(year.conduct_after_summer),
        primary_result=_value(year.primary_result) if primary else "",
        qualities=tuple(m.Mark(k, v) for k, v in record_homeroom.qualities.items())
        if primary
        else (),
        competencies=tuple(m.Mark(k, v) for k, v in record_homeroom.competencies.items())
        if primary
        else (),
        qualities_comment=record_homeroom.qualities_comment if primary else "",
        competencies_comment=record_homeroom.competencies_comment if primary else "",
        awards=record_homeroom.awards,
        award_title=_value(year.award),
        certificates=tuple(
            line.strip() for line in record_homeroom.certificates.splitlines() if line.strip()
        ),
        contests=record_homeroom.contests,
    )
    # the issuer as on the date the record speaks for (docs/geography.md), and each earlier
    # school as it was named in its own year
    issuer = staff.issuer_on(school, record_date(class_group.school_year))
    history = tuple(
        m.HistoryRow(
            e.class_group.school_year.name,
            e.class_group.name,
            (
                past := staff.issuer_on(e.class_group.school, e.class_group.school_year.end_date)
            ).school_name,
            past.province_name,
            e.date_joined if e.join_reason == "TRANSFER_IN" else None,
        )
        for e in staff.enrolments_of(student)
        if e.class_group.school_year.name <= class_group.school_year.name
    )
    return m.Record(
        envelope=envelope,
        school=m.School(
            province_office_code=issuer.province_office_code,
            province_office_name=issuer.province_office_name,
            code=issuer.school_code,
            name=issuer.school_name,
            level=class_group.level,
            commune_name=issuer.commune_name,
            province_name=issuer.province_name,
            province_code=issuer.province_code,
            commune_code=issuer.commune_code,
            district_name=issuer.district_name,
            tax_code=school.tax_code,
            authority_name=issuer.authority_name,
        ),
        student=m.Student(
            personal_id=student.personal_id,
            student_code=student.student_code,
            full_name=student.full_name,
            date_of_birth=student.date_of_birth,
            sex=student.sex,
            ethnicity=student.ethnicity,
            nationality=student.nationality,
            birthplace=m.Place(
                student.birthplace,
                student.birthplace_commune_code,
                student.birthplace_province_code,
            ),
            hometown=m.Place(
                student.hometown, student.hometown_commune_code, student.hometown_province_code
            ),
            current_address=m.Place(
                student.current_address, student.current_commune_code, student.current_province_code
            ),
            register_no=student.register_no,
            father_name=student.father_name,
            father_occupation=student.father_occupation,
            mother_name=student.mother_name,
            mother_occupation=student.mother_occupation,
            guardian_name=student.guardian_name,
            guardian_occupation=student.guardian_occupation,
            policy_category=student.policy_category,
            disability_not_assessed=student.disability_not_assessed,
        ),
        grade=grade,
        class_name=class_group.name,
        history=history,
        subjects=tuple(subjects),
        summary=summary,
        confirmation=m.Confirmation(
            homeroom_teacher=homeroom_teacher,
            principal=principal,
            place=issuer.province_name.removeprefix("Tỉnh ").removeprefix("Thành phố "),
            created_on=today,
        ),
    )


def circular_for(class_group: ClassGroup) -> str:
    """The circular as the record cites it ("22/2021/TT-BGDĐT")."""
    return Circular.of_level(class_group.level).number
