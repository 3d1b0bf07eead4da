"""THCS / THPT (Thông tư 22/2021) and GDTX (Thông tư 43/2021): subject averages, learning and
conduct levels, the Điều 9 khoản 3 adjustment, promotion, summer work and awards.

Pure functions over frozen dataclasses. `docs/domain/grading-rules.md` §2 and §4 are the text this
follows; the section numbers in comments point there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from hocba.rules.labels import Award, Circular, Outcome, Rating
from hocba.rules.options import DEFAULT_OPTIONS, Options
from hocba.rules.scores import round1

RANK: Final[Mapping[Rating, int]] = {Rating.CD: 0, Rating.D: 1, Rating.K: 2, Rating.T: 3}
BY_RANK: Final[tuple[Rating, ...]] = (Rating.CD, Rating.D, Rating.K, Rating.T)


#: How many scored subjects the learning thresholds count (§2.5; TT43: five).
QUOTA: Final[Mapping[Circular, int]] = {Circular.TT22: 6, Circular.TT43: 5}

_T_FLOOR = Decimal("6.5")
_T_GOOD = Decimal("8.0")
_K_FLOOR = Decimal("5.0")
_D_FLOOR = Decimal("3.5")
_PASS = Decimal("5.0")
_EXCELLENT = Decimal("9.0")
_TWO = Decimal(2)
_THREE = Decimal(3)
_FIVE = Decimal(5)


# --- one subject ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreAssessments:
    """A scored subject's recorded assessments in one semester."""

    tx: tuple[Decimal, ...]
    """ĐĐGtx, regular assessments (chuyên đề scores already appended when they count)."""
    gk: Decimal
    """ĐĐGgk, mid-term."""
    ck: Decimal
    """ĐĐGck, end-of-term."""


@dataclass(frozen=True, slots=True)
class CommentAssessments:
    """A comment subject's recorded assessments in one semester (True = Đạt)."""

    tx: tuple[bool, ...]
    gk: bool
    ck: bool


def semester_average(a: ScoreAssessments) -> Decimal:
    """ĐTBmhk = (TĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (số ĐĐGtx + 5), one decimal half up (§2.4 b)."""
    total = sum(a.tx, Decimal(0)) + _TWO * a.gk + _THREE * a.ck
    return round1(total / (len(a.tx) + _FIVE))


def year_average(hk1: Decimal, hk2: Decimal) -> Decimal:
    """ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3 from the rounded semester averages (§2.4 b)."""
    return round1((hk1 + _TWO * hk2) / _THREE)


def comment_semester(a: CommentAssessments, required_tx: int) -> bool:
    """Đạt when every required assessment was made and every one is Đạt (§2.4 a)."""
    return len(a.tx) >= required_tx and all(a.tx) and a.gk and a.ck


SemesterValue = Decimal | bool | None
"""A semester or year result: an average (scored), True/False for Đạt/Chưa đạt (comment)."""


@dataclass(frozen=True, slots=True)
class SubjectYear:
    """One subject's results for the year, as far as they are known."""

    code: str
    scored: bool
    hk1: SemesterValue
    hk2: SemesterValue
    year: Decimal | bool
    exempt: bool = False
    """Not assessed (students with a disability whose plan exempts the subject, Điều 11)."""


def subject_year(
    code: str,
    scored: bool,
    hk1: SemesterValue,
    hk2: SemesterValue,
    year: SemesterValue,
    options: Options = DEFAULT_OPTIONS,
) -> SubjectYear:
    """Fill the year result from the semesters: year average (scored), HK II (comment), or the
    one semester a subject was taught in (`single_semester_subject_rule`)."""
    if year is None:
        if hk1 is not None and hk2 is not None:
            if scored:
                assert isinstance(hk1, Decimal) and isinstance(hk2, Decimal)
                year = year_average(hk1, hk2)
            else:
                year = hk2
        elif options.single_semester_subject_rule == "use_that_semester":
            year = hk2 if hk2 is not None else hk1
        if year is None:
            raise ValueError(f"{code}: no result for the year")
    return SubjectYear(code, scored, hk1, hk2, year)


# --- learning level -------------------------------------------------------------------------


