"""The grade book evaluates with the rules' typed inputs and stores one `YearOutcome` that every
page, the class book and the record read; the migration that brought old rows to its shape."""

import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import translation
from openpyxl import load_workbook

from hocba.gradebook import excel
from hocba.gradebook.compute import recompute
from hocba.gradebook.models import (
    Assessment,
    ClassSubject,
    HomeroomRecord,
    Kind,
    Term,
    YearResult,
)
from hocba.rules.contract import evaluate
from hocba.rules.labels import Circular, Outcome
from hocba.rules.outcome import to_json
from tests.factories.database import current_class
from tests.web.test_i18n import english

pytestmark = pytest.mark.django_db

shapes = importlib.import_module("hocba.gradebook.migrations.0003_year_outcome_shape")


def stored(class_group, student) -> YearResult:
    return YearResult.objects.get(class_group=class_group, student=student)


def test_every_demo_result_is_one_stored_year_outcome(demo):
    results = list(YearResult.objects.select_related("class_group"))
    assert results
    for result in results:
        year = result.year_outcome
        assert to_json(year) == result.data
        assert result.outcome == (year.outcome or "")
        codes = list(result.class_group.subjects.order_by("position").values_list(
            "subject_code", flat=True))  # fmt: skip
        assert [s.code for s in year.subjects] == codes


def test_an_exempt_subject_shows_m_and_the_year_still_has_an_outcome(toan_7a, student_7a):
    gdcd = ClassSubject.objects.get(class_group=toan_7a.class_group, subject_code="GDCD")
    cell = Assessment.objects.filter(class_subject=gdcd, student=student_7a).first()
    Assessment.objects.filter(pk=cell.pk).update(score=None, code="M")
    recompute(toan_7a.class_group, [student_7a.pk])
    year = stored(toan_7a.class_group, student_7a).year_outcome
    assert year.subject("GDCD").exempt
    assert [year.subject("GDCD").shown(p) for p in ("hk1", "hk2", "year")] == ["M"] * 3
    assert year.complete


def test_a_missing_mark_keeps_the_semesters_known_and_names_what_is_missing(toan_7a, student_7a):
    Assessment.objects.filter(
        class_subject=toan_7a, student=student_7a, term=Term.HK2, kind=Kind.CK
    ).delete()
    recompute(toan_7a.class_group, [student_7a.pk])
    result = stored(toan_7a.class_group, student_7a)
    toan = result.year_outcome.subject("TOAN")
    assert not result.complete and result.outcome == ""
    assert result.year_outcome.outcome is None
    assert isinstance(toan.hk1, Decimal) and toan.hk2 is None and toan.year is None
    assert result.missing == ["Toán HK II: thiếu đánh giá cuối kì"]


def test_more_regular_marks_than_the_periods_allow_are_named_not_guessed(toan_7a, student_7a):
    ClassSubject.objects.filter(pk=toan_7a.pk).update(periods_per_year=35)  # 2 TX, not 4
    recompute(toan_7a.class_group, [student_7a.pk])
    result = stored(toan_7a.class_group, student_7a)
    assert not result.complete
    assert result.missing[0] == (
        "Toán HK I (35 tiết/năm) cần đúng 2 điểm đánh giá thường xuyên mỗi học kì, đã nhập 4"
    )


def test_the_class_summary_writes_outcomes_in_the_readers_language(demo, login):
    client = login("gvcn.chuvanan.7a")
    page = f"/gradebook/classes/{current_class('7A').pk}/"
    assert "Được lên lớp" in client.get(page).content.decode()
    try:
        body = english(client).get(page).content.decode()
    finally:
        translation.deactivate()
    assert "Promoted" in body and "Được lên lớp" not in body


def test_the_class_book_export_writes_outcomes_and_awards_in_words(toan_7a):
    book = load_workbook(io.BytesIO(excel.export_class_book(toan_7a.class_group)))
    summary = book["Tong hop"]
    header = [c.value for c in summary[3]]
    outcomes = {summary.cell(r, header.index("Kết quả") + 1).value for r in range(4, 40)}
    assert Outcome.PROMOTED.label in outcomes
    assert not {o.value for o in Outcome} & outcomes


def test_the_migration_takes_old_rows_to_the_new_shape_and_back(demo):
    before = dict(YearResult.objects.values_list("pk", "data"))
    shapes.backward(apps, None)
    old = dict(YearResult.objects.values_list("pk", "data"))
    assert all("shape" not in data and isinstance(data["subjects"], dict) for data in old.values())
    promoted = next(d for d in old.values() if d.get("outcome") == "PROMOTED" and "learning" in d)
    assert set(promoted) == {
        "subjects", "learning", "conduct", "summer", "outcome", "completes_level", "award"
    }  # fmt: skip
    shapes.forward(apps, None)
    assert dict(YearResult.objects.values_list("pk", "data")) == before


def _command_line_input(result: YearResult) -> dict:
    """What a school would give `hocba rules evaluate` for this student: the grade book's
    semester results and homeroom entries, in the contract's shape."""
    class_group, year = result.class_group, result.year_outcome
    homeroom = HomeroomRecord.objects.get(class_group=class_group, student=result.student)
    modes = dict(class_group.subjects.values_list("subject_code", "mode"))
    common = {"grade": class_group.grade, "disability_plan": homeroom.disability_plan}
    if year.circular is Circular.TT27:
        subjects = [
            {"code": s.code, "level": s.level.value}
            | ({"test": s.test} if s.test is not None else {})
            for s in year.subjects
        ]
        return common | {
            "regulation": "TT27", "level": "TH", "subjects": subjects,
            "qualities": homeroom.qualities, "competencies": homeroom.competencies,
            "outstanding": homeroom.outstanding,
        }  # fmt: skip
    subjects = [
        {"code": s.code, "mode": modes[s.code]}
        | ({"exempt": True} if s.exempt else {"hk1": s.shown("hk1"), "hk2": s.shown("hk2")})
        for s in year.subjects
    ]
    summer = {"summer_conduct": homeroom.summer_conduct} if homeroom.summer_conduct else {}
    return common | summer | {
        "regulation": year.circular.value, "level": class_group.level, "subjects": subjects,
        "conduct": {"hk1": homeroom.conduct_hk1, "hk2": homeroom.conduct_hk2},
        "absences": str(homeroom.absences),
        "retake": {s.code: s.shown("retake") for s in year.subjects if s.retake is not None},
    }  # fmt: skip


def test_the_grade_book_and_hocba_rules_evaluate_agree_on_every_demo_student(demo):
    results = YearResult.objects.filter(complete=True).select_related("class_group", "student")
    assert results.count() >= 20
    for result in results:
        year = result.year_outcome
        answer = evaluate(_command_line_input(result))
        assert answer["outcome"] == year.outcome
        assert answer["award"] == year.award
        assert answer["completes_level"] == year.completes_level
        if year.circular is Circular.TT27:
            assert answer["result"] == year.primary_result
            continue
        assert answer["learning"] == {
            "hk1": year.learning_hk1, "hk2": year.learning_hk2, "year": year.learning,
            "year_before_adjustment": year.learning_before_adjustment,
            "adjusted_for": year.adjusted_for, "after_retake": year.learning_after_retake,
        }  # fmt: skip
        assert answer["conduct"]["after_summer"] == year.conduct_after_summer
        assert answer["summer"]["retake_subjects"] == list(year.retake_subjects)
        assert {c: v["year"] for c, v in answer["subjects"].items()} == {
            s.code: s.shown("year") for s in year.subjects
        }
