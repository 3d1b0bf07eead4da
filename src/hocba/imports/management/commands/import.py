"""`hocba import KIND FILE --school CODE --year YYYY-YYYY [--dry-run] [--map "Tiêu đề=field"]`.

KIND is one of the registered kinds of import (`hocba.imports.kinds.KINDS`: students, staff,
assignments; another kind registered there appears here by itself). The command prints the
preview (layout, what is created, changed field by field, unchanged, missing from the file) and
applies it all or nothing unless `--dry-run`. `hocba import layouts` lists the known layouts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.imports.kinds import KINDS
from hocba.imports.layouts import FIELDS, MappingRefused, all_layouts, parse_mapping
from hocba.imports.plan import Action
from hocba.imports.services import ImportRefused, Preview, apply_import, preview
from hocba.organizations.models import School, SchoolYear


def _fail(code: str, message: str) -> CommandError:
    return CommandError(f"{code}: {message}", returncode=2)


class Command(BaseCommand):
    help = "Import students, staff or assignments from a CSDL ngành, vnEdu, SMAS or hocba file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="kind", required=True)
        sub.add_parser("layouts", help="list the layouts recognised from a file's headings")
        for name, kind in sorted(KINDS.items()):
            fields = ", ".join(field.name for field in FIELDS.get(name, ()))
            one = sub.add_parser(name, help=str(kind.label))
            one.add_argument("file", help=".xlsx, .xls or .csv")
            one.add_argument("--school", required=True, help="Ministry school code")
            one.add_argument("--year", required=True, help="school year, YYYY-YYYY")
            one.add_argument("--dry-run", action="store_true", help="preview only, write nothing")
            one.add_argument(
                "--map", action="append", default=[], metavar="HEADING=FIELD",
                help=f"read the column HEADING as FIELD (another layout); fields: {fields}",
            )  # fmt: skip
            one.add_argument("--json", action="store_true", help="the preview as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        if kind == "layouts":
            for layout in all_layouts():
                self.stdout.write(f"{layout.key}\t{layout.kind}\t{layout.source}\t{layout.title}")
            return
        school = School.objects.filter(code=options["school"]).first()
        if school is None:
            raise _fail("SCHOOL_UNKNOWN", f"Không có trường mã {options['school']}")
        year = SchoolYear.objects.filter(name=options["year"]).first()
        if year is None:
            raise _fail("YEAR_UNKNOWN", f"Không có năm học {options['year']}")
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise _fail("FILE_UNREADABLE", f"Không đọc được {path}: {error.strerror}") from None
        try:
            mapping = parse_mapping(kind, options["map"]) if options["map"] else None
            if options["dry_run"]:
                seen = preview(None, school, year, kind, content, mapping)
            else:
                seen = apply_import(None, school, year, kind, content, mapping)
        except MappingRefused as refused:
            raise _fail(refused.code, refused.message) from None
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stderr.write(problem.message())
            if refused.headings:
                self.stderr.write("Tiêu đề cột: " + " | ".join(h for h in refused.headings if h))
            raise _fail(refused.code, refused.message) from None
        self._report(seen, options)
        if seen.plan.problems:
            raise _fail("CELLS_INVALID", f"Tệp có {len(seen.plan.problems)} ô sai; không ghi gì cả")

    def _report(self, seen: Preview, options: dict[str, Any]) -> None:
        plan = seen.plan
        if options["json"]:
            self.stdout.write(json.dumps({
                "kind": plan.kind, "layout": seen.columns.layout.key if seen.columns.layout else "",
                "rows": seen.rows, "applied": seen.applied, "counts": plan.summary(),
                "notes": plan.notes,
                "problems": [problem.message() for problem in plan.problems],
                "items": [
                    {"action": item.action.value, "key": item.key, "name": item.name,
                     "row": item.row,
                     "changes": [[c.field, c.old, c.new] for c in item.changes]}
                    for item in plan.items if item.action != Action.UNCHANGED
                ],
            }, ensure_ascii=False))  # fmt: skip
            return
        for problem in plan.problems:
            self.stderr.write(problem.message())
        layout = seen.layout_title or "theo các cột đã chọn (--map)"
        self.stdout.write(f"Mẫu: {layout}; {seen.rows} dòng dữ liệu")
        for note in plan.notes:
            self.stdout.write(f"+ {note}")
        for item in plan.items:
            if item.action == Action.CREATE:
                self.stdout.write(f"+ {item.key}\t{item.name}")
            elif item.action == Action.CHANGE:
                self.stdout.write(f"~ {item.key}\t{item.name}")
                for change in item.changes:
                    self.stdout.write(f"    {change.label}: “{change.old}” → “{change.new}”")
            elif item.action == Action.MISSING:
                self.stdout.write(f"? {item.key}\t{item.name}\t(không có trong tệp)")
        counts = ", ".join(f"{action.label}: {plan.count(action)}" for action in Action)
        self.stdout.write(counts)
        if plan.problems:
            return
        if seen.applied:
            self.stdout.write("Đã ghi.")
        elif options["dry_run"]:
            self.stdout.write("Chạy thử (--dry-run): không ghi gì.")
        else:
            self.stdout.write("Không có gì thay đổi.")
