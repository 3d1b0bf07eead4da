"""`hocba exchange …`: sending issued records to the upstream warehouse.

- `send [--loop] [--interval S] [--now]` — pack, seal, submit and collect answers (one round, or
  until stopped; safe to kill and start again at any moment); `hocba worker` does the same by
  itself (what fills the outbox enqueues a round); `--now` first drops the waits
  (after a cause was fixed); an upstream in plain http on the network is refused (exit 2,
  UPSTREAM_INSECURE) before anything is sent;
- `status` — the outbox: waiting / sent / accepted / rejected, with the reasons of rejections,
  paused senders with the reason, packages on their way with their last problem;
- `credential SENDER CLIENT_ID` — how a school (or this Sở) signs in upstream (the secret from
  `HOCBA_UPSTREAM_CLIENT_SECRET` or standard input);
- `resend [--sender CODE]` — put rejected records back in the outbox.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from hocba.exchange import services
from hocba.exchange.client import InsecureUpstream, upstream_client
from hocba.exchange.models import OutboxItem, OutgoingPackage, SenderState


class Command(BaseCommand):
    help = "Send issued records to the warehouse; outbox status; credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="send what waits in the outbox")
        send.add_argument("--loop", action="store_true", help="keep sending until stopped")
        send.add_argument("--interval", type=float, default=2.0)
        send.add_argument("--now", action="store_true", help="try at once, without the waits")
        sub.add_parser("status", help="the outbox")
        cred = sub.add_parser("credential", help="set a sender's upstream account")
        cred.add_argument("sender")
        cred.add_argument("client_id")
        again = sub.add_parser("resend", help="queue rejected records again")
        again.add_argument("--sender")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "status":
            rows = OutboxItem.objects.values("state").annotate(n=Count("pk")).order_by("state")
            for row in rows:
                self.stdout.write(f"{row['state']}\t{row['n']}")
            for item in OutboxItem.objects.filter(state=OutboxItem.State.REJECTED)[:50]:
                self.stdout.write(f"  {item.record_id} v{item.version}: {item.code} {item.message}")
            for state in SenderState.objects.exclude(code="").order_by("sender_code"):
                self.stdout.write(
                    f"TẠM DỪNG {state.sender_code}: {state.code} {state.message} "
                    f"(lần thử {state.attempts}, lần tới {state.next_attempt_at})"
                )
            for package in OutgoingPackage.objects.filter(state__in=services.IN_FLIGHT):
                self.stdout.write(
                    f"GÓI {package.package_id} {package.state} {package.records} học bạ "
                    f"{package.size} byte, lỗi {package.attempts} lần: {package.last_error}"
                )
            return
        if action == "credential":
            secret = os.environ.get("HOCBA_UPSTREAM_CLIENT_SECRET") or sys.stdin.readline().strip()
            services.set_credential(options["sender"], options["client_id"], secret)
            self.stdout.write(f"{options['sender']} → {options['client_id']}")
            return
        if action == "resend":
            items = OutboxItem.objects.filter(state=OutboxItem.State.REJECTED)
            if options["sender"]:
                items = items.filter(sender_code=options["sender"])
            self.stdout.write(f"{services.resend(items)} học bạ được xếp gửi lại")
            return
        try:
            client = upstream_client()
        except InsecureUpstream as insecure:
            raise CommandError(f"{insecure.code}: {insecure}", returncode=2) from None
        if client is None:
            raise CommandError(
                "Chưa cấu hình kho học bạ cấp trên (HOCBA_UPSTREAM_URL)", returncode=2
            )
        if options["now"]:
            services.retry_now()
        try:
            while True:
                result = services.run_once(client)
                self.stdout.write(
                    f"đóng gói {result.packed}, đã gửi {result.submitted}, "
                    f"có trả lời {result.answered}, đang chờ {result.waiting}"
                    + (f", tạm dừng: {' '.join(result.paused)}" if result.paused else "")
                )
                for error in result.errors:
                    self.stderr.write(f"  {error}")
                if not options["loop"]:
                    return
                time.sleep(options["interval"])
        finally:
            client.close()