def classify(scored: Sequence[Decimal], comments: Sequence[bool], quota: int) -> Rating:
    """The level by the thresholds of Điều 9 khoản 2 (§2.5), before any adjustment."""
    failed_comments = comments.count(False)
    good = ok = passed = 0
    lowest = Decimal(10)
    for s in scored:
        if s < lowest:
            lowest = s
        if s >= _T_GOOD:
            good += 1
        if s >= _T_FLOOR:
            ok += 1
        if s >= _PASS:
            passed += 1
    if failed_comments == 0:
        if lowest >= _T_FLOOR and good >= quota:
            return Rating.T
        if lowest >= _K_FLOOR and ok >= quota:
            return Rating.K
    if failed_comments <= 1 and passed >= quota and lowest >= _D_FLOOR:
        return Rating.D
    return Rating.CD


@dataclass(frozen=True, slots=True)
class Learning:
    level: Rating
    """After the adjustment."""
    base: Rating
    """By the thresholds alone."""
    adjusted_for: str | None
    """The one subject that triggered the adjustment."""


def learning_level(
    subjects: Sequence[tuple[str, Decimal | bool]],
    quota: int,
    include_comment_culprits: bool = True,
) -> Learning:
    """Learning level with the Điều 9 khoản 3 adjustment (§2.5): when the level is two or more
    steps lower only because of exactly one subject, it is raised to the next level up.

    A subject is the culprit when, without it (a scored subject left out of every count, a
    comment subject taken as Đạt), the level would be Tốt or Khá and at least two steps higher.
    """
    scored = [v for _, v in subjects if isinstance(v, Decimal)]
    comments = [v for _, v in subjects if isinstance(v, bool)]
    base = classify(scored, comments, quota)
    if base is Rating.K or base is Rating.T:
        return Learning(base, base, None)
    target = RANK[base] + 2
    culprit: str | None = None
    scored_index = comment_index = 0
    for code, value in subjects:
        if isinstance(value, bool):
            index = comment_index
            comment_index += 1
            if value or not include_comment_culprits:
                continue
            without = classify(scored, [*comments[:index], True, *comments[index + 1 :]], quota)
        else:
            index = scored_index
            scored_index += 1
            if value >= _T_FLOOR:
                continue  # leaving out a subject this good can only lower the counts
            without = classify([*scored[:index], *scored[index + 1 :]], comments, quota)
        if RANK[without] >= target:
            if culprit is not None:
                return Learning(base, base, None)  # two culprits: no adjustment
            culprit = code
    if culprit is None:
        return Learning(base, base, None)
    return Learning(BY_RANK[RANK[base] + 1], base, culprit)


# --- conduct --------------------------------------------------------------------------------

_CONDUCT_YEAR: Final[Mapping[tuple[Rating, Rating], Rating]] = {
    (Rating.T, Rating.T): Rating.T, (Rating.T, Rating.K): Rating.K,
    (Rating.T, Rating.D): Rating.K, (Rating.T, Rating.CD): Rating.CD,
    (Rating.K, Rating.T): Rating.T, (Rating.K, Rating.K): Rating.K,
    (Rating.K, Rating.D): Rating.D, (Rating.K, Rating.CD): Rating.CD,
    (Rating.D, Rating.T): Rating.K, (Rating.D, Rating.K): Rating.K,
    (Rating.D, Rating.D): Rating.D, (Rating.D, Rating.CD): Rating.CD,
    (Rating.CD, Rating.T): Rating.K, (Rating.CD, Rating.K): Rating.D,
    (Rating.CD, Rating.D): Rating.D, (Rating.CD, Rating.CD): Rating.CD,
}  # fmt: skip


def conduct_year(hk1: Rating, hk2: Rating) -> Rating:
    """Year conduct from the two semesters (Điều 8 khoản 2 điểm b, §2.6)."""
    return _CONDUCT_YEAR[(hk1, hk2)]


# --- the year -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StudentYear:
    regulation: Circular
    """TT22 or TT43."""
    grade: int
    subjects: tuple[SubjectYear, ...]
    conduct_hk1: Rating | None
    conduct_hk2: Rating | None
    conduct: Rating
    """The year's conduct (given, or from the two semesters)."""
    absences: Decimal | int = 0
    """Sessions (buổi) absent in the year, excused or not; half sessions allowed."""
    summer_conduct: Rating | None = None
    """Conduct re-evaluated after summer training (Điều 13)."""
    retake: Mapping[str, Decimal | bool] = field(default_factory=dict)
    """Re-assessment results by subject code (Điều 14)."""
    disability_plan: bool = False
    """Assessed by an individual education plan (Điều 11): promotion is the principal's."""


