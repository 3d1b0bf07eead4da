"""`hocba students review [--school CODE] [--json]`: the data-quality review of identities."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.organizations.models import School
from hocba.students.services import review_students


class Command(BaseCommand):
    help = "Students: data-quality review of identities."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        review = sub.add_parser("review", help="list every identity problem, one per line")
        review.add_argument("--school", help="Ministry school code")
        review.add_argument(
            "--json", action="store_true", help="one JSON object per line (JSON Lines)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        school = None
        if options.get("school"):
            school = School.objects.filter(code=options["school"]).first()
            if school is None:
                raise CommandError(f"Không có trường mã {options['school']}", returncode=2)
        for found in review_students(school=school):
            if options["json"]:
                self.stdout.write(json.dumps(found.as_dict(), ensure_ascii=False))
            else:
                self.stdout.write(
                    f"{found.school_code}\t{found.class_name}\t{found.student_code}\t"
                    f"{found.full_name}\t{found.problem.code}\t{found.problem.message}"
                )
