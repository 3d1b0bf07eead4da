"""`hocba records xsd|build|list|show|export`: the record schema and the school's records; and
`hocba records import-external`, the import of records issued by another system (registered by
`hocba.external`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.formats import xsd_text
from hocba.organizations.models import ClassGroup, Role, RoleAssignment, School, SchoolYear
from hocba.records.hooks import subcommands, version_files
from hocba.records.models import Record, RecordVersion, State
from hocba.records.services import build_records, read_xml

STATES = [s.value for s in State]


class Command(BaseCommand):
    help = "Student records (học bạ): schema, build, list, show, export."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("xsd", help="print the record XML schema")
        build = sub.add_parser("build", help="draft records from the grade book")
        build.add_argument("--school", required=True, help="Ministry school code")
        build.add_argument("--year", help="school year, e.g. 2024-2025 (default: the latest)")
        build.add_argument("--class", dest="classes", action="append", help="class name (repeat)")
        build.add_argument("--as", dest="username", help="acting user (default: the principal)")
        listing = sub.add_parser("list", help="one line per record version")
        listing.add_argument("--school")
        listing.add_argument("--status", choices=STATES)
        listing.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="a record's versions, or one version's XML")
        show.add_argument("record_id")
        show.add_argument("--version", type=int)
        show.add_argument("--xml", action="store_true", help="print the XML of the version")
        export = sub.add_parser("export", help="write <record_id>-v<version>.xml files")
        export.add_argument("--out", required=True)
        export.add_argument("--school")
        export.add_argument("--status", choices=STATES)
        export.add_argument("--format", default="xml", help="xml, pdf or xml,pdf")
        for subcommand in subcommands.values():  # actions of the apps above records
            subcommand.add_arguments(sub.add_parser(subcommand.name, help=subcommand.help))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] in subcommands:
            subcommands[options["action"]].handle(self, options)
            return
        getattr(self, f"_{options['action']}")(options)

    def _xsd(self, options: dict[str, Any]) -> None:
        self.stdout.write(xsd_text(), ending="")

    def _school(self, code: str | None) -> School | None:
        if code is None:
            return None
        school = School.objects.filter(code=code).first()
        if school is None:
            raise CommandError(f"Không có trường mã {code}", returncode=2)
        return school

    def _build(self, options: dict[str, Any]) -> None:
        school = self._school(options["school"])
        assert school is not None
        years = SchoolYear.objects.all()
        year = years.filter(name=options["year"]).first() if options["year"] else years.first()
        if year is None:
            raise CommandError(f"Không có năm học {options['year']}", returncode=2)
        classes = None
        if options["classes"]:
            classes = list(
                ClassGroup.objects.filter(
                    school=school, school_year=year, name__in=options["classes"]
                )
            )
            missing = set(options["classes"]) - {c.name for c in classes}
            if missing:
                raise CommandError(f"Không có lớp {', '.join(sorted(missing))}", returncode=2)
        user = self._actor(school, options.get("username"))
        report = build_records(user, school, year, classes)
        self.stdout.write(
            f"created {len(report.created)}, rebuilt {len(report.updated)}, "
            f"skipped {len(report.skipped)}, refused {len(report.refused)}"
        )
        for student, reasons in report.refused:
            self.stdout.write(
                f"  refused {student.student_code} {student.full_name}: {'; '.join(reasons)}"
            )

    def _actor(self, school: School, username: str | None) -> Any:
        users = get_user_model().objects
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"Không có người dùng {username}", returncode=2)
            return user
        principal = RoleAssignment.objects.filter(
            school=school, role=Role.PRINCIPAL, active=True, staff__user__isnull=False
        ).first()
        if principal is None:
            raise CommandError("Trường chưa có hiệu trưởng có tài khoản; dùng --as", returncode=2)
        return principal.staff.user

    def _versions(self, options: dict[str, Any]) -> Any:
        versions = RecordVersion.objects.select_related(
            "record__student", "record__school", "record__school_year"
        ).order_by("record__school__code", "record__student__full_name", "version")
        school = self._school(options.get("school"))
        if school is not None:
            versions = versions.filter(record__school=school)
        if options.get("status"):
            versions = versions.filter(state=options["status"])
        return versions

    def _list(self, options: dict[str, Any]) -> None:
        for v in self._versions(options):
            row = {
                "record_id": str(v.record.record_id),
                "version": v.version,
                "state": v.state,
                "event": v.event,
                "status": v.status,
                "school": v.record.school.code,
                "school_year": v.record.school_year.name,
                "student_code": v.record.student.student_code,
                "full_name": v.record.student.full_name,
                "sha256": v.xml_sha256,
            }
            if options["json"]:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
            else:
                self.stdout.write(
                    "\t".join(
                        str(row[k])
                        for k in (
                            "record_id",
                            "version",
                            "state",
                            "event",
                            "school",
                            "student_code",
                            "full_name",
                        )
                    )
                )

    def _show(self, options: dict[str, Any]) -> None:
        record = Record.objects.filter(record_id=_uuid(options["record_id"])).first()
        if record is None:
            raise CommandError(f"Không có học bạ {options['record_id']}", returncode=2)
        versions = record.versions.order_by("version")
        if options["xml"] or options["version"]:
            version = (
                versions.filter(version=options["version"]).first()
                if options["version"]
                else versions.last()
            )
            if version is None:
                raise CommandError(f"Không có phiên bản {options['version']}", returncode=2)
            self.stdout.write(read_xml(version).decode("utf-8"))
            return
        self.stdout.write(f"{record.record_id} {record.student.full_name} {record.school_year}")
        for v in versions:
            self.stdout.write(
                f"  v{v.version} {v.state} {v.event} status={v.status} {v.xml_sha256} {v.reason}"
            )

    def _export(self, options: dict[str, Any]) -> None:
        words = ["xml", *version_files]  # pdf: registered by documents
        formats = {f.strip() for f in options["format"].split(",") if f.strip()}
        if not formats <= set(words):
            raise CommandError(
                f"--format nhận {', '.join(words)} hoặc {','.join(words)}", returncode=2
            )
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        versions = list(self._versions(options))
        readers: dict[str, Mapping[int, Callable[[], bytes]]] = {}
        for suffix in [w for w in words[1:] if w in formats]:
            readers[suffix], problems = version_files[suffix].made(versions)
            for problem in problems:
                self.stderr.write(problem)
        count = 0
        for v in versions:
            stem = f"{v.record.record_id}-v{v.version}"
            if "xml" in formats:
                (out / f"{stem}.xml").write_bytes(read_xml(v))
                count += 1
            for suffix, files in readers.items():
                if v.pk in files:
                    (out / f"{stem}.{suffix}").write_bytes(files[v.pk]())
                    count += 1
        self.stdout.write(f"{count} files written to {out}")


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise CommandError(
            f"“{value}” không phải mã định danh học bạ (UUID)", returncode=2
        ) from None
