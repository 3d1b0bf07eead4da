"""Grade books in other systems' layouts (vnEdu, SMAS): read, recognised, planned, applied.

Three steps kept apart so that another reader (.xls, .csv) can feed the same interpretation:

1. **Read** (`read_grid`): the file's first sheet as rows of values, through
   `hocba.spreadsheets` (sizes checked, formulas kept as formulas).
2. **Interpret** (`recognise`, `plan`): which layout of `layouts` the header rows match; which
   class, subject and semester the title names; each row's student by code or personal ID
   (never by its position); each cell as a `CellChange`/`RemarkChange`. Every problem of the
   file is listed; the plan says what would change (the preview).
3. **Apply** (`apply`): the plan's changes through `services.save_subject_book`, which checks
   the teacher's permission and the locks again, validates again, writes in one transaction
   and recomputes. Unchanged cells are not written, so the same file twice changes nothing.

A year's books of a whole school come in as a folder of files (`import_folder`): every file is
planned first, and nothing is written unless every file is right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hocba.gradebook.compute import (
    class_subjects,
    enrolled_students,
    recompute,
    students_of_subject,
)
from hocba.gradebook.excel import cell_text
from hocba.gradebook.layouts import (
    CLASS_LABELS,
    IGNORED,
    LAYOUTS,
    PERSONAL_ID,
    REMARK,
    STUDENT_CODE,
    SUBJECT_LABELS,
    TERM_LABELS,
    TERM_WORDS,
    TITLE_ROWS,
    Layout,
    normalise,
)
from hocba.gradebook.models import Assessment, ClassSubject, Kind, SubjectRemark, Term
from hocba.gradebook.services import (
    CellChange,
    RemarkChange,
    ValidationFailed,
    allowed_cells,
    remark_text,
    save_subject_book,
    validate_assessments,
    validate_remarks,
)
from hocba.gradebook.values import display
from hocba.organizations.models import ClassGroup, School, SchoolYear
from hocba.rules.catalogue import Level
from hocba.spreadsheets import Formula, SpreadsheetRefused, clean, open_sheet, rows, shown, to_bytes

TERM_SHOWN = {Term.HK1: "Học kỳ I", Term.HK2: "Học kỳ II"}


@dataclass(frozen=True, slots=True)
class Grid:
    """What was read of a file: its name, the sheet's title, and the rows holding something."""

    name: str
    sheet: str
    rows: dict[int, tuple[Any, ...]]


def read_grid(content: bytes, name: str = "") -> Grid:
    """The first sheet of an .xlsx file; `ValidationFailed` with the reason when it cannot be
    read (too large, not a workbook, a password …)."""
    try:
        sheet = open_sheet(content)
    except SpreadsheetRefused as refused:
        raise ValidationFailed([_in_file(name, refused.message)]) from None
    try:
        found = dict(rows(sheet))
    except SpreadsheetRefused as refused:
        raise ValidationFailed([_in_file(name, refused.message)]) from None
    finally:
        sheet.close()
    return Grid(name, sheet.title, found)


def _in_file(name: str, message: str) -> str:
    return f"Tệp “{shown(name)}”: {message}" if name else message


@dataclass(frozen=True, slots=True)
class Heading:
    """One recognised column: where it is, its heading as written, and what it holds (the
    layout's `holds` with the number filled in)."""

    index: int
    text: str
    holds: str


@dataclass(frozen=True, slots=True)
class Recognised:
    layout: Layout
    header_row: int
    """The (last) header row; students start below it."""
    headings: tuple[Heading, ...]
    class_name: str
    subject: str
    term: str


def _headings(grid: Grid, row: int, depth: int) -> dict[int, str]:
    """The headings of the header starting at `row`: one row, or two where a group heading
    (merged over its columns, so written in the first one only) stands above its columns."""
    upper = grid.rows.get(row, ())
    if depth == 1:
        return {i: str(v).strip() for i, v in enumerate(upper) if _text(v)}
    lower = grid.rows.get(row + 1, ())
    found: dict[int, str] = {}
    group = ""
    for i in range(max(len(upper), len(lower))):
        top = str(upper[i]).strip() if i < len(upper) and _text(upper[i]) else ""
        below = str(lower[i]).strip() if i < len(lower) and _text(lower[i]) else ""
        if top:
            group = top
        if below:
            found[i] = f"{group} / {below}" if group else below
        elif top:
            found[i] = top
            group = top
    return found


