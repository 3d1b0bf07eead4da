"""Where each fact of a record lives: `facts_of(root)`, the one reader of the facts that other
parts of the platform decide on (verification, the warehouse, the PDF check).

The facts are those of `THONG_TIN_HOC_BA` that say which record this is and who issued it about
whom: its id, version, event and status, circular and school year, the school's codes (the
issuer fields a warehouse checks), the student's personal ID and name, the creation and issue
dates. Everything else of a record is read with `parser.read`. Pure (lxml), no Django.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from lxml import etree

from hocba.formats import _tree as t


class RecordEvent(StrEnum):
    """SU_KIEN: why this version exists."""

    NEW = "NEW"
    UPDATE = "UPDATE"
    """A correction: a new version that replaces the issued one."""
    CANCEL = "CANCEL"
    """A revocation, signed by the principal alone."""

    @property
    def label(self) -> str:
        return {"NEW": "Tạo mới", "UPDATE": "Điều chỉnh", "CANCEL": "Thu hồi"}[self.value]


class RecordStatus(IntEnum):
    """TRANG_THAI, as the record writes it."""

    IN_FORCE = 1
    REVOKED = 2

    @property
    def label(self) -> str:
        return "Có hiệu lực" if self is RecordStatus.IN_FORCE else "Đã thu hồi"


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What a record says about itself, read once from its tree."""

    record_id: str
    """MA_DINH_DANH_HOC_BA: a UUID, the same for every version of the record."""
    version: int
    """PHIEN_BAN: 1, 2, 3 …"""
    event: RecordEvent
    """SU_KIEN."""
    status: RecordStatus
    """TRANG_THAI."""
    circular: str
    """THONG_TU: 22/2021/TT-BGDĐT, 27/2020/TT-BGDĐT or 43/2021/TT-BGDĐT."""
    school_year: str
    """NAM_HOC, e.g. 2024-2025."""
    school_code: str
    """TRUONG/MA_TRUONG: the Ministry's school code."""
    school_name: str
    """TRUONG/TEN_TRUONG."""
    level: str
    """TRUONG/MA_CAP_HOC: TH, THCS, THPT or GDTX."""
    province_office_code: str
    """TRUONG/MA_SO_GD: the Sở's code."""
    province_code: str
    """TRUONG/MA_TINH."""
    district_name: str
    """TRUONG/TEN_HUYEN ("" when the record has none)."""
    tax_code: str
    """TRUONG/MA_SO_THUE: the tax code the school's seal certificate carries ("" when none)."""
    authority_name: str
    """TRUONG/TEN_CO_QUAN_QUAN_LY: who managed the school on the record's date ("" when the
    record does not say)."""
    student_personal_id: str
    """HOC_SINH/SO_DINH_DANH: the student's 12-digit personal ID."""
    student_code: str
    """HOC_SINH/MA_HOC_SINH."""
    student_name: str
    """HOC_SINH/HO_VA_TEN."""
    created_on: dt.date
    """KY_XAC_NHAN/NGAY_TAO."""
    issued_on: dt.date | None
    """KY_XAC_NHAN/NGAY_KY_PHAT_HANH (None before it is written)."""
    grade: int = 0
    """LOP/MA_KHOI: the grade (khối) of the year the record covers, 1 to 12."""
    class_name: str = ""
    """LOP/TEN_LOP: the class's name at the issuing school."""
    student_date_of_birth: dt.date | None = None
    """HOC_SINH/NGAY_SINH (None when the record does not say)."""

    @property
    def revoked(self) -> bool:
        """A revocation is status 2 with event CANCEL; either one alone is read as a revocation
        too, never as a record in force."""
        return self.status is RecordStatus.REVOKED or self.event is RecordEvent.CANCEL


