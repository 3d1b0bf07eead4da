"""The words of the rules' results, written once: circulars, levels, outcomes, awards.

Each enum's value is the stable code the contract, the stored results and the record XML carry
("TT22", "T", "PROMOTED", "HOC_SINH_GIOI"); each member carries its Vietnamese label (as the
pages and the học bạ write it) and its English one. Services, views, templates and the
printable view take their words from here instead of writing them again. Pure: no Django.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Labelled(StrEnum):
    """A code with its Vietnamese `label` and English `label_en`."""

    label: str
    label_en: str

    def __new__(cls, code: str, label: str = "", label_en: str = "") -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        member.label_en = label_en
        return member

    def label_in(self, language: str | None) -> str:
        """The label in `language` ("en…" English, anything else Vietnamese)."""
        return self.label_en if (language or "").startswith("en") else self.label


class Circular(Labelled):
    """The circular a class is assessed under."""

    TT22 = "TT22", "Thông tư 22/2021/TT-BGDĐT", "Circular 22/2021 (lower and upper secondary)"
    TT43 = "TT43", "Thông tư 43/2021/TT-BGDĐT", "Circular 43/2021 (continuing education)"
    TT27 = "TT27", "Thông tư 27/2020/TT-BGDĐT", "Circular 27/2020 (primary)"

    @classmethod
    def of_level(cls, level: str) -> Circular:
        """The circular of a school level (catalogue code): TH → TT27, GDTX → TT43, else TT22."""
        return {"TH": cls.TT27, "GDTX": cls.TT43}.get(level, cls.TT22)

    @property
    def number(self) -> str:
        """As the học bạ cites it ("22/2021/TT-BGDĐT")."""
        return self.label.removeprefix("Thông tư ")


class Rating(Labelled):
    """Tốt / Khá / Đạt / Chưa đạt: learning and conduct levels (TT22, TT43); a comment subject
    is Đạt or Chưa đạt."""

    T = "T", "Tốt", "Good"
    K = "K", "Khá", "Fair"
    D = "Đ", "Đạt", "Pass"
    CD = "CĐ", "Chưa đạt", "Not yet passed"


class Outcome(Labelled):
    """The end of a student's year (secondary and primary)."""

    PROMOTED = "PROMOTED", "Được lên lớp", "Promoted"
    PROMOTED_AFTER_SUMMER = (
        "PROMOTED_AFTER_SUMMER",
        "Lên lớp sau kiểm tra lại / rèn luyện hè",
        "Promoted after the summer retest / training",
    )
    PENDING_SUMMER = (
        "PENDING_SUMMER",
        "Chờ kết quả kiểm tra lại / rèn luyện hè",
        "Awaiting the summer retest / training",
    )
    RETAINED = "RETAINED", "Không được lên lớp", "Not promoted"
    PENDING_DECISION = (
        "PENDING_DECISION",
        "Chờ hiệu trưởng quyết định",
        "Awaiting the principal's decision",
    )
    """Primary CHT and students assessed by an individual education plan (Điều 11): the
    principal decides."""
    COMPLETED = "COMPLETED", "Hoàn thành chương trình lớp học", "Completed the grade's programme"
    """Primary (TT27): never an automatic retention."""


PROMOTED_AFTER_SUMMER_WORDING = (
    "Được lên lớp sau khi kiểm tra lại môn học hoặc rèn luyện thêm trong kì nghỉ hè"
)
"""The học bạ's line for `Outcome.PROMOTED_AFTER_SUMMER` (TT22 mẫu học bạ)."""
WAITING_FOR_SUMMER = "Chưa có kết quả kiểm tra lại hoặc rèn luyện trong hè"
"""Why a record cannot be built while the outcome is `Outcome.PENDING_SUMMER`."""
WAITING_FOR_DECISION = "Chờ hiệu trưởng quyết định lên lớp"
"""Why a record cannot be built while the outcome is `Outcome.PENDING_DECISION`."""

PROGRAMMES = {5: "tiểu học", 9: "trung học cơ sở", 12: "trung học phổ thông"}
"""The level whose programme the last grade completes."""


def programme_completed(last_grade: int) -> str:
    """ "Hoàn thành chương trình trung học cơ sở" for grade 9, and so on."""
    return f"Hoàn thành chương trình {PROGRAMMES[last_grade]}"


def programme_not_completed(last_grade: int) -> str:
    return f"Chưa hoàn thành chương trình {PROGRAMMES[last_grade]}"


class Award(Labelled):
    """Khen thưởng cuối năm (TT22 Điều 15, TT27 Điều 15)."""

    XUAT_SAC = "HOC_SINH_XUAT_SAC", "Học sinh Xuất sắc", "Excellent student"
    GIOI = "HOC_SINH_GIOI", "Học sinh Giỏi", "Good student"
    TIEU_BIEU = "HOC_SINH_TIEU_BIEU", "Học sinh Tiêu biểu", "Exemplary student"
    """Primary: recognised by the class for outstanding achievement."""

    @property
    def wording(self) -> str:
        """As the học bạ writes it."""
        if self is Award.TIEU_BIEU:
            return "Học sinh tiêu biểu hoàn thành tốt trong học tập và rèn luyện"
        return self.label


class PrimaryResult(Labelled):
    """Đánh giá kết quả giáo dục of a primary pupil (TT27 Điều 9)."""

    HTXS = "HTXS", "Hoàn thành xuất sắc", "Completed with distinction"
    HTT = "HTT", "Hoàn thành tốt", "Completed well"
    HT = "HT", "Hoàn thành", "Completed"
    CHT = "CHT", "Chưa hoàn thành", "Not completed"


class SubjectLevel(Labelled):
    """Mức đạt được of a primary subject or educational activity."""

    T = "T", "Hoàn thành tốt", "Completed well"
    H = "H", "Hoàn thành", "Completed"
    C = "C", "Chưa hoàn thành", "Not completed"
    M = "M", "Miễn", "Exempt"


class QualityLevel(Labelled):
    """Mức of a primary quality (phẩm chất) or competency (năng lực)."""

    T = "T", "Tốt", "Good"
    D = "Đ", "Đạt", "Pass"
    C = "C", "Cần cố gắng", "Needs effort"
