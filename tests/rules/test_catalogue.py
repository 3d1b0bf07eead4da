import pytest

from hocba.rules.catalogue import Level, Mode, regular_assessment_count, subject, subjects_for


@pytest.mark.parametrize(
    ("level", "code", "grade", "expected"),
    [
        (Level.THPT, "LICH_SU", 10, 3),
        (Level.THPT, "GDQP_AN", 11, 2),
        (Level.THPT, "TOAN", 12, 4),
        (Level.THPT, "NGU_VAN", 10, 4),
        (Level.THPT, "NGOAI_NGU_1", 10, 4),
        (Level.THPT, "VAT_LI", 10, 3),
        (Level.THCS, "TIN_HOC", 6, 2),
        (Level.THCS, "CONG_NGHE", 8, 3),
        (Level.THCS, "CONG_NGHE", 6, 2),
        (Level.THCS, "TOAN", 9, 4),
    ],
)
def test_regular_assessments_per_semester_follow_periods(level, code, grade, expected):
    periods = subject(level, code).periods_for(grade)
    assert regular_assessment_count(periods) == expected


def test_standard_thcs_timetable_has_eight_scored_and_four_comment_subjects():
    compulsory = [s for s in subjects_for(Level.THCS, 7) if s.kind == "compulsory"]
    assert sum(s.mode is Mode.SCORE for s in compulsory) == 8
    assert sum(s.mode is Mode.COMMENT for s in compulsory) == 4


def test_primary_grades_one_and_two_have_no_compulsory_foreign_language():
    assert "NGOAI_NGU_1" not in [s.code for s in subjects_for(Level.TH, 2)]
    assert "NGOAI_NGU_1" in [s.code for s in subjects_for(Level.TH, 3)]


def test_primary_periodic_tests():
    assert 3 in subject(Level.TH, "TOAN").periodic_test_grades
    assert subject(Level.TH, "DAO_DUC").periodic_test_grades == frozenset()


def test_unknown_subject_raises():
    with pytest.raises(KeyError):
        subject(Level.THCS, "LICH_SU")
