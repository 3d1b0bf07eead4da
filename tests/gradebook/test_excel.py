"""Excel: template, import (all or nothing, every bad cell named), class book export."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from hocba.gradebook import excel
from hocba.gradebook.models import Assessment, ClassSubject
from hocba.gradebook.services import ValidationFailed
from tests.factories.database import current_class, user

pytestmark = pytest.mark.django_db


def edit(content: bytes, changes: dict[str, object]) -> bytes:
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    for ref, value in changes.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def header_column(content: bytes, label: str) -> str:
    sheet = load_workbook(io.BytesIO(content)).active
    for cell in sheet[excel.HEADER_ROW]:
        if cell.value == label:
            return cell.column_letter
    raise AssertionError(label)


def test_template_lists_the_class_and_its_recorded_scores(toan_7a):
    sheet = load_workbook(io.BytesIO(excel.template(toan_7a))).active
    students = toan_7a.class_group.enrolments.count()
    assert sheet.cell(excel.FIRST_ROW + students - 1, 2).value is not None
    assert sheet.cell(excel.HEADER_ROW, 4).value == "HK I TX1"
    assert sheet.cell(excel.FIRST_ROW, 4).value not in (None, "")  # the demo's recorded score


def test_round_trip_writes_the_edited_cells(toan_7a):
    content = excel.template(toan_7a)
    column = header_column(content, "HK I GK")
    row = excel.FIRST_ROW
    code = load_workbook(io.BytesIO(content)).active[f"B{row}"].value
    edited = edit(content, {f"{column}{row}": 9.5})
    report = excel.import_workbook(user("gv.chuvanan.toan.k7"), toan_7a, edited)
    assert report.changed == 1
    stored = Assessment.objects.get(
        class_subject=toan_7a, student__student_code=code, term="HK1", kind="GK"
    )
    assert stored.score == Decimal("9.5")
    again = load_workbook(io.BytesIO(excel.template(toan_7a))).active
    assert again[f"{column}{row}"].value == "9,5"


def test_one_bad_cell_changes_nothing_and_is_named(toan_7a):
    content = excel.template(toan_7a)
    column = header_column(content, "HK I TX1")
    before = sorted(Assessment.objects.filter(class_subject=toan_7a).values_list("pk", "score"))
    edited = edit(content, {f"{column}7": 11, f"{column}8": 7})
    with pytest.raises(ValidationFailed) as failed:
        excel.import_workbook(user("gv.chuvanan.toan.k7"), toan_7a, edited)
    assert failed.value.errors == [f"{column}7: điểm 11 ngoài khoảng 0–10"]
    assert (
        sorted(Assessment.objects.filter(class_subject=toan_7a).values_list("pk", "score"))
        == before
    )


def test_every_bad_cell_is_listed(toan_7a):
    content = excel.template(toan_7a)
    edited = edit(content, {"D7": "x", "E8": 10.25, "B9": "KHONGCO"})
    with pytest.raises(ValidationFailed) as failed:
        excel.import_workbook(user("gv.chuvanan.toan.k7"), toan_7a, edited)
    text = " | ".join(failed.value.errors)
    assert "D7:" in text and "E8:" in text and "B9:" in text


def test_the_template_of_another_subject_is_refused(demo, toan_7a):
    van = ClassSubject.objects.get(class_group=current_class("7A"), subject_code="NGU_VAN")
    with pytest.raises(ValidationFailed) as failed:
        excel.import_workbook(user("gv.chuvanan.toan.k7"), toan_7a, excel.template(van))
    assert "A5" in failed.value.errors[0]


def test_a_file_that_is_not_excel_is_refused(toan_7a):
    with pytest.raises(ValidationFailed) as failed:
        excel.import_workbook(user("gv.chuvanan.toan.k7"), toan_7a, b"not a workbook")
    assert "không phải bảng tính" in failed.value.errors[0]


def test_import_page_reports_errors_without_writing(toan_7a, login):
    client = login("gv.chuvanan.toan.k7")
    edited = edit(excel.template(toan_7a), {"D7": 11})
    before = sorted(Assessment.objects.filter(class_subject=toan_7a).values_list("pk", "score"))
    upload = io.BytesIO(edited)
    upload.name = "so-diem.xlsx"
    page = client.post(f"/gradebook/subjects/{toan_7a.pk}/import/", {"file": upload}, follow=True)
    body = page.content.decode()
    assert "D7: điểm 11 ngoài khoảng 0–10" in body
    assert (
        sorted(Assessment.objects.filter(class_subject=toan_7a).values_list("pk", "score"))
        == before
    )


def test_class_book_export_has_every_subject_and_the_results(toan_7a, login):
    response = login("gvcn.chuvanan.7a").get(
        f"/gradebook/classes/{toan_7a.class_group.pk}/export.xlsx"
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert "TOAN" in book.sheetnames and "Tong hop" in book.sheetnames
    summary = book["Tong hop"]
    header = [c.value for c in summary[3]]
    assert "Học tập" in header and "Kết quả" in header
    assert summary.cell(4, header.index("Kết quả") + 1).value