def _text(value: object) -> bool:
    return value is not None and not isinstance(value, Formula) and str(value).strip() != ""


def _match(layout: Layout, headings: dict[int, str]) -> tuple[list[Heading], list[str], set[str]]:
    """The headings the layout knows, those it does not, and which of its columns were met."""
    known: list[Heading] = []
    unknown: list[str] = []
    met: set[str] = set()
    patterns = [(column, column.pattern()) for column in layout.columns]
    for index, text in sorted(headings.items()):
        compared = normalise(text)
        for column, pattern in patterns:
            hit = pattern.match(compared)
            if hit:
                number = hit.groupdict().get("n") or ""
                known.append(Heading(index, text, column.holds.replace("{n}", number)))
                met.add(column.header)
                break
        else:
            unknown.append(text)
    return known, unknown, met


def recognise(grid: Grid) -> Recognised:
    """The layout of the file by its header rows, and the class, subject and semester its
    title names. `ValidationFailed` says what was looked for when nothing fits."""
    best: tuple[int, Layout, int, list[Heading]] | None = None
    unknown_of_best: list[str] = []
    for layout in LAYOUTS:
        for row in sorted(grid.rows):
            if row > TITLE_ROWS + 2:
                break
            known, unknown, met = _match(layout, _headings(grid, row, layout.header_rows))
            if not all(r in met for r in layout.required):
                continue
            if best is None or len(known) > best[0]:
                best = (len(known), layout, row + layout.header_rows - 1, known)
                unknown_of_best = unknown
            break  # the layout's header is its first row that has every required heading
    if best is None:
        names = ", ".join(layout.label for layout in LAYOUTS)
        raise ValidationFailed(
            [
                _in_file(
                    grid.name,
                    f"trang “{shown(grid.sheet)}” không theo mẫu nào đã biết ({names}): không "
                    "thấy dòng tiêu đề có đủ các cột mã học sinh và điểm",
                )
            ]
        )
    _, layout, header_row, known = best
    errors = [
        f"Trang “{shown(grid.sheet)}”, cột “{shown(text)}”: cột không có trong mẫu "
        f"{layout.label}; hãy xóa cột hoặc dùng đúng mẫu"
        for text in unknown_of_best
    ]
    labels = _labels(grid, header_row - layout.header_rows + 1)
    class_name = labels.get("class", "")
    subject = labels.get("subject", "")
    term_text = labels.get("term", "")
    term = TERM_WORDS.get(normalise(term_text), "")
    if not class_name:
        errors.append(f"Trang “{shown(grid.sheet)}”: tiêu đề không ghi lớp (“Lớp: …”)")
    if not subject:
        errors.append(f"Trang “{shown(grid.sheet)}”: tiêu đề không ghi môn học (“Môn: …”)")
    if not term:
        errors.append(
            f"Trang “{shown(grid.sheet)}”: tiêu đề không ghi học kỳ (“Học kỳ: I”, “Học kỳ: II”"
            f" hoặc “Cuối năm”)" + (f", thấy “{shown(term_text)}”" if term_text else "")
        )
    if errors:
        raise ValidationFailed([_in_file(grid.name, e) for e in errors])
    return Recognised(layout, header_row, tuple(known), class_name, subject, term)


_LABEL = re.compile(
    r"(?P<label>"
    + "|".join(
        re.escape(normalise(label))
        for label in sorted((*SUBJECT_LABELS, *CLASS_LABELS, *TERM_LABELS), key=len, reverse=True)
    )
    + r")\s*:\s*"
)


def _labels(grid: Grid, above: int) -> dict[str, str]:
    """ "Lớp: 7A", "Môn: Toán", "Học kỳ: I" in the rows above the header (in one cell or
    several, a label and its value in one cell or in two next to each other)."""
    kinds = {
        **{normalise(label): "class" for label in CLASS_LABELS},
        **{normalise(label): "subject" for label in SUBJECT_LABELS},
        **{normalise(label): "term" for label in TERM_LABELS},
    }
    found: dict[str, str] = {}
    for number in sorted(grid.rows):
        if number >= above:
            break
        cells = [str(v) for v in grid.rows[number] if _text(v)]
        text = normalise(" ".join(cells))
        hits = list(_LABEL.finditer(text))
        for i, hit in enumerate(hits):
            end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
            value = text[hit.end() : end].strip(" -–,;|")
            found.setdefault(kinds[hit.group("label")], value)
    return found


