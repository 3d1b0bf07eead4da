"""`hocba gradebook import FILE|FOLDER … --school CODE --year YYYY-YYYY`: grade books in the
vnEdu and SMAS layouts (`hocba.gradebook.layouts`), checked whole, previewed, then written.
`hocba gradebook export-csdl OUT.xlsx --school CODE --year YYYY-YYYY --class NAME`: a class's
year results for the sector database (`hocba.gradebook.csdl`).

Each subject is written by the teacher assigned to it (`--as-assigned-teachers`, for the
school's move from another system, run by the platform's operator) or by one user
(`--user NAME`, who must be allowed to write every subject of the files). Nothing is written
with `--dry-run`, nor when any file has a problem: every problem is printed, one a line, after
the code `INVALID_GRADEBOOK_FILE`, and the command exits 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.gradebook import csdl, foreign
from hocba.gradebook.models import ClassSubject, LockedError
from hocba.gradebook.services import ValidationFailed
from hocba.organizations.models import ClassGroup, Role, RoleAssignment, School, SchoolYear


def assigned_teacher(cs: ClassSubject) -> Any:
    """The user of the teacher assigned to the class subject; `ValidationFailed` if none."""
    found = (
        RoleAssignment.objects.filter(
            role=Role.SUBJECT_TEACHER, class_group=cs.class_group, subject_code=cs.subject_code
        )
        .select_related("staff__user")
        .first()
    )
    if found is None or found.staff.user is None:
        raise ValidationFailed(
            [f"Môn {cs.name} lớp {cs.class_group.name} chưa phân công giáo viên"]
        )
    return found.staff.user


class Command(BaseCommand):
    help = "Grade books in other systems' layouts (vnEdu, SMAS)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("import", help="import .xlsx grade books (files or folders)")
        run.add_argument("paths", nargs="+", help=".xlsx files, or folders of them")
        run.add_argument("--school", required=True, help="Ministry school code")
        run.add_argument("--year", required=True, help="school year, e.g. 2024-2025")
        who = run.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="write every subject as this user")
        who.add_argument(
            "--as-assigned-teachers",
            action="store_true",
            help="write each subject as the teacher assigned to it",
        )
        run.add_argument(
            "--dry-run", action="store_true", help="check and list the changes, write nothing"
        )
        out = sub.add_parser(
            "export-csdl", help="a class's year results for the sector database (CSDL ngành)"
        )
        out.add_argument("out", help="the .xlsx file to write")
        out.add_argument("--school", required=True, help="Ministry school code")
        out.add_argument("--year", required=True, help="school year, e.g. 2024-2025")
        out.add_argument("--class", dest="class_name", required=True, help="class name, e.g. 7A")

    def _fail(self, code: str, message: str) -> None:
        raise CommandError(f"{code}: {message}", returncode=2)

    def handle(self, *args: Any, **options: Any) -> None:
        school = School.objects.filter(code=options["school"]).first()
        if school is None:
            self._fail("UNKNOWN_SCHOOL", f"Không có trường mã {options['school']}")
        year = SchoolYear.objects.filter(name=options["year"]).first()
        if year is None:
            self._fail("UNKNOWN_SCHOOL_YEAR", f"Không có năm học {options['year']}")
        assert school is not None and year is not None
        if options["action"] == "export-csdl":
            self._export(school, year, options["class_name"], Path(options["out"]))
            return
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                self._fail("UNKNOWN_USER", f"Không có người dùng {options['user']}")
            user_for: Any = lambda cs: user  # noqa: E731
        else:
            user_for = assigned_teacher
        paths: list[Path] = []
        for given in options["paths"]:
            path = Path(given)
            if path.is_dir():
                paths += sorted(path.glob("*.xlsx"))
            elif path.is_file():
                paths.append(path)
            else:
                self._fail("NO_SUCH_FILE", f"Không có tệp hay thư mục {given}")
        if options["dry_run"]:
            self._preview(paths, school, year)
            return
        try:
            report = foreign.import_files(paths, school, year, user_for)
        except PermissionDenied as denied:
            self._fail("FORBIDDEN", str(denied))
        except LockedError as locked:
            self._fail("GRADEBOOK_LOCKED", str(locked))
        except ValidationFailed as failed:
            report = foreign.FolderReport(errors=failed.errors)
        if report.errors:
            for error in report.errors:
                self.stderr.write(f"INVALID_GRADEBOOK_FILE: {error}")
            self._fail(
                "INVALID_GRADEBOOK_FILE",
                f"{len(report.errors)} lỗi; không ghi gì. Hãy sửa tệp rồi nhập lại.",
            )
        self.stdout.write(
            f"Đã nhập {report.files} tệp, {report.rows} dòng học sinh: {report.cells} ô điểm "
            f"và {report.remarks} nhận xét thay đổi."
        )

    def _export(self, school: School, year: SchoolYear, name: str, out: Path) -> None:
        class_group = ClassGroup.objects.filter(
            school=school, school_year=year, name__iexact=name
        ).first()
        if class_group is None:
            self._fail("UNKNOWN_CLASS", f"Không có lớp {name} ở trường {school.code} năm {year}")
        assert class_group is not None
        try:
            out.write_bytes(csdl.results(class_group))
        except OSError as error:
            self._fail("UNWRITABLE_OUTPUT", f"Không ghi được tệp {out}: {error.strerror}")
        self.stdout.write(f"Đã ghi {out}: kết quả cả năm lớp {class_group.name}.")

    def _preview(self, paths: list[Path], school: School, year: SchoolYear) -> None:
        errors = 0
        for path in paths:
            planned = foreign.plan(path.read_bytes(), school, year, name=path.name)
            for error in planned.errors:
                errors += 1
                self.stderr.write(f"INVALID_GRADEBOOK_FILE: {error}")
            if planned.errors or planned.class_subject is None:
                continue
            cs = planned.class_subject
            self.stdout.write(
                f"{path.name}\t{planned.layout.label if planned.layout else ''}\t"
                f"{cs.class_group.name}\t{cs.name}\t{planned.term}\t"
                f"{len(planned.differences)} thay đổi"
            )
            for d in planned.differences:
                self.stdout.write(f"  {d.student}\t{d.column}\t{d.old or '—'} → {d.new or '—'}")
        if errors:
            self._fail("INVALID_GRADEBOOK_FILE", f"{errors} lỗi; không ghi gì.")
