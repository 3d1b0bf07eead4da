"""The year results of a class for the sector database (CSDL ngành): secondary results and the
primary results template, from the page (principal, homeroom teacher) and the command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from hocba.gradebook import csdl
from hocba.gradebook.models import YearResult
from tests.factories.database import current_class

pytestmark = pytest.mark.django_db

PRIMARY = "25000101"


def sheet_of(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def test_secondary_results_have_every_subject_and_the_year(demo):
    class_group = current_class("7A")
    sheet = sheet_of(csdl.results(class_group))
    groups = [c.value for c in sheet[3]]
    headings = [c.value for c in sheet[4]]
    assert headings[:4] == ["Mã học sinh", "Mã định danh", "Họ và tên", "Ngày sinh"]
    assert "Toán" in groups and headings[groups.index("Toán") : groups.index("Toán") + 3] == [
        "HK I", "HK II", "Cả năm"]  # fmt: skip
    assert {"Kết quả học tập", "Kết quả rèn luyện", "Lên lớp", "Danh hiệu"} <= set(headings)
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=5)}
    assert len(rows) == class_group.enrolments.count()
    result = YearResult.objects.filter(class_group=class_group, complete=True).first()
    row = rows[result.student.student_code]
    year = result.year_outcome
    toan = row[groups.index("Toán") + 2].value
    assert toan == year.subject("TOAN").year_shown().replace(".", ",")
    assert row[headings.index("Lên lớp")].value == year.outcome.label


def test_the_primary_template_has_levels_tests_qualities_competencies_and_completion(demo):
    class_group = current_class("5A", PRIMARY)
    sheet = sheet_of(csdl.results(class_group))
    headings = [c.value for c in sheet[4]]
    assert "Mức đạt được" in headings and "Điểm KTĐK" in headings
    assert {"Yêu nước", "Trách nhiệm", "Tự chủ và tự học", "Tin học"} <= set(headings)
    assert "Hoàn thành chương trình lớp học/tiểu học" in headings
    column = headings.index("Hoàn thành chương trình lớp học/tiểu học")
    values = {r[column].value for r in sheet.iter_rows(min_row=5)}
    assert "Hoàn thành chương trình tiểu học" in values


def test_the_principal_and_homeroom_teacher_download_it_a_subject_teacher_does_not(demo, login):
    class_group = current_class("7A")
    url = f"/gradebook/classes/{class_group.pk}/csdl.xlsx"
    assert login("ht.chuvanan").get(url).status_code == 200
    summary = login("ht.chuvanan").get(f"/gradebook/classes/{class_group.pk}/").content.decode()
    assert "nộp lên CSDL ngành" in summary


def test_the_command_writes_the_file(demo, tmp_path, capsys):
    out = tmp_path / "7a.xlsx"
    call_command("gradebook", "export-csdl", str(out), "--school", "25000201",
                 "--year", "2024-2025", "--class", "7a")  # fmt: skip
    assert "Đã ghi" in capsys.readouterr().out
    assert sheet_of(out.read_bytes())[4][0].value == "Mã học sinh"


def test_subjects_to_re_assess_are_named_not_coded(demo, login):
    """The class summary and the CSDL ngành file name the subjects a student re-takes in the
    summer by their Vietnamese names ("Ngữ văn"), never by catalogue code ("NGU_VAN")."""
    import io

    from openpyxl import load_workbook

    from hocba.gradebook import csdl
    from hocba.gradebook.models import YearResult

    result = next(
        r
        for r in YearResult.objects.filter(class_group__school__code="25000201").select_related(
            "class_group"
        )
        if r.year_outcome.retake_subjects
    )
    codes = result.year_outcome.retake_subjects
    names = {cs.subject_code: cs.name for cs in result.class_group.subjects.all()}
    page = login("ht.chuvanan").get(f"/gradebook/classes/{result.class_group.pk}/")
    text = page.content.decode()
    assert all(names[c] in text for c in codes) and not any(f": {c}" in text for c in codes)
    sheet = load_workbook(io.BytesIO(csdl.results(result.class_group))).active
    cells = {str(v) for row in sheet.iter_rows(min_row=5, values_only=True) for v in row if v}
    assert ", ".join(names[c] for c in codes) in cells
    assert not any(c in cells for c in codes)
