"""The data-quality review of one student's identity, and duplicates across a whole population."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from hocba.identity.codes import ETHNICITIES, SEX_UNKNOWN, SEXES
from hocba.identity.names import is_valid_name, normalize_name
from hocba.identity.personal_id import check_personal_id
from hocba.identity.problems import Problem, ProblemCode

FIELD_LABELS: dict[str, str] = {
    "personal_id": "Mã định danh cá nhân",
    "student_code": "Mã học sinh",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "sex": "Giới tính",
    "ethnicity": "Dân tộc",
    "nationality": "Quốc tịch",
    "birthplace": "Nơi sinh",
    "hometown": "Quê quán",
    "current_address": "Nơi ở hiện nay",
}

K = TypeVar("K", bound=Hashable)

_NATIONALITY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class StudentIdentity:
    """The identity fields of a student that a học bạ carries (national dictionary names in
    brackets)."""

    personal_id: str
    """Mã định danh cá nhân [sodinhdanh], 12 digits; empty when unknown."""
    student_code: str
    """Mã học sinh of the sector database [mahocsinh]."""
    full_name: str
    """Họ và tên [hovaten]."""
    date_of_birth: dt.date | None
    """Ngày sinh [ngaythangnamsinh]."""
    sex: str
    """QCVN 109 code [gioitinh]: "0" unknown, "1" male, "2" female."""
    ethnicity: str
    """QCVN 109 code [dantoc], e.g. "01" Kinh."""
    nationality: str
    """ISO 3166-1 alpha-2 code [quoctich], e.g. "VN"."""
    birthplace: str
    """Nơi sinh, detailed address [noisinh_diachichitiet]."""
    hometown: str
    """Quê quán [quequan_diachichitiet]."""
    current_address: str
    """Nơi ở hiện nay [noiohiennay_diachichitiet]."""


def _missing(field: str) -> Problem:
    return Problem(ProblemCode.FIELD_MISSING, field, f"Thiếu {FIELD_LABELS[field].lower()}")


def review_student(person: StudentIdentity, today: dt.date) -> tuple[Problem, ...]:
    """Every problem of one student's identity data, in field order."""
    problems: list[Problem] = []
    if not person.full_name.strip():
        problems.append(_missing("full_name"))
    elif not is_valid_name(person.full_name):
        problems.append(
            Problem(
                ProblemCode.NAME_INVALID,
                "full_name",
                f"Họ và tên “{person.full_name}” chứa ký tự không phải chữ cái",
            )
        )
    elif normalize_name(person.full_name) != person.full_name:
        problems.append(
            Problem(
                ProblemCode.NAME_NOT_NORMALIZED,
                "full_name",
                f"Họ và tên “{person.full_name}” chưa chuẩn hóa, "
                f"cần ghi “{normalize_name(person.full_name)}”",
            )
        )
    if not person.student_code.strip():
        problems.append(_missing("student_code"))
    dob = person.date_of_birth
    if dob is None:
        problems.append(_missing("date_of_birth"))
    elif dob > today or dob.year < 1900:
        problems.append(
            Problem(
                ProblemCode.DATE_OF_BIRTH_INVALID,
                "date_of_birth",
                f"Ngày sinh {dob:%d/%m/%Y} không hợp lệ",
            )
        )
        dob = None
    if person.sex not in SEXES:
        problems.append(
            Problem(ProblemCode.CODE_UNKNOWN, "sex", f"Mã giới tính “{person.sex}” không hợp lệ")
        )
    elif person.sex == SEX_UNKNOWN:
        problems.append(_missing("sex"))
    problems.extend(check_personal_id(person.personal_id, dob, person.sex))
    if not person.ethnicity:
        problems.append(_missing("ethnicity"))
    elif person.ethnicity not in ETHNICITIES:
        problems.append(
            Problem(
                ProblemCode.CODE_UNKNOWN,
                "ethnicity",
                f"Mã dân tộc “{person.ethnicity}” không có trong danh mục QCVN 109:2017",
            )
        )
    if not person.nationality:
        problems.append(_missing("nationality"))
    elif not _NATIONALITY.match(person.nationality):
        problems.append(
            Problem(
                ProblemCode.CODE_UNKNOWN,
                "nationality",
                f"Mã quốc tịch “{person.nationality}” không hợp lệ",
            )
        )
    for field in ("birthplace", "hometown", "current_address"):
        if not getattr(person, field).strip():
            problems.append(_missing(field))
    return tuple(problems)


def find_duplicate_ids(
    people: Iterable[tuple[K, str]],
) -> dict[K, tuple[K, ...]]:
    """For every person whose personal ID number is shared, the other people sharing it.

    `people` are (key, personal_id) pairs; empty numbers are ignored.
    """
    by_id: dict[str, list[K]] = defaultdict(list)
    for key, personal_id in people:
        if personal_id:
            by_id[personal_id].append(key)
    result: dict[K, tuple[K, ...]] = {}
    for keys in by_id.values():
        if len(keys) > 1:
            for key in keys:
                result[key] = tuple(other for other in keys if other != key)
    return result