_INFO = "HOC_BA/DU_LIEU_HOC_BA/THONG_TIN_HOC_BA"
_INFO_NAMES = (
    "MA_DINH_DANH_HOC_BA", "PHIEN_BAN", "SU_KIEN", "TRANG_THAI", "THONG_TU", "NAM_HOC", "TRUONG",
    "HOC_SINH", "KY_XAC_NHAN", "LOP",
)  # fmt: skip
_SCHOOL_NAMES = (
    "MA_SO_GD", "MA_TRUONG", "TEN_TRUONG", "MA_CAP_HOC", "TEN_HUYEN", "MA_TINH", "MA_SO_THUE",
    "TEN_CO_QUAN_QUAN_LY",
)  # fmt: skip
_STUDENT_NAMES = ("SO_DINH_DANH", "MA_HOC_SINH", "HO_VA_TEN", "NGAY_SINH")
_CLASS_NAMES = ("MA_KHOI", "TEN_LOP")
_GRADE = re.compile(r"\s*\+?0*(1[0-2]|[1-9])\s*")
"""MA_KHOI as the schema's xs:integer from 1 to 12 lets it be written."""
_CONFIRM_NAMES = ("NGAY_TAO", "NGAY_KY_PHAT_HANH")
_VERSION = re.compile("[1-9][0-9]{0,8}")
_DATE = re.compile("([0-9]{4}-[0-9]{2}-[0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
"""xs:date as a record may write it (four-digit year; a time zone, if any, is left aside)."""


def signed_content(root: etree._Element) -> etree._Element:
    """DU_LIEU_HOC_BA (`#data`) of a record's root element: what the principal's and the
    school's signatures cover, which holds everything the other signatures cover."""
    if root.tag != t.q("HOC_BA"):
        raise t.missing("HOC_BA")
    return t.required(t.children(root, ("DU_LIEU_HOC_BA",), "HOC_BA"), "DU_LIEU_HOC_BA", "HOC_BA")


def information(data: etree._Element) -> etree._Element:
    """THONG_TIN_HOC_BA (`#thongtinhocba`) of a record's DU_LIEU_HOC_BA."""
    path = "HOC_BA/DU_LIEU_HOC_BA"
    return t.required(t.children(data, ("THONG_TIN_HOC_BA",), path), "THONG_TIN_HOC_BA", path)


def _date(found: dict[str, etree._Element], name: str, path: str) -> dt.date:
    value = t.text_of(found, name, path)
    match = _DATE.fullmatch(value)
    try:
        if match is not None:
            return dt.date.fromisoformat(match.group(1))
    except ValueError:
        pass
    raise t.invalid(f"{path}/{name}", value)


def facts_of(root: etree._Element) -> RecordFacts:
    """The facts of the record whose root element is `root` (from `parse_untrusted`, with or
    without whitespace kept). XmlRejected with a stable code when one cannot be read:
    RECORD_ELEMENT_MISSING (a required element is absent), RECORD_ELEMENT_DUPLICATED (an element
    that occurs once occurs twice), RECORD_TEXT_INVALID (a value holds something besides text,
    or is not a version, event, status or date)."""
    info = t.children(information(signed_content(root)), _INFO_NAMES, _INFO)
    school_path, student_path = f"{_INFO}/TRUONG", f"{_INFO}/HOC_SINH"
    confirm_path = f"{_INFO}/KY_XAC_NHAN"
    school = t.children(t.required(info, "TRUONG", _INFO), _SCHOOL_NAMES, school_path)
    student = t.children(t.required(info, "HOC_SINH", _INFO), _STUDENT_NAMES, student_path)
    confirm = t.children(t.required(info, "KY_XAC_NHAN", _INFO), _CONFIRM_NAMES, confirm_path)
    class_path = f"{_INFO}/LOP"
    klass = t.children(t.required(info, "LOP", _INFO), _CLASS_NAMES, class_path)
    grade = t.text_of(klass, "MA_KHOI", class_path)
    grade_match = _GRADE.fullmatch(grade)
    if grade_match is None:
        raise t.invalid(f"{class_path}/MA_KHOI", grade)
    version = t.text_of(info, "PHIEN_BAN", _INFO)
    if not _VERSION.fullmatch(version):
        raise t.invalid(f"{_INFO}/PHIEN_BAN", version)
    event = t.text_of(info, "SU_KIEN", _INFO)
    if event not in RecordEvent.__members__:
        raise t.invalid(f"{_INFO}/SU_KIEN", event)
    status = t.text_of(info, "TRANG_THAI", _INFO)
    if status not in ("1", "2"):
        raise t.invalid(f"{_INFO}/TRANG_THAI", status)
    return RecordFacts(
        record_id=t.text_of(info, "MA_DINH_DANH_HOC_BA", _INFO),
        version=int(version),
        event=RecordEvent(event),
        status=RecordStatus(int(status)),
        circular=t.text_of(info, "THONG_TU", _INFO),
        school_year=t.text_of(info, "NAM_HOC", _INFO),
        school_code=t.text_of(school, "MA_TRUONG", school_path),
        school_name=t.text_of(school, "TEN_TRUONG", school_path),
        level=t.text_of(school, "MA_CAP_HOC", school_path),
        province_office_code=t.text_of(school, "MA_SO_GD", school_path),
        province_code=t.text_of(school, "MA_TINH", school_path),
        district_name=t.text_of(school, "TEN_HUYEN", school_path, optional=True),
        tax_code=t.text_of(school, "MA_SO_THUE", school_path, optional=True),
        authority_name=t.text_of(school, "TEN_CO_QUAN_QUAN_LY", school_path, optional=True),
        student_personal_id=t.text_of(student, "SO_DINH_DANH", student_path),
        student_code=t.text_of(student, "MA_HOC_SINH", student_path),
        student_name=t.text_of(student, "HO_VA_TEN", student_path),
        created_on=_date(confirm, "NGAY_TAO", confirm_path),
        issued_on=(
            _date(confirm, "NGAY_KY_PHAT_HANH", confirm_path)
            if "NGAY_KY_PHAT_HANH" in confirm
            else None
        ),
        grade=int(grade_match.group(1)),
        class_name=t.text_of(klass, "TEN_LOP", class_path),
        student_date_of_birth=(
            _date(student, "NGAY_SINH", student_path) if "NGAY_SINH" in student else None
        ),
    )
