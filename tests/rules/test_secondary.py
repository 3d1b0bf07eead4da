"""TT22 / TT43: the worked examples of grading-rules.md §7 and the rules around them."""

from decimal import Decimal as D

import pytest

from hocba.rules.labels import Award, Circular, Outcome, Rating
from hocba.rules.options import Options
from hocba.rules.secondary import (
    ScoreAssessments,
    StudentYear,
    SubjectYear,
    classify,
    conduct_year,
    evaluate_year,
    learning_level,
    semester_average,
    year_average,
)


def scores(*values):
    return tuple(D(str(v)) for v in values)


# --- E1, E2: averages and rounding ----------------------------------------------------------


def test_e1_semester_and_year_average_with_four_regular_assessments():
    hk1 = semester_average(ScoreAssessments(scores(8, 7.5, 9, 6), D(7), D("8.5")))
    hk2 = semester_average(ScoreAssessments(scores(9, 8, 8.5, 9), D(8), D(9)))
    assert (hk1, hk2) == (D("7.8"), D("8.6"))
    assert year_average(hk1, hk2) == D("8.3")


def test_e2_exact_tie_rounds_half_up_not_to_even():
    assert semester_average(ScoreAssessments(scores(6, 6, 6), D(7), D(6))) == D("6.3")
    assert semester_average(ScoreAssessments(scores(6, 6.5, 6.1), D(6), D(7))) == D("6.5")


def test_e2_year_average_reaches_the_threshold():
    assert year_average(D("6.6"), D("6.4")) == D("6.5")


def test_chuyen_de_score_widens_the_denominator():
    # 3 ĐĐGtx + 1 chuyên đề counted as a fourth: (6+7+8+9 + 2·7 + 3·8) / (4 + 5) = 68/9
    assert semester_average(ScoreAssessments(scores(6, 7, 8, 9), D(7), D(8))) == D("7.6")
    # without it: (6+7+8 + 14 + 24) / 8 = 59/8 = 7.375
    assert semester_average(ScoreAssessments(scores(6, 7, 8), D(7), D(8))) == D("7.4")


# --- E4: Tốt but only Học sinh Giỏi; conduct matrix -----------------------------------------


def year(regulation=Circular.TT22, grade=7, scored=(), comments=(), conduct=Rating.T, **kw):
    subjects = tuple(
        SubjectYear(f"S{i}", True, None, None, D(str(v))) for i, v in enumerate(scored)
    ) + tuple(SubjectYear(f"C{i}", False, None, None, v) for i, v in enumerate(comments))
    return StudentYear(regulation, grade, subjects, None, None, conduct, **kw)


GOOD_COMMENTS = (True, True, True, True)


def test_e4_good_learner_with_two_subjects_at_nine_is_hoc_sinh_gioi():
    conduct = conduct_year(Rating.K, Rating.T)
    assert conduct is Rating.T
    result = evaluate_year(
        year(
            scored=(8.5, 8.0, 9.1, 7.9, 8.2, 9.0, 6.8, 8.8), comments=GOOD_COMMENTS, conduct=conduct
        )
    )
    assert result.learning.level is Rating.T
    assert result.award is Award.GIOI
    assert result.outcome is Outcome.PROMOTED


def test_six_subjects_at_nine_make_hoc_sinh_xuat_sac():
    result = evaluate_year(
        year(scored=(9.0, 9.2, 9.5, 9.1, 9.9, 9.0, 7.0, 8.0), comments=GOOD_COMMENTS)
    )
    assert result.award is Award.XUAT_SAC


def test_no_award_without_good_conduct():
    result = evaluate_year(year(scored=(9.0,) * 8, comments=GOOD_COMMENTS, conduct=Rating.K))
    assert result.learning.level is Rating.T and result.award is None


@pytest.mark.parametrize(
    ("hk1", "hk2", "expected"),
    [
        ("T", "T", "T"), ("T", "K", "K"), ("T", "Đ", "K"), ("T", "CĐ", "CĐ"),
        ("K", "T", "T"), ("K", "K", "K"), ("K", "Đ", "Đ"), ("K", "CĐ", "CĐ"),
        ("Đ", "T", "K"), ("Đ", "K", "K"), ("Đ", "Đ", "Đ"), ("Đ", "CĐ", "CĐ"),
        ("CĐ", "T", "K"), ("CĐ", "K", "Đ"), ("CĐ", "Đ", "Đ"), ("CĐ", "CĐ", "CĐ"),
    ],
)  # fmt: skip
def test_conduct_year_matrix(hk1, hk2, expected):
    assert conduct_year(Rating(hk1), Rating(hk2)) is Rating(expected)


# --- learning thresholds --------------------------------------------------------------------


