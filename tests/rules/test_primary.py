"""TT27: the primary end-of-year result, completion and awards."""

from hocba.rules.labels import Award, Outcome, PrimaryResult, QualityLevel, SubjectLevel
from hocba.rules.primary import (
    GENERAL_COMPETENCIES,
    QUALITIES,
    PrimarySubject,
    PrimaryYear,
    competencies_for,
    evaluate_primary,
)

T, H, C, M = SubjectLevel.T, SubjectLevel.H, SubjectLevel.C, SubjectLevel.M


def pupil(levels=(T, T, T), tests=(9, 10), marks=QualityLevel.T, grade=5, **kw):
    codes = ("TIENG_VIET", "TOAN", "DAO_DUC")
    subjects = tuple(
        PrimarySubject(code, level, tests[i] if i < len(tests) else None)
        for i, (code, level) in enumerate(zip(codes, levels, strict=True))
    )
    qualities = dict.fromkeys(QUALITIES, marks)
    competencies = dict.fromkeys(competencies_for(grade), marks)
    return PrimaryYear(grade, subjects, qualities, competencies, **kw)


def test_hoan_thanh_xuat_sac_needs_everything_good_and_tests_at_nine():
    result = evaluate_primary(pupil())
    assert result.result is PrimaryResult.HTXS
    assert result.award is Award.XUAT_SAC
    assert result.completes_level


def test_a_test_below_nine_gives_hoan_thanh_tot():
    assert evaluate_primary(pupil(tests=(8, 10))).result is PrimaryResult.HTT


def test_hoan_thanh_tot_with_class_recognition_is_hoc_sinh_tieu_bieu():
    assert evaluate_primary(pupil(tests=(7, 8), outstanding=True)).award is Award.TIEU_BIEU
    assert evaluate_primary(pupil(tests=(7, 8))).award is None


def test_one_subject_hoan_thanh_gives_hoan_thanh():
    assert evaluate_primary(pupil(levels=(T, H, T))).result is PrimaryResult.HT


def test_a_quality_at_dat_gives_hoan_thanh():
    assert evaluate_primary(pupil(marks=QualityLevel.D)).result is PrimaryResult.HT


def test_a_test_below_five_gives_chua_hoan_thanh_and_no_automatic_retention():
    result = evaluate_primary(pupil(tests=(4, 9)))
    assert result.result is PrimaryResult.CHT
    assert result.outcome is Outcome.PENDING_DECISION
    assert not result.completes_level


def test_a_subject_not_completed_gives_chua_hoan_thanh():
    assert evaluate_primary(pupil(levels=(T, C, T))).result is PrimaryResult.CHT


def test_a_competency_needing_effort_gives_chua_hoan_thanh():
    assert evaluate_primary(pupil(marks=QualityLevel.C)).result is PrimaryResult.CHT


def test_exempt_subjects_do_not_count():
    assert evaluate_primary(pupil(levels=(T, T, M), tests=(9, 9))).result is PrimaryResult.HTXS


def test_only_grade_five_completes_primary():
    assert not evaluate_primary(pupil(grade=4)).completes_level
    assert evaluate_primary(pupil(grade=4)).outcome is Outcome.COMPLETED


def test_grades_one_and_two_have_eight_competencies():
    assert len(competencies_for(1)) == 8 and len(competencies_for(3)) == 10
    assert competencies_for(2)[:3] == GENERAL_COMPETENCIES
