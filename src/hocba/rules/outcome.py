"""A student's year as the grade book stores it and everyone reads it: `YearOutcome`.

The grade book evaluates a year with the engines of `secondary` and `primary` and keeps the
answer as one `YearOutcome`, also while data is missing (then only the subject results known so
far and no outcome). `to_json` / `from_json` are its one serializer, for the database column;
the record builder, the pages, the class book export and the charts read the dataclass. Pure:
no Django. (`contract` is the command line's JSON, a different shape kept for its users.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hocba.rules.labels import (
    Award,
    Circular,
    Outcome,
    PrimaryResult,
    Rating,
    SubjectLevel,
)
from hocba.rules.primary import PrimaryYear, PrimaryYearResult
from hocba.rules.scores import format1
from hocba.rules.secondary import SemesterValue, StudentYear, YearResult

SHAPE = 1
"""The version of the stored JSON; `from_json` refuses any other."""


def mark_text(value: SemesterValue) -> str | None:
    """A subject's result as the học bạ codes it: "8.3", "Đ" or "CĐ"; None when unknown."""
    if isinstance(value, bool):
        return (Rating.D if value else Rating.CD).value
    return format1(value)


def _mark(text: object) -> SemesterValue:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"not a subject result: {text!r}")
    if text in (Rating.D, Rating.CD):
        return text == Rating.D
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a subject result: {text!r}") from None


@dataclass(frozen=True, slots=True)
class SubjectOutcome:
    """One subject's results for the year, as far as they are known."""

    code: str
    hk1: SemesterValue = None
    """Semester I: an average (scored) or True/False for Đạt/Chưa đạt (comment)."""
    hk2: SemesterValue = None
    year: SemesterValue = None
    retake: SemesterValue = None
    """The summer re-assessment (Điều 14)."""
    exempt: bool = False
    """Miễn: not assessed (shown as M)."""
    level: SubjectLevel | None = None
    """Primary: mức đạt được at the end of the year."""
    test: int | None = None
    """Primary: the end-of-year periodic test, 0–10."""

    def shown(self, period: str) -> str | None:
        """ "hk1", "hk2", "year" or "retake" as the học bạ codes it ("8.3", "Đ", "M")."""
        if self.exempt:
            return None if period == "retake" else SubjectLevel.M.value
        value: SemesterValue = getattr(self, period)
        return mark_text(value)

    def year_shown(self) -> str | None:
        """The year's result as coded: a primary subject's level, else `shown("year")`."""
        return self.level.value if self.level is not None else self.shown("year")


@dataclass(frozen=True, slots=True)
class YearOutcome:
    """Everything the rules say about one student's year; `outcome` is None while data is
    missing."""

    circular: Circular
    subjects: tuple[SubjectOutcome, ...] = ()
    outcome: Outcome | None = None
    learning_hk1: Rating | None = None
    learning_hk2: Rating | None = None
    learning: Rating | None = None
    """The year's learning level after the Điều 9 khoản 3 adjustment."""
    learning_before_adjustment: Rating | None = None
    adjusted_for: str | None = None
    """The one subject that triggered the adjustment."""
    learning_after_retake: Rating | None = None
    conduct_hk1: Rating | None = None
    conduct_hk2: Rating | None = None
    conduct: Rating | None = None
    conduct_after_summer: Rating | None = None
    summer_training: bool = False
    retake_subjects: tuple[str, ...] = ()
    """Every subject to re-assess in summer."""
    primary_result: PrimaryResult | None = None
    """TT27: HTXS / HTT / HT / CHT (None for an individual plan)."""
    completes_level: bool = False
    award: Award | None = None

    @property
    def complete(self) -> bool:
        return self.outcome is not None

    def subject(self, code: str) -> SubjectOutcome | None:
        return next((s for s in self.subjects if s.code == code), None)


def secondary_outcome(
    student: StudentYear, result: YearResult, subjects: Sequence[SubjectOutcome]
) -> YearOutcome:
    """The stored outcome of an evaluated secondary year; `subjects` are the grade book's
    subject results (with the re-assessments)."""
    return YearOutcome(
        circular=student.regulation,
        subjects=tuple(subjects),
        outcome=result.outcome,
        learning_hk1=result.learning_hk1,
        learning_hk2=result.learning_hk2,
        learning=result.learning.level,
        learning_before_adjustment=result.learning.base,
        adjusted_for=result.learning.adjusted_for,
        learning_after_retake=result.learning_after_retake,
        conduct_hk1=result.conduct_hk1,
        conduct_hk2=result.conduct_hk2,
        conduct=result.conduct,
        conduct_after_summer=result.conduct_after_summer,
        summer_training=result.summer_training,
        retake_subjects=result.retake_subjects,
        completes_level=result.completes_level,
        award=result.award,
    )