def test_thresholds_of_each_level():
    assert classify(scores(8, 8, 8, 8, 8, 8, 6.5, 6.5), [True], 6) is Rating.T
    assert classify(scores(8, 8, 8, 8, 8, 7.9, 6.5, 6.5), [True], 6) is Rating.K
    assert classify(scores(6.5, 6.5, 6.5, 6.5, 6.5, 6.5, 5, 5), [True], 6) is Rating.K
    assert classify(scores(6.5, 6.5, 6.5, 6.5, 6.5, 6.4, 5, 5), [True], 6) is Rating.D
    assert classify(scores(5, 5, 5, 5, 5, 5, 3.5, 3.5), [True, False], 6) is Rating.D
    assert classify(scores(5, 5, 5, 5, 5, 5, 3.4, 9), [True], 6) is Rating.CD
    assert classify(scores(5, 5, 5, 5, 4.9, 4.9, 9, 4), [True], 6) is Rating.CD
    assert classify(scores(5, 5, 5, 5, 5, 4.9, 9, 4), [True], 6) is Rating.D
    assert classify(scores(9, 9, 9, 9, 9, 9, 9, 9), [False, False], 6) is Rating.CD


def test_one_comment_subject_failed_caps_the_level_at_dat():
    assert classify(scores(9, 9, 9, 9, 9, 9, 9, 9), [False, True], 6) is Rating.D


def test_tt43_counts_five_subjects():
    seven = scores(8, 8, 8, 8, 8, 7, 7)
    assert classify(seven, [], 5) is Rating.T
    assert classify(seven, [], 6) is Rating.K
    result = evaluate_year(year(regulation=Circular.TT43, grade=10, scored=(8, 8, 8, 8, 8, 7, 7)))
    assert result.learning.level is Rating.T


# --- Điều 9 khoản 3: the adjustment ---------------------------------------------------------


def level_of(scored, comments=GOOD_COMMENTS, include=True):
    values = [(f"S{i}", D(str(v))) for i, v in enumerate(scored)]
    values += [(f"C{i}", v) for i, v in enumerate(comments)]
    return learning_level(values, 6, include)


def test_tot_lowered_to_dat_by_one_subject_becomes_kha():
    result = level_of((9, 9, 8.5, 8, 8, 8, 8, 4.5))
    assert (result.base, result.level, result.adjusted_for) == (Rating.D, Rating.K, "S7")


def test_tot_lowered_to_chua_dat_by_one_subject_becomes_dat():
    result = level_of((9, 9, 8.5, 8, 8, 8, 8, 3.0))
    assert (result.base, result.level, result.adjusted_for) == (Rating.CD, Rating.D, "S7")


def test_kha_lowered_to_chua_dat_by_one_subject_becomes_dat():
    result = level_of((7, 7, 7, 7, 7, 7, 7, 3.0))
    assert (result.base, result.level, result.adjusted_for) == (Rating.CD, Rating.D, "S7")


def test_a_drop_of_one_level_is_not_adjusted():
    result = level_of((9, 9, 9, 9, 9, 9, 9, 6.0))
    assert (result.base, result.level, result.adjusted_for) == (Rating.K, Rating.K, None)
    result = level_of((7, 7, 7, 7, 7, 7, 7, 4.5))
    assert (result.base, result.level, result.adjusted_for) == (Rating.D, Rating.D, None)


def test_two_weak_subjects_are_not_adjusted():
    result = level_of((9, 9, 9, 9, 9, 9, 4.5, 4.0))
    assert (result.base, result.level, result.adjusted_for) == (Rating.D, Rating.D, None)


def test_the_removed_subject_does_not_count_toward_the_quota():
    # without S6 only five subjects reach 8.0: the others alone must make Tốt
    result = level_of((9, 9, 9, 9, 9, 7, 4.5))
    assert result.base is Rating.D
    assert (result.level, result.adjusted_for) == (Rating.D, None)


def test_one_failed_comment_subject_triggers_the_adjustment_by_default():
    result = level_of((9,) * 8, comments=(True, False, True, True))
    assert (result.base, result.level, result.adjusted_for) == (Rating.D, Rating.K, "C1")
    strict = level_of((9,) * 8, comments=(True, False, True, True), include=False)
    assert (strict.base, strict.level, strict.adjusted_for) == (Rating.D, Rating.D, None)


def test_adjustment_uses_the_option_through_evaluate_year():
    student = year(scored=(9,) * 8, comments=(True, False, True, True))
    assert evaluate_year(student).learning.level is Rating.K
    off = Options(adjustment_includes_comment_subjects=False)
    assert evaluate_year(student, off).learning.level is Rating.D


# --- promotion, summer training, re-assessment, absences ------------------------------------

WEAK = (7, 7, 7, 7, 7, 7, 4.0, 4.5)


def test_promoted_with_good_results():
    result = evaluate_year(year(scored=(7,) * 8, comments=GOOD_COMMENTS))
    assert result.outcome is Outcome.PROMOTED and result.retake_subjects == ()


