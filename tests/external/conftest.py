"""Records issued by another vendor: a development PKI of its own (`make_kit`), which the
platform's verifier is configured to trust beside the test run's own, and records it signed for
students of the demo school Chu Văn An."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from hocba.formats import model as m
from hocba.signing import config
from hocba.students.models import Student
from tests.factories.records import TAX_CODE, Kit, make_kit, sample_record

SCHOOL = "25000201"  # Chu Văn An, the importing school
OTHER_SCHOOL = "25000301"  # Hùng Vương
ISSUER_CODE, ISSUER_NAME = "26000777", "Trường THCS Liên Bảo"


@dataclass
class Vendor:
    """The other vendor's keys, and records it signs for the demo school's students."""

    kit: Kit

    def record(
        self,
        student: Student,
        school_year: str = "2023-2024",
        grade: int = 6,
        record_id: str | None = None,
        personal_id: str | None = None,
        student_code: str | None = None,
        full_name: str | None = None,
        date_of_birth: dt.date | None = None,
    ) -> bytes:
        base = sample_record(record_id=record_id or str(uuid.uuid4()), school_year=school_year)
        record = dataclasses.replace(
            base,
            school=dataclasses.replace(
                base.school, code=ISSUER_CODE, name=ISSUER_NAME, tax_code=TAX_CODE
            ),
            student=dataclasses.replace(
                base.student,
                personal_id=personal_id or student.personal_id,
                student_code=student_code or student.student_code,
                full_name=full_name or student.full_name,
                date_of_birth=date_of_birth or student.date_of_birth or dt.date(2012, 1, 1),
            ),
            grade=grade,
            class_name=f"{grade}A",
            history=(m.HistoryRow(school_year, f"{grade}A", ISSUER_NAME, "Tỉnh Vĩnh Phúc"),),
        )
        return self.kit.signed(record)


def _trust(settings, kits: list[Path]) -> None:  # type: ignore[no-untyped-def]
    own = config.pki_dir()
    settings.TRUST_ANCHORS = [str(p / "ca/root.pem") for p in (own, *kits)]
    settings.TRUST_INTERMEDIATES = [str(p / "ca/issuing.pem") for p in (own, *kits)]
    settings.CRLS = [str(p / "crl/issuing.crl") for p in (own, *kits)]
    settings.OCSP = False
    config.reset()


@pytest.fixture(scope="session")
def vendor_kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return make_kit(tmp_path_factory.mktemp("other-vendor"))


@pytest.fixture(scope="session")
def stranger_kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """A PKI nobody configured: its signatures chain to no trusted root."""
    return make_kit(tmp_path_factory.mktemp("untrusted-vendor"))


@pytest.fixture
def vendor(demo, settings, vendor_kit: Kit):  # type: ignore[no-untyped-def]
    """The other vendor, its PKI trusted by the platform's verifier for this test."""
    _trust(settings, [vendor_kit.pki.path])
    yield Vendor(vendor_kit)
    config.reset()


@pytest.fixture
def stranger(vendor: Vendor, stranger_kit: Kit) -> Vendor:
    return Vendor(stranger_kit)


@pytest.fixture
def students(demo) -> list[Student]:  # type: ignore[no-untyped-def]
    """Students of the importing school with a personal ID."""
    return list(
        Student.objects.filter(enrolments__class_group__school__code=SCHOOL)
        .exclude(personal_id="")
        .distinct()
        .order_by("student_code")[:3]
    )
