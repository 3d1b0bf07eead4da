"""Records built from the demo: schema, round trip, versions, corrections, revocations, and the
guard that keeps issued versions unchanged through every path."""

import subprocess

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client

from hocba.formats import build, parse, xsd_text
from hocba.records.models import (
    Event,
    ImmutableVersionError,
    Record,
    RecordVersion,
    State,
)
from hocba.records.services import (
    IdentityProblems,
    RecordError,
    build_records,
    correct_record,
    mark_issued,
    read_xml,
    revoke_record,
)
from hocba.students.models import Student
from hocba.students.services import review_students
from tests.conftest import require_tool
from tests.factories.database import current_class, user

pytestmark = pytest.mark.django_db


def test_every_demo_record_validates_and_round_trips(demo):
    versions = list(RecordVersion.objects.all())
    assert len(versions) >= 30
    for version in versions:
        content = read_xml(version)
        assert build(parse(content)) == content  # parse validates against the XSD


def test_xmllint_accepts_every_demo_record(demo, tmp_path):
    xmllint = require_tool("xmllint")
    schema = tmp_path / "hocba-record.xsd"
    schema.write_text(xsd_text(), encoding="utf-8")
    files = []
    for version in RecordVersion.objects.all():
        path = tmp_path / f"{version.record.record_id}-v{version.version}.xml"
        path.write_bytes(read_xml(version))
        files.append(path)
    done = subprocess.run([xmllint, "--noout", "--schema", schema, *files],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("validates") == len(files)


def test_students_with_identity_problems_are_refused_and_listed(demo):
    planted = {code for code, _ in demo.planted}
    with_records = set(Record.objects.values_list("student__student_code", flat=True))
    assert not planted & with_records
    school = demo.schools["chuvanan"]
    report = build_records(user("ht.chuvanan"), school, demo.years["2024-2025"])
    refused = {s.student_code for s, _ in report.refused}
    assert refused == {code for code, _ in demo.planted if code.startswith("2502")}
    assert all(reasons for _, reasons in report.refused)


def test_incomplete_results_are_refused(demo):
    from hocba.gradebook.compute import recompute
    from hocba.gradebook.models import Assessment

    class_group = current_class("8A")
    record = Record.objects.filter(class_group=class_group).first()
    Assessment.objects.filter(
        student=record.student, class_subject__class_group=class_group, kind="CK"
    ).first().delete()
    recompute(class_group, [record.student.pk])
    with pytest.raises(RecordError) as error:
        correct_record(user("ht.chuvanan"), record, "Sửa điểm")
    assert "thiếu" in str(error.value)


def issued_record(demo) -> Record:
    record = Record.objects.filter(school__code="25000201").first()
    assert record.latest().state == State.ISSUED  # the demo signs and issues every record
    return record


def test_correction_is_version_two_with_the_reason_and_leaves_version_one_unchanged(demo):
    record = issued_record(demo)
    v1 = record.versions.get(version=1)
    before = read_xml(v1)
    v2 = correct_record(user("ht.chuvanan"), record, "Sửa điểm Toán nhập nhầm")
    assert (v2.version, v2.event, v2.status, v2.state) == (2, Event.UPDATE, 1, State.DRAFT)
    parsed = parse(read_xml(v2))
    assert parsed.envelope.reason == "Sửa điểm Toán nhập nhầm"
    assert parsed.envelope.replaces_version == 1
    assert parsed.envelope.record_id == str(record.record_id)
    assert read_xml(record.versions.get(version=1)) == before
    mark_issued(v2, user("ht.chuvanan"))
    assert record.versions.get(version=1).state == State.SUPERSEDED
    assert record.current().version == 2


def test_a_correction_for_a_student_who_lost_the_date_of_birth_is_refused_and_writes_nothing(
    demo,
):
    record = issued_record(demo)
    Student.objects.filter(pk=record.student_id).update(date_of_birth=None)
    versions = list(record.versions.values_list("version", "xml_sha256"))
    with pytest.raises(IdentityProblems) as refused:
        correct_record(user("ht.chuvanan"), record, "Sửa điểm Toán nhập nhầm")
    assert "Thiếu ngày sinh" in refused.value.problems
    assert "Thiếu ngày sinh" in str(refused.value)
    assert list(record.versions.values_list("version", "xml_sha256")) == versions


def test_a_correction_is_refused_with_the_same_problems_building_lists(demo):
    record = issued_record(demo)
    Student.objects.filter(pk=record.student_id).update(
        full_name=record.student.full_name.lower(), date_of_birth=None
    )
    with pytest.raises(IdentityProblems) as refused:
        correct_record(user("ht.chuvanan"), record, "Sửa điểm")
    found = review_students(Student.objects.filter(pk=record.student_id))
    assert refused.value.problems == [f.problem.message for f in found]
    assert len(refused.value.problems) >= 2
    report = build_records(
        user("ht.chuvanan"), record.school, record.school_year, [record.class_group]
    )
    assert dict((s.pk, reasons) for s, reasons in report.refused)[record.student_id] == (
        refused.value.problems
    )
    assert record.versions.count() == 1


def test_building_for_a_student_without_a_date_of_birth_is_refused_as_before(demo):
    record = issued_record(demo)
    draft = Record.objects.filter(class_group=record.class_group).exclude(pk=record.pk).first()
    Student.objects.filter(pk=draft.student_id).update(date_of_birth=None)
    report = build_records(
        user("ht.chuvanan"), record.school, record.school_year, [record.class_group]
    )
    refused = {s.pk: reasons for s, reasons in report.refused}
    assert "Thiếu ngày sinh" in refused[draft.student_id]
    assert all(v.record.student_id != draft.student_id for v in report.created + report.updated)


def test_a_record_is_never_assembled_with_a_made_up_date_of_birth(demo):
    from django.utils import timezone

    from hocba.formats.model import Envelope
    from hocba.records.assemble import NotReady, assemble
    from hocba.rules.labels import Circular

    record = issued_record(demo)
    student = record.student
    student.date_of_birth = None
    circular = Circular.TT22.number
    envelope = Envelope(str(record.record_id), 2, Event.UPDATE, 1, circular, "2024-2025")
    with pytest.raises(NotReady) as refused:
        assemble(student, record.class_group, envelope, timezone.localdate())
    assert "Thiếu ngày sinh" in refused.value.reasons


def test_revocation_is_status_two_with_event_cancel(demo):
    record = issued_record(demo)
    v2 = revoke_record(user("ht.chuvanan"), record, "Cấp nhầm cho học sinh khác")
    parsed = parse(read_xml(v2))
    assert (parsed.envelope.status, parsed.envelope.event) == (2, "CANCEL")
    assert parsed.student == parse(read_xml(record.versions.get(version=1))).student
    mark_issued(v2, user("ht.chuvanan"))
    assert record.versions.get(version=1).state == State.REVOKED


def test_correction_and_revocation_need_a_reason_the_right_role_and_an_issued_version(demo):
    record = Record.objects.filter(school__code="25000201").first()
    correct_record(user("ht.chuvanan"), record, "lý do")
    with pytest.raises(RecordError):
        correct_record(user("ht.chuvanan"), record, "lý do")  # version 2 is still a draft
    with pytest.raises(RecordError):
        revoke_record(user("ht.chuvanan"), record, "   ")
    with pytest.raises(PermissionDenied):
        revoke_record(user("pht.chuvanan"), record, "lý do")  # revocation is the principal's
    with pytest.raises(PermissionDenied):
        correct_record(user("ht.hungvuong"), record, "lý do")  # another school's principal


def test_an_issued_version_cannot_be_modified_by_a_model_save_or_queryset(demo):
    record = issued_record(demo)
    version = record.versions.get(version=1)
    version.xml_sha256 = "0" * 64
    with pytest.raises(ImmutableVersionError):
        version.save()
    version.refresh_from_db()
    version.reason = "sửa lén"
    with pytest.raises(ImmutableVersionError):
        version.save()
    with pytest.raises(ImmutableVersionError):
        RecordVersion.objects.filter(pk=version.pk).update(reason="x")
    with pytest.raises(ImmutableVersionError):
        version.delete()
    with pytest.raises(ImmutableVersionError):
        RecordVersion.objects.filter(pk=version.pk).delete()


def test_an_issued_version_cannot_be_modified_by_a_service(demo):
    record = issued_record(demo)
    report = build_records(user("ht.chuvanan"), record.school, record.school_year,
                           [record.class_group])  # fmt: skip
    assert record.student in [s for s, _ in report.skipped]
    with pytest.raises(RecordError):
        mark_issued(record.versions.get(version=1), user("ht.chuvanan"))


def test_an_issued_version_cannot_be_modified_through_the_admin(demo):
    record = issued_record(demo)
    version = record.versions.get(version=1)
    client = Client()
    client.force_login(user("quantri"))
    response = client.post(f"/admin/records/recordversion/{version.pk}/change/",
                           {"reason": "x", "state": "DRAFT"})  # fmt: skip
    assert response.status_code == 403
    assert client.post(f"/admin/records/recordversion/{version.pk}/delete/",
                       {"post": "yes"}).status_code == 403  # fmt: skip
    version.refresh_from_db()
    assert version.state == State.ISSUED and version.reason == ""


def test_an_issued_version_cannot_be_modified_through_the_api(demo, login):
    record = issued_record(demo)
    client = login("ht.chuvanan")
    url = f"/api/v1/records/{record.record_id}"
    assert client.get(url).json()["versions"][0]["state"] == "ISSUED"
    for method in (client.put, client.patch, client.post, client.delete):
        assert method(url, {"state": "DRAFT"}, content_type="application/json").status_code == 405
    assert record.versions.get(version=1).state == State.ISSUED


def test_api_and_pages_check_scope(demo, login):
    record = Record.objects.filter(school__code="25000201").first()
    assert login("ht.hungvuong").get(f"/api/v1/records/{record.record_id}").status_code == 403
    assert login("ht.hungvuong").get(f"/records/{record.record_id}/").status_code == 403
    other_teacher = (
        login("gvcn.chuvanan.9a") if record.class_group.name != "9A" else login("gvcn.chuvanan.6a")
    )
    assert other_teacher.get(f"/records/{record.record_id}/").status_code == 403
    assert login("so.phutho").get(f"/records/{record.record_id}/").status_code == 200
    xml = login("ht.chuvanan").get(f"/api/v1/records/{record.record_id}/versions/1.xml")
    assert xml.status_code == 200 and xml.content == read_xml(record.latest())
    assert login("ht.chuvanan").get("/api/v1/records/not-a-uuid").status_code == 404


def test_record_pages(demo, login):
    record = Record.objects.filter(school__code="25000201").first()
    page = login("ht.chuvanan").get(f"/records/classes/{record.class_group.pk}/")
    assert page.status_code == 200 and record.student.full_name in page.content.decode()
    detail = login("ht.chuvanan").get(f"/records/{record.record_id}/").content.decode()
    assert str(record.record_id) in detail and "Bắt đầu điều chỉnh" in detail
    homeroom = login(f"gvcn.chuvanan.{record.class_group.name.lower()}")
    assert (
        "Bắt đầu điều chỉnh" not in homeroom.get(f"/records/{record.record_id}/").content.decode()
    )
    client = login("ht.chuvanan")
    client.post(f"/records/{record.record_id}/", {"action": "revoke", "reason": ""})
    assert record.versions.count() == 1  # a reason is required
    client.post(f"/records/{record.record_id}/", {"action": "revoke", "reason": "Sai học sinh"})
    assert record.versions.latest("version").event == Event.CANCEL


def test_cli_export_list_show_and_xsd(demo, tmp_path, capsys):
    call_command("records", "xsd")
    assert capsys.readouterr().out == xsd_text()
    call_command("records", "export", "--out", str(tmp_path), "--school", "25000201")
    files = sorted(p.name for p in tmp_path.iterdir())
    versions = RecordVersion.objects.filter(record__school__code="25000201")
    assert files == sorted(f"{v.record.record_id}-v{v.version}.xml" for v in versions)
    capsys.readouterr()
    call_command("records", "list", "--status", "DRAFT", "--json")
    assert (
        capsys.readouterr().out.count("\n") == RecordVersion.objects.filter(state="DRAFT").count()
    )
    record = versions.first().record
    call_command("records", "show", str(record.record_id), "--xml")
    assert capsys.readouterr().out.strip() == read_xml(record.latest()).decode().strip()
    with pytest.raises(CommandError) as error:
        call_command("records", "show", "nope")
    assert error.value.returncode == 2


def test_a_pending_revocation_is_never_rebuilt_from_the_grade_book(demo):
    record = issued_record(demo)
    pending = revoke_record(user("ht.chuvanan"), record, "Cấp nhầm")
    before = read_xml(pending)
    report = build_records(
        user("ht.chuvanan"), record.school, record.school_year, [record.class_group]
    )
    assert record.student in [s for s, _ in report.skipped]
    pending.refresh_from_db()
    assert read_xml(pending) == before


def test_a_stored_file_cut_short_is_written_again(tmp_path, settings):
    """A process killed while writing leaves a short file under the content's name; the next
    store of the same bytes replaces it instead of trusting the name."""
    import hashlib

    from django.core.files.storage import default_storage

    from hocba.records.models import storage_name
    from hocba.records.services import store_xml

    content = b"<HOC_BA>" + b"x" * 5000 + b"</HOC_BA>"
    name = storage_name(hashlib.sha256(content).hexdigest())
    if default_storage.exists(name):
        default_storage.delete(name)
    from django.core.files.base import ContentFile

    default_storage.save(name, ContentFile(content[:1000]))  # cut short
    digest = store_xml(content)
    with default_storage.open(storage_name(digest), "rb") as handle:
        assert handle.read() == content
