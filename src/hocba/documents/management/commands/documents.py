"""`hocba documents render --school CODE [--class NAME] [--year YEAR]`: draw and seal the
printable views of a school or a class as one batch, with progress; leaves a ZIP and one merged
PDF per class in storage."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.documents.services import new_batch, run_job
from hocba.organizations.models import ClassGroup, School


class Command(BaseCommand):
    help = "Printable views (PDF): draw and seal a class or a school."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        render = sub.add_parser("render", help="draw and seal a school or a class")
        render.add_argument("--school", required=True, help="school code")
        render.add_argument("--class", dest="class_name", help="class name, e.g. 9A")
        render.add_argument("--year", help="school year of the class, e.g. 2024-2025")

    def handle(self, *args: Any, **options: Any) -> None:
        school = School.objects.filter(code=options["school"]).first()
        if school is None:
            raise CommandError(f"Không có trường mã {options['school']}", returncode=2)
        class_group = None
        if options["class_name"]:
            classes = ClassGroup.objects.filter(school=school, name=options["class_name"])
            if options["year"]:
                classes = classes.filter(school_year__name=options["year"])
            class_group = classes.order_by("-school_year__name").first()
            if class_group is None:
                raise CommandError(f"Không có lớp {options['class_name']}", returncode=2)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("Cần một tài khoản quản trị để ghi nhật ký", returncode=2)
        job = run_job(new_batch(user, school, class_group))
        progress = job.progress
        self.stdout.write(
            f"{progress.done}/{progress.total} PDF ({progress.get_state_display()}); "
            f"ZIP {job.outputs.get('zip')}"
        )
        for failure in job.failed:
            self.stderr.write(f"  {failure['version']}: {failure['code']} {failure['message']}")
        if job.failed:
            raise CommandError(f"{len(job.failed)} học bạ chưa dựng được PDF", returncode=1)