@dataclass(frozen=True, slots=True)
class Difference:
    """One cell the import would change, for the preview."""

    student: str
    column: str
    old: str
    new: str


@dataclass
class Plan:
    """What a file would do: its layout, class subject and semester, the changes, every
    problem, and the differences from what is recorded."""

    name: str
    layout: Layout | None = None
    class_subject: ClassSubject | None = None
    term: str = ""
    cells: list[CellChange] = field(default_factory=list)
    remarks: list[RemarkChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    rows: int = 0


def plan(
    content: bytes,
    school: School,
    school_year: SchoolYear,
    name: str = "",
    class_subject: ClassSubject | None = None,
) -> Plan:
    """Interpret one file for a school's year (or for `class_subject`, when imported from its
    page); nothing is written."""
    result = Plan(name)
    try:
        grid = read_grid(content, name)
        found = recognise(grid)
    except ValidationFailed as failed:
        result.errors = failed.errors
        return result
    result.layout, result.term = found.layout, found.term
    cs = _class_subject(found, school, school_year, result, class_subject)
    if cs is None:
        return result
    result.class_subject = cs
    _rows(grid, found, cs, result)
    if not result.errors:
        result.differences = _differences(cs, result)
    return result


def _class_subject(
    found: Recognised, school: School, school_year: SchoolYear, result: Plan,
    expected: ClassSubject | None,
) -> ClassSubject | None:  # fmt: skip
    where = f"Tệp “{shown(result.name)}”: " if result.name else ""
    class_group = (
        ClassGroup.objects.filter(school=school, school_year=school_year)
        .filter(name__iexact=found.class_name.upper())
        .first()
    )
    if class_group is None:
        result.errors.append(
            f"{where}lớp “{shown(found.class_name.upper())}” không có ở trường {school.name} "
            f"năm học {school_year.name}"
        )
        return None
    if (class_group.level == Level.TH) != found.layout.primary:
        result.errors.append(
            f"{where}mẫu {found.layout.label} không dùng cho lớp {class_group.name}"
        )
        return None
    wanted = normalise(found.subject)
    cs = next(
        (
            s
            for s in class_subjects(class_group)
            if wanted in (normalise(s.name), normalise(s.subject_code))
        ),
        None,
    )
    if cs is None:
        result.errors.append(
            f"{where}lớp {class_group.name} không học môn “{shown(found.subject)}”"
        )
        return None
    if expected is not None and cs.pk != expected.pk:
        result.errors.append(
            f"{where}tệp là sổ điểm môn {cs.name} lớp {class_group.name}, không phải môn "
            f"{expected.name} lớp {expected.class_group.name}"
        )
        return None
    return cs


def _rows(grid: Grid, found: Recognised, cs: ClassSubject, result: Plan) -> None:
    """Each student row's cells, matched by student code or personal ID."""
    students = enrolled_students(cs.class_group)
    by_code = {s.student_code: s for s in students}
    by_id = {s.personal_id: s for s in students if s.personal_id}
    allowed = allowed_cells(cs)
    code_col = next((h for h in found.headings if h.holds == STUDENT_CODE), None)
    id_col = next((h for h in found.headings if h.holds == PERSONAL_ID), None)
    data = [h for h in found.headings if h.holds not in (STUDENT_CODE, PERSONAL_ID, IGNORED)]
    sheet = shown(grid.sheet)
    seen: set[int] = set()

    def where(number: int, heading: Heading, value: object) -> str:
        return (
            f"Trang “{sheet}”, dòng {number}, cột “{shown(heading.text)}”, giá trị “{shown(value)}”"
        )

    for number, values in sorted(grid.rows.items()):
        if number <= found.header_row:
            continue

        def at(heading: Heading | None, values: tuple[Any, ...] = values) -> Any:
            if heading is None or heading.index >= len(values):
                return None
            return values[heading.index]

        formulas = [h for h in found.headings if isinstance(at(h), Formula)]
        for heading in formulas:
            result.errors.append(
                f"{where(number, heading, at(heading))}: ô chứa công thức; hãy nhập giá trị, "
                "không dùng công thức"
            )
        if formulas:
            continue
        code = str(at(code_col) or "").strip()
        personal_id = str(at(id_col) or "").strip()
        if not code and not personal_id:
            if any(_text(at(h)) for h in data):
                result.errors.append(
                    f"Trang “{sheet}”, dòng {number}: không có mã học sinh hay mã định danh"
                )
            continue
        student = by_code.get(code) if code else by_id.get(personal_id)
        if student is None:
            shown_as = code or personal_id
            what = "mã học sinh" if code else "mã định danh"
            result.errors.append(
                f"Trang “{sheet}”, dòng {number}: {what} “{shown(shown_as)}” không thuộc lớp "
                f"{cs.class_group.name}"
            )
            continue
        if code and personal_id and student.personal_id != personal_id:
            result.errors.append(
                f"Trang “{sheet}”, dòng {number}: mã học sinh “{shown(code)}” và mã định danh "
                f"“{shown(personal_id)}” không cùng một học sinh"
            )
            continue
        if student.pk in seen:
            result.errors.append(
                f"Trang “{sheet}”, dòng {number}: học sinh {student.full_name} xuất hiện hai lần"
            )
            continue
        seen.add(student.pk)
        for heading in data:
            value = at(heading)
            if heading.holds == REMARK:
                if found.term == Term.HK2:
                    result.remarks.append(
                        RemarkChange(student.pk, cell_text(value), where(number, heading, value))
                    )
                continue
            _term, kind, seq = heading.holds.split(":")
            key = (found.term, kind, int(seq))
            if key not in allowed:
                if _text(value):
                    result.errors.append(
                        f"{where(number, heading, value)}: môn {cs.name} lớp "
                        f"{cs.class_group.name} không có cột điểm này"
                    )
                continue
            result.cells.append(
                CellChange(student.pk, *key, cell_text(value), where(number, heading, value))
            )
    result.rows = len(seen)
    result.errors += validate_assessments(cs, result.cells)[0]
    result.errors += validate_remarks(cs, result.remarks)


def _differences(cs: ClassSubject, result: Plan) -> list[Difference]:
    from hocba.gradebook.values import parse_value

    names = {s.pk: s.full_name for s in enrolled_students(cs.class_group)}
    stored = {
        (a.student_id, a.term, a.kind, a.seq): display(a.score, a.code)
        for a in Assessment.objects.filter(class_subject=cs, term=result.term)
    }
    found: list[Difference] = []
    for change in result.cells:
        kind = change.kind if change.kind in (Kind.LEVEL, Kind.TEST) else ""
        parsed = parse_value(change.value, cs.mode, kind)
        new = "" if parsed is None else display(parsed.score, parsed.code)
        old = stored.get((change.student_id, change.term, change.kind, change.seq), "")
        if old != new:
            column = change.where.split("cột “", 1)[1].split("”", 1)[0]
            found.append(Difference(names[change.student_id], column, old, new))
    remarks = dict(SubjectRemark.objects.filter(class_subject=cs).values_list("student_id", "text"))
    for remark in result.remarks:
        old, new = remarks.get(remark.student_id, ""), remark_text(remark.text)
        if old != new:
            found.append(Difference(names[remark.student_id], "Nhận xét", old, new))
    return found


def apply(
    user: Any, planned: Plan, request: Any = None, recompute_results: bool = True
) -> tuple[int, int]:
    """Write a plan without problems through the grade book's services; (cells, remarks)
    changed."""
    if planned.errors or planned.class_subject is None:
        raise ValidationFailed(planned.errors or ["Tệp chưa được kiểm tra"])
    return save_subject_book(
        user, planned.class_subject, planned.cells, planned.remarks, request,
        recompute_results,
    )  # fmt: skip


@dataclass
class FolderReport:
    files: int = 0
    rows: int = 0
    cells: int = 0
    remarks: int = 0
    errors: list[str] = field(default_factory=list)


def import_folder(
    folder: Path | str,
    school: School,
    school_year: SchoolYear,
    user_for: Callable[[ClassSubject], Any],
    request: Any = None,
) -> FolderReport:
    """Every .xlsx file of `folder` (a school's year of grade books): all planned first; if any
    file has a problem, every problem is listed and nothing is written; otherwise all are
    written in one transaction, each subject by the user `user_for` gives for it."""
    return import_files(sorted(Path(folder).glob("*.xlsx")), school, school_year, user_for,
                        request)  # fmt: skip


def import_files(
    paths: Iterable[Path],
    school: School,
    school_year: SchoolYear,
    user_for: Callable[[ClassSubject], Any],
    request: Any = None,
) -> FolderReport:
    report = FolderReport()
    plans = []
    seen: dict[tuple[int, str], str] = {}
    for path in paths:
        planned = plan(path.read_bytes(), school, school_year, name=path.name)
        report.files += 1
        report.errors += planned.errors
        if planned.class_subject is not None and not planned.errors:
            key = (planned.class_subject.pk, planned.term)
            if key in seen:
                report.errors.append(
                    f"Tệp “{shown(path.name)}”: cùng môn, lớp và học kỳ với tệp “{seen[key]}”"
                )
            seen[key] = path.name
        plans.append(planned)
    if report.errors:
        return report
    touched: dict[int, ClassGroup] = {}
    with transaction.atomic():
        for planned in plans:
            assert planned.class_subject is not None
            cells, remarks = apply(
                user_for(planned.class_subject), planned, request, recompute_results=False
            )
            report.rows += planned.rows
            report.cells += cells
            report.remarks += remarks
            if cells:
                class_group = planned.class_subject.class_group
                touched[class_group.pk] = class_group
        for class_group in touched.values():  # each class once, after all its subjects
            recompute(class_group)
    return report


def export(layout: Layout, cs: ClassSubject, term: str, order: list[int] | None = None) -> bytes:
    """The class subject's semester as `layout` writes it (what the other system would give
    a teacher): title rows naming the class, subject and semester, the header, one row per
    student (in `order` of their positions, name order by default)."""
    class_group = cs.class_group
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append([clean(class_group.school.name)])
    ws.append(["SỔ THEO DÕI VÀ ĐÁNH GIÁ HỌC SINH"])
    term_word = "Cuối năm" if layout.primary and term == Term.HK2 else TERM_SHOWN[Term(term)]
    ws.append([clean(f"Lớp: {class_group.name} - Môn: {cs.name} - Học kỳ: {term_word}")])
    ws.append([])
    allowed = allowed_cells(cs)
    written: list[tuple[str, str]] = []  # (heading, holds)
    for column in layout.columns:
        if column.holds == IGNORED and column.header not in ("STT", "Họ và tên"):
            continue
        if "{n}" in column.header:
            kind = column.holds.split(":")[1]
            count = sum(1 for t, k, _ in allowed if t == term and k == kind)
            for n in range(1, count + 1):
                written.append((column.header.replace("{n}", str(n)), column.holds.replace(
                    "{n}", str(n))))  # fmt: skip
        elif column.holds.startswith("*:"):
            _, kind, seq = column.holds.split(":")
            if (term, kind, int(seq)) in allowed:
                written.append((column.header, column.holds))
        elif column.holds == REMARK:
            if term == Term.HK2:
                written.append((column.header, column.holds))
        else:
            written.append((column.header, column.holds))
    if layout.header_rows == 2:
        upper, lower = [], []
        group = ""
        for heading, _ in written:
            top, _sep, below = heading.partition(" / ")
            if below:
                upper.append(top if top != group else None)
                lower.append(below)
                group = top
            else:
                upper.append(heading)
                lower.append(None)
                group = ""
        ws.append(upper)
        ws.append(lower)
    else:
        ws.append([heading for heading, _ in written])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    stored = {
        (a.student_id, a.kind, a.seq): display(a.score, a.code)
        for a in Assessment.objects.filter(class_subject=cs, term=term)
    }
    remarks = dict(SubjectRemark.objects.filter(class_subject=cs).values_list("student_id", "text"))
    students = students_of_subject(cs)
    if order is not None:
        students = [students[i] for i in order]
    for number, student in enumerate(students, start=1):
        row: list[Any] = []
        for heading, holds in written:
            if holds == STUDENT_CODE:
                row.append(student.student_code)
            elif holds == PERSONAL_ID:
                row.append(student.personal_id or "")
            elif holds == REMARK:
                row.append(remarks.get(student.pk, ""))
            elif holds.startswith("*:"):
                _, kind, seq = holds.split(":")
                row.append(stored.get((student.pk, kind, int(seq)), ""))
            elif heading == "STT":
                row.append(number)
            else:
                row.append(student.full_name)
        ws.append([clean(v) for v in row])
    for i in range(1, len(written) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 12
    return to_bytes(wb)
