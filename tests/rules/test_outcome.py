"""The year outcome the grade book stores: its one serializer and the words it carries."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hocba.rules.labels import (
    Award,
    Circular,
    Labelled,
    Outcome,
    PrimaryResult,
    QualityLevel,
    Rating,
    SubjectLevel,
)
from hocba.rules.outcome import (
    SubjectOutcome,
    YearOutcome,
    from_json,
    secondary_outcome,
    to_json,
)
from hocba.rules.secondary import StudentYear, SubjectYear, evaluate_year

score = st.integers(0, 100).map(lambda n: Decimal(n) / 10)
mark = st.none() | st.booleans() | score
code = st.text(min_size=1, max_size=12)


def maybe(strategy):
    return st.none() | strategy


subjects = st.builds(
    SubjectOutcome,
    code=code,
    hk1=mark,
    hk2=mark,
    year=mark,
    retake=mark,
    exempt=st.booleans(),
    level=maybe(st.sampled_from(SubjectLevel)),
    test=maybe(st.integers(0, 10)),
)
ratings = maybe(st.sampled_from(Rating))
outcomes = st.builds(
    YearOutcome,
    circular=st.sampled_from(Circular),
    subjects=st.lists(subjects, max_size=14).map(tuple),
    outcome=maybe(st.sampled_from(Outcome)),
    learning_hk1=ratings,
    learning_hk2=ratings,
    learning=ratings,
    learning_before_adjustment=ratings,
    adjusted_for=maybe(code),
    learning_after_retake=ratings,
    conduct_hk1=ratings,
    conduct_hk2=ratings,
    conduct=ratings,
    conduct_after_summer=ratings,
    summer_training=st.booleans(),
    retake_subjects=st.lists(code, max_size=5).map(tuple),
    primary_result=maybe(st.sampled_from(PrimaryResult)),
    completes_level=st.booleans(),
    award=maybe(st.sampled_from(Award)),
)


@given(outcomes)
def test_every_year_outcome_comes_back_unchanged_from_its_stored_json(outcome):
    stored = json.loads(json.dumps(to_json(outcome)))  # what the database column gives back
    assert from_json(stored) == outcome


@given(outcomes)
def test_a_stored_outcome_keeps_its_subjects_in_order(outcome):
    assert [s["code"] for s in to_json(outcome)["subjects"]] == [s.code for s in outcome.subjects]


def test_a_stored_result_of_another_shape_is_refused_not_misread():
    command_line_answer = {"subjects": {"TOAN": {"year": "8.3"}}, "outcome": "PROMOTED"}
    with pytest.raises(ValueError):
        from_json(command_line_answer)
    broken = to_json(YearOutcome(Circular.TT22, (SubjectOutcome("TOAN", year=Decimal("8.3")),)))
    broken["subjects"][0]["year"] = "tám"
    with pytest.raises(ValueError):
        from_json(broken)


def test_an_evaluated_year_is_stored_with_its_outcome_levels_and_award():
    scored = ("TOAN", "NGU_VAN", "NGOAI_NGU_1", "GDCD", "KHTN", "TIN_HOC")
    subjects = (
        *(SubjectYear(c, True, Decimal("9.0"), Decimal("9.5"), Decimal("9.3")) for c in scored),
        SubjectYear("GDTC", False, True, True, True),
    )
    student = StudentYear(Circular.TT22, 9, subjects, Rating.T, Rating.T, Rating.T)
    known = [SubjectOutcome(s.code, s.hk1, s.hk2, s.year) for s in subjects]
    outcome = secondary_outcome(student, evaluate_year(student), known)
    assert outcome.complete and outcome.outcome is Outcome.PROMOTED
    assert (outcome.learning, outcome.conduct) == (Rating.T, Rating.T)
    assert outcome.award is Award.XUAT_SAC
    assert outcome.completes_level
    assert outcome.subject("TOAN").shown("year") == "9.3"
    assert outcome.subject("GDTC").shown("year") == "Đ"
    assert from_json(to_json(outcome)) == outcome


def test_an_exempt_subject_shows_m_and_has_no_retake():
    exempt = SubjectOutcome("GDTC", exempt=True)
    assert [exempt.shown(p) for p in ("hk1", "hk2", "year", "retake")] == ["M", "M", "M", None]


def test_every_label_is_written_in_vietnamese_and_in_english():
    for enum in (Circular, Rating, Outcome, Award, PrimaryResult, SubjectLevel, QualityLevel):
        for member in enum:
            assert isinstance(member, Labelled)
            assert member.label and member.label_en, member
            assert member.label_in("vi") == member.label
            assert member.label_in("en") == member.label_en
        assert len({m.label for m in enum}) == len(enum), enum


def test_the_words_the_hoc_ba_prints():
    assert Outcome.PROMOTED.label == "Được lên lớp"
    assert Rating.K.label == "Khá" and Rating("CĐ").label == "Chưa đạt"
    assert PrimaryResult.HTT.label == "Hoàn thành tốt"
    assert Award.GIOI.label == "Học sinh Giỏi"
    assert Award.TIEU_BIEU.wording.startswith("Học sinh tiêu biểu hoàn thành tốt")
    assert Circular.of_level("TH") is Circular.TT27 and Circular.TT27.number == "27/2020/TT-BGDĐT"
    assert Circular.of_level("GDTX").number == "43/2021/TT-BGDĐT"
    assert Circular.of_level("THPT").number == "22/2021/TT-BGDĐT"
