"""`hocba warehouse …`: the warehouse role of this instance.

- `stats [--json] [--year YEAR]` — counts per Ministry / Sở / Phòng / school (on a warehouse:
  what arrived; on a school instance: enrolment, records and outbox);
- `account add CLIENT_ID --kind school|province|ministry …` — register a sender with the issuer
  fields its records must carry (a school: `--school`, `--province`, `--office`, `--tax-code`;
  a Sở: `--province`, `--office`, `--tax-code`); the secret is read from `HOCBA_ACCOUNT_SECRET`
  or standard input, never from the command line;
- `account list`;
- `work [--once]` — `hocba worker --queues warehouse` (which processes received packages),
  after enqueuing the task of every package still waiting; `--once`: what is due, then exit.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.warehouse import stats
from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account

HEAD = {
    "expected": "HS cần có",
    "created": "Đã tạo",
    "issued": "Đã phát hành",
    "sent": "Đã gửi",
    "accepted": "Được nhận",
    "rejected": "Bị từ chối",
}


class Command(BaseCommand):
    help = "The warehouse (Kho học bạ số): statistics, accounts, processing."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("stats", help="counts per Ministry / Sở / Phòng / school")
        show.add_argument("--json", action="store_true")
        show.add_argument("--year", help="one school year, e.g. 2025-2026")
        show.add_argument(
            "--side",
            choices=("auto", "school", "warehouse"),
            default="auto",
            help="school: this instance's own records and outbox; warehouse: what arrived",
        )
        account = sub.add_parser("account", help="warehouse accounts")
        acc = account.add_subparsers(dest="account_action", required=True)
        add = acc.add_parser("add", help="register or update an account")
        add.add_argument("client_id")
        add.add_argument("--kind", choices=("school", "province", "ministry"), required=True)
        add.add_argument("--name", required=True)
        add.add_argument("--province", default="", help="province code (MA_TINH)")
        add.add_argument(
            "--office", default="", help="Sở code (MA_SO_GD): the school's Sở, or the Sở itself"
        )
        add.add_argument("--school", default="", help="school code (MA_TRUONG)")
        add.add_argument("--tax-code", default="", help="tax code (MA_SO_THUE, MST of the seal)")
        add.add_argument("--scopes")
        add.add_argument("--allow-ip", action="append", default=[])
        acc.add_parser("list", help="list accounts")
        work = sub.add_parser("work", help="process received packages")
        work.add_argument("--once", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "stats":
            self._stats(options)
        elif action == "account":
            self._account(options)
        else:
            self._work(once=options["once"])

    def _work(self, once: bool) -> None:
        """`hocba worker --queues warehouse`, after enqueuing the task of every package still
        waiting (received by an earlier release, or whose task was set aside). With --once, what
        is due is processed and the command ends (exit 1 if the database cannot be reached)."""
        from django.db import DatabaseError
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
        from django_tasks.backends.immediate import ImmediateBackend

        from hocba.warehouse.services import enqueue_waiting

        try:
            waiting = enqueue_waiting()
        except DatabaseError as error:
            if once:
                raise CommandError(f"Lỗi khi xử lý gói tin: {error}", returncode=1) from error
            waiting = 0  # the worker waits for the database, then takes what is queued
        self.stdout.write(f"{waiting} gói tin đang chờ xử lý")
        if isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], ImmediateBackend):
            return  # HOCBA_TASKS=immediate: their tasks have just run, here
        call_command("worker", queues="warehouse", batch=once)

    def _stats(self, options: dict[str, Any]) -> None:
        side = options["side"]
        if side == "auto":
            side = "warehouse" if settings.WAREHOUSE_ENABLED else "school"
        rows = (
            stats.warehouse_rows(school_year=options["year"])
            if side == "warehouse"
            else stats.school_rows(options["year"])
        )
        if options["json"]:
            self.stdout.write(json.dumps({"side": side, "rows": rows}, ensure_ascii=False))
            return
        width = max([len(r["name"]) for r in rows] + [10])
        header = f"{'Cấp':<9} {'Đơn vị':<{width}} " + " ".join(f"{h:>12}" for h in HEAD.values())
        self.stdout.write(header)
        for row in rows:
            numbers = " ".join(f"{row[k]:>12}" for k in HEAD)
            self.stdout.write(f"{row['level']:<9} {row['name']:<{width}} {numbers}")

    def _account(self, options: dict[str, Any]) -> None:
        if options["account_action"] == "list":
            for account in Account.objects.order_by("client_id"):
                where = account.school_code or account.province_code or "*"
                office = account.province_office_code or "-"
                self.stdout.write(
                    f"{account.client_id}\t{account.kind}\t{where}\t{office}\t{account.tax_code}\t"
                    f"{account.scopes}\t{'active' if account.active else 'disabled'}"
                )
            return
        secret = os.environ.get("HOCBA_ACCOUNT_SECRET") or sys.stdin.readline().strip()
        if len(secret) < 16:
            raise CommandError(
                "Mật khẩu ứng dụng phải có ít nhất 16 ký tự (HOCBA_ACCOUNT_SECRET hoặc stdin)",
                returncode=2,
            )
        kind = {"school": "SCHOOL", "province": "PROVINCE", "ministry": "MINISTRY"}[options["kind"]]
        try:
            account = create_account(
                options["client_id"],
                secret,
                options["name"],
                kind,
                province_code=options["province"],
                province_office_code=options["office"],
                school_code=options["school"],
                tax_code=options["tax_code"],
                scopes=options["scopes"],
                allowed_ips="\n".join(options["allow_ip"]),
            )
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"{account.client_id}: {account.scopes}")
