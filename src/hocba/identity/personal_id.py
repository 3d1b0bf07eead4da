"""Mã định danh cá nhân: the 12-digit personal identification number.

Layout: 3 digits for the province of birth registration, 1 digit for century and sex
(0/1: 1900s male/female, 2/3: 2000s, 4/5: 2100s, 6/7: 2200s, 8/9: 2300s), 2 digits for the
year of birth, 6 serial digits. The number itself carries no check digit, so the checks here are
the ones the layout allows: form, province code, and agreement with date of birth and sex.
"""

from __future__ import annotations

import datetime as dt

from hocba.identity.codes import PERSONAL_ID_PROVINCES, SEX_FEMALE, SEX_MALE
from hocba.identity.problems import Problem, ProblemCode

FIELD = "personal_id"


def century_sex_digit(year: int, sex: str) -> int:
    """The 4th digit for a person born in `year` with QCVN 109 sex code `sex` ("1"/"2")."""
    century_index = year // 100 - 19
    if not 0 <= century_index <= 4:
        raise ValueError(f"năm sinh {year} ngoài khoảng 1900–2399")
    return century_index * 2 + (1 if sex == SEX_FEMALE else 0)


def make_personal_id(province: str, date_of_birth: dt.date, sex: str, serial: int) -> str:
    """A well-formed number (for test and demo data)."""
    if province not in PERSONAL_ID_PROVINCES:
        raise ValueError(f"mã tỉnh {province} không có trong danh mục")
    if not 0 <= serial <= 999_999:
        raise ValueError("số thứ tự phải có 6 chữ số")
    digit = century_sex_digit(date_of_birth.year, sex)
    return f"{province}{digit}{date_of_birth.year % 100:02d}{serial:06d}"


def check_personal_id(
    value: str | None, date_of_birth: dt.date | None, sex: str | None
) -> tuple[Problem, ...]:
    """Every problem of `value` on its own and against the person's date of birth and sex.

    Checks that need the date of birth or the sex are skipped when those are missing (their
    absence is reported by the mandatory-field check).
    """
    if value is None or value.strip() == "":
        return (Problem(ProblemCode.PERSONAL_ID_MISSING, FIELD, "Thiếu mã định danh cá nhân"),)
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return (
            Problem(
                ProblemCode.PERSONAL_ID_FORMAT,
                FIELD,
                f"Mã định danh cá nhân phải gồm đúng 12 chữ số (đang là “{value}”)",
            ),
        )
    problems: list[Problem] = []
    province, digit, yy = value[:3], int(value[3]), int(value[4:6])
    if province not in PERSONAL_ID_PROVINCES:
        problems.append(
            Problem(
                ProblemCode.PERSONAL_ID_PROVINCE,
                FIELD,
                f"Mã tỉnh nơi đăng ký khai sinh “{province}” không có trong danh mục",
            )
        )
    if date_of_birth is not None:
        century = 1900 + (digit // 2) * 100
        if century != date_of_birth.year // 100 * 100:
            problems.append(
                Problem(
                    ProblemCode.PERSONAL_ID_CENTURY,
                    FIELD,
                    f"Chữ số thứ 4 ({digit}) chỉ thế kỷ sinh {century // 100 + 1}, "
                    f"không khớp năm sinh {date_of_birth.year}",
                )
            )
        if yy != date_of_birth.year % 100:
            problems.append(
                Problem(
                    ProblemCode.PERSONAL_ID_BIRTH_YEAR,
                    FIELD,
                    f"Chữ số thứ 5–6 ({value[4:6]}) không khớp năm sinh {date_of_birth.year}",
                )
            )
    if sex in (SEX_MALE, SEX_FEMALE):
        id_sex = SEX_FEMALE if digit % 2 else SEX_MALE
        if id_sex != sex:
            stated = "nữ" if sex == SEX_FEMALE else "nam"
            encoded = "nữ" if id_sex == SEX_FEMALE else "nam"
            problems.append(
                Problem(
                    ProblemCode.PERSONAL_ID_SEX,
                    FIELD,
                    f"Chữ số thứ 4 ({digit}) chỉ giới tính {encoded}, hồ sơ ghi giới tính {stated}",
                )
            )
    return tuple(problems)
