"""`hocba communes load [FILE]`: load the official list of communes (xã, phường, đặc khu) from a
CSV file; without FILE, the list shipped with hocba (see docs/geography.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.organizations.geography import CommuneListError, load_communes

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "communes-25.csv"


class Command(BaseCommand):
    help = "Communes: load the official list (Decision 19/2025/QĐ-TTg) from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="create or update communes from a CSV file")
        load.add_argument("file", nargs="?", help="CSV file (default: the list shipped)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options.get("file") or SHIPPED)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"COMMUNE_FILE_UNREADABLE: {path}: {error}", returncode=2) from None
        try:
            result = load_communes(text)
        except CommuneListError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"{result.created} created, {result.updated} updated")
