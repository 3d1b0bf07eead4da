"""Properties over the whole input space of scores."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from hocba.rules.labels import Circular, Rating
from hocba.rules.scores import ONE_DECIMAL
from hocba.rules.secondary import (
    RANK,
    ScoreAssessments,
    StudentYear,
    classify,
    evaluate_year,
    learning_level,
    semester_average,
    subject_year,
    year_average,
)

score = st.integers(0, 100).map(lambda n: Decimal(n) / 10)
assessments = st.integers(2, 5).flatmap(
    lambda n: st.builds(ScoreAssessments, st.tuples(*[score] * n), score, score)
)


def is_score(value):
    return Decimal(0) <= value <= Decimal(10) and value == value.quantize(ONE_DECIMAL)


@given(assessments)
def test_semester_average_is_a_score_with_one_decimal(a):
    assert is_score(semester_average(a))


@given(score, score)
def test_year_average_is_a_score_between_the_semesters(hk1, hk2):
    avg = year_average(hk1, hk2)
    assert is_score(avg)
    assert min(hk1, hk2) <= avg <= max(hk1, hk2)


# A student: eight scored subjects from raw assessments (4 ĐĐGtx), four comment subjects.
raw_semester = st.builds(ScoreAssessments, st.tuples(score, score, score, score), score, score)
raw_student = st.tuples(
    st.lists(st.tuples(raw_semester, raw_semester), min_size=8, max_size=8),
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=4, max_size=4),
)


def evaluate(raw):
    scored, comments = raw
    subjects = [
        subject_year(f"S{i}", True, semester_average(h1), semester_average(h2), None)
        for i, (h1, h2) in enumerate(scored)
    ] + [subject_year(f"C{i}", False, h1, h2, None) for i, (h1, h2) in enumerate(comments)]
    return evaluate_year(
        StudentYear(Circular.TT22, 7, tuple(subjects), None, None, Rating.T)
    ), subjects


def raise_one(raw, subject, semester, slot, amount):
    scored, comments = raw
    scored = list(scored)
    semesters = list(scored[subject])
    a = semesters[semester]
    if slot < 4:
        tx = list(a.tx)
        tx[slot] = min(Decimal(10), tx[slot] + amount)
        a = ScoreAssessments(tuple(tx), a.gk, a.ck)
    elif slot == 4:
        a = ScoreAssessments(a.tx, min(Decimal(10), a.gk + amount), a.ck)
    else:
        a = ScoreAssessments(a.tx, a.gk, min(Decimal(10), a.ck + amount))
    semesters[semester] = a
    scored[subject] = tuple(semesters)
    return scored, comments


@settings(max_examples=300)
@given(
    raw_student,
    st.integers(0, 7),
    st.integers(0, 1),
    st.integers(0, 5),
    st.integers(1, 100).map(lambda n: Decimal(n) / 10),
)
def test_raising_any_single_score_never_lowers_a_level(raw, subject, semester, slot, amount):
    before, subjects_before = evaluate(raw)
    after, subjects_after = evaluate(raise_one(raw, subject, semester, slot, amount))
    assert RANK[after.learning.level] >= RANK[before.learning.level]
    for name in ("learning_hk1", "learning_hk2"):
        assert RANK[getattr(after, name)] >= RANK[getattr(before, name)]
    for b, a in zip(subjects_before, subjects_after, strict=True):
        assert a.year >= b.year


year_values = st.tuples(
    st.lists(score, min_size=6, max_size=9),
    st.lists(st.booleans(), min_size=0, max_size=5),
)


def without(scored, comments, kind, index):
    if kind == "S":
        return classify([*scored[:index], *scored[index + 1 :]], comments, 6)
    return classify(scored, [*comments[:index], True, *comments[index + 1 :]], 6)


@settings(max_examples=500)
@given(year_values)
def test_adjustment_happens_only_with_exactly_one_culprit(values):
    scored, comments = values
    subjects = [(f"S{i}", v) for i, v in enumerate(scored)]
    subjects += [(f"C{i}", v) for i, v in enumerate(comments)]
    result = learning_level(subjects, 6)
    base = classify(scored, comments, 6)
    culprits = [
        code
        for code, value in subjects
        if value is not True
        and RANK[without(scored, comments, code[0], int(code[1:]))] >= RANK[base] + 2
    ]
    if result.adjusted_for is None:
        assert result.level is base
        assert len(culprits) != 1 or base in (Rating.T, Rating.K)
    else:
        assert culprits == [result.adjusted_for]
        assert RANK[result.level] == RANK[base] + 1
