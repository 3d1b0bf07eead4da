"""What people see of a record another system issued: the principal's import page, the student's
page, the class's records, the family page; the exact bytes to download, which the public portal
judges as the import did; no correction of it here; and `hocba records import-external`."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from hocba.family.models import StudentAccess
from hocba.records.models import ExternalRecord, RecordVersion
from hocba.students.models import Student
from tests.external.conftest import ISSUER_NAME, SCHOOL

pytestmark = pytest.mark.django_db

SHOWN = f"Cấp bởi hệ thống khác: {ISSUER_NAME}"


@pytest.fixture
def own_student(demo) -> tuple[Student, str]:  # type: ignore[no-untyped-def]
    """A student of the importing school with their own account (username)."""
    access = StudentAccess.objects.select_related("student", "user").filter(
        relation=StudentAccess.Relation.SELF,
        student__enrolments__class_group__school__code=SCHOOL,
    )[0]
    return access.student, access.user.username


def _upload(login, files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    client = login("ht.chuvanan")
    uploads = [SimpleUploadedFile(name, data, "application/xml") for name, data in files.items()]
    return client, client.post(f"/external/schools/{SCHOOL}/", {"files": uploads})


def test_the_principal_imports_files_and_sees_them_listed(vendor, students, login):
    files = {f"{s.student_code}.xml": vendor.record(s) for s in students[:2]}
    client, answer = _upload(login, files)
    assert answer.status_code == 302
    page = client.get(f"/external/schools/{SCHOOL}/").content.decode()
    assert "Đã nhập 2 học bạ" in page
    assert SHOWN in page and students[0].full_name in page
    assert ExternalRecord.objects.count() == 2


def test_a_refused_upload_says_why_in_vietnamese_and_imports_nothing(vendor, students, login):
    _, answer = _upload(login, {"tot.xml": vendor.record(students[0]), "rac.xml": b"<a/>"})
    assert answer.status_code == 422
    page = answer.content.decode()
    assert "Chưa nhập tệp nào" in page and "Tệp rac.xml không phải học bạ số" in page
    assert "EXTERNAL_" not in page  # no internal codes on pages
    assert not ExternalRecord.objects.exists()


def test_the_student_page_class_list_and_family_page_show_it_as_issued_elsewhere(
    vendor, own_student, login, client
):
    student, username = own_student
    content = vendor.record(student)
    _upload(login, {"cu.xml": content})
    imported = ExternalRecord.objects.get()

    staff = login("ht.chuvanan")
    student_page = staff.get(f"/students/{student.pk}/").content.decode()
    assert SHOWN in student_page and "2023-2024" in student_page and "Hợp lệ" in student_page
    class_group = student.enrolments.select_related("class_group").last().class_group
    class_page = staff.get(f"/records/classes/{class_group.pk}/").content.decode()
    assert SHOWN in class_page
    detail = staff.get(f"/external/{imported.pk}/").content.decode()
    assert SHOWN in detail and imported.xml_sha256 in detail
    assert staff.get(f"/external/{imported.pk}.xml").content == content

    family = login(username)
    home = family.get("/my/").content.decode()
    assert SHOWN in home and "2023-2024" in home and "Hợp lệ" in home
    downloaded = family.get(f"/my/external/{imported.pk}.xml")
    assert downloaded.content == content
    assert hashlib.sha256(downloaded.content).hexdigest() == imported.xml_sha256


def test_the_public_portal_judges_the_downloaded_bytes_as_the_import_did(
    vendor, students, login, client
):
    _upload(login, {"cu.xml": vendor.record(students[0])})
    imported = ExternalRecord.objects.get()
    downloaded = login("ht.chuvanan").get(f"/external/{imported.pk}.xml").content
    client.logout()
    answer = client.post("/api/v1/verify", downloaded, content_type="application/xml").json()
    assert answer["verdict"] == imported.verdict == "VALID"
    assert [(c["check"], c["status"]) for c in answer["checks"]] == [
        (c["check"], c["status"]) for c in imported.report["checks"]
    ]


def test_a_correction_of_an_imported_record_is_refused(vendor, students, login):
    client, _ = _upload(login, {"cu.xml": vendor.record(students[0])})
    imported = ExternalRecord.objects.get()
    versions = RecordVersion.objects.count()
    answer = client.post(
        f"/external/{imported.pk}/", {"action": "correct", "reason": "Sai điểm"}, follow=True
    )
    assert "chỉ nơi cấp mới điều chỉnh hoặc thu hồi được" in answer.content.decode()
    assert RecordVersion.objects.count() == versions
    assert ExternalRecord.objects.get().xml_sha256 == imported.xml_sha256


def test_the_command_imports_a_folder_and_a_second_run_changes_nothing(vendor, students, tmp_path):
    for s in students:
        (tmp_path / f"{s.student_code}.xml").write_bytes(vendor.record(s))
    out = io.StringIO()
    call_command("records", "import-external", str(tmp_path), "--school", SCHOOL, stdout=out)
    assert out.getvalue().startswith(f"imported {len(students)}, unchanged 0")
    again = io.StringIO()
    call_command("records", "import-external", str(tmp_path), "--school", SCHOOL, stdout=again)
    assert again.getvalue().startswith(f"imported 0, unchanged {len(students)}")
    assert ExternalRecord.objects.count() == len(students)


def test_the_command_names_each_refused_file_with_its_code(vendor, students, tmp_path):
    good, bad = tmp_path / "tot.xml", tmp_path / "xxe.xml"
    good.write_bytes(vendor.record(students[0]))
    bad.write_bytes(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(
            "records", "import-external", str(good), str(bad), "--school", SCHOOL, stderr=err
        )
    assert refused.value.returncode == 1
    assert "EXTERNAL_IMPORT_REFUSED" in str(refused.value)
    assert f"{bad}: EXTERNAL_NOT_A_RECORD: Tệp {bad} không phải học bạ số" in err.getvalue()
    assert not ExternalRecord.objects.exists()


def test_the_school_page_leads_the_principal_alone_to_the_import(demo, login):
    link = f'href="/external/schools/{SCHOOL}/"'
    assert link in login("ht.chuvanan").get(f"/schools/{SCHOOL}/").content.decode()
    assert link not in login("vt.chuvanan").get(f"/schools/{SCHOOL}/").content.decode()


def test_the_admin_shows_imported_records_read_only_and_in_scope(vendor, students, login):
    _upload(login, {"cu.xml": vendor.record(students[0])})
    imported = ExternalRecord.objects.get()
    own = login("ht.chuvanan").get("/admin/records/externalrecord/")
    assert own.status_code == 200 and students[0].full_name in own.content.decode()
    assert login("ht.chuvanan").get("/admin/records/externalrecord/add/").status_code == 403
    other = login("ht.hungvuong").get(f"/admin/records/externalrecord/{imported.pk}/change/")
    assert other.status_code in (302, 404)


def test_a_teacher_of_a_class_the_pupil_attended_does_not_read_it(vendor, login):
    from hocba.organizations.models import RoleAssignment
    from hocba.organizations.permissions import Permission, can, scoped
    from tests.factories.database import user

    homeroom = user("gvcn.chuvanan.7a")
    taught = RoleAssignment.objects.filter(staff__user=homeroom, active=True)[0].class_group
    pupil = Student.objects.filter(enrolments__class_group=taught).exclude(personal_id="")[0]
    _upload(login, {"cu.xml": vendor.record(pupil)})
    imported = ExternalRecord.objects.get()
    assert not can(homeroom, Permission.RECORD_READ, imported)
    assert not scoped(homeroom, Permission.RECORD_READ, ExternalRecord.objects.all()).exists()
    assert login("gvcn.chuvanan.7a").get(f"/external/{imported.pk}/").status_code in (403, 404)
    # the school reads it
    assert can(user("ht.chuvanan"), Permission.RECORD_READ, imported)
    assert can(user("pht.chuvanan"), Permission.RECORD_READ, imported)


def test_the_student_page_title_is_the_students_name_alone(vendor, students, login):
    import re

    _upload(login, {"cu.xml": vendor.record(students[0])})
    page = login("ht.chuvanan").get(f"/students/{students[0].pk}/").content.decode()
    (title,) = re.findall(r"<title>(.*?)</title>", page, re.S)
    assert title == f"{students[0].full_name} · hocba"
    assert page.count(SHOWN) == 1  # the table once, in the page's body


def test_the_admin_list_shows_the_verdict_in_words(vendor, students, login):
    _upload(login, {"cu.xml": vendor.record(students[0])})
    listed = login("ht.chuvanan").get("/admin/records/externalrecord/").content.decode()
    assert '<td class="field-verdict_shown">Hợp lệ</td>' in listed
    assert '<td class="field-verdict">VALID</td>' not in listed
