"""The subject catalogue of the 2018 general education programme, per level and grade.

Codes are those of `docs/contracts/rules-evaluate.md`; periods per year and assessment modes follow
`docs/domain/grading-rules.md` §2.1, §3.1 and §4. GDTX periods are not published in the sources at
hand; the THCS/THPT figures stand in for them until the official programme replaces them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Level(StrEnum):
    TH = "TH"
    THCS = "THCS"
    THPT = "THPT"
    GDTX = "GDTX"


class Mode(StrEnum):
    SCORE = "score"
    """Comment and score: ĐĐGtx/ĐĐGgk/ĐĐGck on the 10-point scale (TT22, TT43)."""
    COMMENT = "comment"
    """Comment only: Đạt / Chưa đạt (TT22)."""
    PRIMARY = "primary"
    """Primary: Hoàn thành tốt / Hoàn thành / Chưa hoàn thành, maybe a periodic test (TT27)."""


class Kind(StrEnum):
    COMPULSORY = "compulsory"
    ELECTIVE = "elective"
    """THPT: chosen from the elective pool (4 of 9)."""
    OPTIONAL = "optional"
    """Tự chọn: studied by some students only."""


LEVEL_GRADES: Final[Mapping[Level, range]] = MappingProxyType(
    {
        Level.TH: range(1, 6),
        Level.THCS: range(6, 10),
        Level.THPT: range(10, 13),
        Level.GDTX: range(6, 13),
    }
)


@dataclass(frozen=True, slots=True)
class Subject:
    code: str
    """Stable code, e.g. "TOAN"."""
    name: str
    """Vietnamese name as printed in the học bạ."""
    level: Level
    mode: Mode
    periods: Mapping[int, int]
    """Periods per year by grade; the subject is taught in exactly these grades."""
    kind: Kind = Kind.COMPULSORY
    periodic_test_grades: frozenset[int] = frozenset()
    """Primary: grades with an end-of-semester/end-of-year periodic test (TT27 Điều 7)."""

    @property
    def grades(self) -> tuple[int, ...]:
        return tuple(sorted(self.periods))

    def periods_for(self, grade: int) -> int:
        return self.periods[grade]


def regular_assessment_count(periods_per_year: int) -> int:
    """ĐĐGtx to record per semester for a scored subject (TT22 Điều 6 khoản 2 điểm b)."""
    if periods_per_year <= 35:
        return 2
    if periods_per_year <= 70:
        return 3
    return 4


def _same(grades: range, periods: int) -> Mapping[int, int]:
    return MappingProxyType(dict.fromkeys(grades, periods))


def _by_grade(**periods: int) -> Mapping[int, int]:
    return MappingProxyType({int(k[1:]): v for k, v in periods.items()})


_TH = range(1, 6)
_THCS = range(6, 10)
_THPT = range(10, 13)
_ALL_TESTS = frozenset(_TH)
_P = Mode.PRIMARY
_S = Mode.SCORE
_C = Mode.COMMENT

_SUBJECTS: tuple[Subject, ...] = (
    # Primary (TT27, CT GDPT 2018 periods)
    Subject("TIENG_VIET", "Tiếng Việt", Level.TH, _P,
            _by_grade(g1=420, g2=350, g3=245, g4=245, g5=245), periodic_test_grades=_ALL_TESTS),
    Subject("TOAN", "Toán", Level.TH, _P,
            _by_grade(g1=105, g2=175, g3=175, g4=175, g5=175), periodic_test_grades=_ALL_TESTS),
    Subject("NGOAI_NGU_1", "Ngoại ngữ 1", Level.TH, _P,
            _by_grade(g3=140, g4=140, g5=140), periodic_test_grades=frozenset({3, 4, 5})),
    Subject("DAO_DUC", "Đạo đức", Level.TH, _P, _same(_TH, 35)),
    Subject("TN_XH", "Tự nhiên và Xã hội", Level.TH, _P, _same(range(1, 4), 70)),
    Subject("LICH_SU_DIA_LI", "Lịch sử và Địa lí", Level.TH, _P, _same(range(4, 6), 70),
            periodic_test_grades=frozenset({4, 5})),
    Subject("KHOA_HOC", "Khoa học", Level.TH, _P, _same(range(4, 6), 70),
            periodic_test_grades=frozenset({4, 5})),
    Subject("TIN_HOC_CONG_NGHE", "Tin học và Công nghệ", Level.TH, _P, _same(range(3, 6), 70),
            periodic_test_grades=frozenset({3, 4, 5})),
    Subject("GDTC", "Giáo dục thể chất", Level.TH, _P, _same(_TH, 70)),
    Subject("NGHE_THUAT", "Nghệ thuật", Level.TH, _P, _same(_TH, 70)),
    Subject("HDTN", "Hoạt động trải nghiệm", Level.TH, _P, _same(_TH, 105)),
    Subject("TIENG_DTTS", "Tiếng dân tộc thiểu số", Level.TH, _P, _same(_TH, 70),
            kind=Kind.OPTIONAL),
    # THCS (TT22)
    Subject("NGU_VAN", "Ngữ văn", Level.THCS, _S, _same(_THCS, 140)),
    Subject("TOAN", "Toán", Level.THCS, _S, _same(_THCS, 140)),
    Subject("NGOAI_NGU_1", "Ngoại ngữ 1", Level.THCS, _S, _same(_THCS, 105)),
    Subject("GDCD", "Giáo dục công dân", Level.THCS, _S, _same(_THCS, 35)),
    Subject("LICH_SU_DIA_LI", "Lịch sử và Địa lí", Level.THCS, _S, _same(_THCS, 105)),
    Subject("KHTN", "Khoa học tự nhiên", Level.THCS, _S, _same(_THCS, 140)),
    Subject("CONG_NGHE", "Công nghệ", Level.THCS, _S, _by_grade(g6=35, g7=35, g8=52, g9=52)),
    Subject("TIN_HOC", "Tin học", Level.THCS, _S, _same(_THCS, 35)),
    Subject("GDTC", "Giáo dục thể chất", Level.THCS, _C, _same(_THCS, 70)),
    Subject("NGHE_THUAT", "Nghệ thuật", Level.THCS, _C, _same(_THCS, 70)),
    Subject("HDTN_HN", "Hoạt động trải nghiệm, hướng nghiệp", Level.THCS, _C, _same(_THCS, 105)),
    Subject("GDDP", "Nội dung giáo dục của địa phương", Level.THCS, _C, _same(_THCS, 35)),
    Subject("TIENG_DTTS", "Tiếng dân tộc thiểu số", Level.THCS, _S, _same(_THCS, 105),
            kind=Kind.OPTIONAL),
    Subject("NGOAI_NGU_2", "Ngoại ngữ 2", Level.THCS, _S, _same(_THCS, 105), kind=Kind.OPTIONAL),
    # THPT (TT22, structure of TT32/2018 as amended by TT13/2022)
    Subject("NGU_VAN", "Ngữ văn", Level.THPT, _S, _same(_THPT, 105)),
    Subject("TOAN", "Toán", Level.THPT, _S, _same(_THPT, 105)),
    Subject("NGOAI_NGU_1", "Ngoại ngữ 1", Level.THPT, _S, _same(_THPT, 105)),
    Subject("LICH_SU", "Lịch sử", Level.THPT, _S, _same(_THPT, 52)),
    Subject("GDQP_AN", "Giáo dục quốc phòng và an ninh", Level.THPT, _S, _same(_THPT, 35)),
    Subject("GDTC", "Giáo dục thể chất", Level.THPT, _C, _same(_THPT, 70)),
    Subject("HDTN_HN", "Hoạt động trải nghiệm, hướng nghiệp", Level.THPT, _C, _same(_THPT, 105)),
    Subject("GDDP", "Nội dung giáo dục của địa phương", Level.THPT, _C, _same(_THPT, 35)),
    Subject("DIA_LI", "Địa lí", Level.THPT, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("GDKT_PL", "Giáo dục kinh tế và pháp luật", Level.THPT, _S, _same(_THPT, 70),
            kind=Kind.ELECTIVE),
    Subject("VAT_LI", "Vật lí", Level.THPT, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("HOA_HOC", "Hoá học", Level.THPT, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("SINH_HOC", "Sinh học", Level.THPT, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("CONG_NGHE", "Công nghệ", Level.THPT, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("TIN_HOC", "Tin học", Level.THPT, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("AM_NHAC", "Âm nhạc", Level.THPT, _C, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("MI_THUAT", "Mĩ thuật", Level.THPT, _C, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("TIENG_DTTS", "Tiếng dân tộc thiểu số", Level.THPT, _S, _same(_THPT, 105),
            kind=Kind.OPTIONAL),
    Subject("NGOAI_NGU_2", "Ngoại ngữ 2", Level.THPT, _S, _same(_THPT, 105), kind=Kind.OPTIONAL),
    # GDTX (TT43; THCS grades 6–9 and THPT grades 10–12 of the continuing-education programme)
    Subject("NGU_VAN", "Ngữ văn", Level.GDTX, _S, _by_grade(
        g6=140, g7=140, g8=140, g9=140, g10=105, g11=105, g12=105)),
    Subject("TOAN", "Toán", Level.GDTX, _S, _by_grade(
        g6=140, g7=140, g8=140, g9=140, g10=105, g11=105, g12=105)),
    Subject("NGOAI_NGU_1", "Ngoại ngữ 1", Level.GDTX, _S, _by_grade(
        g6=105, g7=105, g8=105, g9=105, g10=105, g11=105, g12=105)),
    Subject("GDCD", "Giáo dục công dân", Level.GDTX, _S, _same(_THCS, 35)),
    Subject("LICH_SU_DIA_LI", "Lịch sử và Địa lí", Level.GDTX, _S, _same(_THCS, 105)),
    Subject("KHTN", "Khoa học tự nhiên", Level.GDTX, _S, _same(_THCS, 140)),
    Subject("CONG_NGHE", "Công nghệ", Level.GDTX, _S, _by_grade(
        g6=35, g7=35, g8=52, g9=52, g10=70, g11=70, g12=70)),
    Subject("TIN_HOC", "Tin học", Level.GDTX, _S, _by_grade(
        g6=35, g7=35, g8=35, g9=35, g10=70, g11=70, g12=70)),
    Subject("LICH_SU", "Lịch sử", Level.GDTX, _S, _same(_THPT, 52)),
    Subject("DIA_LI", "Địa lí", Level.GDTX, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("GDKT_PL", "Giáo dục kinh tế và pháp luật", Level.GDTX, _S, _same(_THPT, 70),
            kind=Kind.ELECTIVE),
    Subject("VAT_LI", "Vật lí", Level.GDTX, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("HOA_HOC", "Hoá học", Level.GDTX, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
    Subject("SINH_HOC", "Sinh học", Level.GDTX, _S, _same(_THPT, 70), kind=Kind.ELECTIVE),
)  # fmt: skip

CATALOGUE: Final[Mapping[tuple[Level, str], Subject]] = MappingProxyType(
    {(s.level, s.code): s for s in _SUBJECTS}
)


def subject(level: Level | str, code: str) -> Subject:
    """The catalogue entry; KeyError when the level does not teach `code`."""
    return CATALOGUE[(Level(level), code)]


def subjects_for(level: Level | str, grade: int) -> tuple[Subject, ...]:
    """Subjects taught at `grade` of `level`, in học bạ order."""
    lvl = Level(level)
    return tuple(s for s in _SUBJECTS if s.level is lvl and grade in s.periods)


def level_of_grade(grade: int) -> Level:
    """The general-education level of a grade (GDTX is a programme, not a grade range)."""
    if 1 <= grade <= 5:
        return Level.TH
    if 6 <= grade <= 9:
        return Level.THCS
    if 10 <= grade <= 12:
        return Level.THPT
    raise ValueError(f"khối {grade} không tồn tại")
