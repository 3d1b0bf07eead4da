"""The học bạ record as frozen dataclasses: what the XML carries, nothing more.

Field names are English; the XML element names (Ministry style, `hocba-record.md` §2) live in
the builder and the parser only. Scores are strings as the record prints them ("8.3", "Đ", "M").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Place:
    """An address: detailed text and, when known, commune and province codes (QĐ 19/2025)."""

    detail: str
    commune_code: str = ""
    province_code: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    """A signer or a teacher named in the record."""

    personal_id: str
    """12-digit personal identification number (SO_DINH_DANH)."""
    full_name: str
    position: str = ""


@dataclass(frozen=True, slots=True)
class Envelope:
    record_id: str
    """MA_DINH_DANH_HOC_BA: a UUID, the same for every version."""
    version: int
    event: str
    """NEW, UPDATE or CANCEL."""
    status: int
    """1 có hiệu lực, 2 thu hồi."""
    circular: str
    """22/2021/TT-BGDĐT, 27/2020/TT-BGDĐT or 43/2021/TT-BGDĐT."""
    school_year: str
    transcribed: bool = False
    """trích lục: transcribed from a paper học bạ."""
    reason: str = ""
    """Why this version corrects or revokes the previous one."""
    replaces_version: int | None = None


@dataclass(frozen=True, slots=True)
class School:
    province_office_code: str
    province_office_name: str
    code: str
    name: str
    level: str
    """MA_CAP_HOC: TH, THCS, THPT or GDTX."""
    commune_name: str
    province_name: str
    province_code: str
    commune_code: str = ""
    district_name: str = ""
    tax_code: str = ""
    authority_name: str = ""
    """TEN_CO_QUAN_QUAN_LY: who managed the school on the record's date (the Sở, a Phòng until
    30 June 2025, a commune's People's Committee since)."""


@dataclass(frozen=True, slots=True)
class Student:
    personal_id: str
    student_code: str
    full_name: str
    date_of_birth: dt.date
    sex: str
    ethnicity: str
    nationality: str
    birthplace: Place
    hometown: Place
    current_address: Place
    register_no: str = ""
    father_name: str = ""
    father_occupation: str = ""
    mother_name: str = ""
    mother_occupation: str = ""
    guardian_name: str = ""
    guardian_occupation: str = ""
    policy_category: str = ""
    disability_not_assessed: bool = False


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One school year of the student's school history (quá trình học tập)."""

    school_year: str
    class_name: str
    school_name: str
    province_name: str
    date_joined: dt.date | None = None


@dataclass(frozen=True, slots=True)
class SubjectResult:
    """DIEM_TONG_KET: one subject's results, signed by its teacher."""

    code: str
    name: str
    teacher: Person
    hk1: str = ""
    hk2: str = ""
    year: str = ""
    retake: str = ""
    level: str = ""
    """Primary: T / H / C / M."""
    test: str = ""
    """Primary: end-of-year periodic test score."""
    comment: str = ""

    @property
    def element_id(self) -> str:
        return f"mon-{self.code}"


@dataclass(frozen=True, slots=True)
class Mark:
    """A primary quality or competency: code and level (T / Đ / C)."""

    code: str
    level: str


@dataclass(frozen=True, slots=True)
class Summary:
    """TONG_KET: the year's results."""

    promoted: bool
    outcome: str
    """The rules engine's outcome code (PROMOTED, RETAINED, COMPLETED …)."""
    outcome_text: str
    """As the học bạ writes it ("Được lên lớp" …)."""
    completes_level: bool
    absences: str
    homeroom_comment: str
    learning_hk1: str = ""
    learning_hk2: str = ""
    learning_year: str = ""
    learning_after_retake: str = ""
    adjusted_for: str = ""
    conduct_hk1: str = ""
    conduct_hk2: str = ""
    conduct_year: str = ""
    conduct_after_summer: str = ""
    primary_result: str = ""
    qualities: tuple[Mark, ...] = ()
    competencies: tuple[Mark, ...] = ()
    qualities_comment: str = ""
    competencies_comment: str = ""
    awards: str = ""
    award_title: str = ""
    certificates: tuple[str, ...] = ()
    contests: str = ""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """KY_XAC_NHAN: who confirms the record, where and when."""

    homeroom_teacher: Person
    principal: Person
    place: str
    created_on: dt.date
    issued_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """An XML signature in a slot, kept as the exact bytes of its ds:Signature element."""

    xml: bytes


@dataclass(frozen=True, slots=True)
class Slots:
    """The signature slots, in signing order (hocba-record.md §3)."""

    subject_teachers: tuple[tuple[str, tuple[Signature, ...]], ...] = ()
    """(subject code, signatures) for each DIEM_TONG_KET."""
    homeroom: tuple[Signature, ...] = ()
    principal: tuple[Signature, ...] = ()
    seal: tuple[Signature, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    envelope: Envelope
    school: School
    student: Student
    grade: int
    class_name: str
    history: tuple[HistoryRow, ...]
    subjects: tuple[SubjectResult, ...]
    summary: Summary
    confirmation: Confirmation
    slots: Slots = field(default_factory=Slots)
