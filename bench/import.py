"""A school's people imported from the sector database's files: rows imported per second.

A lower-secondary school of 2,000 students (48 classes) is imported into an empty database the
way a school starts on the platform: the CSDL ngành student list (the classes made from the
class names), the staff list, the teaching assignments (48 classes × 12 subjects) and the
homeroom assignments, each file read, recognised, checked, previewed and applied all or
nothing through `hocba.imports.services.apply_import`. Reported as rows per second over the
whole, against a bare read of the same files in the same run (`hocba.spreadsheets.tables`: the
rows read, nothing checked, nothing written); the target is under 60 s for the whole.

Then the year's grade books: one vnEdu file per class, subject and semester (48 classes × 12
subjects × 2 semesters for the full school), as a school switching from vnEdu brings them,
imported as a folder through `hocba.gradebook.foreign.import_folder` (every file checked
first, all written in one transaction, each class's results recomputed once). The files are
made before the timed part: random scores are written, each file exported in the vnEdu layout
(`foreign.export`), and the grade book emptied again.

`--quick` imports a school of 400 students. `--format xls|csv` reads the other variants.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import report

TARGET_SECONDS = 60

STAGES: list[tuple[str, str, str]] = [
    # (stage, the fixture file's name without its extension, the kind of import)
    ("students", "csdl-hoc-sinh", "students"),
    ("staff", "csdl-can-bo", "staff"),
    ("teaching", "csdl-phan-cong", "assignments"),
    ("homeroom", "csdl-chu-nhiem", "assignments"),
]
GRADEBOOK_STAGE = "grade books"


def _setup(data: str) -> None:
    os.environ.update(
        HOCBA_DATA_DIR=data,
        HOCBA_SECRET_KEY="bench-" + "k" * 50,
        HOCBA_TASKS="immediate",
        DJANGO_SETTINGS_MODULE="hocba.config.settings",
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _school():  # type: ignore[no-untyped-def]
    import datetime as dt

    from hocba.organizations.models import ProvinceOffice, School, SchoolYear

    province = ProvinceOffice.objects.create(
        code="25", name="Sở Giáo dục và Đào tạo Phú Thọ", province_code="25",
        province_name="Tỉnh Phú Thọ",
    )  # fmt: skip
    school = School.objects.create(
        code="25000299", name="Trường THCS Thử Nghiệm", province_office=province,
        levels=["THCS"], commune_name="Phường Nông Trang", province_code="25",
        province_name="Tỉnh Phú Thọ",
    )  # fmt: skip
    year = SchoolYear.objects.create(
        name="2024-2025", start_date=dt.date(2024, 9, 5), end_date=dt.date(2025, 5, 31)
    )
    return school, year


def _gradebook_files(school, year, folder: Path) -> dict:  # type: ignore[no-untyped-def]
    """A year of vnEdu grade-book files for the imported school (untimed): random scores
    written, each class subject's semester exported, the grade book emptied again. Returns
    the teacher's user for each class subject (the teachers get sign-in accounts)."""
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from hocba.gradebook.compute import enrolled_students
    from hocba.gradebook.foreign import export
    from hocba.gradebook.layouts import VNEDU_THCS
    from hocba.gradebook.models import Assessment, ClassSubject, Term, YearResult
    from hocba.gradebook.services import allowed_cells
    from hocba.organizations.models import Role, RoleAssignment

    assignments = RoleAssignment.objects.filter(
        role=Role.SUBJECT_TEACHER, class_group__school=school, class_group__school_year=year
    ).select_related("staff")
    users = {}
    accounts: dict[int, object] = {}
    for assignment in assignments:
        staff = assignment.staff
        if staff.pk not in accounts:
            if staff.user_id is None:
                staff.user = get_user_model().objects.create(username=f"gv{staff.personal_id}")
                staff.save(update_fields=["user"])
            accounts[staff.pk] = staff.user
        users[(assignment.class_group_id, assignment.subject_code)] = accounts[staff.pk]
    rng = random.Random(2025)
    subjects = list(
        ClassSubject.objects.filter(class_group__school=school, class_group__school_year=year)
        .select_related("class_group__school")
        .order_by("class_group__name", "position")
    )
    cells = []
    for cs in subjects:
        teacher = users[(cs.class_group_id, cs.subject_code)]
        wanted = [c for c in allowed_cells(cs) if c[0] != Term.SUMMER]
        for student in enrolled_students(cs.class_group):
            for term, kind, seq in wanted:
                if cs.scored:
                    score, code = Decimal(rng.randint(40, 100)) / 10, ""
                else:
                    score, code = None, "Đ"
                cells.append(Assessment(class_subject=cs, student=student, term=term,
                                        kind=kind, seq=seq, score=score, code=code,
                                        entered_by=teacher))  # fmt: skip
    Assessment.objects.bulk_create(cells, batch_size=5000)
    folder.mkdir(parents=True, exist_ok=True)
    for cs in subjects:
        for term in (Term.HK1, Term.HK2):
            name = f"vnedu-{cs.class_group.name}-{cs.subject_code}-{term}.xlsx"
            (folder / name).write_bytes(export(VNEDU_THCS, cs, term))
    Assessment.objects.all().delete()
    YearResult.objects.all().delete()
    return {cs.pk: users[(cs.class_group_id, cs.subject_code)] for cs in subjects}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--format", choices=["xlsx", "xls", "csv"], default="xlsx")
    args = parser.parse_args()
    students = 400 if args.quick else 2000

    data = tempfile.mkdtemp(prefix="hocba-bench-import-")
    _setup(data)
    from tests.imports.fixtures.generate import write

    from hocba.gradebook.foreign import import_folder
    from hocba.imports.services import apply_import
    from hocba.spreadsheets.tables import read_table

    files = write(Path(data) / "files", students=students)
    contents = {stage: files[f"{name}.{args.format}"].read_bytes() for stage, name, _k in STAGES}
    school, year = _school()

    # the limit: a bare read of the same files (rows read, nothing checked or written)
    start = time.perf_counter()
    read_rows = sum(len(read_table(content).rows) for content in contents.values())
    bare = time.perf_counter() - start

    seconds: dict[str, float] = {}
    rows = 0
    for stage, _name, kind in STAGES:
        start = time.perf_counter()
        done = apply_import(None, school, year, kind, contents[stage])
        seconds[stage] = round(time.perf_counter() - start, 3)
        if done.plan.problems or not done.applied:
            raise SystemExit(f"{stage}: not applied ({done.plan.problems[:3]})")
        rows += done.rows
        print(f"{stage}: {done.rows} rows in {seconds[stage]} s", file=sys.stderr)
    # the year's grade books (files made before the timed part)
    folder = Path(data) / "grade-books"
    teachers = _gradebook_files(school, year, folder)
    books = sorted(folder.glob("*.xlsx"))
    start = time.perf_counter()
    read_rows += sum(len(read_table(path.read_bytes()).rows) for path in books)
    bare += time.perf_counter() - start
    start = time.perf_counter()
    folder_report = import_folder(folder, school, year, lambda cs: teachers[cs.pk])
    seconds[GRADEBOOK_STAGE] = round(time.perf_counter() - start, 3)
    if folder_report.errors:
        raise SystemExit(f"grade books: not applied ({folder_report.errors[:3]})")
    rows += folder_report.rows
    print(
        f"grade books: {folder_report.files} files, {folder_report.rows} rows, "
        f"{folder_report.cells} cells in {seconds[GRADEBOOK_STAGE]} s",
        file=sys.stderr,
    )
    total = sum(seconds.values())
    # the same files again: nothing to change
    start = time.perf_counter()
    for stage, _name, kind in STAGES:
        again = apply_import(None, school, year, kind, contents[stage])
        assert not again.applied, stage
    again_books = import_folder(folder, school, year, lambda cs: teachers[cs.pk])
    assert not again_books.errors and again_books.cells == 0
    unchanged = time.perf_counter() - start
    report(
        "import", rows, total, f"bare read of the same .{args.format} files, same run",
        read_rows / bare, students=students, format=args.format, stages=seconds,
        bare_read_seconds=round(bare, 3), reimport_unchanged_seconds=round(unchanged, 3),
        target_seconds=TARGET_SECONDS, within_target=total < TARGET_SECONDS, database="SQLite",
    )  # fmt: skip


if __name__ == "__main__":
    main()
