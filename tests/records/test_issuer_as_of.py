"""A record keeps its issuer's identity as on the date it speaks for (the end of its school
year): the 2024-2025 records of the demo name the Phòng GD&ĐT Việt Trì and the former ward, a
record of 2025-2026 names the ward's People's Committee; in the XML, the printed view and the
verification report alike."""

import datetime as dt
import subprocess

import pytest
from django.utils import timezone

from hocba.documents.models import Document
from hocba.documents.render import Renderer
from hocba.documents.services import read_pdf
from hocba.formats import build, parse
from hocba.formats.model import Envelope
from hocba.organizations.models import ClassGroup, School, SchoolPlacement, SchoolYear
from hocba.records.assemble import assemble, circular_for
from hocba.records.models import RecordVersion, State
from hocba.records.services import correct_record, read_xml
from tests.conftest import require_tool
from tests.factories.database import user

pytestmark = pytest.mark.django_db

THCS = "25000201"
THPT = "25000301"
PHONG = "Phòng Giáo dục và Đào tạo Việt Trì"
UBND = "Ủy ban nhân dân phường Thanh Miếu"
SO = "Sở Giáo dục và Đào tạo Phú Thọ"


def issued(code: str) -> RecordVersion:
    return (
        RecordVersion.objects.filter(state=State.ISSUED, record__school__code=code)
        .select_related("record__student", "record__class_group")
        .order_by("record__record_id")
        .first()
    )


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "view.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [require_tool("pdftotext"), "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def next_year_record(version: RecordVersion):
    """The same class and student, the class moved to 2025-2026: the record as it would be
    built for that year."""
    year = SchoolYear.objects.create(
        name="2025-2026", start_date=dt.date(2025, 9, 5), end_date=dt.date(2026, 5, 31)
    )
    ClassGroup.objects.filter(pk=version.record.class_group_id).update(school_year=year)
    class_group = ClassGroup.objects.get(pk=version.record.class_group_id)
    envelope = Envelope(
        record_id=str(version.record.record_id), version=1, event="NEW", status=1,
        circular=circular_for(class_group), school_year=year.name,
    )  # fmt: skip
    return assemble(version.record.student, class_group, envelope, timezone.localdate())


def test_a_2024_2025_record_names_the_phong_and_the_former_ward(demo):
    school = parse(read_xml(issued(THCS))).school
    assert school.authority_name == PHONG
    assert (school.commune_name, school.commune_code) == ("Phường Thanh Miếu", "")
    assert school.district_name == "Thành phố Việt Trì"
    assert (school.province_office_name, school.province_name) == (SO, "Tỉnh Phú Thọ")


def test_a_2024_2025_record_of_a_school_of_the_so_names_the_so(demo):
    school = parse(read_xml(issued(THPT))).school
    assert school.authority_name == SO
    assert school.district_name == "Thành phố Việt Trì"


def test_a_2025_2026_record_names_the_wards_committee_and_no_district(demo):
    record = next_year_record(issued(THCS))
    school = parse(build(record)).school  # parse validates against the XSD
    assert school.authority_name == UBND
    assert (school.commune_name, school.commune_code, school.district_name) == (
        "Phường Thanh Miếu",
        "07909",
        "",
    )


def test_a_correction_made_today_keeps_the_issuer_of_the_records_year(demo):
    version = issued(THCS)
    corrected = correct_record(user("ht.chuvanan"), version.record, "Sửa lỗi chính tả nhận xét")
    school = parse(read_xml(corrected)).school
    assert school.authority_name == PHONG
    assert school.district_name == "Thành phố Việt Trì"


def test_renaming_the_school_later_leaves_the_years_before_as_they_were(demo):
    version = issued(THCS)
    school = School.objects.get(code=THCS)
    SchoolPlacement.objects.create(
        school=school, valid_until=dt.date(2026, 6, 30), name=school.name,
        commune=school.commune, managing_commune=school.managing_commune,
    )  # fmt: skip
    school.name = "Trường THCS Chu Văn An Việt Trì"
    school.save()
    assert parse(
        read_xml(correct_record(user("ht.chuvanan"), version.record, "Sửa"))
    ).school.name == ("Trường THCS Chu Văn An")
    record = next_year_record(version)  # 2025-2026 ends before the renaming
    assert (record.school.name, record.school.authority_name) == ("Trường THCS Chu Văn An", UBND)


def test_the_printed_view_of_a_2024_2025_record_names_the_phong(demo, tmp_path):
    document = Document.objects.filter(version__record__school__code=THCS).first()
    text = pdf_text(read_pdf(document), tmp_path)
    assert PHONG in text and "Thành phố Việt Trì" in text
    assert "Ủy ban nhân dân" not in text


def test_the_printed_view_of_a_2025_2026_record_names_the_wards_committee(demo, tmp_path):
    xml = build(next_year_record(issued(THCS)))
    text = pdf_text(Renderer("https://hocba.example.vn/xac-minh").render(xml), tmp_path)
    assert UBND in text
    assert "Phòng Giáo dục" not in text and "Thành phố Việt Trì" not in text