def test_every_failing_subject_must_be_retaken():
    result = evaluate_year(year(scored=(7, 7, 7, 7, 4.9, 4.9, 4.9, 3.0), comments=(True, False)))
    assert result.learning.level is Rating.CD
    assert result.retake_subjects == ("S4", "S5", "S6", "S7", "C1")
    assert result.outcome is Outcome.PENDING_SUMMER


def test_retake_results_replace_the_year_results():
    base = dict(scored=(7, 7, 7, 7, 7, 4.9, 4.9, 3.0), comments=GOOD_COMMENTS)
    assert evaluate_year(year(**base)).learning.level is Rating.CD
    passed = evaluate_year(year(**base, retake={"S5": D(5), "S6": D("6.5"), "S7": D("5.5")}))
    assert passed.learning_after_retake is Rating.K
    assert passed.outcome is Outcome.PROMOTED_AFTER_SUMMER
    failed = evaluate_year(year(**base, retake={"S5": D(3), "S6": D(3), "S7": D(3)}))
    assert failed.learning_after_retake is Rating.CD
    assert failed.outcome is Outcome.RETAINED


def test_partial_retake_results_leave_the_outcome_pending():
    result = evaluate_year(
        year(scored=(7, 7, 7, 7, 7, 4.9, 4.9, 3.0), comments=GOOD_COMMENTS, retake={"S7": D(6)})
    )
    assert result.outcome is Outcome.PENDING_SUMMER


def test_conduct_chua_dat_means_summer_training():
    pending = evaluate_year(year(scored=(7,) * 8, comments=GOOD_COMMENTS, conduct=Rating.CD))
    assert pending.summer_training and pending.outcome is Outcome.PENDING_SUMMER
    passed = evaluate_year(
        year(scored=(7,) * 8, comments=GOOD_COMMENTS, conduct=Rating.CD, summer_conduct=Rating.D)
    )
    assert passed.conduct_after_summer is Rating.D
    assert passed.outcome is Outcome.PROMOTED_AFTER_SUMMER
    failed = evaluate_year(
        year(scored=(7,) * 8, comments=GOOD_COMMENTS, conduct=Rating.CD, summer_conduct=Rating.CD)
    )
    assert failed.outcome is Outcome.RETAINED and failed.retake_subjects == ()


def test_both_conduct_and_learning_failed_then_both_summer_works():
    both = dict(scored=(7, 7, 7, 7, 7, 7, 4.0, 3.0), comments=GOOD_COMMENTS, conduct=Rating.CD)
    pending = evaluate_year(year(**both))
    assert pending.summer_training and pending.retake_subjects == ("S6", "S7")
    done = evaluate_year(year(**both, summer_conduct=Rating.D, retake={"S6": D(6), "S7": D(5)}))
    assert done.outcome is Outcome.PROMOTED_AFTER_SUMMER


def test_more_than_45_absences_means_retention_whatever_the_results():
    good = dict(scored=(9,) * 8, comments=GOOD_COMMENTS)
    assert evaluate_year(year(**good, absences=45)).outcome is Outcome.PROMOTED
    assert evaluate_year(year(**good, absences=46)).outcome is Outcome.RETAINED
    assert evaluate_year(year(**good, absences=D("45.5"))).outcome is Outcome.RETAINED


def test_awards_use_the_results_before_summer_work():
    retake = {"S6": D(9), "S7": D(9)}
    result = evaluate_year(year(scored=WEAK, comments=GOOD_COMMENTS, retake=retake))
    assert result.award is None


def test_last_grade_promotion_completes_the_level():
    assert evaluate_year(year(grade=9, scored=(7,) * 8, comments=GOOD_COMMENTS)).completes_level
    assert evaluate_year(year(grade=12, scored=(7,) * 8, comments=GOOD_COMMENTS)).completes_level
    assert not evaluate_year(year(grade=8, scored=(7,) * 8, comments=GOOD_COMMENTS)).completes_level
    retained = evaluate_year(year(grade=9, scored=(7,) * 8, comments=GOOD_COMMENTS, absences=50))
    assert not retained.completes_level


def test_disability_plan_leaves_the_decision_to_the_principal():
    result = evaluate_year(year(scored=(2,) * 8, comments=GOOD_COMMENTS, disability_plan=True))
    assert result.outcome is Outcome.PENDING_DECISION


def test_exempt_subjects_are_left_out_of_the_level():
    scored = [SubjectYear(f"S{i}", True, None, None, D(8)) for i in range(8)]
    subjects = (*scored, SubjectYear("GDTC", False, None, None, False, exempt=True))
    result = evaluate_year(StudentYear(Circular.TT22, 7, subjects, None, None, Rating.T))
    assert result.learning.level is Rating.T