@dataclass(frozen=True, slots=True)
class YearResult:
    learning_hk1: Rating | None
    learning_hk2: Rating | None
    learning: Learning
    learning_after_retake: Rating | None
    conduct_hk1: Rating | None
    conduct_hk2: Rating | None
    conduct: Rating
    conduct_after_summer: Rating | None
    summer_training: bool
    retake_subjects: tuple[str, ...]
    outcome: Outcome
    completes_level: bool
    award: Award | None


def _semester_learning(
    subjects: Sequence[SubjectYear], semester: str, quota: int, include_comment: bool
) -> Rating | None:
    values: list[tuple[str, Decimal | bool]] = []
    for s in subjects:
        value = s.hk1 if semester == "hk1" else s.hk2
        if value is None:
            return None
        values.append((s.code, value))
    return learning_level(values, quota, include_comment).level


def failing_subjects(subjects: Sequence[SubjectYear]) -> tuple[str, ...]:
    """Subjects to re-assess in summer (Điều 14): comment subjects at Chưa đạt and scored
    subjects with a year average below 5.0 — all of them, in order."""
    return tuple(
        s.code
        for s in subjects
        if (s.year is False) or (isinstance(s.year, Decimal) and s.year < _PASS)
    )


def _award(regulation: Circular, subjects: Sequence[SubjectYear], learning: Rating,
           conduct: Rating) -> Award | None:  # fmt: skip
    """Điều 15 (§2.8), from the year results before any summer work."""
    if learning is not Rating.T or conduct is not Rating.T:
        return None
    excellent = sum(1 for s in subjects if isinstance(s.year, Decimal) and s.year >= _EXCELLENT)
    return Award.XUAT_SAC if excellent >= QUOTA[regulation] else Award.GIOI


def evaluate_year(student: StudentYear, options: Options = DEFAULT_OPTIONS) -> YearResult:
    """Everything the học bạ records about a secondary student's year (§2.4–§2.8)."""
    quota = QUOTA[student.regulation]
    include = options.adjustment_includes_comment_subjects
    assessed = tuple(s for s in student.subjects if not s.exempt)
    learning = learning_level([(s.code, s.year) for s in assessed], quota, include)
    hk1 = _semester_learning(assessed, "hk1", quota, include)
    hk2 = _semester_learning(assessed, "hk2", quota, include)
    conduct = student.conduct
    summer_training = conduct is Rating.CD
    after_summer = student.summer_conduct if summer_training else None
    award = _award(student.regulation, assessed, learning.level, conduct)
    after_retake: Rating | None = None
    retake_subjects: tuple[str, ...] = ()

    if student.disability_plan:
        outcome = Outcome.PENDING_DECISION
    elif student.absences > options.absence_limit:
        outcome = Outcome.RETAINED  # Điều 12 khoản 1 c: summer work cannot cure it
    elif summer_training and after_summer is Rating.CD:
        outcome = Outcome.RETAINED
    else:
        if learning.level is Rating.CD:
            retake_subjects = failing_subjects(assessed)
        if summer_training and after_summer is None:
            outcome = Outcome.PENDING_SUMMER
        elif learning.level is Rating.CD:
            if all(code in student.retake for code in retake_subjects):
                replaced = [
                    (s.code, student.retake[s.code] if s.code in retake_subjects else s.year)
                    for s in assessed
                ]
                after_retake = learning_level(replaced, quota, include).level
                outcome = (
                    Outcome.RETAINED if after_retake is Rating.CD else Outcome.PROMOTED_AFTER_SUMMER
                )
            else:
                outcome = Outcome.PENDING_SUMMER
        elif summer_training:
            outcome = Outcome.PROMOTED_AFTER_SUMMER
        else:
            outcome = Outcome.PROMOTED
    promoted = outcome in (Outcome.PROMOTED, Outcome.PROMOTED_AFTER_SUMMER)
    return YearResult(
        learning_hk1=hk1,
        learning_hk2=hk2,
        learning=learning,
        learning_after_retake=after_retake,
        conduct_hk1=student.conduct_hk1,
        conduct_hk2=student.conduct_hk2,
        conduct=conduct,
        conduct_after_summer=after_summer,
        summer_training=summer_training,
        retake_subjects=retake_subjects,
        outcome=outcome,
        completes_level=promoted and student.grade in (9, 12),
        award=award,
    )
