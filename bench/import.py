"""A school's people imported from the sector database's files: rows imported per second.

A lower-secondary school of 2,000 students (48 classes) is imported into an empty database the
way a school starts on the platform: the CSDL ngành student list (the classes made from the
class names), the staff list, the teaching assignments (48 classes × 12 subjects) and the
homeroom assignments, each file read, recognised, checked, previewed and applied all or
nothing through `hocba.imports.services.apply_import`. Reported as rows per second over the
whole, against a bare read of the same files in the same run (`hocba.spreadsheets.tables`: the
rows read, nothing checked, nothing written); the target is under 60 s for the whole.

The stages are a list (`STAGES`): the grade books of the year go in as one more stage each,
after the assignments, when their layouts can be imported.

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
    # the year's grade books go here, one stage per layout, once they can be imported
]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--format", choices=["xlsx", "xls", "csv"], default="xlsx")
    args = parser.parse_args()
    students = 400 if args.quick else 2000

    data = tempfile.mkdtemp(prefix="hocba-bench-import-")
    _setup(data)
    from tests.imports.fixtures.generate import write

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
    total = sum(seconds.values())
    # the same files again: nothing to change
    start = time.perf_counter()
    for stage, _name, kind in STAGES:
        again = apply_import(None, school, year, kind, contents[stage])
        assert not again.applied, stage
    unchanged = time.perf_counter() - start
    report(
        "import", rows, total, f"bare read of the same .{args.format} files, same run",
        read_rows / bare, students=students, format=args.format, stages=seconds,
        bare_read_seconds=round(bare, 3), reimport_unchanged_seconds=round(unchanged, 3),
        target_seconds=TARGET_SECONDS, within_target=total < TARGET_SECONDS, database="SQLite",
    )  # fmt: skip


if __name__ == "__main__":
    main()
