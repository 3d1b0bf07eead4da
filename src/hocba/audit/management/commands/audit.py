"""`hocba audit verify`: exit 0 when the chain is intact, 1 naming the first bad event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.audit.services import verify_chain


class Command(BaseCommand):
    help = "The audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="check the hash chain of every audit event")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.intact:
            self.stdout.write(f"Audit chain intact: {report.events} events.")
            return
        if report.first_bad is not None:
            bad = report.first_bad
            where = f"event #{bad.pk} ({bad.at:%Y-%m-%d %H:%M:%S}, {bad.action}, {bad.actor_name})"
        else:
            where = "the end of the chain"
        raise CommandError(f"Audit chain broken at {where}: {report.problem}", returncode=1)
