"""Writing the grade book: who may, what is refused, and what is recomputed."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from hocba.audit.models import AuditEvent
from hocba.gradebook.models import Assessment, ClassSubject, Kind, Term, YearResult
from hocba.gradebook.services import (
    CellChange,
    ValidationFailed,
    save_assessments,
    save_homeroom,
)
from tests.factories.database import current_class, user

pytestmark = pytest.mark.django_db


def cell(student, value, term=Term.HK1, kind=Kind.TX, seq=1):
    return CellChange(student.pk, term, kind, seq, value)


def test_assigned_teacher_saves_a_score_and_results_are_recomputed(toan_7a, student_7a):
    teacher = user("gv.chuvanan.toan.k7")
    before = YearResult.objects.get(class_group=toan_7a.class_group, student=student_7a)
    old_year = before.year_outcome.subject("TOAN").year
    changed = save_assessments(
        teacher, toan_7a,
        [cell(student_7a, "0", kind=Kind.CK), cell(student_7a, "0", term=Term.HK2, kind=Kind.CK)],
    )  # fmt: skip
    assert changed == 2
    stored = Assessment.objects.get(
        class_subject=toan_7a, student=student_7a, term=Term.HK1, kind=Kind.CK
    )
    assert stored.score == Decimal("0.0") and stored.entered_by == teacher
    after = YearResult.objects.get(class_group=toan_7a.class_group, student=student_7a)
    assert after.year_outcome.subject("TOAN").year < old_year
    event = AuditEvent.objects.filter(action="gradebook.assessments").latest("id")
    assert event.actor == teacher and event.new[0]["new"] == "0,0"


def test_comma_decimal_is_accepted(toan_7a, student_7a):
    save_assessments(user("gv.chuvanan.toan.k7"), toan_7a, [cell(student_7a, "8,5")])
    stored = Assessment.objects.get(
        class_subject=toan_7a, student=student_7a, term=Term.HK1, kind=Kind.TX, seq=1
    )
    assert stored.score == Decimal("8.5")


def test_one_bad_value_writes_nothing_and_names_the_problem(toan_7a, student_7a):
    teacher = user("gv.chuvanan.toan.k7")
    before = list(Assessment.objects.filter(class_subject=toan_7a).values_list("score", flat=True))
    with pytest.raises(ValidationFailed) as failed:
        save_assessments(
            teacher, toan_7a,
            [cell(student_7a, "9", seq=1), CellChange(student_7a.pk, "HK1", "TX", 2, "11", "E8")],
        )  # fmt: skip
    assert failed.value.errors == ["E8: điểm 11 ngoài khoảng 0–10"]
    after = list(Assessment.objects.filter(class_subject=toan_7a).values_list("score", flat=True))
    assert before == after


def test_precision_and_columns_are_checked(toan_7a, student_7a):
    teacher = user("gv.chuvanan.toan.k7")
    with pytest.raises(ValidationFailed) as failed:
        cells = [cell(student_7a, "8.25"), cell(student_7a, "7", seq=5)]
        save_assessments(teacher, toan_7a, [*cells, cell(student_7a, "abc", seq=2)])
    assert len(failed.value.errors) == 3
    assert "nhiều hơn một chữ số thập phân" in failed.value.errors[0]
    assert "không có cột điểm này" in failed.value.errors[1]  # Toán 140 tiết: 4 TX only
    assert "không phải là điểm số" in failed.value.errors[2]


def test_another_subjects_teacher_cannot_write(toan_7a, student_7a):
    for username in ("gv.chuvanan.nguvan.k7", "gv.chuvanan.toan.k8", "gvcn.chuvanan.7a",
                     "ht.chuvanan", "quantri"):  # fmt: skip
        with pytest.raises(PermissionDenied):
            save_assessments(user(username), toan_7a, [cell(student_7a, "5")])


def test_a_student_of_another_class_is_refused(toan_7a):
    other = current_class("8A").enrolments.first().student
    with pytest.raises(ValidationFailed) as failed:
        save_assessments(user("gv.chuvanan.toan.k7"), toan_7a, [cell(other, "5")])
    assert "không thuộc lớp 7A" in failed.value.errors[0]


def test_only_the_homeroom_teacher_writes_conduct(toan_7a, student_7a):
    class_group = toan_7a.class_group
    with pytest.raises(PermissionDenied):
        save_homeroom(user("gv.chuvanan.toan.k7"), class_group, student_7a, {"conduct_hk1": "K"})
    with pytest.raises(PermissionDenied):
        save_homeroom(user("gvcn.chuvanan.8a"), class_group, student_7a, {"conduct_hk1": "K"})
    record = save_homeroom(user("gvcn.chuvanan.7a"), class_group, student_7a,
                           {"conduct_hk1": "CĐ", "conduct_hk2": "CĐ"})  # fmt: skip
    assert record.conduct_hk1 == "CĐ"
    result = YearResult.objects.get(class_group=class_group, student=student_7a)
    assert result.year_outcome.summer_training is True


def test_conduct_codes_are_validated(toan_7a, student_7a):
    with pytest.raises(ValidationFailed) as failed:
        save_homeroom(user("gvcn.chuvanan.7a"), toan_7a.class_group, student_7a,
                      {"conduct_hk1": "X", "absences": "-3"})  # fmt: skip
    assert len(failed.value.errors) == 2


def test_comment_subjects_take_dat_or_chua_dat(demo, student_7a):
    gdtc = ClassSubject.objects.get(class_group=current_class("7A"), subject_code="GDTC")
    teacher = user("gv.chuvanan.gdtc.k7")
    save_assessments(teacher, gdtc, [cell(student_7a, "cd", kind=Kind.CK)])
    stored = Assessment.objects.get(class_subject=gdtc, student=student_7a, term="HK1", kind="CK")
    assert stored.code == "CĐ"
    with pytest.raises(ValidationFailed):
        save_assessments(teacher, gdtc, [cell(student_7a, "8", kind=Kind.CK)])


def test_p4_primary_semester_one_test_is_stored_but_not_used_for_the_year(demo):
    from hocba.gradebook.models import ClassSubject

    class_group = current_class("3A", "25000101")
    toan = ClassSubject.objects.get(class_group=class_group, subject_code="TOAN")
    student = class_group.enrolments.first().student
    teacher = user("gvcn.kimdong.3a")
    year = [
        cell(student, "T", term=Term.HK2, kind=Kind.LEVEL),
        cell(student, "9", term=Term.HK2, kind=Kind.TEST),
    ]
    save_assessments(teacher, toan, year)
    stored = YearResult.objects.filter(class_group=class_group, student=student)
    before = stored.get().year_outcome.primary_result
    save_assessments(teacher, toan, [cell(student, "2", term=Term.HK1, kind=Kind.TEST)])
    after = stored.get().year_outcome.primary_result
    assert before == after
    with pytest.raises(ValidationFailed) as failed:
        save_assessments(teacher, toan, [cell(student, "8,5", term=Term.HK2, kind=Kind.TEST)])
    assert "số nguyên" in failed.value.errors[0]
