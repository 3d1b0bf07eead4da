"""A fresh lower-secondary school in the demo province, with its principal, for importing into;
the fixture files made by `fixtures/generate.py`; and edits of a workbook's cells."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from hocba.organizations.models import (
    ProvinceOffice,
    Role,
    RoleAssignment,
    School,
    SchoolYear,
    Staff,
)

FIXTURES = Path(__file__).parent / "fixtures"
CODE = "25000299"
YEAR = "2024-2025"
PRINCIPAL = "ht.thunghiem"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def new_school() -> tuple[School, SchoolYear, Any]:
    """The school, the year, and its principal's user."""
    school = School.objects.create(
        code=CODE, name="Trường THCS Thử Nghiệm", province_office=ProvinceOffice.objects.get(
            code="25"), levels=["THCS"], commune_name="Phường Nông Trang", province_code="25",
        province_name="Tỉnh Phú Thọ",
    )  # fmt: skip
    user = get_user_model().objects.create_user(username=PRINCIPAL, password="x")
    principal = Staff.objects.create(
        user=user, personal_id="025075000001", full_name="Hà Văn Trưởng", school=school
    )
    RoleAssignment.objects.create(staff=principal, role=Role.PRINCIPAL, school=school)
    return school, SchoolYear.objects.get(name=YEAR), user


def edited(content: bytes, changes: dict[str, object]) -> bytes:
    """The workbook with cells changed ("E7": "Nam"), as a spreadsheet program saves it (a text
    beginning with "=" is a formula)."""
    book = load_workbook(io.BytesIO(content))
    for ref, value in changes.items():
        book.active[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
