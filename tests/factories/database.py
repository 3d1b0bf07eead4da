"""Rows beside the demo province: organisations, staff, students, the demo's issued versions, and
packages sealed with a demo school's own token."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model

from hocba.exchange.models import OutboxItem
from hocba.exchange.services import set_credential
from hocba.formats import package as pkg
from hocba.formats import parse
from hocba.identity import make_personal_id
from hocba.organizations.models import (
    ClassGroup,
    ProvinceOffice,
    Role,
    RoleAssignment,
    School,
    SchoolYear,
    Staff,
)
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml, store_xml
from hocba.signing import package as sealing
from hocba.signing.dev.tokens import ensure_dev_pki, org_label, token_signer
from hocba.students.models import Enrolment, Student
from hocba.warehouse.auth import Caller, create_account
from hocba.warehouse.models import Account
from tests.factories.records import CLIENT_ID, NAME, SCHOOL, SECRET, TAX

_serial = itertools.count(900_000)


THCS = "25000201"  # the demo's lower-secondary school


def current_class(name: str, school: str = THCS) -> ClassGroup:
    """The demo's class `name` of 2024-2025 at `school`."""
    return ClassGroup.objects.get(school__code=school, name=name, school_year__name="2024-2025")


def user(username: str) -> Any:
    """The demo's user `username` (every demo account exists)."""
    return get_user_model().objects.get(username=username)


def staff_user(username: str, school: School | None, role: Role, **scope: object) -> Staff:
    user = get_user_model().objects.create_user(username=username, password="x", is_staff=True)
    person = Staff.objects.create(
        user=user,
        personal_id=make_personal_id("001", dt.date(1985, 1, 1), "2", next(_serial)),
        full_name="Trần Thị Thử",
        school=school,
    )
    assignment = RoleAssignment(staff=person, role=role, **scope)
    assignment.full_clean()
    assignment.save()
    return person


def student_in(class_group: ClassGroup, name: str = "Lê Văn Khách") -> Student:
    n = next(_serial)
    student = Student.objects.create(
        personal_id=make_personal_id("001", dt.date(2012, 2, 2), "0", n),
        student_code=f"T{n}",
        full_name=name,
        date_of_birth=dt.date(2012, 2, 2),
        sex="1",
        ethnicity="01",
        birthplace="Hà Nội",
        hometown="Hà Nội",
        current_address="Hà Nội",
    )
    Enrolment.objects.create(
        student=student, class_group=class_group, date_joined=dt.date(2024, 9, 5)
    )
    return student


def other_province() -> tuple[ProvinceOffice, School, ClassGroup]:
    province = ProvinceOffice.objects.create(
        code="01", name="Sở Giáo dục và Đào tạo Hà Nội", province_code="01",
        province_name="Thành phố Hà Nội",
    )  # fmt: skip
    school = School.objects.create(
        code="01000201", name="Trường THCS Thăng Long", province_office=province,
        levels=["THCS"], commune_name="Phường Ba Đình", province_code="01",
        province_name="Thành phố Hà Nội",
    )  # fmt: skip
    year = SchoolYear.objects.get(name="2024-2025")
    class_group = ClassGroup.objects.create(
        school=school, school_year=year, level="THCS", grade=7, name="7A"
    )
    return province, school, class_group


def issued(code: str) -> list[RecordVersion]:
    """The demo's issued record versions of school `code` (by record id)."""
    return list(
        RecordVersion.objects.filter(record__school__code=code, state=State.ISSUED)
        .select_related("record__school")
        .order_by("record__record_id")
    )


def issued_version(school_code: str = "25000201") -> RecordVersion:
    """The demo's first issued record version of a school (by record id)."""
    return issued(school_code)[0]


def school(code: str) -> School:
    return School.objects.get(code=code)


def caller(client_id: str) -> Caller:
    """The warehouse's caller for account `client_id`, with all its scopes."""
    account = Account.objects.get(client_id=client_id)
    return Caller(account, account.scope_set)


def entry(version: RecordVersion, content: bytes | None = None) -> pkg.Entry:
    return pkg.Entry(
        str(version.record.record_id),
        version.version,
        version.event,
        read_xml(version) if content is None else content,
    )


def sealed(code: str, entries: Sequence[pkg.Entry], key_of: str | None = None) -> bytes:
    """A package from school `code`, sealed with the organisation key of school `key_of`
    (its own by default)."""
    sender = school(code)
    holder = school(key_of or code)
    signer = token_signer(holder, org_label(holder))
    try:
        root = pkg.build(pkg.Sender("TRUONG", sender.code, sender.tax_code), entries)
        return sealing.seal(root, signer)
    finally:
        signer.close()


def school_with_outbox(contents: tuple[bytes, ...]) -> School:
    """The school, its token (its organisation key seals the packages) and an outbox holding
    `contents`, as issuing them would have left it."""
    province, _ = ProvinceOffice.objects.get_or_create(
        code="25",
        defaults={
            "name": "Sở Giáo dục và Đào tạo Phú Thọ",
            "province_code": "25",
            "province_name": "Tỉnh Phú Thọ",
        },
    )
    school, _ = School.objects.update_or_create(
        code=SCHOOL,
        defaults={
            "name": NAME,
            "province_office": province,
            "levels": ["THCS"],
            "commune_name": "Phường Tiên Cát",
            "province_code": "25",
            "province_name": "Tỉnh Phú Thọ",
            "tax_code": TAX,
        },
    )
    ensure_dev_pki()
    for content in contents:
        envelope = parse(content).envelope
        OutboxItem.objects.create(
            record_id=envelope.record_id,
            version=envelope.version,
            event=envelope.event,
            xml_sha256=store_xml(content),
            sender_code=SCHOOL,
            school_code=SCHOOL,
            school_year=envelope.school_year,
        )
    return school


def seal_keeper(school: School, username: str = "vanthu.thunghiem") -> Any:
    """A user who seals for `school` (may see its outbox); the Django user."""
    user = get_user_model().objects.create_user(username=username, password="x")
    person = Staff.objects.create(
        user=user, personal_id="025085009999", full_name="Văn thư Thử", school=school
    )
    RoleAssignment.objects.create(staff=person, role=Role.SEAL_KEEPER, school=school)
    return user


def school_account(**changes: str) -> Account:
    """The school's account at the warehouse (as the Sở registers it), and the school's
    credential for it."""
    fields = {"school_code": SCHOOL, "province_code": "25", "province_office_code": "25",
              "tax_code": TAX, **changes}  # fmt: skip
    account = create_account(CLIENT_ID, SECRET, NAME, Account.Kind.SCHOOL, **fields)
    set_credential(SCHOOL, CLIENT_ID, SECRET)
    return account
