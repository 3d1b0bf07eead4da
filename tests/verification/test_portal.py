"""The public verification portal: by the QR address, by id and code, by upload; the verdict in
Vietnamese with each check; a newer version and a revocation are named; the personal ID never
shows; too many requests are refused."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from hocba.documents.models import Document
from hocba.documents.services import read_pdf
from hocba.records.models import Record, RecordVersion, State
from hocba.records.services import read_xml, revoke_record
from hocba.signing.dev.tokens import token_signer
from hocba.signing.services import sign_records
from tests.factories.database import user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def issued(code: str = "25000201") -> RecordVersion:
    return (
        RecordVersion.objects.filter(state=State.ISSUED, record__school__code=code)
        .select_related("record__student")
        .order_by("record__record_id")
        .first()
    )


def address(version: RecordVersion) -> str:
    return f"/xac-minh/{version.record.record_id}/{version.version}?h={version.xml_sha256[:12]}"


def test_the_qr_address_shows_valid_with_the_minimum_personal_data(client, demo):
    version = issued()
    page = client.get(address(version))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-verdict="VALID"' in text and "Hợp lệ" in text
    student = version.record.student
    assert student.full_name in text
    assert version.record.school.name in text
    assert student.personal_id not in text
    assert "Chữ ký số của giáo viên bộ môn" in text and "Thứ tự ký" in text


def test_the_address_printed_on_the_view_leads_to_the_page(client, demo, settings):
    """The QR code and footer carry VERIFY_URL/<id>/<version>?h=<code> (tests/documents decode
    it from the page image); that address opens this page."""
    from urllib.parse import urlsplit

    from hocba.documents.view import view_of

    version = issued()
    data, _ = view_of(read_xml(version), settings.VERIFY_URL)
    printed = urlsplit(data["address"])
    page = client.get(f"{printed.path}?{printed.query}")
    assert 'data-verdict="VALID"' in page.content.decode()


@pytest.mark.parametrize("mangle", ["code", "version", "id"])
def test_a_wrong_code_version_or_id_is_simply_not_found(client, demo, mangle):
    version = issued()
    record_id, number, code = version.record.record_id, version.version, version.xml_sha256[:12]
    if mangle == "code":
        code = ("0" if code[0] != "0" else "1") + code[1:]
    elif mangle == "version":
        number += 5
    else:
        record_id = "5b09c2a8-a1e4-4150-b0b7-17a1b3235a03"
    page = client.get(f"/xac-minh/{record_id}/{number}?h={code}")
    assert page.status_code == 404
    assert "Không tìm thấy học bạ" in page.content.decode()


def test_the_form_by_id_and_code_redirects_to_the_address(client, demo):
    version = issued()
    response = client.get(
        "/xac-minh/",
        {"id": str(version.record.record_id), "v": version.version,
         "code": version.xml_sha256[:12].upper()},
    )  # fmt: skip
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_an_uploaded_xml_pdf_and_tampered_copy(client, demo):
    version = issued()
    xml = read_xml(version)
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = client.post("/xac-minh/", {"file": SimpleUploadedFile("hb.xml", xml)})
    assert 'data-verdict="VALID"' in good.content.decode()
    score = re.search(rb"<DIEM_CA_NAM>([0-9])\.([0-9])</DIEM_CA_NAM>", xml)
    assert score is not None
    other = b"9" if score.group(1) != b"9" else b"8"
    tampered = xml.replace(score.group(0), b"<DIEM_CA_NAM>" + other + b".0</DIEM_CA_NAM>", 1)
    bad = client.post("/xac-minh/", {"file": SimpleUploadedFile("hb.xml", tampered)})
    text = bad.content.decode()
    assert 'data-verdict="TAMPERED"' in text and "Đã bị sửa đổi" in text
    document = Document.objects.get(version=version)
    pdf = client.post("/xac-minh/", {"file": SimpleUploadedFile("hb.pdf", read_pdf(document))})
    assert 'data-verdict="VALID"' in pdf.content.decode()
    empty = client.post("/xac-minh/", {})
    assert empty.status_code == 400


def test_after_revocation_the_page_says_revoked(client, demo):
    record = Record.objects.filter(school__code="25000201").last()
    old = record.versions.get(state=State.ISSUED)
    principal = user("ht.chuvanan")
    cancel = revoke_record(principal, record, "Cấp nhầm")
    signer = token_signer(record.school, principal.staff.personal_id)
    try:
        assert sign_records(principal, [cancel], "CBQL", signer).issued == [cancel]
    finally:
        signer.close()
    old.refresh_from_db()
    text = client.get(address(old)).content.decode()
    assert 'data-verdict="RECORD_REVOKED"' in text and "Đã thu hồi" in text


def test_lookups_are_rate_limited_per_address(client, demo):
    version = issued()
    url = address(version)
    codes = [client.get(url, REMOTE_ADDR="198.51.100.7").status_code for _ in range(62)]
    assert codes[:60] == [200] * 60
    assert codes[-1] == 429
    assert client.get(url, REMOTE_ADDR="198.51.100.8").status_code == 200


def test_the_api_gives_the_contract_report(client, demo):
    version = issued()
    response = client.get(
        f"/api/v1/verify/{version.record.record_id}/{version.version}",
        {"h": version.xml_sha256[:12]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "VALID" and body["valid"] is True
    assert {c["check"] for c in body["checks"]} >= {"schema", "signature", "order", "online_status"}
    missing = client.get(f"/api/v1/verify/{version.record.record_id}/{version.version}")
    assert missing.status_code == 404
    upload = client.post("/api/v1/verify", read_xml(version), content_type="application/xml").json()
    assert upload["verdict"] == "VALID"


def test_the_page_names_the_issuer_as_the_record_does_not_as_it_is_now(client, demo):
    """A 2024-2025 record names the Phòng that managed the school then; renaming the school
    since does not change what the verification shows for it."""
    from hocba.organizations.models import School

    version = issued()
    school = School.objects.get(code="25000201")
    school.name = "Trường THCS Chu Văn An Phường Thanh Miếu"
    school.save()
    text = client.get(address(version)).content.decode()
    assert 'data-verdict="VALID"' in text
    assert "Trường THCS Chu Văn An<" in text and "Chu Văn An Phường Thanh Miếu" not in text
    assert "Cơ quan quản lý" in text and "Phòng Giáo dục và Đào tạo Việt Trì" in text


def test_the_report_reads_the_issuer_from_the_file(demo):
    from hocba.formats.report import as_json
    from hocba.verification.services import lookup

    version = issued("25000301")
    result = lookup(str(version.record.record_id), version.version, version.xml_sha256[:12])
    record = as_json(result.report)["record"]
    assert record["school_name"] == "Trường THPT Hùng Vương"
    assert record["authority_name"] == "Sở Giáo dục và Đào tạo Phú Thọ"
