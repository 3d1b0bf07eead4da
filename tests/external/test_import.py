"""Importing records another system issued: verified like on the public portal, matched to the
school's students, kept byte for byte; anything else refused with a code, and the batch with it."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from hocba.audit.models import AuditEvent
from hocba.exchange.models import OutboxItem
from hocba.external.services import ImportRefused, Incoming, expand, import_external
from hocba.organizations.models import School
from hocba.records.models import ExternalRecord, ImmutableVersionError, RecordVersion, State
from hocba.records.services import read_external_xml, read_xml
from tests.external.conftest import ISSUER_CODE, ISSUER_NAME, OTHER_SCHOOL, SCHOOL
from tests.factories.database import user

pytestmark = pytest.mark.django_db

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE HOC_BA [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<HOC_BA xmlns="urn:hocba:xml:1">&x;</HOC_BA>'
)


def _school(code: str = SCHOOL) -> School:
    return School.objects.get(code=code)


def _refused(files: list[Incoming], code: str = SCHOOL) -> ImportRefused:
    with pytest.raises(ImportRefused) as refused:
        import_external(user("ht.chuvanan"), _school(code), files)
    return refused.value


def test_a_record_signed_by_a_trusted_other_vendor_is_kept_byte_for_byte(vendor, students):
    content = vendor.record(students[0])
    outbox, versions = OutboxItem.objects.count(), RecordVersion.objects.count()

    report = import_external(user("ht.chuvanan"), _school(), [Incoming("lop6.xml", content)])

    (imported,) = report.imported
    assert imported.xml_sha256 == hashlib.sha256(content).hexdigest()
    assert read_external_xml(imported) == content
    assert imported.student == students[0]
    assert (imported.issuer_code, imported.issuer_name) == (ISSUER_CODE, ISSUER_NAME)
    assert (imported.school_year, imported.grade, imported.class_name) == ("2023-2024", 6, "6A")
    assert imported.verdict == "VALID" and imported.report["valid"] is True
    assert imported.verified_at is not None
    # never hocba's own: no version, nothing in the outbox
    assert (OutboxItem.objects.count(), RecordVersion.objects.count()) == (outbox, versions)
    assert AuditEvent.objects.filter(action="records.import_external").count() == 1


def test_a_personal_id_that_names_nobody_is_refused_though_the_student_code_matches(
    vendor, students
):
    # another child's record, carrying by chance (or on purpose) a pupil's vendor code
    content = vendor.record(students[1], personal_id="099299009999")
    (refusal,) = _refused([Incoming("a.xml", content)]).refusals
    assert refusal.code == "EXTERNAL_STUDENT_UNKNOWN"
    assert "a.xml" in refusal.message and "099299009999" in refusal.message
    assert not ExternalRecord.objects.exists()


def test_a_personal_id_and_a_student_code_of_two_students_are_refused(vendor, students):
    content = vendor.record(students[0], student_code=students[1].student_code)
    (refusal,) = _refused([Incoming("a.xml", content)]).refusals
    assert refusal.code == "EXTERNAL_STUDENT_CODE_DIFFERS"
    assert students[1].student_code in refusal.message
    assert not ExternalRecord.objects.exists()


def test_a_record_of_another_name_or_birth_date_is_refused_naming_what_differs(vendor, students):
    student = students[0]
    renamed = vendor.record(student, full_name="Nguyễn Văn Khác")
    (refusal,) = _refused([Incoming("ten.xml", renamed)]).refusals
    assert refusal.code == "EXTERNAL_STUDENT_NAME_DIFFERS"
    assert "Nguyễn Văn Khác" in refusal.message
    assert student.date_of_birth is not None
    other_day = student.date_of_birth - dt.timedelta(days=400)
    born = vendor.record(student, date_of_birth=other_day)
    (refusal,) = _refused([Incoming("ngay-sinh.xml", born)]).refusals
    assert refusal.code == "EXTERNAL_STUDENT_BIRTH_DATE_DIFFERS"
    assert other_day.strftime("%d/%m/%Y") in refusal.message
    assert not ExternalRecord.objects.exists()


def test_a_record_with_the_name_written_in_other_case_and_spacing_is_the_students(vendor, students):
    student = students[0]
    content = vendor.record(student, full_name="  " + student.full_name.upper().replace(" ", "  "))
    report = import_external(user("ht.chuvanan"), _school(), [Incoming("a.xml", content)])
    assert report.imported[0].student == student


def test_a_broken_signature_is_refused(vendor, students):
    content = vendor.record(students[0]).replace(
        "Chăm ngoan, học tốt.".encode(), "Chăm ngoan, học giỏi".encode()
    )
    refused = _refused([Incoming("sua.xml", content)])
    (refusal,) = refused.refusals
    assert refusal.code == "EXTERNAL_NOT_VERIFIED"
    assert refusal.detail == "DIGEST_MISMATCH"
    assert "sua.xml" in refusal.message and "Đã bị sửa đổi" in refusal.message
    assert not ExternalRecord.objects.exists()


def test_a_chain_to_no_trusted_root_is_refused(stranger, students):
    refused = _refused([Incoming("la.xml", stranger.record(students[0]))])
    (refusal,) = refused.refusals
    assert (refusal.code, refusal.detail) == ("EXTERNAL_NOT_VERIFIED", "CHAIN_UNTRUSTED")
    assert "la.xml" in refusal.message
    assert not ExternalRecord.objects.exists()


def test_a_student_the_school_does_not_have_is_refused_naming_the_file(vendor, demo):
    from hocba.students.models import Student

    elsewhere = (
        Student.objects.filter(enrolments__class_group__school__code=OTHER_SCHOOL)
        .exclude(enrolments__class_group__school__code=SCHOOL)
        .exclude(personal_id="")
        .first()
    )
    refused = _refused([Incoming("hs-khac.xml", vendor.record(elsewhere))])
    (refusal,) = refused.refusals
    assert refusal.code == "EXTERNAL_STUDENT_UNKNOWN"
    assert "hs-khac.xml" in refusal.message and elsewhere.student_code in refusal.message


def test_an_xxe_file_is_refused_by_the_safe_parser(vendor):
    (refusal,) = _refused([Incoming("xxe.xml", XXE)]).refusals
    assert (refusal.code, refusal.detail) == ("EXTERNAL_NOT_A_RECORD", "XML_DTD_FORBIDDEN")
    assert "xxe.xml" in refusal.message and "không phải học bạ số" in refusal.message


@pytest.mark.parametrize(
    "content",
    [b"<html><body>hoc ba</body></html>", b"not xml at all", "Học bạ".encode(), b"%PDF-1.7"],
)
def test_a_file_that_is_not_a_record_is_refused(vendor, content):
    (refusal,) = _refused([Incoming("khac.xml", content)]).refusals
    assert refusal.code == "EXTERNAL_NOT_A_RECORD"
    assert "khac.xml" in refusal.message


def test_a_file_larger_than_a_record_is_refused_unparsed(vendor):
    (refusal,) = _refused(
        [Incoming("to.xml", b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>")]
    ).refusals
    assert (refusal.code, refusal.detail) == ("EXTERNAL_NOT_A_RECORD", "XML_TOO_LARGE")


def test_importing_the_same_file_twice_changes_nothing(vendor, students):
    content = vendor.record(students[0])
    principal, school = user("ht.chuvanan"), _school()
    first = import_external(principal, school, [Incoming("a.xml", content)])
    events = AuditEvent.objects.count()

    again = import_external(principal, school, [Incoming("a-copy.xml", content)] * 2)

    assert again.imported == [] and again.unchanged == first.imported
    assert ExternalRecord.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_a_batch_with_one_bad_file_imports_nothing(vendor, students):
    good = [Incoming(f"{s.student_code}.xml", vendor.record(s)) for s in students]
    refused = _refused([*good, Incoming("xxe.xml", XXE)])
    assert [r.name for r in refused.refusals] == ["xxe.xml"]
    assert not ExternalRecord.objects.exists()
    assert not AuditEvent.objects.filter(action="records.import_external").exists()


def test_a_record_hocba_issued_itself_is_refused(vendor, demo):
    own = RecordVersion.objects.filter(
        state=State.ISSUED, record__school__code=SCHOOL
    ).select_related("record")[0]
    (refusal,) = _refused([Incoming("cua-minh.xml", read_xml(own))]).refusals
    assert refusal.code == "EXTERNAL_ISSUED_HERE"
    assert str(own.record.record_id) in refusal.message


def test_another_file_for_the_same_record_and_version_is_a_conflict(vendor, students):
    record_id = "6b7e1f38-2a54-4d43-9a0e-5d8c1a2b3c4d"
    principal, school = user("ht.chuvanan"), _school()
    import_external(
        principal, school, [Incoming("a.xml", vendor.record(students[0], record_id=record_id))]
    )
    other = vendor.record(students[0], record_id=record_id, grade=7)
    (refusal,) = _refused([Incoming("b.xml", other)]).refusals
    assert refusal.code == "EXTERNAL_CONFLICT"


def test_only_the_principal_imports(vendor, students):
    content = vendor.record(students[0])
    for username in ("vt.chuvanan", "ht.hungvuong"):
        with pytest.raises(PermissionDenied):
            import_external(user(username), _school(), [Incoming("a.xml", content)])
    assert not ExternalRecord.objects.exists()


def test_an_imported_record_cannot_be_changed_or_deleted(vendor, students):
    (row,) = import_external(
        user("ht.chuvanan"), _school(), [Incoming("a.xml", vendor.record(students[0]))]
    ).imported
    row.grade = 9
    with pytest.raises(ImmutableVersionError):
        row.save()
    with pytest.raises(ImmutableVersionError):
        row.delete()
    with pytest.raises(ImmutableVersionError):
        ExternalRecord.objects.filter(pk=row.pk).update(grade=9)
    with pytest.raises(ImmutableVersionError):
        ExternalRecord.objects.filter(pk=row.pk).delete()


# --- ZIP archives ------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_of_records_is_imported_whole(vendor, students):
    contents = {f"lop6/{s.student_code}.xml": vendor.record(s) for s in students}
    archive = _zip({**contents, "__MACOSX/._x.xml": b"junk"})
    report = import_external(user("ht.chuvanan"), _school(), [Incoming("cu.zip", archive)])
    assert sorted(r.xml_sha256 for r in report.imported) == sorted(
        hashlib.sha256(c).hexdigest() for c in contents.values()
    )


def test_a_zip_bomb_is_refused_before_it_is_unpacked(vendor):
    bomb = _zip({"bom.xml": b"\0" * (3 * 1024 * 1024)})
    assert len(bomb) < 10_000
    (refusal,) = _refused([Incoming("bom.zip", bomb)]).refusals
    assert refusal.code == "EXTERNAL_ARCHIVE_REFUSED" and "bom.zip" in refusal.message


def test_a_zip_with_more_entries_than_an_import_takes_is_refused(vendor):
    many = _zip({f"{i}.xml": b"" for i in range(1001)}, zipfile.ZIP_STORED)
    (refusal,) = _refused([Incoming("nhieu.zip", many)]).refusals
    assert refusal.code == "EXTERNAL_ARCHIVE_REFUSED"


def test_a_damaged_zip_is_refused(vendor):
    damaged = _zip({"a.xml": b"<a/>" * 1000})[:-30]
    (refusal,) = _refused([Incoming("hong.zip", damaged)]).refusals
    assert refusal.code == "EXTERNAL_ARCHIVE_REFUSED"


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_whatever_bytes_a_zip_holds_the_answer_is_files_or_a_refusal(data):
    try:
        files = expand([Incoming("x.zip", b"PK\x03\x04" + data)])
    except ImportRefused as refused:
        assert refused.refusals and all(r.code.startswith("EXTERNAL_") for r in refused.refusals)
    else:
        assert all(isinstance(f.content, bytes) for f in files)


def test_a_file_imported_by_another_request_meanwhile_is_counted_as_imported_before(
    vendor, students
):
    """The form sent twice: the other request writes the record after this one has read the
    school's imported records, just as this one opens its transaction to write its own."""
    from django.db import connection

    content = vendor.record(students[0])
    principal, school = user("ht.chuvanan"), _school()
    raced: dict[str, object] = {}

    def other_request_first(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if not raced and sql.startswith("SAVEPOINT"):
            raced["started"] = True
            raced["report"] = import_external(principal, school, [Incoming("lan-1.xml", content)])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_request_first):
        report = import_external(principal, school, [Incoming("lan-2.xml", content)])

    other = raced["report"]
    assert other.imported and report.imported == []  # type: ignore[attr-defined]
    assert report.unchanged == other.imported  # type: ignore[attr-defined]
    assert ExternalRecord.objects.count() == 1
