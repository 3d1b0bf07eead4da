"""`hocba rules evaluate [--input FILE]`: one student's year, JSON in and out.

The contract is `docs/contracts/rules-evaluate.md`."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.rules.contract import RulesInputError, evaluate


class Command(BaseCommand):
    help = "The rules engine (TT22, TT43, TT27)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("evaluate", help="evaluate one student's year: JSON in, JSON out")
        run.add_argument("--input", help="read this file instead of standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options.get("input"):
                with open(options["input"], encoding="utf-8") as handle:
                    text = handle.read()
            else:
                text = sys.stdin.read()
        except OSError as error:
            self._fail(RulesInputError("UNREADABLE_INPUT", f"Không đọc được tệp: {error}"))
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            self._fail(
                RulesInputError(
                    "INVALID_JSON",
                    f"JSON không hợp lệ (dòng {error.lineno}, cột {error.colno}): {error.msg}",
                )
            )
        try:
            result = evaluate(data)
        except RulesInputError as error:
            self._fail(error)
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))

    def _fail(self, error: RulesInputError) -> None:
        self.stdout.write(json.dumps(error.as_json(), ensure_ascii=False))
        where = f" ({error.path})" if error.path else ""
        raise CommandError(f"{error.code}{where}: {error.message}", returncode=2)
