"""The principal's import page and the `hocba import` command: upload, recognised layout or the
mapping step, preview, apply (in the background for a large file); exports that import back
unchanged."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from hocba.organizations.models import Staff
from hocba.students.models import Student
from tests.imports.helpers import CODE, PRINCIPAL, YEAR, edited, fixture, new_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(demo, login):  # type: ignore[no-untyped-def]
    place, year, _user = new_school()
    return place, year, login(PRINCIPAL)


def upload(client, name: str, content: bytes, kind: str = "students"):  # type: ignore[no-untyped-def]
    file = io.BytesIO(content)
    file.name = name
    return client.post(f"/imports/schools/{CODE}/", {"kind": kind, "year": YEAR, "file": file})


def hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_upload_preview_apply(school):
    _place, _year, client = school
    page = upload(client, "hs.csv", fixture("csdl-hoc-sinh.csv")).content.decode()
    assert "Danh sách học sinh (CSDL ngành)" in page
    assert "Tạo lớp 6A1 (khối 6)" in page and not Student.objects.filter(student_code="2500000001")
    answer = client.post(f"/imports/schools/{CODE}/apply/", {
        "kind": "students", "year": YEAR, "digest": hidden(page, "digest"),
        "fingerprint": hidden(page, "fingerprint"),
    }, follow=True)  # fmt: skip
    assert "1000" in answer.content.decode()
    assert Student.objects.filter(enrolments__class_group__school__code=CODE).count() == 1000
    again = upload(client, "hs.xlsx", fixture("csdl-hoc-sinh.xlsx")).content.decode()
    assert 'id="nothing"' in again


def test_the_page_names_every_bad_cell_and_offers_no_apply(school):
    _place, _year, client = school
    bad = edited(fixture("csdl-hoc-sinh.xlsx"), {"E6": "Không rõ", "D7": "32/13/2012"})
    page = upload(client, "hs.xlsx", bad).content.decode()
    assert "2 ô sai" in page or "2 bad cells" in page
    assert "ô E6" in page and "ô D7" in page and "Không rõ" in page
    assert "imports/schools/25000299/apply/" not in page


def test_a_file_of_another_layout_goes_through_the_mapping_step(school):
    _place, _year, client = school
    content = "Tên HS,Mã,Lớp\r\nLê Thị Hoa,HS001,6A1\r\n".encode()
    page = upload(client, "ds.csv", content).content.decode()
    assert "Tên HS" in page and 'name="field-0"' in page
    preview = client.post(f"/imports/schools/{CODE}/preview/", {
        "kind": "students", "year": YEAR, "digest": hidden(page, "digest"),
        "heading-0": "Tên HS", "field-0": "full_name", "heading-1": "Mã",
        "field-1": "student_code", "heading-2": "Lớp", "field-2": "class_name",
    }).content.decode()  # fmt: skip
    assert "Lê Thị Hoa" in preview
    client.post(f"/imports/schools/{CODE}/apply/", {
        "kind": "students", "year": YEAR, "digest": hidden(preview, "digest"),
        "fingerprint": hidden(preview, "fingerprint"), "map:Tên HS": "full_name",
        "map:Mã": "student_code", "map:Lớp": "class_name",
    })  # fmt: skip
    assert Student.objects.get(student_code="HS001").full_name == "Lê Thị Hoa"


def test_a_large_file_is_applied_by_a_background_job_with_its_progress(
    school, monkeypatch, django_capture_on_commit_callbacks
):
    from hocba.imports import services

    monkeypatch.setattr(services, "BACKGROUND_ROWS", 100)
    _place, _year, client = school
    page = upload(client, "hs.xls", fixture("csdl-hoc-sinh.xls")).content.decode()
    assert 'name="background"' in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/imports/schools/{CODE}/apply/", {
            "kind": "students", "year": YEAR, "digest": hidden(page, "digest"),
            "fingerprint": hidden(page, "fingerprint"), "background": "1",
        })  # fmt: skip
    assert "/jobs/" in answer.url
    progress = client.get(answer.url).content.decode()  # tasks run at once in the tests
    assert 'data-state="DONE"' in progress
    assert Student.objects.filter(enrolments__class_group__school__code=CODE).count() == 1000


@pytest.mark.parametrize("key", ["csdl-students", "vnedu-students", "smas-students",
                                 "hocba-students"])  # fmt: skip
def test_an_exported_student_list_imports_back_unchanged(school, key):
    _place, _year, client = school
    call_command("import", "students", "--school", CODE, "--year", YEAR,
                 _fixture_path("csdl-hoc-sinh.xlsx"), stdout=io.StringIO())  # fmt: skip
    exported = client.get(f"/imports/schools/{CODE}/export/students.xlsx?layout={key}&year={YEAR}")
    assert exported.status_code == 200
    assert load_workbook(io.BytesIO(exported.content)).active.max_row == 1001
    page = upload(client, "xuat.xlsx", exported.content).content.decode()
    assert 'id="nothing"' in page, page[page.find("<main") :][:2000]


def test_an_exported_staff_list_imports_back_unchanged(school):
    _place, _year, client = school
    call_command("import", "staff", "--school", CODE, "--year", YEAR,
                 _fixture_path("csdl-can-bo.xlsx"), stdout=io.StringIO())  # fmt: skip
    for key in ("csdl-staff", "hocba-staff"):
        exported = client.get(f"/imports/schools/{CODE}/export/staff.xlsx?layout={key}")
        page = upload(client, "cb.xlsx", exported.content, kind="staff").content.decode()
        assert 'id="nothing"' in page


def _fixture_path(name: str) -> str:
    from tests.imports.helpers import FIXTURES

    return str(FIXTURES / name)


def test_the_command_previews_with_dry_run_and_applies_without(school):
    out = io.StringIO()
    call_command("import", "staff", _fixture_path("csdl-can-bo.csv"), "--school", CODE,
                 "--year", YEAR, "--dry-run", stdout=out)  # fmt: skip
    assert "Danh sách cán bộ, giáo viên (CSDL ngành)" in out.getvalue()
    assert "--dry-run" in out.getvalue()
    assert not Staff.objects.filter(position="Giáo viên", school__code=CODE).exists()
    out = io.StringIO()
    call_command("import", "staff", _fixture_path("csdl-can-bo.csv"), "--school", CODE,
                 "--year", YEAR, "--json", stdout=out)  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["applied"] and report["counts"]["create"] == 51


def test_the_command_reads_another_layout_through_map(school, tmp_path):
    path = tmp_path / "ds.csv"
    path.write_text("Tên HS;Mã;Lớp\nLê Thị Hoa;HS001;6A1\n", encoding="utf-8")
    call_command("import", "students", str(path), "--school", CODE, "--year", YEAR,
                 "--map", "Tên HS=full_name", "--map", "Mã=student_code", "--map", "Lớp=class_name",
                 stdout=io.StringIO())  # fmt: skip
    assert Student.objects.filter(student_code="HS001").exists()


def test_the_command_refuses_bad_cells_with_a_code_and_writes_nothing(school, tmp_path):
    path = tmp_path / "hs.xlsx"
    path.write_bytes(edited(fixture("csdl-hoc-sinh.xlsx"), {"E6": "?", "D9": "hôm qua"}))
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import", "students", str(path), "--school", CODE, "--year", YEAR,
                     stderr=err)  # fmt: skip
    assert str(refused.value).startswith("CELLS_INVALID") and refused.value.returncode == 2
    assert "ô E6" in err.getvalue() and "ô D9" in err.getvalue()
    assert not Student.objects.filter(student_code="2500000001").exists()
