"""Grade books in the vnEdu and SMAS layouts: recognised from the header rows, students matched
by code or personal ID (never by row order), decimal comma or dot, every bad cell named and
nothing written, the same file twice changing nothing, a preview before applying."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from hocba.gradebook import foreign
from hocba.gradebook.layouts import SMAS_TH, SMAS_THCS, VNEDU_TH, VNEDU_THCS
from hocba.gradebook.management.commands.gradebook import assigned_teacher
from hocba.gradebook.models import Assessment, ClassSubject, SubjectRemark
from hocba.gradebook.services import ValidationFailed
from hocba.gradebook.values import InvalidValue, parse_value
from hocba.rules.catalogue import Mode
from tests.factories.database import current_class

pytestmark = pytest.mark.django_db

PRIMARY = "25000101"


def edit(content: bytes, changes: dict[tuple[str, str], object], clear_code: str = "") -> bytes:
    """Set cells by (student code, heading as in the header's last row); `clear_code` empties
    that student's code cell (the row then goes by personal ID)."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    header = None
    code_col = None
    for row in sheet.iter_rows():
        texts = [str(c.value) if c.value is not None else "" for c in row]
        if "Mã học sinh" in texts or "Mã HS" in texts:
            header = row[0].row
            code_col = texts.index("Mã học sinh" if "Mã học sinh" in texts else "Mã HS") + 1
    assert header is not None and code_col is not None
    last = header + (1 if sheet.cell(header + 1, code_col).value is None else 0)
    headings = {sheet.cell(last, c).value or sheet.cell(header, c).value: c
                for c in range(1, sheet.max_column + 1)}  # fmt: skip
    rows = {sheet.cell(r, code_col).value: r for r in range(last + 1, sheet.max_row + 1)}
    for (code, heading), value in changes.items():
        sheet.cell(rows[code], headings[heading]).value = value
    if clear_code:
        sheet.cell(rows[clear_code], code_col).value = None
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plan_of(cs: ClassSubject, content: bytes, name: str = "so-diem.xlsx") -> foreign.Plan:
    class_group = cs.class_group
    return foreign.plan(content, class_group.school, class_group.school_year, name=name)


def students(cs: ClassSubject):
    return list(cs.class_group.enrolments.order_by("student__full_name").values_list(
        "student__student_code", "student__pk"))  # fmt: skip


@pytest.mark.parametrize("layout", [VNEDU_THCS, SMAS_THCS], ids=lambda layout: layout.key)
def test_an_exported_book_imported_again_changes_nothing(toan_7a, layout):
    for term in ("HK1", "HK2"):
        content = foreign.export(layout, toan_7a, term)
        planned = plan_of(toan_7a, content)
        assert planned.errors == []
        assert planned.layout == layout and planned.class_subject == toan_7a
        assert planned.rows == toan_7a.class_group.enrolments.count()
        assert planned.differences == []
        assert foreign.apply(assigned_teacher(toan_7a), planned) == (0, 0)


@pytest.mark.parametrize("layout", [VNEDU_THCS, SMAS_THCS], ids=lambda layout: layout.key)
def test_comma_and_dot_both_give_the_score_and_rows_go_by_code_not_order(toan_7a, layout):
    (first, first_pk), (second, second_pk) = students(toan_7a)[:2]
    count = len(students(toan_7a))
    reversed_rows = list(reversed(range(count)))
    content = foreign.export(layout, toan_7a, "HK1", order=reversed_rows)
    gk = "ĐĐGgk" if layout is VNEDU_THCS else "Giữa kỳ"
    ck = "ĐĐGck" if layout is VNEDU_THCS else "Cuối kỳ"
    edited = edit(content, {(first, gk): "7,5", (second, gk): 7.5, (first, ck): "6.5"})
    planned = plan_of(toan_7a, edited)
    assert planned.errors == []
    shown = [(d.student, d.column.split(" / ")[-1], d.new) for d in planned.differences]
    assert sorted(shown) == sorted(
        [(planned_name(first_pk), gk, "7,5"), (planned_name(second_pk), gk, "7,5"),
         (planned_name(first_pk), ck, "6,5")]
    )  # fmt: skip
    assert foreign.apply(assigned_teacher(toan_7a), planned) == (3, 0)
    stored = Assessment.objects.get(class_subject=toan_7a, student_id=second_pk, term="HK1",
                                    kind="GK")  # fmt: skip
    assert stored.score == Decimal("7.5")
    # the same file again changes nothing
    again = plan_of(toan_7a, edited)
    assert again.differences == []
    assert foreign.apply(assigned_teacher(toan_7a), again) == (0, 0)


def planned_name(pk: int) -> str:
    from hocba.students.models import Student

    return Student.objects.get(pk=pk).full_name


def test_five_bad_cells_are_all_named_and_nothing_is_written(toan_7a):
    codes = [code for code, _ in students(toan_7a)]
    content = foreign.export(VNEDU_THCS, toan_7a, "HK1")
    before = list(Assessment.objects.filter(class_subject=toan_7a).values_list("pk", "score"))
    edited = edit(content, {
        (codes[0], "ĐĐGtx1"): "11",
        (codes[0], "ĐĐGtx2"): "abc",
        (codes[1], "ĐĐGgk"): "7,55",
        (codes[1], "ĐĐGck"): -1,
        (codes[-1], "ĐĐGtx1"): "Đ",
        (codes[-1], "ĐĐGgk"): "8,5",  # a good one, not written either
    })  # fmt: skip
    planned = plan_of(toan_7a, edited)
    assert len(planned.errors) == 5, planned.errors
    assert any("cột “ĐĐGtx1”, giá trị “11”: điểm 11 ngoài khoảng 0–10" in e
               for e in planned.errors)  # fmt: skip
    assert any("giá trị “abc”: “abc” không phải là điểm số" in e for e in planned.errors)
    assert all(e.startswith("Trang “Sheet1”, dòng ") for e in planned.errors)
    with pytest.raises(ValidationFailed):
        foreign.apply(assigned_teacher(toan_7a), planned)
    after = list(Assessment.objects.filter(class_subject=toan_7a).values_list("pk", "score"))
    assert after == before


def test_a_row_without_a_code_goes_by_personal_id(toan_7a):
    (code, pk) = students(toan_7a)[0]
    content = foreign.export(VNEDU_THCS, toan_7a, "HK1")
    planned = plan_of(toan_7a, edit(content, {(code, "ĐĐGgk"): "9,5"}, clear_code=code))
    assert planned.errors == []
    assert [(d.student, d.new) for d in planned.differences] == [(planned_name(pk), "9,5")]


def test_an_unknown_student_and_a_file_of_another_layout_are_refused(toan_7a, demo):
    content = foreign.export(VNEDU_THCS, toan_7a, "HK1")
    book = load_workbook(io.BytesIO(content))
    code = students(toan_7a)[0][0]
    cell = next(c for row in book.active.iter_rows() for c in row if c.value == code)
    cell.value = "KHONG-CO"
    out = io.BytesIO()
    book.save(out)
    planned = plan_of(toan_7a, out.getvalue())
    assert planned.errors == [
        f"Trang “Sheet1”, dòng {cell.row}: mã học sinh “KHONG-CO” không thuộc lớp 7A"
    ]
    from hocba.gradebook import excel

    other = plan_of(toan_7a, excel.template(toan_7a), name="mau.xlsx")
    assert len(other.errors) == 1 and "không theo mẫu nào đã biết" in other.errors[0]
    assert other.errors[0].startswith("Tệp “mau.xlsx”: ")


def test_a_primary_book_carries_levels_tests_and_remarks(demo):
    cs = ClassSubject.objects.get(class_group=current_class("5A", PRIMARY), subject_code="TOAN")
    (code, pk) = students(cs)[0]
    for layout in (VNEDU_TH, SMAS_TH):
        content = foreign.export(layout, cs, "HK2")
        assert plan_of(cs, content).differences == []
    content = foreign.export(VNEDU_TH, cs, "HK2")
    level = Assessment.objects.get(class_subject=cs, student_id=pk, term="HK2", kind="LEVEL")
    new_level = "h" if level.code != "H" else "t"
    edited = edit(content, {(code, "Mức đạt được"): new_level, (code, "Điểm KTĐK"): "3",
                            (code, "Nhận xét"): "Tính toán nhanh, cần cẩn thận hơn."})  # fmt: skip
    planned = plan_of(cs, edited)
    assert planned.errors == []
    assert foreign.apply(assigned_teacher(cs), planned) == (2, 1)
    assert SubjectRemark.objects.get(class_subject=cs, student_id=pk).text.startswith("Tính toán")
    level.refresh_from_db()
    assert level.code == new_level.upper()
    bad = plan_of(cs, edit(content, {(code, "Điểm KTĐK"): "7,5"}))
    assert bad.errors and "phải là số nguyên" in bad.errors[0]


def test_a_secondary_layout_is_refused_for_a_primary_class(demo):
    cs = ClassSubject.objects.get(class_group=current_class("5A", PRIMARY), subject_code="TOAN")
    toan_7a = ClassSubject.objects.get(class_group=current_class("7A"), subject_code="TOAN")
    content = foreign.export(VNEDU_THCS, toan_7a, "HK1").replace(b"7A", b"5A")
    planned = foreign.plan(content, cs.class_group.school, cs.class_group.school_year)
    assert planned.errors  # 7A is no class of the primary school, or the layout is refused


def test_a_folder_is_all_or_nothing(toan_7a, tmp_path):
    class_group = toan_7a.class_group
    for cs in class_group.subjects.all():
        for term in ("HK1", "HK2"):
            (tmp_path / f"{cs.subject_code}-{term}.xlsx").write_bytes(
                foreign.export(VNEDU_THCS, cs, term)
            )
    report = foreign.import_folder(tmp_path, class_group.school, class_group.school_year,
                                   assigned_teacher)  # fmt: skip
    assert report.errors == []
    assert (report.files, report.cells, report.remarks) == (2 * class_group.subjects.count(), 0, 0)
    (code, pk) = students(toan_7a)[0]
    good = tmp_path / "TOAN-HK1.xlsx"
    good.write_bytes(edit(good.read_bytes(), {(code, "ĐĐGgk"): "3,5"}))
    bad = tmp_path / "TOAN-HK2.xlsx"
    bad.write_bytes(edit(bad.read_bytes(), {(code, "ĐĐGgk"): "13"}))
    report = foreign.import_folder(tmp_path, class_group.school, class_group.school_year,
                                   assigned_teacher)  # fmt: skip
    assert len(report.errors) == 1 and report.cells == 0
    gk = Assessment.objects.get(class_subject=toan_7a, student_id=pk, term="HK1", kind="GK")
    assert gk.score != Decimal("3.5")


def test_the_command_previews_then_imports(toan_7a, tmp_path, capsys):
    (code, _pk) = students(toan_7a)[0]
    path = tmp_path / "toan.xlsx"
    path.write_bytes(edit(foreign.export(SMAS_THCS, toan_7a, "HK1"), {(code, "Giữa kỳ"): "4,5"}))
    school, year = toan_7a.class_group.school.code, toan_7a.class_group.school_year.name
    args = ["gradebook", "import", str(path), "--school", school, "--year", year]
    call_command(*args, "--as-assigned-teachers", "--dry-run")
    assert "1 thay đổi" in capsys.readouterr().out
    call_command(*args, "--as-assigned-teachers")
    assert "1 ô điểm" in capsys.readouterr().out
    path.write_bytes(edit(path.read_bytes(), {(code, "Giữa kỳ"): "x"}))
    with pytest.raises(CommandError) as failed:
        call_command(*args, "--user", "ht.chuvanan")
    assert str(failed.value).startswith("INVALID_GRADEBOOK_FILE: ")


SCORE_TEXT = st.one_of(
    st.text(alphabet="0123456789,.-+ eE", max_size=6),
    st.decimals(min_value=-5, max_value=15, places=2).map(str),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(SCORE_TEXT)
def test_a_score_cell_is_a_score_of_0_to_10_with_one_decimal_or_a_named_error(raw):
    try:
        parsed = parse_value(raw, Mode.SCORE, "")
    except InvalidValue as error:
        assert str(error)  # a message for the teacher
        return
    if parsed is None:
        assert str(raw).strip() == ""
        return
    if parsed.code:
        assert parsed.code == "M"
        return
    assert Decimal(0) <= parsed.score <= Decimal(10)
    assert parsed.score == parsed.score.quantize(Decimal("0.1"))
    if isinstance(raw, str):
        assert parse_value(raw.replace(".", ","), Mode.SCORE, "") == parsed


def test_the_subject_page_previews_a_vnedu_file_then_imports_it(toan_7a, login):
    (code, pk) = students(toan_7a)[0]
    client = login(assigned_teacher(toan_7a).username)
    content = edit(foreign.export(VNEDU_THCS, toan_7a, "HK1"), {(code, "ĐĐGck"): "2,5"})
    url = f"/gradebook/subjects/{toan_7a.pk}/import/"
    preview = client.post(url, {"file": io.BytesIO(content)})
    page = preview.content.decode()
    assert preview.status_code == 200 and "Kiểm tra trước khi nhập" in page
    assert "ĐĐGck" in page and "2,5" in page
    ck = Assessment.objects.get(class_subject=toan_7a, student_id=pk, term="HK1", kind="CK")
    assert ck.score != Decimal("2.5")  # nothing written by the preview
    hidden = page.split('name="content" value="', 1)[1].split('"', 1)[0]
    done = client.post(url, {"content": hidden})
    assert done.status_code == 302
    ck.refresh_from_db()
    assert ck.score == Decimal("2.5")
    # the same file again: the preview says nothing changes
    again = client.post(url, {"file": io.BytesIO(content)}).content.decode()
    assert "nhập tệp này không thay đổi gì" in again


def test_another_teacher_cannot_import_a_vnedu_file(toan_7a, login):
    van = ClassSubject.objects.get(class_group=toan_7a.class_group, subject_code="NGU_VAN")
    client = login(assigned_teacher(van).username)
    content = foreign.export(VNEDU_THCS, toan_7a, "HK1")
    answer = client.post(f"/gradebook/subjects/{toan_7a.pk}/import/", {"file": io.BytesIO(content)})
    assert answer.status_code == 403