def primary_outcome(
    year: PrimaryYear, result: PrimaryYearResult, subjects: Sequence[SubjectOutcome]
) -> YearOutcome:
    return YearOutcome(
        circular=Circular.TT27,
        subjects=tuple(subjects),
        outcome=result.outcome,
        primary_result=result.result,
        completes_level=result.completes_level,
        award=result.award,
    )


# --- the stored JSON ------------------------------------------------------------------------


def _code(value: Rating | Outcome | Award | PrimaryResult | SubjectLevel | None) -> str | None:
    return None if value is None else value.value


def to_json(outcome: YearOutcome) -> dict[str, Any]:
    """The stored form: JSON types only, every key always present, subjects in order."""
    return {
        "shape": SHAPE,
        "circular": outcome.circular.value,
        "subjects": [
            {
                "code": s.code,
                "hk1": mark_text(s.hk1),
                "hk2": mark_text(s.hk2),
                "year": mark_text(s.year),
                "retake": mark_text(s.retake),
                "exempt": s.exempt,
                "level": _code(s.level),
                "test": s.test,
            }
            for s in outcome.subjects
        ],
        "outcome": _code(outcome.outcome),
        "learning": {
            "hk1": _code(outcome.learning_hk1),
            "hk2": _code(outcome.learning_hk2),
            "year": _code(outcome.learning),
            "year_before_adjustment": _code(outcome.learning_before_adjustment),
            "adjusted_for": outcome.adjusted_for,
            "after_retake": _code(outcome.learning_after_retake),
        },
        "conduct": {
            "hk1": _code(outcome.conduct_hk1),
            "hk2": _code(outcome.conduct_hk2),
            "year": _code(outcome.conduct),
            "after_summer": _code(outcome.conduct_after_summer),
        },
        "summer": {
            "training": outcome.summer_training,
            "retake_subjects": list(outcome.retake_subjects),
        },
        "result": _code(outcome.primary_result),
        "completes_level": outcome.completes_level,
        "award": _code(outcome.award),
    }


def _rating(value: object) -> Rating | None:
    return None if value is None else Rating(str(value))


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"not a text: {value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not a boolean: {value!r}")
    return value


def _subject(data: Mapping[str, Any]) -> SubjectOutcome:
    test = data["test"]
    if test is not None and (isinstance(test, bool) or not isinstance(test, int)):
        raise ValueError(f"not a test score: {test!r}")
    code = _text(data["code"])
    if code is None:
        raise ValueError("a subject without a code")
    return SubjectOutcome(
        code=code,
        hk1=_mark(data["hk1"]),
        hk2=_mark(data["hk2"]),
        year=_mark(data["year"]),
        retake=_mark(data["retake"]),
        exempt=_flag(data["exempt"]),
        level=None if data["level"] is None else SubjectLevel(data["level"]),
        test=test,
    )


def from_json(data: Mapping[str, Any]) -> YearOutcome:
    """The outcome `to_json` stored; ValueError (or KeyError) for anything else."""
    if data.get("shape") != SHAPE:
        raise ValueError(f"not a stored year outcome of shape {SHAPE}: {data.get('shape')!r}")
    learning, conduct, summer = data["learning"], data["conduct"], data["summer"]
    outcome, result, award = data["outcome"], data["result"], data["award"]
    return YearOutcome(
        circular=Circular(data["circular"]),
        subjects=tuple(_subject(s) for s in data["subjects"]),
        outcome=None if outcome is None else Outcome(outcome),
        learning_hk1=_rating(learning["hk1"]),
        learning_hk2=_rating(learning["hk2"]),
        learning=_rating(learning["year"]),
        learning_before_adjustment=_rating(learning["year_before_adjustment"]),
        adjusted_for=_text(learning["adjusted_for"]),
        learning_after_retake=_rating(learning["after_retake"]),
        conduct_hk1=_rating(conduct["hk1"]),
        conduct_hk2=_rating(conduct["hk2"]),
        conduct=_rating(conduct["year"]),
        conduct_after_summer=_rating(conduct["after_summer"]),
        summer_training=_flag(summer["training"]),
        retake_subjects=tuple(str(code) for code in summer["retake_subjects"]),
        primary_result=None if result is None else PrimaryResult(result),
        completes_level=_flag(data["completes_level"]),
        award=None if award is None else Award(award),
    )
