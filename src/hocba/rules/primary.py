"""Primary (Thông tư 27/2020): the end-of-year result, completion and awards
(`docs/domain/grading-rules.md` §3). Never an automatic retention: a student who does not complete
the grade gets supplementary assessment, then the principal decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from hocba.rules.labels import Award, Outcome, PrimaryResult, QualityLevel, SubjectLevel

QUALITIES: Final = ("YEU_NUOC", "NHAN_AI", "CHAM_CHI", "TRUNG_THUC", "TRACH_NHIEM")
GENERAL_COMPETENCIES: Final = ("TU_CHU_TU_HOC", "GIAO_TIEP_HOP_TAC", "GQVD_SANG_TAO")
SPECIFIC_COMPETENCIES: Final = (
    "NGON_NGU", "TINH_TOAN", "KHOA_HOC", "CONG_NGHE", "TIN_HOC", "THAM_MI", "THE_CHAT",
)  # fmt: skip
NOT_IN_GRADES_1_2: Final = frozenset({"CONG_NGHE", "TIN_HOC"})


def competencies_for(grade: int) -> tuple[str, ...]:
    """The competencies assessed in a grade (grades 1–2 have no Công nghệ, Tin học)."""
    specific = tuple(c for c in SPECIFIC_COMPETENCIES if grade >= 3 or c not in NOT_IN_GRADES_1_2)
    return GENERAL_COMPETENCIES + specific


@dataclass(frozen=True, slots=True)
class PrimarySubject:
    code: str
    level: SubjectLevel
    test: int | None = None
    """The end-of-year periodic test (latest re-test), an integer 0–10."""


@dataclass(frozen=True, slots=True)
class PrimaryYear:
    grade: int
    subjects: tuple[PrimarySubject, ...]
    qualities: Mapping[str, QualityLevel]
    competencies: Mapping[str, QualityLevel]
    outstanding: bool = False
    """Recognised by the class collective for outstanding achievement or clear progress."""
    disability_plan: bool = False


@dataclass(frozen=True, slots=True)
class PrimaryYearResult:
    result: PrimaryResult | None
    outcome: Outcome
    completes_level: bool
    award: Award | None


def primary_result(year: PrimaryYear) -> PrimaryResult:
    """Đánh giá kết quả giáo dục (Điều 9 khoản 2 điểm a, §3.3)."""
    levels = [s.level for s in year.subjects if s.level is not SubjectLevel.M]
    tests = [s.test for s in year.subjects if s.test is not None and s.level is not SubjectLevel.M]
    marks = list(year.qualities.values()) + list(year.competencies.values())
    all_good = all(level is SubjectLevel.T for level in levels) and all(
        m is QualityLevel.T for m in marks
    )
    if all_good and all(t >= 9 for t in tests):
        return PrimaryResult.HTXS
    if all_good and all(t >= 7 for t in tests):
        return PrimaryResult.HTT
    if (
        all(level is not SubjectLevel.C for level in levels)
        and all(m is not QualityLevel.C for m in marks)
        and all(t >= 5 for t in tests)
    ):
        return PrimaryResult.HT
    return PrimaryResult.CHT


def evaluate_primary(year: PrimaryYear) -> PrimaryYearResult:
    if year.disability_plan:
        return PrimaryYearResult(None, Outcome.PENDING_DECISION, False, None)
    result = primary_result(year)
    completed = result is not PrimaryResult.CHT
    award: Award | None = None
    if result is PrimaryResult.HTXS:
        award = Award.XUAT_SAC
    elif result is PrimaryResult.HTT and year.outstanding:
        award = Award.TIEU_BIEU
    return PrimaryYearResult(
        result=result,
        outcome=Outcome.COMPLETED if completed else Outcome.PENDING_DECISION,
        completes_level=completed and year.grade == 5,
        award=award,
    )
